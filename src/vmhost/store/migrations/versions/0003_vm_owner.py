"""vm owner: who a composed VM is allocated to ('' = idle, kept in the warm pool)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``vms.owner`` (text, '' for every existing VM)."""
    with op.batch_alter_table("vms") as batch:
        batch.add_column(sa.Column("owner", sa.Text(), server_default="", nullable=False))


def downgrade() -> None:
    """Drop ``vms.owner``."""
    with op.batch_alter_table("vms") as batch:
        batch.drop_column("owner")
