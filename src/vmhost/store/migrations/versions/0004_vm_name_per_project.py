"""VM names are unique per host and project (LXD projects may reuse a name)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 13:10:00
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """(host, name) -> (host, project, name)."""
    with op.batch_alter_table("vms") as batch:
        batch.drop_constraint("uq_vms_host_id_name", type_="unique")
        batch.create_unique_constraint(
            "uq_vms_host_id_project_name", ["host_id", "project", "name"]
        )


def downgrade() -> None:
    """Back to one name per host."""
    with op.batch_alter_table("vms") as batch:
        batch.drop_constraint("uq_vms_host_id_project_name", type_="unique")
        batch.create_unique_constraint("uq_vms_host_id_name", ["host_id", "name"])
