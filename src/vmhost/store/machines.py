"""Repository functions for MAAS machines: the machine columns of VM records (migration 0006)
and what a machine shows of its host (name, zone, pool, tags, architecture, type)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from vmhost import model

from . import tables as t
from .vms import vm_from_row

MachineFilter = model.MachineFilter


def _select() -> sa.Select[Any]:
    h = t.hosts.c
    return (
        sa.select(
            t.vms,
            h.name.label("host_name"),
            h.type.label("host_type"),
            h.tags.label("host_tags"),
            h.architectures.label("host_architectures"),
            t.zones.c.name.label("zone_name"),
            t.resource_pools.c.name.label("pool_name"),
        )
        .select_from(
            t.vms.join(t.hosts, t.hosts.c.id == t.vms.c.host_id)
            .join(t.zones, t.zones.c.id == t.hosts.c.zone_id)
            .join(t.resource_pools, t.resource_pools.c.id == t.hosts.c.pool_id)
        )
        .where(t.vms.c.maas_status != "")
        .order_by(t.vms.c.id)
    )


def _fields(row: Any) -> model.MachineFields:
    owner_data = row.owner_data or {}
    return model.MachineFields(
        status=model.MaasStatus(row.maas_status),
        agent_name=row.agent_name,
        owner_data=tuple(sorted((str(k), str(v)) for k, v in dict(owner_data).items())),
        dynamic=bool(row.dynamic),
        distro_series=row.distro_series,
        osystem=row.osystem,
        status_message=row.status_message,
        user_data=row.user_data,
    )


def machine_from_row(row: Any) -> model.Machine:
    """A machine from a joined row."""
    arches = list(row.host_architectures or ())
    return model.Machine(
        vm=vm_from_row(row),
        fields=_fields(row),
        host_name=row.host_name,
        zone=row.zone_name,
        pool=row.pool_name,
        host_tags=tuple(row.host_tags or ()),
        architecture=str(arches[0]).split("/")[0] if arches else "amd64",
        host_type=row.host_type,
    )


def list_machines(conn: sa.Connection, where: MachineFilter) -> list[model.Machine]:
    """The machines that pass every filter, by id."""
    v = t.vms.c
    query = _select()
    if where.vm_ids is not None:
        query = query.where(v.id.in_(where.vm_ids))
    if where.agent_name is not None:
        query = query.where(v.agent_name == where.agent_name)
    if where.hostnames:
        query = query.where(v.hostname.in_(where.hostnames))
    if where.zones:
        query = query.where(t.zones.c.name.in_(where.zones))
    if where.pools:
        query = query.where(t.resource_pools.c.name.in_(where.pools))
    if where.host_ids:
        query = query.where(v.host_id.in_(where.host_ids))
    if where.status is not None:
        query = query.where(v.maas_status == where.status.value)
    if where.owner is not None:
        query = query.where(v.owner == where.owner)
    machines = [machine_from_row(r) for r in conn.execute(query)]
    if where.mac_addresses:
        wanted = {m.lower() for m in where.mac_addresses}
        machines = [
            m for m in machines if any(i.mac_address.lower() in wanted for i in m.vm.interfaces)
        ]
    if where.host_tags:
        machines = [m for m in machines if set(where.host_tags) <= set(m.host_tags)]
    return machines


def get_machine(conn: sa.Connection, vm_id: int) -> model.Machine | None:
    """One machine, or None."""
    row = conn.execute(_select().where(t.vms.c.id == vm_id)).first()
    return machine_from_row(row) if row is not None else None


def set_machine(
    conn: sa.Connection,
    vm_id: int,
    values: Mapping[str, Any],
    *,
    expect_status: Sequence[model.MaasStatus] = (),
    expect_owner: str | None = None,
) -> bool:
    """Write machine columns (and ``state``/``owner``/``spec`` when given) of one record; with
    ``expect_status`` / ``expect_owner``, only while it still has them (compare-and-swap).
    Whether a row was written."""
    query = sa.update(t.vms).where(t.vms.c.id == vm_id)
    if expect_status:
        query = query.where(t.vms.c.maas_status.in_([s.value for s in expect_status]))
    if expect_owner is not None:
        query = query.where(t.vms.c.owner == expect_owner)
    result = conn.execute(query.values(**values, updated_at=time.time()))
    return bool(result.rowcount == 1)


def machine_values(fields: model.MachineFields) -> dict[str, Any]:
    """The columns of ``fields``."""
    return {
        "maas_status": fields.status.value,
        "agent_name": fields.agent_name,
        "owner_data": dict(fields.owner_data),
        "dynamic": fields.dynamic,
        "distro_series": fields.distro_series,
        "osystem": fields.osystem,
        "status_message": fields.status_message,
        "user_data": fields.user_data,
    }


def stale_deploys(conn: sa.Connection, before: float) -> list[model.Machine]:
    """Machines still ``Deploying`` whose record has not changed since ``before``."""
    query = _select().where(
        t.vms.c.maas_status == model.MaasStatus.DEPLOYING.value, t.vms.c.updated_at <= before
    )
    return [machine_from_row(r) for r in conn.execute(query)]


def host_tags(conn: sa.Connection) -> set[str]:
    """Every tag some host has."""
    return {str(tag) for (tags,) in conn.execute(sa.select(t.hosts.c.tags)) for tag in tags or ()}


def host_ids_by(conn: sa.Connection, keys: Sequence[str]) -> dict[str, int]:
    """Hosts by id (digits) or name, of the keys that name one."""
    found: dict[str, int] = {}
    for key in keys:
        col = t.hosts.c.id if key.isascii() and key.isdigit() else t.hosts.c.name
        value: Any = int(key) if col is t.hosts.c.id else key
        row = conn.execute(sa.select(t.hosts.c.id).where(col == value)).first()
        if row is not None:
            found[key] = int(row.id)
    return found


def hosts_of_type(conn: sa.Connection, host_type: str) -> list[int]:
    """Hosts of one MAAS pod type (``lxd``, ``virsh``; ``fake`` hosts count as ``lxd``)."""
    types = {"lxd": ("lxd", "fake"), "virsh": ("virsh", "libvirt")}.get(host_type, (host_type,))
    rows = conn.execute(sa.select(t.hosts.c.id).where(t.hosts.c.type.in_(types)))
    return [int(r.id) for r in rows]
