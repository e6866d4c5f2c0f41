"""SQLAlchemy Core tables. Alembic migrations in ``migrations/`` create and evolve them.

Ids are never reused: on SQLite every table with its own id is ``AUTOINCREMENT`` (without it
SQLite hands the id of the newest row, once deleted, to the next one); PostgreSQL's sequences
never go back. Names of hosts, zones and pools are unique regardless of case (a unique index on
``lower(name)``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _table_with_id(name: str, *items: sa.Column[Any] | sa.Constraint) -> sa.Table:
    """A table whose rows have their own id (the first column): ``AUTOINCREMENT`` on SQLite,
    so that no id is handed out twice (see above)."""
    return sa.Table(
        name,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        *items,
        sqlite_autoincrement=True,
    )


def _named_table(name: str) -> sa.Table:
    """A zone or pool table: id, a unique name (any case) and a description."""
    table = _table_with_id(
        name,
        sa.Column("name", sa.String(63), nullable=False, unique=True),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
    )
    sa.Index(f"ix_{name}_lower_name", sa.func.lower(table.c.name), unique=True)
    return table


zones = _named_table("zones")
resource_pools = _named_table("resource_pools")

hosts = _table_with_id(
    "hosts",
    sa.Column("name", sa.String(63), nullable=False, unique=True),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("address", sa.Text, nullable=False),
    sa.Column("project", sa.String(63), nullable=False, server_default=""),
    sa.Column("zone_id", sa.Integer, sa.ForeignKey("zones.id"), nullable=False),
    sa.Column("pool_id", sa.Integer, sa.ForeignKey("resource_pools.id"), nullable=False),
    sa.Column("tags", sa.JSON, nullable=False),
    sa.Column("cpu_over_commit_ratio", sa.Float, nullable=False),
    sa.Column("memory_over_commit_ratio", sa.Float, nullable=False),
    sa.Column("reserved_cores", sa.Integer, nullable=False, server_default="0"),
    sa.Column("reserved_memory_mib", sa.Integer, nullable=False, server_default="0"),
    sa.Column("default_storage_pool", sa.String(255)),
    sa.Column("default_macvlan_mode", sa.String(32)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("last_error", sa.Text, nullable=False, server_default=""),
    sa.Column("version", sa.Text, nullable=False, server_default=""),
    sa.Column("architectures", sa.JSON, nullable=False),
    sa.Column("generation", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cores", sa.Integer, nullable=False, server_default="0"),
    sa.Column("memory_mib", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cpu_speed_mhz", sa.Integer, nullable=False, server_default="0"),
    sa.Column("can_run_vms", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("can_run_containers", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("vm_unsupported_reason", sa.Text, nullable=False, server_default=""),
    sa.Column("inventory", sa.JSON, nullable=False),  # numa, pools, networks, sriov
    sa.Column("usage", sa.JSON, nullable=False),  # model.accounting.HostUsage
    # PrefilterHints (exact, recomputed at every usage/settings change)
    sa.Column("free_vcpus", sa.Integer, nullable=False, server_default="0"),
    sa.Column("free_memory_mib", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("free_pinnable_cores", sa.Integer, nullable=False, server_default="0"),
    sa.Column("max_node_free_vcpus", sa.Integer, nullable=False, server_default="0"),
    sa.Column("max_node_free_memory_mib", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("max_free_hugepages_mib", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("max_pool_free_bytes", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("vm_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("refreshed_at", sa.Float, nullable=False, server_default="0"),
)
sa.Index("ix_hosts_lower_name", sa.func.lower(hosts.c.name), unique=True)
sa.Index("ix_hosts_candidate_order", hosts.c.status, hosts.c.free_memory_mib, hosts.c.id)

host_credentials = sa.Table(
    "host_credentials",
    metadata,
    sa.Column(
        "host_id", sa.Integer, sa.ForeignKey("hosts.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("client_cert_pem", sa.Text, nullable=False, server_default=""),
    sa.Column("client_key_sealed", sa.Text, nullable=False, server_default=""),
    sa.Column("server_cert_pem", sa.Text, nullable=False, server_default=""),
    sa.Column("password_sealed", sa.Text, nullable=False, server_default=""),
    sa.Column("options", sa.JSON, nullable=False),
)

vms = _table_with_id(
    "vms",
    sa.Column(
        "host_id", sa.Integer, sa.ForeignKey("hosts.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("origin", sa.String(16), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("cores", sa.Integer, nullable=False),
    sa.Column("memory_mib", sa.Integer, nullable=False),
    sa.Column("instance_type", sa.String(32), nullable=False),
    sa.Column("power_state", sa.String(16), nullable=False, server_default="unknown"),
    sa.Column("project", sa.String(63), nullable=False, server_default=""),
    sa.Column("hostname", sa.String(255), nullable=False, server_default=""),
    sa.Column("uuid", sa.String(64), nullable=False, server_default=""),
    sa.Column("spec", sa.JSON, nullable=False),  # disks, nics, pinned cores, numa, hugepages
    sa.Column("allocation", sa.JSON, nullable=False),  # model.accounting.Allocation
    sa.Column("error", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    # who the VM is allocated to ("" = idle: a warm-pool VM); set only by compare-and-swap
    sa.Column("owner", sa.Text, nullable=False, server_default=""),
    # the MAAS machine (src/vmhost/maas/; migration 0006): system_id is model.system_id_of(id)
    sa.Column("system_id", sa.String(6)),
    sa.Column("agent_name", sa.Text, nullable=False, server_default=""),
    sa.Column("owner_data", sa.JSON, nullable=False, server_default=sa.text("'{}'")),
    sa.Column("dynamic", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("distro_series", sa.Text, nullable=False, server_default=""),
    sa.Column("osystem", sa.Text, nullable=False, server_default=""),
    sa.Column("maas_status", sa.String(32), nullable=False, server_default=""),  # "" = not one
    sa.Column("status_message", sa.Text, nullable=False, server_default=""),
    sa.Column("user_data", sa.Text, nullable=False, server_default=""),  # decoded cloud-init
    sa.UniqueConstraint("host_id", "project", "name", name="uq_vms_host_id_project_name"),
)
sa.Index("ix_vms_state", vms.c.state)
sa.Index("ix_vms_system_id", vms.c.system_id, unique=True)
sa.Index("ix_vms_agent_name", vms.c.agent_name)
sa.Index("ix_vms_name", vms.c.name)  # a compose's hostname check (migration 0008)

spaces = _table_with_id(
    "network_spaces",
    sa.Column("space", sa.String(63), nullable=False),
    sa.Column("network", sa.String(255), nullable=False),
    sa.Column("host_id", sa.Integer, sa.ForeignKey("hosts.id", ondelete="CASCADE")),
    sa.UniqueConstraint("space", "network", "host_id", name="uq_network_spaces_space"),
)

tokens = _table_with_id(
    "tokens",
    sa.Column("name", sa.String(63), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("hash", sa.String(128), nullable=False, unique=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float),
)

# the files of the MAAS API's files/ (Juju's provider state); migration 0006
maas_files = sa.Table(
    "maas_files",
    metadata,
    sa.Column("filename", sa.Text, primary_key=True),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

# stable ids of the MAAS API's spaces, subnets and boot resources (store/maas_catalog.py;
# migration 0007): a (kind, key) keeps its id for ever
maas_ids = _table_with_id(
    "maas_ids",
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("key", sa.Text, nullable=False),
    sa.UniqueConstraint("kind", "key", name="uq_maas_ids_kind"),
)
