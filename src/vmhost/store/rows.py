"""Host rows to records and back: the ``inventory`` JSON column, ``model.Host`` and the
scheduler's ``HostView``; the join they are read from and its shared conditions. No queries
run here."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from vmhost import model
from vmhost.model.accounting import (
    HostUsage,
    HostView,
    NodeView,
    PoolView,
    PrefilterHints,
    SriovView,
)

from . import tables as t

# {host id or None (= every host): {space: networks}}
SpaceMap = Mapping[int | None, Mapping[str, tuple[str, ...]]]


def inventory_to_json(inv: model.HostInventory, external: Mapping[str, int]) -> dict[str, Any]:
    """The parts of an inventory kept in the ``inventory`` column."""
    return {
        "numa": [
            {
                "index": n.index,
                "cores": list(n.cores),
                "memory_mib": n.memory_mib,
                "hugepages": [[h.page_size_kib, h.total_pages] for h in n.hugepages],
            }
            for n in inv.numa_or_default()
        ],
        "isolated_cores": list(inv.isolated_cores),
        "pools": [
            {
                "name": p.name,
                "type": p.type,
                "path": p.path,
                "total_bytes": p.total_bytes,
                "host_used_bytes": p.used_bytes,
                "external_bytes": external.get(p.name, 0),
                "tags": list(p.tags),
                "pool_id": p.pool_id or p.name,
            }
            for p in inv.storage_pools
        ],
        "networks": [[n.name, n.kind.value, n.cidr] for n in inv.networks],
        "sriov": [[s.name, s.total_vfs, s.numa_node, s.parent_network] for s in inv.sriov_nics],
    }


def empty_inventory() -> dict[str, Any]:
    """Inventory of a host never discovered."""
    return {"numa": [], "isolated_cores": [], "pools": [], "networks": [], "sriov": []}


def discovered_values(inv: model.HostInventory) -> dict[str, Any]:
    """Column values for what a discovery found (besides the ``inventory`` column)."""
    return {
        "cores": inv.cores,
        "memory_mib": inv.memory_mib,
        "cpu_speed_mhz": inv.cpu_speed_mhz,
        "architectures": list(inv.architectures),
        "version": inv.version,
        "can_run_vms": inv.can_run_vms,
        "can_run_containers": inv.can_run_containers,
        "vm_unsupported_reason": inv.vm_unsupported_reason,
    }


def hints_values(hints: PrefilterHints, usage: HostUsage) -> dict[str, Any]:
    """Column values for a host's usage and prefilter hints."""
    values: dict[str, Any] = {name: getattr(hints, name) for name in _HINT_FIELDS}
    values.update(usage=usage.to_json(), vm_count=usage.vms.total)
    return values


# (not dataclasses.asdict: it deep-copies every field, a tenth of a claim's time)
_HINT_FIELDS = tuple(f.name for f in dataclasses.fields(PrefilterHints))


def settings_values(settings: model.HostSettings) -> dict[str, Any]:
    """Column values for a host's settings (the zone and pool are ids: resolve them apart)."""
    return {
        "name": settings.name,
        "type": settings.type.value,
        "address": settings.address,
        "project": settings.project,
        "tags": list(settings.tags),
        "cpu_over_commit_ratio": settings.cpu_over_commit_ratio,
        "memory_over_commit_ratio": settings.memory_over_commit_ratio,
        "reserved_cores": settings.reserved_cores,
        "reserved_memory_mib": settings.reserved_memory_mib,
        "default_storage_pool": settings.default_storage_pool,
        "default_macvlan_mode": settings.default_macvlan_mode,
    }


# the columns of a host read: every column but the prefilter hints, with its zone and pool
_HINTS = {f.name for f in dataclasses.fields(PrefilterHints)} | {"vm_count"}
HOST_COLUMNS = (
    *(c for c in t.hosts.c if c.name not in _HINTS),
    t.zones.c.name.label("zone"),
    t.zones.c.description.label("zone_description"),
    t.resource_pools.c.name.label("pool"),
    t.resource_pools.c.description.label("pool_description"),
)
HOSTS_JOIN = t.hosts.join(t.zones, t.zones.c.id == t.hosts.c.zone_id).join(
    t.resource_pools, t.resource_pools.c.id == t.hosts.c.pool_id
)
# conditions on HOSTS_JOIN that the host list and the candidate query both offer, by bind
# parameter (``zone``, ``pool``)
IN_ZONE = t.zones.c.name == sa.bindparam("zone")
IN_POOL = t.resource_pools.c.name == sa.bindparam("pool")


def where_shape(
    query: sa.Select[Any], conditions: Sequence[sa.ColumnElement[bool]], shape: Sequence[bool]
) -> sa.Select[Any]:
    """``query`` with the conditions whose place in ``shape`` is true (a statement per shape,
    built once: the values are bind parameters)."""
    return query.where(*(c for c, on in zip(conditions, shape, strict=True) if on))


def host_from_row(row: Mapping[Any, Any]) -> model.Host:
    """A Host from a row of ``HOST_COLUMNS``."""
    return model.Host(
        **_shared_fields(row),
        address=row["address"],
        zone=model.Zone(row["zone_id"], row["zone"], row["zone_description"]),
        pool=model.ResourcePool(row["pool_id"], row["pool"], row["pool_description"]),
        default_storage_pool=row["default_storage_pool"],
        default_macvlan_mode=row["default_macvlan_mode"],
        last_error=row["last_error"],
        version=row["version"],
        cpu_speed_mhz=row["cpu_speed_mhz"],
        created_at=row["created_at"],
        refreshed_at=row["refreshed_at"],
    )


# the columns that a Host and a HostView both take as stored, under the column's name
_AS_STORED = (
    "id",
    "name",
    "generation",
    "project",
    "cpu_over_commit_ratio",
    "memory_over_commit_ratio",
    "reserved_cores",
    "reserved_memory_mib",
    "cores",
    "memory_mib",
    "can_run_vms",
    "can_run_containers",
    "vm_unsupported_reason",
)


def _shared_fields(row: Mapping[Any, Any]) -> dict[str, Any]:
    """The fields a Host and a HostView both read from a host row, the same way."""
    values = {name: row[name] for name in _AS_STORED}
    values.update(
        type=model.HostType(row["type"]),
        status=model.HostStatus(row["status"]),
        tags=tuple(row["tags"]),
        architectures=tuple(row["architectures"]),
    )
    return values


def view_from_row(row: Mapping[Any, Any], spaces: SpaceMap) -> HostView:
    """A HostView from a host row's mapping (``VIEW_COLUMNS`` or ``HOST_COLUMNS``)."""
    inv = row["inventory"]
    networks = tuple((n[0], model.NetworkKind(n[1])) for n in inv["networks"])
    names = {n for n, _ in networks} | {s[0] for s in inv["sriov"]}
    host_spaces: dict[str, tuple[str, ...]] = {}
    for scope in (None, row["id"]):
        for space, nets in spaces.get(scope, {}).items():
            present = tuple(n for n in nets if n in names)
            if present:
                host_spaces[space] = tuple(dict.fromkeys(host_spaces.get(space, ()) + present))
    return HostView(
        **_shared_fields(row),
        zone=row["zone"],
        pool=row["pool"],
        numa=tuple(
            NodeView(
                n["index"],
                tuple(n["cores"]),
                n["memory_mib"],
                tuple(model.Hugepages(s, c) for s, c in n["hugepages"]),
            )
            for n in inv["numa"]
        ),
        pools=tuple(
            PoolView(
                p["name"],
                p["type"],
                p["path"],
                p["total_bytes"],
                p.get("external_bytes", 0),
                tuple(p.get("tags", ())),
                p.get("pool_id", p["name"]),
            )
            for p in inv["pools"]
        ),
        default_pool=row["default_storage_pool"],
        networks=networks,
        spaces=host_spaces,
        sriov=tuple(SriovView(s[0], s[1], s[2], s[3]) for s in inv["sriov"]),
        usage=HostUsage.from_json(row["usage"]),
    )


# the columns a HostView needs (the scheduler's reads: narrower than HOST_COLUMNS)
VIEW_COLUMNS = (
    t.hosts.c.id,
    t.hosts.c.name,
    t.hosts.c.type,
    t.hosts.c.generation,
    t.hosts.c.status,
    t.hosts.c.tags,
    t.hosts.c.architectures,
    t.hosts.c.cpu_over_commit_ratio,
    t.hosts.c.memory_over_commit_ratio,
    t.hosts.c.reserved_cores,
    t.hosts.c.reserved_memory_mib,
    t.hosts.c.cores,
    t.hosts.c.memory_mib,
    t.hosts.c.default_storage_pool,
    t.hosts.c.can_run_vms,
    t.hosts.c.can_run_containers,
    t.hosts.c.vm_unsupported_reason,
    t.hosts.c.project,
    t.hosts.c.inventory,
    t.hosts.c.usage,
    t.zones.c.name.label("zone"),
    t.resource_pools.c.name.label("pool"),
)
