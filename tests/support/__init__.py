"""Helpers shared by every test tier (``tests/`` is on ``PYTHONPATH``).

- :mod:`support.hosts`: what ``scripts/setup-hosts`` prepared; skip with its recorded reason.
- :mod:`support.postgres`: a throwaway PostgreSQL server and fresh databases.
- :mod:`support.lxd`: client certificates, trust, and a pylxd client pinned to the server
  certificate over HTTPS.
"""
