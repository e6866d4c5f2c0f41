"""Stable ids of the MAAS API's spaces, subnets and boot resources

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 15:00:00

Juju stores a MAAS space's numeric id (it sends it back as ``interfaces=…:space=<id>``) and a
subnet's, so each keeps its id for ever: ``maas_ids`` gives one to each (kind, key) the first
time the MAAS API shows it (``store/maas_catalog.py``). Ids are never reused (AUTOINCREMENT on
SQLite) and rows are never deleted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``maas_ids``."""
    op.create_table(
        "maas_ids",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.UniqueConstraint("kind", "key", name="uq_maas_ids_kind"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    """Drop ``maas_ids``."""
    op.drop_table("maas_ids")
