"""The host list as operators browse it: filtered, sorted and paged, with the choices the filters
offer. Only the hosts of the page are read whole, so 1,000 hosts list as fast as 50."""

from __future__ import annotations

import builtins
import collections
import dataclasses
import enum
from collections.abc import Callable
from typing import Any

from vmhost import model, store
from vmhost.store.host_index import HostIndexEntry

from .context import Context
from .hosts import HostDetail

MAX_PER_PAGE = 200


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


_KEYS: dict[HostSort, Callable[[HostIndexEntry], Any]] = {
    HostSort.NAME: lambda e: e.name,
    HostSort.TYPE: lambda e: e.type,
    HostSort.STATUS: lambda e: e.status,
    HostSort.ZONE: lambda e: e.zone,
    HostSort.POOL: lambda e: e.pool,
    HostSort.VMS: lambda e: e.vm_count,
    HostSort.FREE_CORES: lambda e: e.free_vcpus,
    HostSort.FREE_MEMORY: lambda e: e.free_memory_mib,
    HostSort.FREE_STORAGE: lambda e: e.max_pool_free_bytes,
}


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

    def matches(self, e: HostIndexEntry) -> bool:
        """Whether a host passes every filter."""
        return (
            (self.zone is None or e.zone == self.zone)
            and (self.pool is None or e.pool == self.pool)
            and (self.tag is None or self.tag in e.tags)
            and (self.status is None or e.status == self.status.value)
            and (self.type is None or e.type == self.type.value)
            and (not self.text or self.text.lower() in e.name.lower())
        )


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


def _facet(values: collections.Counter[str]) -> builtins.list[tuple[str, int]]:
    return sorted(values.items())


def facets(entries: builtins.list[HostIndexEntry], zones: set[str], pools: set[str]) -> Facets:
    """Filter choices: every zone and pool (even empty ones), the tags and statuses in use."""
    zone_count = collections.Counter({z: 0 for z in zones})
    zone_count.update(e.zone for e in entries)
    pool_count = collections.Counter({p: 0 for p in pools})
    pool_count.update(e.pool for e in entries)
    tags: collections.Counter[str] = collections.Counter()
    for e in entries:
        tags.update(e.tags)
    return Facets(
        zones=_facet(zone_count),
        pools=_facet(pool_count),
        tags=_facet(tags),
        statuses=_facet(collections.Counter(e.status for e in entries)),
        types=_facet(collections.Counter(e.type for e in entries)),
    )


class HostListService:
    """Browse hosts a page at a time."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def page(self, query: HostListQuery) -> HostListPage:
        """The hosts of one page, from one read of the index and one of the page's rows."""
        with self.ctx.db.read() as conn:
            entries = store.host_index.index(conn)
            zones = {z["name"] for z in store.catalog.list_named(conn, "zone")}
            pools = {p["name"] for p in store.catalog.list_named(conn, "pool")}
            chosen = [e for e in entries if query.matches(e)]
            chosen.sort(key=lambda e: e.name)
            if query.sort is not HostSort.NAME or query.descending:
                chosen.sort(key=_KEYS[query.sort], reverse=query.descending)
            start = (query.page - 1) * query.per_page
            ids = [e.id for e in chosen[start : start + query.per_page]]
            spaces = store.catalog.space_map(conn) if ids else {}
            found = store.host_index.details(conn, ids, spaces)
        details = [HostDetail(*found[i]) for i in ids if i in found]
        return HostListPage(
            hosts=details,
            matching=len(chosen),
            total=len(entries),
            page=query.page,
            per_page=query.per_page,
            facets=facets(entries, zones, pools),
        )

    def usage_of_names(self) -> dict[str, dict[str, builtins.list[str]]]:
        """For zones and pools: the hosts each holds, by name (``{"zone": {name: [hosts]}}``)."""
        with self.ctx.db.read() as conn:
            entries = store.host_index.index(conn)
        result: dict[str, dict[str, builtins.list[str]]] = {"zone": {}, "pool": {}}
        for e in entries:
            result["zone"].setdefault(e.zone, []).append(e.name)
            result["pool"].setdefault(e.pool, []).append(e.name)
        return result
