"""MAAS machines: the machine fields of a VM record, and the MAAS file store

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 14:45:00

A VM record is also a MAAS machine (``src/vmhost/maas/``): its ``system_id`` (six base-36
characters, a bijection of the record's id, so never reused: ``model/machine.py``), the Juju
model that holds it (``agent_name``), its ``owner_data``, whether allocate composed it
(``dynamic``: its release decomposes it), the series and OS it was deployed with, its MAAS
status and message, and the decoded cloud-init ``user_data`` of its deploy. Existing rows get
their ``system_id`` and empty values (``maas_status`` '' = not a MAAS machine). ``maas_files``
holds the files of ``files/`` (Juju's provider state).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# the bijection of model/machine.py, fixed here as it was when this migration was written
_MODULUS = 36**6
_MULTIPLIER = 1_046_527
_OFFSET = 60_466_176
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _system_id(vm_id: int) -> str:
    value = (vm_id * _MULTIPLIER + _OFFSET) % _MODULUS
    out = []
    for _ in range(6):
        value, digit = divmod(value, 36)
        out.append(_DIGITS[digit])
    return "".join(reversed(out))


COLUMNS = (
    ("system_id", sa.String(6), None),
    ("agent_name", sa.Text(), ""),
    ("owner_data", sa.JSON(), sa.text("'{}'")),
    ("dynamic", sa.Boolean(), sa.false()),
    ("distro_series", sa.Text(), ""),
    ("osystem", sa.Text(), ""),
    ("maas_status", sa.String(32), ""),
    ("status_message", sa.Text(), ""),
    ("user_data", sa.Text(), ""),
)


def upgrade() -> None:
    """Add the machine columns (every existing row keeps its data), fill ``system_id``, index
    it and ``agent_name``; create ``maas_files``."""
    for name, type_, default in COLUMNS:
        if default is None:
            op.add_column("vms", sa.Column(name, type_, nullable=True))
        else:
            op.add_column("vms", sa.Column(name, type_, nullable=False, server_default=default))
    conn = op.get_bind()
    vms = sa.table("vms", sa.column("id", sa.Integer), sa.column("system_id", sa.String))
    for (vm_id,) in conn.execute(sa.select(vms.c.id)).all():
        conn.execute(
            sa.update(vms).where(vms.c.id == vm_id).values(system_id=_system_id(int(vm_id)))
        )
    op.create_index("ix_vms_system_id", "vms", ["system_id"], unique=True)
    op.create_index("ix_vms_agent_name", "vms", ["agent_name"])
    op.create_table(
        "maas_files",
        sa.Column("filename", sa.Text(), primary_key=True),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    """Drop ``maas_files`` and the machine columns."""
    op.drop_table("maas_files")
    op.drop_index("ix_vms_agent_name", table_name="vms")
    op.drop_index("ix_vms_system_id", table_name="vms")
    with op.batch_alter_table("vms", table_kwargs={"sqlite_autoincrement": True}) as batch:
        for name, _, _ in reversed(COLUMNS):
            batch.drop_column(name)
