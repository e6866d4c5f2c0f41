"""A request against the room a host or NUMA node has: the figures behind a failure
(``free = capacity - used``) and the host-wide check that cores and general memory make alike
(the sum must fit the capacity, and one VM must fit the limit). Pure."""

from __future__ import annotations

from vmhost.model import Check, Failure, Figures, Unit


def room_figures(
    unit: Unit,
    requested: int,
    *,
    used: int,
    capacity: int,
    total: int,
    set_aside: int,
    ratio: float,
    reserved: int | None = None,
    limit: int | None = None,
) -> Figures:
    """The figures of ``requested`` against ``capacity`` of which ``used`` is taken."""
    return Figures(
        unit,
        requested,
        free=capacity - used,
        total=total,
        set_aside=set_aside,
        reserved=reserved,
        ratio=ratio,
        capacity=capacity,
        used=used,
        limit=limit,
    )


def host_shortfall(
    check: Check,
    unit: Unit,
    requested: int,
    *,
    used: int,
    capacity: int,
    limit: int,
    total: int,
    set_aside: int,
    reserved: int,
    ratio: float,
    lack: str,
    too_big: str,
) -> Failure | None:
    """None when ``used + requested <= capacity`` and ``requested <= limit`` (the most one VM
    may have, whatever the ratio); else the failure, its text ``lack`` when the sum does not
    fit and ``too_big`` when only the limit is passed (each formatted with ``requested``)."""
    short = used + requested > capacity
    if not short and requested <= limit:
        return None
    figures = room_figures(
        unit,
        requested,
        used=used,
        capacity=capacity,
        total=total,
        set_aside=set_aside,
        ratio=ratio,
        reserved=reserved,
        limit=limit,
    )
    return Failure(check, (lack if short else too_big).format(requested), figures=figures)
