"""Host rows to records and back: the ``inventory`` JSON column, ``model.Host`` and the
scheduler's ``HostView``. No queries here."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

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


def host_from_row(row: Mapping[Any, Any]) -> model.Host:
    """A Host from a row of ``HOST_COLUMNS``."""
    return model.Host(
        id=row["id"],
        name=row["name"],
        type=model.HostType(row["type"]),
        address=row["address"],
        project=row["project"],
        zone=model.Zone(row["zone_id"], row["zone"], row["zone_description"]),
        pool=model.ResourcePool(row["pool_id"], row["pool"], row["pool_description"]),
        tags=tuple(row["tags"]),
        cpu_over_commit_ratio=row["cpu_over_commit_ratio"],
        memory_over_commit_ratio=row["memory_over_commit_ratio"],
        reserved_cores=row["reserved_cores"],
        reserved_memory_mib=row["reserved_memory_mib"],
        default_storage_pool=row["default_storage_pool"],
        default_macvlan_mode=row["default_macvlan_mode"],
        status=model.HostStatus(row["status"]),
        last_error=row["last_error"],
        version=row["version"],
        architectures=tuple(row["architectures"]),
        cores=row["cores"],
        memory_mib=row["memory_mib"],
        cpu_speed_mhz=row["cpu_speed_mhz"],
        can_run_vms=row["can_run_vms"],
        can_run_containers=row["can_run_containers"],
        vm_unsupported_reason=row["vm_unsupported_reason"],
        generation=row["generation"],
        created_at=row["created_at"],
        refreshed_at=row["refreshed_at"],
    )


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
        id=row["id"],
        name=row["name"],
        type=model.HostType(row["type"]),
        generation=row["generation"],
        status=model.HostStatus(row["status"]),
        zone=row["zone"],
        pool=row["pool"],
        tags=tuple(row["tags"]),
        architectures=tuple(row["architectures"]),
        cpu_over_commit_ratio=row["cpu_over_commit_ratio"],
        memory_over_commit_ratio=row["memory_over_commit_ratio"],
        reserved_cores=row["reserved_cores"],
        reserved_memory_mib=row["reserved_memory_mib"],
        cores=row["cores"],
        memory_mib=row["memory_mib"],
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
        can_run_vms=row["can_run_vms"],
        can_run_containers=row["can_run_containers"],
        vm_unsupported_reason=row["vm_unsupported_reason"],
        project=row["project"],
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
