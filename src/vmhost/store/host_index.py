"""A light index of every host, and the records of a few: what a paged host list reads.

Filtering and sorting 1,000 hosts needs only a few narrow columns (no inventory or usage JSON);
the page then reads the records and views of the hosts it shows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import sqlalchemy as sa

from vmhost import model
from vmhost.model.accounting import HostView

from . import tables as t
from .rows import HOST_COLUMNS, HOSTS_JOIN, SpaceMap, host_from_row, view_from_row


@dataclasses.dataclass(frozen=True, slots=True)
class HostIndexEntry:
    """The columns a host list filters and sorts on (``free_*`` are the exact prefilter hints
    the scheduler keeps on the row: what compose can still use)."""

    id: int
    name: str
    type: str
    status: str
    zone: str
    pool: str
    tags: tuple[str, ...]
    vm_count: int
    free_vcpus: int
    free_memory_mib: int
    max_pool_free_bytes: int


def index(conn: sa.Connection) -> list[HostIndexEntry]:
    """Every host's index entry, by id."""
    h = t.hosts.c
    query = (
        sa.select(
            h.id,
            h.name,
            h.type,
            h.status,
            t.zones.c.name.label("zone"),
            t.resource_pools.c.name.label("pool"),
            h.tags,
            h.vm_count,
            h.free_vcpus,
            h.free_memory_mib,
            h.max_pool_free_bytes,
        )
        .select_from(HOSTS_JOIN)
        .order_by(h.id)
    )
    return [
        HostIndexEntry(
            int(r.id),
            str(r.name),
            str(r.type),
            str(r.status),
            str(r.zone),
            str(r.pool),
            tuple(r.tags or ()),
            int(r.vm_count),
            int(r.free_vcpus),
            int(r.free_memory_mib),
            int(r.max_pool_free_bytes),
        )
        for r in conn.execute(query)
    ]


def details(
    conn: sa.Connection, host_ids: Sequence[int], spaces: SpaceMap
) -> dict[int, tuple[model.Host, HostView]]:
    """The records and views of these hosts, by id, from one read of their rows."""
    if not host_ids:
        return {}
    query = sa.select(*HOST_COLUMNS).select_from(HOSTS_JOIN).where(t.hosts.c.id.in_(host_ids))
    return {
        int(r.id): (host_from_row(r._mapping), view_from_row(r._mapping, spaces))
        for r in conn.execute(query)
    }
