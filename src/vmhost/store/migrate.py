"""Run Alembic migrations programmatically (``vmhost db upgrade`` and every start)."""

from __future__ import annotations

import os

from alembic import command
from alembic.config import Config

from .engine import Database

HERE = os.path.dirname(os.path.abspath(__file__))


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at our migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", os.path.join(HERE, "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(db: Database, revision: str = "head") -> None:
    """Create or migrate the schema to ``revision``."""
    cfg = alembic_config(db.url)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
