"""Repository functions for hosts, zones, pools and spaces. Every function takes the caller's
connection: the service owns the transaction."""

from __future__ import annotations

import dataclasses
import functools
import time
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

# --- zones and resource pools -------------------------------------------------------------


def _named_table(kind: str) -> sa.Table:
    return t.zones if kind == "zone" else t.resource_pools


def ensure_defaults(conn: sa.Connection) -> None:
    """The ``default`` zone and resource pool always exist."""
    for kind in ("zone", "pool"):
        table = _named_table(kind)
        exists = conn.execute(sa.select(table.c.id).where(table.c.name == "default")).first()
        if exists is None:
            conn.execute(sa.insert(table).values(name="default", description=f"Default {kind}"))


def named_id(conn: sa.Connection, kind: str, name: str) -> int:
    """The id of a zone or pool by name, or NotFoundError naming it."""
    table = _named_table(kind)
    row = conn.execute(sa.select(table.c.id).where(table.c.name == name)).first()
    if row is None:
        raise model.NotFoundError("zone" if kind == "zone" else "resource pool", name)
    return int(row.id)


def list_named(conn: sa.Connection, kind: str) -> list[dict[str, Any]]:
    """Zones or pools with how many hosts each holds."""
    table = _named_table(kind)
    col = t.hosts.c.zone_id if kind == "zone" else t.hosts.c.pool_id
    count = sa.select(sa.func.count()).where(col == table.c.id).scalar_subquery()
    rows = conn.execute(sa.select(table, count.label("hosts")).order_by(table.c.id))
    return [dict(r._mapping) for r in rows]


def get_named(conn: sa.Connection, kind: str, key: int | str) -> dict[str, Any]:
    """One zone or pool by id or name."""
    for item in list_named(conn, kind):
        if item["id"] == key or item["name"] == key:
            return item
    raise model.NotFoundError("zone" if kind == "zone" else "resource pool", key)


def create_named(conn: sa.Connection, kind: str, name: str, description: str) -> int:
    """A new zone or pool; a duplicate name is a ConflictError."""
    table = _named_table(kind)
    if conn.execute(sa.select(table.c.id).where(table.c.name == name)).first():
        raise model.ConflictError(
            f"{'zone' if kind == 'zone' else 'resource pool'} {name!r} already exists"
        )
    result = conn.execute(sa.insert(table).values(name=name, description=description))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def update_named(
    conn: sa.Connection, kind: str, key: int | str, values: Mapping[str, Any]
) -> None:
    """Rename or re-describe a zone or pool."""
    item = get_named(conn, kind, key)
    table = _named_table(kind)
    if "name" in values and values["name"] != item["name"]:
        if item["name"] == "default":
            raise model.InvalidInputError.for_field("name", "the default cannot be renamed")
        if conn.execute(sa.select(table.c.id).where(table.c.name == values["name"])).first():
            raise model.ConflictError(f"{values['name']!r} already exists")
    conn.execute(sa.update(table).where(table.c.id == item["id"]).values(**values))


def delete_named(conn: sa.Connection, kind: str, key: int | str) -> None:
    """Delete an unused zone or pool other than the default."""
    item = get_named(conn, kind, key)
    what = "zone" if kind == "zone" else "resource pool"
    if item["name"] == "default":
        raise model.ConflictError(f"the default {what} cannot be deleted")
    if item["hosts"]:
        raise model.ConflictError(
            f"{what} {item['name']!r} still holds {item['hosts']} VM host(s)"
        )
    conn.execute(sa.delete(_named_table(kind)).where(_named_table(kind).c.id == item["id"]))


# --- inventory (de)serialisation ----------------------------------------------------------


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


_VIEW_COLUMNS = (
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


def _view_select() -> sa.Select[Any]:
    return sa.select(*_VIEW_COLUMNS).select_from(
        t.hosts.join(t.zones, t.zones.c.id == t.hosts.c.zone_id).join(
            t.resource_pools, t.resource_pools.c.id == t.hosts.c.pool_id
        )
    )


def view_from_row(
    row: Mapping[Any, Any], spaces: Mapping[int | None, Mapping[str, tuple[str, ...]]]
) -> HostView:
    """A HostView from a host row's mapping (``_view_select``'s columns or all of ``hosts``,
    with ``zone`` and ``pool`` names); ``spaces`` maps host id (None = all hosts) to
    {space: networks}."""
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


def space_map(conn: sa.Connection) -> dict[int | None, dict[str, tuple[str, ...]]]:
    """{host id or None: {space: networks}} for every mapping."""
    result: dict[int | None, dict[str, tuple[str, ...]]] = {}
    for row in conn.execute(sa.select(t.spaces).order_by(t.spaces.c.id)):
        scope = result.setdefault(row.host_id, {})
        scope[row.space] = (*scope.get(row.space, ()), row.network)
    return result


def load_view(
    conn: sa.Connection,
    host_id: int,
    spaces: Mapping[int | None, Mapping[str, tuple[str, ...]]] | None = None,
) -> HostView:
    """One host's view, or NotFoundError."""
    row = conn.execute(_view_select().where(t.hosts.c.id == host_id)).first()
    if row is None:
        raise model.NotFoundError("VM host", host_id)
    return view_from_row(row._mapping, spaces if spaces is not None else space_map(conn))


def load_views(conn: sa.Connection, host_ids: Sequence[int] | None = None) -> list[HostView]:
    """Views of some or all hosts, by id."""
    query = _view_select().order_by(t.hosts.c.id)
    if host_ids is not None:
        query = query.where(t.hosts.c.id.in_(host_ids))
    spaces = space_map(conn)
    return [view_from_row(r._mapping, spaces) for r in conn.execute(query)]


@dataclasses.dataclass(frozen=True, slots=True)
class CandidateQuery:
    """The SQL prefilter: exact necessary conditions for a request, and the order to try."""

    vcpus: int = 0  # shared vCPUs needed (0 when pinned)
    memory_mib: int = 0  # general memory needed (0 when hugepage-backed)
    pinned_cores: int = 0
    hugepages_mib: int = 0
    node_vcpus: int = 0  # NUMA-affine requests
    node_memory_mib: int = 0
    largest_disk_bytes: int = 0
    zone: str | None = None
    pool: str | None = None
    host_id: int | None = None
    order: str = "pack"  # pack | spread | least-loaded


@functools.lru_cache(maxsize=64)
def _candidate_select(shape: tuple[bool, ...], order: str, limited: bool) -> sa.Select[Any]:
    """The prefilter query for one combination of active conditions, built once (bind
    parameters carry the values), so SQLAlchemy's statement cache always hits."""
    h = t.hosts.c
    pinned, hugepages, node_vcpus, node_memory, zone, pool, host_id = shape
    query = _view_select().where(
        h.status == model.HostStatus.READY.value,
        h.free_vcpus >= sa.bindparam("vcpus"),
        h.free_memory_mib >= sa.bindparam("memory_mib"),
        h.max_pool_free_bytes >= sa.bindparam("largest_disk_bytes"),
    )
    if pinned:
        query = query.where(h.free_pinnable_cores >= sa.bindparam("pinned_cores"))
    if hugepages:
        query = query.where(h.max_free_hugepages_mib >= sa.bindparam("hugepages_mib"))
    if node_vcpus:
        query = query.where(h.max_node_free_vcpus >= sa.bindparam("node_vcpus"))
    if node_memory:
        query = query.where(h.max_node_free_memory_mib >= sa.bindparam("node_memory_mib"))
    if zone:
        query = query.where(t.zones.c.name == sa.bindparam("zone"))
    if pool:
        query = query.where(t.resource_pools.c.name == sa.bindparam("pool"))
    if host_id:
        query = query.where(h.id == sa.bindparam("host_id"))
    if order == "spread":
        query = query.order_by(h.free_memory_mib.desc(), h.id.desc())
    elif order == "least-loaded":
        query = query.order_by(h.vm_count, h.free_memory_mib.desc(), h.id)
    else:
        query = query.order_by(h.free_memory_mib, h.id)
    if limited:
        query = query.limit(sa.bindparam("limit")).offset(sa.bindparam("offset"))
    return query


def candidate_views(
    conn: sa.Connection,
    q: CandidateQuery,
    limit: int | None,
    offset: int = 0,
    spaces: Mapping[int | None, Mapping[str, tuple[str, ...]]] | None = None,
) -> list[HostView]:
    """Ready hosts that pass the SQL prefilter, best first for the policy."""
    shape = (
        bool(q.pinned_cores),
        bool(q.hugepages_mib),
        bool(q.node_vcpus),
        bool(q.node_memory_mib),
        q.zone is not None,
        q.pool is not None,
        q.host_id is not None,
    )
    params = dataclasses.asdict(q)
    params.update(limit=limit, offset=offset)
    query = _candidate_select(shape, q.order, limit is not None)
    spaces = spaces if spaces is not None else space_map(conn)
    return [view_from_row(r._mapping, spaces) for r in conn.execute(query, params)]


def count_hosts(conn: sa.Connection) -> int:
    """How many hosts exist."""
    return int(conn.execute(sa.select(sa.func.count()).select_from(t.hosts)).scalar_one())


# --- hosts ---------------------------------------------------------------------------------


def hints_values(hints: PrefilterHints, usage: HostUsage) -> dict[str, Any]:
    """Column values for a host's usage and prefilter hints."""
    return {**dataclasses.asdict(hints), "usage": usage.to_json(), "vm_count": usage.vms.total}


def insert_host(
    conn: sa.Connection, settings: model.HostSettings, credentials: Mapping[str, Any]
) -> int:
    """A new host row (status new, no inventory yet)."""
    if conn.execute(sa.select(t.hosts.c.id).where(t.hosts.c.name == settings.name)).first():
        raise model.ConflictError(f"a VM host named {settings.name!r} already exists")
    dup = conn.execute(
        sa.select(t.hosts.c.name).where(
            t.hosts.c.type == settings.type.value,
            t.hosts.c.address == settings.address,
            t.hosts.c.project == settings.project,
        )
    ).first()
    if dup:
        raise model.ConflictError(
            f"VM host {dup.name!r} already has type {settings.type.value}, address "
            f"{settings.address!r} and project {settings.project!r}"
        )
    zone_id = named_id(conn, "zone", settings.zone)
    pool_id = named_id(conn, "pool", settings.pool)
    now = time.time()
    host_id = conn.execute(
        sa.insert(t.hosts).values(
            name=settings.name,
            type=settings.type.value,
            address=settings.address,
            project=settings.project,
            zone_id=zone_id,
            pool_id=pool_id,
            tags=list(settings.tags),
            cpu_over_commit_ratio=settings.cpu_over_commit_ratio,
            memory_over_commit_ratio=settings.memory_over_commit_ratio,
            reserved_cores=settings.reserved_cores,
            reserved_memory_mib=settings.reserved_memory_mib,
            default_storage_pool=settings.default_storage_pool,
            default_macvlan_mode=settings.default_macvlan_mode,
            status=model.HostStatus.NEW.value,
            architectures=[],
            inventory=empty_inventory(),
            usage=HostUsage().to_json(),
            created_at=now,
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    conn.execute(
        sa.insert(t.host_credentials).values(
            host_id=host_id,
            client_cert_pem=credentials.get("client_cert_pem", ""),
            client_key_sealed=credentials.get("client_key_sealed", ""),
            server_cert_pem=credentials.get("server_cert_pem", ""),
            password_sealed=credentials.get("password_sealed", ""),
            options=dict(credentials.get("options", {})),
        )
    )
    return int(host_id)


def host_row(conn: sa.Connection, host_id: int) -> dict[str, Any]:
    """Everything about a host (settings, inventory, usage), without credentials."""
    row = conn.execute(
        sa.select(t.hosts, t.zones.c.name.label("zone"), t.resource_pools.c.name.label("pool"))
        .select_from(
            t.hosts.join(t.zones, t.zones.c.id == t.hosts.c.zone_id).join(
                t.resource_pools, t.resource_pools.c.id == t.hosts.c.pool_id
            )
        )
        .where(t.hosts.c.id == host_id)
    ).first()
    if row is None:
        raise model.NotFoundError("VM host", host_id)
    return dict(row._mapping)


def host_rows(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every host, by id."""
    rows = conn.execute(
        sa.select(t.hosts, t.zones.c.name.label("zone"), t.resource_pools.c.name.label("pool"))
        .select_from(
            t.hosts.join(t.zones, t.zones.c.id == t.hosts.c.zone_id).join(
                t.resource_pools, t.resource_pools.c.id == t.hosts.c.pool_id
            )
        )
        .order_by(t.hosts.c.id)
    )
    return [dict(r._mapping) for r in rows]


def host_id_by_name(conn: sa.Connection, name: str) -> int:
    """A host id by name."""
    row = conn.execute(sa.select(t.hosts.c.id).where(t.hosts.c.name == name)).first()
    if row is None:
        raise model.NotFoundError("VM host", name)
    return int(row.id)


def credentials(conn: sa.Connection, host_id: int) -> dict[str, Any]:
    """A host's stored credentials (sealed secrets stay sealed)."""
    row = conn.execute(
        sa.select(t.host_credentials).where(t.host_credentials.c.host_id == host_id)
    ).first()
    return dict(row._mapping) if row else {}


def update_credentials(conn: sa.Connection, host_id: int, values: Mapping[str, Any]) -> None:
    """Change stored credentials."""
    conn.execute(
        sa.update(t.host_credentials)
        .where(t.host_credentials.c.host_id == host_id)
        .values(**values)
    )


def cas_update_host(
    conn: sa.Connection, host_id: int, generation: int, values: Mapping[str, Any]
) -> int:
    """Update a host only if its generation is still ``generation``; return the new generation.

    Raises GenerationConflictError when another writer got there first.
    """
    result = conn.execute(
        sa.update(t.hosts)
        .where(t.hosts.c.id == host_id, t.hosts.c.generation == generation)
        .values(generation=generation + 1, **values)
    )
    if result.rowcount != 1:
        raise model.GenerationConflictError(f"VM host {host_id} changed (generation {generation})")
    return generation + 1


def set_status(
    conn: sa.Connection, host_id: int, status: model.HostStatus, error: str = ""
) -> None:
    """Status changes do not touch accounting, so they do not bump the generation."""
    conn.execute(
        sa.update(t.hosts)
        .where(t.hosts.c.id == host_id)
        .values(status=status.value, last_error=error)
    )


def delete_host(conn: sa.Connection, host_id: int) -> None:
    """Delete a host with its VM records and credentials."""
    conn.execute(sa.delete(t.vms).where(t.vms.c.host_id == host_id))
    conn.execute(sa.delete(t.spaces).where(t.spaces.c.host_id == host_id))
    conn.execute(sa.delete(t.host_credentials).where(t.host_credentials.c.host_id == host_id))
    conn.execute(sa.delete(t.hosts).where(t.hosts.c.id == host_id))


# --- spaces ----------------------------------------------------------------------------------


def set_space(conn: sa.Connection, space: str, network: str, host_id: int | None) -> None:
    """Map a network (on one host, or on every host) to a space."""
    exists = conn.execute(
        sa.select(t.spaces.c.id).where(
            t.spaces.c.space == space,
            t.spaces.c.network == network,
            t.spaces.c.host_id.is_(None) if host_id is None else t.spaces.c.host_id == host_id,
        )
    ).first()
    if not exists:
        conn.execute(sa.insert(t.spaces).values(space=space, network=network, host_id=host_id))


def unset_space(conn: sa.Connection, space: str, network: str | None = None) -> int:
    """Remove a space's mappings (all, or one network's)."""
    query = sa.delete(t.spaces).where(t.spaces.c.space == space)
    if network is not None:
        query = query.where(t.spaces.c.network == network)
    return int(conn.execute(query).rowcount)


def list_spaces(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every mapping."""
    return [
        dict(r._mapping)
        for r in conn.execute(sa.select(t.spaces).order_by(t.spaces.c.space, t.spaces.c.id))
    ]
