"""The scheduler's reads: host views, and the SQL prefilter that finds candidate hosts for a
request, best first for the placement policy."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from vmhost import model
from vmhost.model.accounting import HostUsage, HostView

from . import catalog, driver
from . import tables as t
from .rows import (
    HOSTS_JOIN,
    IN_POOL,
    IN_ZONE,
    VIEW_COLUMNS,
    SpaceMap,
    view_from_row,
    where_shape,
)


def _view_select() -> sa.Select[Any]:
    return sa.select(*VIEW_COLUMNS).select_from(HOSTS_JOIN)


# The candidate query reads the view's columns as stored (JSON as text): a view is a function of
# its row and the space mappings, so the view made from an equal row is reused (the hosts a
# claim did not change keep theirs). At most one entry per host id and kind of read: claims for
# requests that name no space read no space mappings (``spaces={}``), explanations and the warm
# pool may read them; with one entry per host, each kind of read would decode every row again.
_JSON = frozenset(c.name for c in VIEW_COLUMNS if isinstance(c.type, sa.JSON))
_STORED_VIEW_COLUMNS = tuple(
    sa.cast(c, sa.Text).label(c.name) if c.name in _JSON else c for c in VIEW_COLUMNS
)
_NAMES = tuple(c.name for c in VIEW_COLUMNS)
_ViewMemo = dict[int, tuple[tuple[Any, ...], tuple[Any, ...], HostView]]
_VIEWS: tuple[_ViewMemo, _ViewMemo] = ({}, {})  # without space mappings, with them
# A claim or a release changes only these two of a view's columns: a row equal to the one kept
# but for them gets the kept view with them replaced (what ``view_from_row`` would make of it:
# no other field of the view depends on them), not a new decoding of the whole row.
_GENERATION, _USAGE = _NAMES.index("generation"), _NAMES.index("usage")
_FIRST, _SECOND = sorted((_GENERATION, _USAGE))
_OTHERS = (slice(0, _FIRST), slice(_FIRST + 1, _SECOND), slice(_SECOND + 1, None))


def _spaces_key(spaces: SpaceMap) -> tuple[Any, ...]:
    if not spaces:
        return ()
    scopes = ((-1 if k is None else k, tuple(sorted(v.items()))) for k, v in spaces.items())
    return tuple(sorted(scopes))


def _stored_view(
    row: tuple[Any, ...],
    spaces: SpaceMap,
    spaces_key: tuple[Any, ...],
    processors: Sequence[tuple[int, driver.Processor]] = (),
) -> HostView:
    """The view of a stored row (``_STORED_VIEW_COLUMNS``), made once per distinct row
    (``processors``: the driver values' conversions, for a row read on the driver cursor)."""
    if processors:
        values = list(row)
        for i, processor in processors:
            values[i] = processor(values[i])
        row = tuple(values)
    memo = _VIEWS[bool(spaces_key)]
    entry = memo.get(row[0])
    if entry is not None and entry[1] == spaces_key:
        kept = entry[0]
        if kept == row:
            return entry[2]
        if all(kept[part] == row[part] for part in _OTHERS):
            view = dataclasses.replace(
                entry[2],
                generation=row[_GENERATION],
                usage=HostUsage.from_json(json.loads(row[_USAGE])),
            )
            memo[row[0]] = (row, spaces_key, view)
            return view
    mapping = dict(zip(_NAMES, row, strict=True))
    for name in _JSON:
        mapping[name] = json.loads(mapping[name])
    view = view_from_row(mapping, spaces)
    memo[row[0]] = (row, spaces_key, view)
    return view


def load_view(conn: sa.Connection, host_id: int, spaces: SpaceMap | None = None) -> HostView:
    """One host's view, or NotFoundError (``spaces`` None: read the mappings)."""
    row = conn.execute(_view_select().where(t.hosts.c.id == host_id)).first()
    if row is None:
        raise model.NotFoundError("VM host", host_id)
    return view_from_row(row._mapping, spaces if spaces is not None else catalog.space_map(conn))


_ALL_VIEWS = sa.select(*_STORED_VIEW_COLUMNS).select_from(HOSTS_JOIN).order_by(t.hosts.c.id)
_ALL_VIEWS_STATEMENT = driver.Statement(_ALL_VIEWS)
_ONE_VIEW_STATEMENT = driver.Statement(_ALL_VIEWS.where(t.hosts.c.id == sa.bindparam("view_id")))


def stored_view(conn: sa.Connection, host_id: int, spaces: SpaceMap) -> HostView | None:
    """One host's view as ``load_views`` makes it (on the driver cursor, the view of an
    unchanged row not made again), or None when there is no such host."""
    views = _read_views(conn, _ONE_VIEW_STATEMENT, {"view_id": host_id}, spaces)
    return views[0] if views else None


def load_views(
    conn: sa.Connection, host_ids: Sequence[int] | None = None, spaces: SpaceMap | None = None
) -> list[HostView]:
    """Views of some or all hosts, by id (the views of unchanged rows are not made again;
    every host is read on the driver cursor, as the candidates are; ``spaces`` None: read the
    mappings)."""
    spaces = spaces if spaces is not None else catalog.space_map(conn)
    if host_ids is not None:
        query = _ALL_VIEWS.where(t.hosts.c.id.in_(host_ids))
        key = _spaces_key(spaces)
        return [_stored_view(tuple(r), spaces, key) for r in conn.execute(query)]
    return _read_views(conn, _ALL_VIEWS_STATEMENT, {}, spaces)


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


# the optional conditions, in the order of ``candidate_views``'s shape
_OPTIONAL = (
    t.hosts.c.free_pinnable_cores >= sa.bindparam("pinned_cores"),
    t.hosts.c.max_free_hugepages_mib >= sa.bindparam("hugepages_mib"),
    t.hosts.c.max_node_free_vcpus >= sa.bindparam("node_vcpus"),
    t.hosts.c.max_node_free_memory_mib >= sa.bindparam("node_memory_mib"),
    IN_ZONE,
    IN_POOL,
    t.hosts.c.id == sa.bindparam("host_id"),
)


@functools.lru_cache(maxsize=64)
def _candidate_select(
    shape: tuple[bool, ...], order: str, limited: bool, lock: bool
) -> sa.Select[Any]:
    """The prefilter query for one combination of active conditions, built once (bind
    parameters carry the values), so SQLAlchemy's statement cache always hits."""
    h = t.hosts.c
    query = (
        sa.select(*_STORED_VIEW_COLUMNS)
        .select_from(HOSTS_JOIN)
        .where(
            h.status == model.HostStatus.READY.value,
            h.free_vcpus >= sa.bindparam("vcpus"),
            h.free_memory_mib >= sa.bindparam("memory_mib"),
            h.max_pool_free_bytes >= sa.bindparam("largest_disk_bytes"),
        )
    )
    query = where_shape(query, _OPTIONAL, shape)
    if order == "spread":
        query = query.order_by(h.free_memory_mib.desc(), h.id.desc())
    elif order == "least-loaded":
        query = query.order_by(h.vm_count, h.free_memory_mib.desc(), h.id)
    else:
        query = query.order_by(h.free_memory_mib, h.id)
    if limited:
        query = query.limit(sa.bindparam("limit")).offset(sa.bindparam("offset"))
    if lock:
        # PostgreSQL: the rows read are locked until commit, and rows another claim holds are
        # passed over instead of waited for (SQLite has no row locks: it renders nothing)
        query = query.with_for_update(of=t.hosts, skip_locked=True)
    return query


@functools.lru_cache(maxsize=64)
def _candidate_statement(
    shape: tuple[bool, ...], order: str, limited: bool, lock: bool
) -> driver.Statement:
    return driver.Statement(_candidate_select(shape, order, limited, lock))


_PROCESSORS: dict[str, list[tuple[int, driver.Processor]]] = {}  # by dialect name


def candidate_views(
    conn: sa.Connection,
    q: CandidateQuery,
    limit: int | None,
    offset: int = 0,
    spaces: SpaceMap | None = None,
    lock: bool = False,
) -> list[HostView]:
    """Ready hosts that pass the SQL prefilter, best first for the policy (``spaces`` None:
    read the mappings). With ``lock``, the hosts read are locked for this transaction and
    hosts locked by another are left out (the next best unlocked ones come instead)."""
    shape = (
        bool(q.pinned_cores),
        bool(q.hugepages_mib),
        bool(q.node_vcpus),
        bool(q.node_memory_mib),
        q.zone is not None,
        q.pool is not None,
        q.host_id is not None,
    )
    params = {name: getattr(q, name) for name in _QUERY_FIELDS}
    params.update(limit=limit, offset=offset)
    statement = _candidate_statement(shape, q.order, limit is not None, lock)
    spaces = spaces if spaces is not None else catalog.space_map(conn)
    return _read_views(conn, statement, params, spaces)


def _read_views(
    conn: sa.Connection, statement: driver.Statement, params: dict[str, Any], spaces: SpaceMap
) -> list[HostView]:
    """The views of the rows of ``statement`` (``_STORED_VIEW_COLUMNS``), read on the driver
    cursor."""
    key = _spaces_key(spaces)
    cursor = statement.execute(conn, params)
    try:
        rows = cursor.fetchall()
        processors = _processors(conn, cursor)
    finally:
        cursor.close()
    return [_stored_view(row, spaces, key, processors) for row in rows]


def _processors(conn: sa.Connection, cursor: Any) -> list[tuple[int, driver.Processor]]:
    """The conversions of ``_STORED_VIEW_COLUMNS`` read on the driver cursor, per dialect."""
    processors = _PROCESSORS.get(conn.dialect.name)
    if processors is None:
        processors = driver.result_processors(_STORED_VIEW_COLUMNS, conn.dialect, cursor)
        _PROCESSORS[conn.dialect.name] = processors
    return processors


_QUERY_FIELDS = tuple(f.name for f in dataclasses.fields(CandidateQuery))
