"""An index on ``vms.name``: a compose's hostname check reads one index entry, not every VM

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 18:20:00

``VmsService.validate`` refuses a hostname that a VM already has, on any host
(``store.vms.vm_name_taken``). The only index holding ``name`` is the unique
(host_id, project, name) one, which a lookup by name alone cannot use, so the check scanned
every VM (about 6 ms per compose at 10,000 VMs, ``bench/bench_api.py``).
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``ix_vms_name``."""
    op.create_index("ix_vms_name", "vms", ["name"])


def downgrade() -> None:
    """Drop ``ix_vms_name``."""
    op.drop_index("ix_vms_name", table_name="vms")
