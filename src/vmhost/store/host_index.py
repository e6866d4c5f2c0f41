"""The host list's queries: one page of host ids, filtered and sorted in SQL, how many match,
the counts its filters offer, and the records of the page's hosts.

With 1,000 hosts a page reads 50 rows whole; the rest is counted and sorted by the database.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from vmhost import model
from vmhost.model.accounting import HostView

from . import tables as t
from .rows import (
    HOST_COLUMNS,
    HOSTS_JOIN,
    IN_POOL,
    IN_ZONE,
    SpaceMap,
    host_from_row,
    view_from_row,
    where_shape,
)

_h = t.hosts.c
# what the list may sort by: the exact prefilter hints for "free" (what compose can still use)
SORT_COLUMNS: dict[str, Any] = {
    "name": _h.name,
    "type": _h.type,
    "status": _h.status,
    "zone": t.zones.c.name,
    "pool": t.resource_pools.c.name,
    "vms": _h.vm_count,
    "free-cores": _h.free_vcpus,
    "free-memory": _h.free_memory_mib,
    "free-storage": _h.max_pool_free_bytes,
}


@dataclasses.dataclass(frozen=True, slots=True)
class IndexFilter:
    """Which hosts a page lists (None = any); ``host_ids`` restricts to those ids."""

    zone: str | None = None
    pool: str | None = None
    status: str | None = None
    type: str | None = None
    text: str = ""  # in the name, any case
    host_ids: tuple[int, ...] | None = None

    @property
    def shape(self) -> tuple[bool, ...]:
        """Which conditions apply (one statement per shape, built once)."""
        return (
            self.zone is not None,
            self.pool is not None,
            self.status is not None,
            self.type is not None,
            bool(self.text),
            self.host_ids is not None,
        )

    def params(self) -> dict[str, Any]:
        """The bind parameters of the conditions."""
        escaped = self.text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return {
            "zone": self.zone,
            "pool": self.pool,
            "status": self.status,
            "type": self.type,
            "text": f"%{escaped}%",
            "ids": list(self.host_ids or ()),
        }


# the conditions of IndexFilter.shape, in its order
_CONDITIONS = (
    IN_ZONE,
    IN_POOL,
    _h.status == sa.bindparam("status"),
    _h.type == sa.bindparam("type"),
    sa.func.lower(_h.name).like(sa.bindparam("text"), escape="\\"),
    _h.id.in_(sa.bindparam("ids", expanding=True)),
)


def _where(query: sa.Select[Any], shape: tuple[bool, ...]) -> sa.Select[Any]:
    return where_shape(query, _CONDITIONS, shape)


@functools.lru_cache(maxsize=256)
def _page_select(shape: tuple[bool, ...], sort: str, descending: bool) -> sa.Select[Any]:
    column = SORT_COLUMNS[sort]
    order = [column.desc() if descending else column.asc()]
    if sort != "name":
        order.append(_h.name.asc())
    query = _where(sa.select(_h.id).select_from(HOSTS_JOIN), shape)
    return (
        query.order_by(*order, _h.id).limit(sa.bindparam("limit")).offset(sa.bindparam("offset"))
    )


@functools.lru_cache(maxsize=64)
def _count_select(shape: tuple[bool, ...]) -> sa.Select[Any]:
    return _where(sa.select(sa.func.count()).select_from(HOSTS_JOIN), shape)


def page_ids(
    conn: sa.Connection, where: IndexFilter, sort: str, descending: bool, limit: int, offset: int
) -> list[int]:
    """The ids of one page of matching hosts, in order (then by name, then id)."""
    query = _page_select(where.shape, sort, descending)
    params = {**where.params(), "limit": limit, "offset": offset}
    return [row[0] for row in conn.execute(query, params)]


def count(conn: sa.Connection, where: IndexFilter) -> int:
    """How many hosts match."""
    return int(conn.execute(_count_select(where.shape), where.params()).scalar_one())


_BY_STATUS = sa.select(_h.status, sa.func.count()).group_by(_h.status)
_BY_TYPE = sa.select(_h.type, sa.func.count()).group_by(_h.type)
_TAGS = sa.select(_h.id, sa.cast(_h.tags, sa.Text)).where(sa.cast(_h.tags, sa.Text) != "[]")


def counts_by(conn: sa.Connection, column: str) -> list[tuple[str, int]]:
    """(status or type, hosts), for the statuses and types in use."""
    query = _BY_STATUS if column == "status" else _BY_TYPE
    return sorted((str(k), int(n)) for k, n in conn.execute(query))


def tags(conn: sa.Connection) -> dict[int, tuple[str, ...]]:
    """The tags of every host that has some."""
    result = {}
    for host_id, value in conn.execute(_TAGS):
        found = tuple(json.loads(value))
        if found:
            result[int(host_id)] = found
    return result


_DETAILS = (
    sa.select(*HOST_COLUMNS)
    .select_from(HOSTS_JOIN)
    .where(_h.id.in_(sa.bindparam("ids", expanding=True)))
)


def details(
    conn: sa.Connection, host_ids: Sequence[int], spaces: SpaceMap
) -> dict[int, tuple[model.Host, HostView]]:
    """The records and views of these hosts, by id, from one read of their rows."""
    if not host_ids:
        return {}
    return {
        int(r.id): (host_from_row(r._mapping), view_from_row(r._mapping, spaces))
        for r in conn.execute(_DETAILS, {"ids": list(host_ids)})
    }


_PLACEMENT = (
    sa.select(_h.name, t.zones.c.name, t.resource_pools.c.name)
    .select_from(HOSTS_JOIN)
    .order_by(_h.name)
)


def placement(conn: sa.Connection) -> list[tuple[str, str, str]]:
    """(host, zone, pool) of every host, by host name."""
    return [(str(h), str(z), str(p)) for h, z, p in conn.execute(_PLACEMENT)]
