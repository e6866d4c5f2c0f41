"""Persistence: SQLAlchemy Core tables, repository functions, Alembic migrations.

The store never decides anything: the service owns transactions and calls these functions
with the connection of the transaction (``Connection``).
"""

from sqlalchemy import Connection

from . import (
    candidates,
    catalog,
    claims,
    host_index,
    hosts,
    maas_catalog,
    machines,
    rows,
    tables,
    tokens,
    vms,
)
from .engine import Database, make_engine, private_dir, sqlite_url
from .migrate import upgrade

__all__ = [
    "Connection",
    "Database",
    "candidates",
    "catalog",
    "claims",
    "host_index",
    "hosts",
    "maas_catalog",
    "machines",
    "make_engine",
    "private_dir",
    "rows",
    "sqlite_url",
    "tables",
    "tokens",
    "upgrade",
    "vms",
]
