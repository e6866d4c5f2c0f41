"""Persistence: SQLAlchemy Core tables, repository functions, Alembic migrations.

The store never decides anything: the service owns transactions and calls these functions.
"""

from . import hosts, tables, tokens, vms
from .engine import Database, make_engine, sqlite_url
from .migrate import upgrade

__all__ = ["Database", "hosts", "make_engine", "sqlite_url", "tables", "tokens", "upgrade", "vms"]
