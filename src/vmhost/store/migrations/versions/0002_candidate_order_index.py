"""candidate order index: (status, free_memory_mib, id) so "best first" reads need no sort

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 12:00:00
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Replace the two-column index with one that also orders ties by id."""
    with op.batch_alter_table("hosts") as batch:
        batch.drop_index("ix_hosts_status_free_memory")
        batch.create_index("ix_hosts_candidate_order", ["status", "free_memory_mib", "id"])


def downgrade() -> None:
    """Back to the two-column index."""
    with op.batch_alter_table("hosts") as batch:
        batch.drop_index("ix_hosts_candidate_order")
        batch.create_index("ix_hosts_status_free_memory", ["status", "free_memory_mib"])
