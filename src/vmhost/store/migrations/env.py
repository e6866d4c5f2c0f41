"""Alembic environment: uses the connection handed in by vmhost.store.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from vmhost.store.tables import metadata

config = context.config
target_metadata = metadata


def run() -> None:
    """Online migrations only (vmhost always has a database to talk to)."""
    connection = config.attributes.get("connection")
    if connection is None:
        engine = engine_from_config(
            config.get_section(config.config_ini_section) or {},
            prefix="sqlalchemy.",
            poolclass=pool.NullPool,
        )
        with engine.connect() as conn:
            context.configure(
                connection=conn, target_metadata=target_metadata, render_as_batch=True
            )
            with context.begin_transaction():
                context.run_migrations()
        return
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run()
