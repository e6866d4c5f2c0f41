"""Repository functions for the catalogue around hosts: zones, resource pools and network
spaces. Every function takes the caller's connection: the service owns the transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from vmhost import model

from . import tables as t
from .engine import inserted_id

# --- zones and resource pools -------------------------------------------------------------


def _named_table(kind: str) -> sa.Table:
    return t.zones if kind == "zone" else t.resource_pools


def _what(kind: str) -> str:
    return "zone" if kind == "zone" else "resource pool"


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
        raise model.NotFoundError(_what(kind), name)
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
    raise model.NotFoundError(_what(kind), key)


def _check_name_free(
    conn: sa.Connection, kind: str, name: str, except_id: int | None = None
) -> None:
    """ConflictError naming ``name`` when another zone/pool holds the name in any case."""
    table = _named_table(kind)
    query = sa.select(table.c.name).where(sa.func.lower(table.c.name) == name.lower())
    if except_id is not None:
        query = query.where(table.c.id != except_id)
    row = conn.execute(query).first()
    if row is not None:
        raise model.duplicate_name(f"{_what(kind)} {name!r} already exists", name, str(row.name))


def create_named(conn: sa.Connection, kind: str, name: str, description: str) -> int:
    """A new zone or pool; a name taken in any case is a ConflictError."""
    table = _named_table(kind)
    _check_name_free(conn, kind, name)
    result = conn.execute(sa.insert(table).values(name=name, description=description))
    return inserted_id(result)


def update_named(
    conn: sa.Connection, kind: str, key: int | str, values: Mapping[str, Any]
) -> None:
    """Rename or re-describe a zone or pool."""
    item = get_named(conn, kind, key)
    table = _named_table(kind)
    if "name" in values and values["name"] != item["name"]:
        if item["name"] == "default":
            raise model.InvalidInputError.for_field("name", "the default cannot be renamed")
        _check_name_free(conn, kind, values["name"], except_id=item["id"])
    conn.execute(sa.update(table).where(table.c.id == item["id"]).values(**values))


def delete_named(conn: sa.Connection, kind: str, key: int | str) -> None:
    """Delete an unused zone or pool other than the default."""
    item = get_named(conn, kind, key)
    what = _what(kind)
    if item["name"] == "default":
        raise model.ConflictError(f"the default {what} cannot be deleted")
    if item["hosts"]:
        raise model.ConflictError(
            f"{what} {item['name']!r} still holds {item['hosts']} VM host(s)"
        )
    conn.execute(sa.delete(_named_table(kind)).where(_named_table(kind).c.id == item["id"]))


# --- spaces ----------------------------------------------------------------------------------


_SPACES = sa.select(t.spaces).order_by(t.spaces.c.id)  # built once: every host read runs it


def space_map(conn: sa.Connection) -> dict[int | None, dict[str, tuple[str, ...]]]:
    """{host id or None: {space: networks}} for every mapping."""
    result: dict[int | None, dict[str, tuple[str, ...]]] = {}
    for row in conn.execute(_SPACES):
        scope = result.setdefault(row.host_id, {})
        scope[row.space] = (*scope.get(row.space, ()), row.network)
    return result


def set_space(conn: sa.Connection, space: str, network: str, host_id: int | None) -> None:
    """Map a network (on one host, or on every host) to a space; ConflictError naming
    ``space`` when the space is known in another case."""
    other = conn.execute(
        sa.select(t.spaces.c.space).where(
            sa.func.lower(t.spaces.c.space) == space.lower(), t.spaces.c.space != space
        )
    ).first()
    if other is not None:
        raise model.duplicate_name(
            f"space {space!r} already exists", space, str(other.space), field="space"
        )
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


def space_names(conn: sa.Connection) -> set[str]:
    """Every space that has a mapping."""
    return {str(r.space) for r in conn.execute(sa.select(t.spaces.c.space).distinct())}


def host_names(conn: sa.Connection, host_ids: Sequence[int] | None = None) -> dict[int, str]:
    """{host id: name}, cheaply (no inventory)."""
    query = sa.select(t.hosts.c.id, t.hosts.c.name)
    if host_ids is not None:
        query = query.where(t.hosts.c.id.in_(list(host_ids)))
    return {int(r.id): str(r.name) for r in conn.execute(query)}
