"""The host list as operators browse it: filtered, sorted and paged, with the choices the filters
offer. The database filters, sorts and counts; only the hosts of the page are read whole, so
1,000 hosts list about as fast as 50."""

from __future__ import annotations

import builtins
import collections
import dataclasses
import enum
import threading
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from vmhost import model, store

from .context import Context
from .hosts import HostDetail

MAX_PER_PAGE = 200
T = TypeVar("T")


class HostSort(enum.StrEnum):
    """What the list is ordered by (then by name)."""

    NAME = "name"
    TYPE = "type"
    STATUS = "status"
    ZONE = "zone"
    POOL = "pool"
    VMS = "vms"
    FREE_CORES = "free-cores"
    FREE_MEMORY = "free-memory"
    FREE_STORAGE = "free-storage"


@dataclasses.dataclass(frozen=True, slots=True)
class HostListQuery:
    """Filters (None = any), order and page (1-based)."""

    zone: str | None = None
    pool: str | None = None
    tag: str | None = None
    status: model.HostStatus | None = None
    type: model.HostType | None = None
    text: str = ""  # in the name
    sort: HostSort = HostSort.NAME
    descending: bool = False
    page: int = 1
    per_page: int = 50

    def __post_init__(self) -> None:
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise model.InvalidInputError.for_field(
                "per_page", f"must be from 1 to {MAX_PER_PAGE}, not {self.per_page}"
            )
        if self.page < 1:
            raise model.InvalidInputError.for_field("page", f"must be 1 or more, not {self.page}")


@dataclasses.dataclass(frozen=True, slots=True)
class Facets:
    """What the filters can choose from, with how many hosts each holds (name, hosts)."""

    zones: builtins.list[tuple[str, int]]
    pools: builtins.list[tuple[str, int]]
    tags: builtins.list[tuple[str, int]]
    statuses: builtins.list[tuple[str, int]]
    types: builtins.list[tuple[str, int]]


@dataclasses.dataclass(frozen=True, slots=True)
class HostListPage:
    """One page of hosts (whole details, in order), how many match and how many exist."""

    hosts: builtins.list[HostDetail]
    matching: int
    total: int
    page: int
    per_page: int
    facets: Facets

    @property
    def pages(self) -> int:
        """How many pages the matching hosts fill (at least 1)."""
        return max(1, -(-self.matching // self.per_page))


def _spaces_key(spaces: store.rows.SpaceMap) -> tuple[Any, ...]:
    scopes = ((-1 if k is None else k, tuple(sorted(v.items()))) for k, v in spaces.items())
    return tuple(sorted(scopes))


class _Rendered(Generic[T]):
    """What one render function made of each host, with the stored row it was made from.

    A host's record and view are a function of its stored row (and the space mappings), so an
    equal row gives an equal rendering: only the hosts whose row changed since the last read
    are decoded and rendered again (a claim changes one host's row). Hosts gone from a full
    read are forgotten, so it holds at most one entry per host.
    """

    def __init__(self, render: Callable[[HostDetail], T]) -> None:
        self.render = render
        self.spaces_key: tuple[Any, ...] = ()
        self.made: dict[int, tuple[store.hosts.StoredRow, T]] = {}

    def of(
        self,
        rows: Sequence[store.hosts.StoredRow],
        spaces: store.rows.SpaceMap,
        whole: bool,
    ) -> builtins.list[T]:
        key = _spaces_key(spaces)
        made = self.made
        if key != self.spaces_key:
            made = {}
        fresh: dict[int, tuple[store.hosts.StoredRow, T]] = {} if whole else made
        out: builtins.list[T] = []
        for row in rows:
            entry = made.get(row[0])
            if entry is None or entry[0] != row:
                entry = (row, self.render(HostDetail(*store.hosts.decode_row(row, spaces))))
            fresh[row[0]] = entry
            out.append(entry[1])
        self.made, self.spaces_key = fresh, key
        return out


class HostListService:
    """Browse hosts a page at a time."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._rendered: dict[Callable[[Any], Any], _Rendered[Any]] = {}
        self._lock = threading.Lock()

    def rendered(
        self,
        render: Callable[[HostDetail], T],
        host_ids: Sequence[int] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> builtins.list[T]:
        """``render`` of every host by id (or of ``host_ids``, or of a page of ``limit`` from
        ``offset``), from one read of the stored rows; a host whose row is unchanged since the
        last call is not rendered again (the API's list and read send these bytes)."""
        with self.ctx.db.read() as conn:
            rows = store.hosts.stored_rows(conn, host_ids, limit, offset)
            spaces = store.catalog.space_map(conn) if rows else {}
        # A read of some hosts does not wait while another call renders many (the API reads
        # one host in its event loop): it renders its rows itself, the same bytes, unkept.
        if not self._lock.acquire(blocking=host_ids is None):
            return [render(HostDetail(*store.hosts.decode_row(r, spaces))) for r in rows]
        try:
            memo = self._rendered.get(render)
            if memo is None:
                memo = self._rendered[render] = _Rendered(render)
            return memo.of(rows, spaces, host_ids is None and limit is None and offset == 0)
        finally:
            self._lock.release()

    def page(self, query: HostListQuery) -> HostListPage:
        """One page: the ids filtered, sorted and paged by the database, then the records and
        views of those hosts only."""
        with self.ctx.db.read() as conn:
            tagged = store.host_index.tags(conn)
            ids = None
            if query.tag is not None:
                ids = tuple(i for i, tags in tagged.items() if query.tag in tags)
            where = store.host_index.IndexFilter(
                zone=query.zone,
                pool=query.pool,
                status=query.status.value if query.status else None,
                type=query.type.value if query.type else None,
                text=query.text,
                host_ids=ids,
            )
            matching = store.host_index.count(conn, where)
            page = store.host_index.page_ids(
                conn,
                where,
                query.sort.value,
                query.descending,
                query.per_page,
                (query.page - 1) * query.per_page,
            )
            spaces = store.catalog.space_map(conn) if page else {}
            found = store.host_index.details(conn, page, spaces)
            zones = [(z["name"], int(z["hosts"])) for z in store.catalog.list_named(conn, "zone")]
            pools = [(p["name"], int(p["hosts"])) for p in store.catalog.list_named(conn, "pool")]
            statuses = store.host_index.counts_by(conn, "status")
            types = store.host_index.counts_by(conn, "type")
        tag_counts = collections.Counter(tag for tags in tagged.values() for tag in tags)
        return HostListPage(
            hosts=[HostDetail(*found[i]) for i in page if i in found],
            matching=matching,
            total=sum(n for _, n in statuses),
            page=query.page,
            per_page=query.per_page,
            facets=Facets(
                zones=sorted(zones),
                pools=sorted(pools),
                tags=sorted(tag_counts.items()),
                statuses=statuses,
                types=types,
            ),
        )

    def usage_of_names(self) -> dict[str, dict[str, builtins.list[str]]]:
        """For zones and pools: the hosts each holds, by name (``{"zone": {name: [hosts]}}``)."""
        with self.ctx.db.read() as conn:
            placed = store.host_index.placement(conn)
        result: dict[str, dict[str, builtins.list[str]]] = {"zone": {}, "pool": {}}
        for name, zone, pool in placed:
            result["zone"].setdefault(zone, []).append(name)
            result["pool"].setdefault(pool, []).append(name)
        return result
