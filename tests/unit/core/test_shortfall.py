"""The host-wide check cores and general memory share, and the figures of a failure."""

from __future__ import annotations

import pytest

from vmhost.model import Check, Figures, Unit
from vmhost.scheduler.shortfall import host_shortfall, room_figures


def _check(requested: int, used: int, capacity: int, limit: int) -> tuple[str, Figures] | None:
    failure = host_shortfall(
        Check.CORES,
        Unit.CORES,
        requested,
        used=used,
        capacity=capacity,
        limit=limit,
        total=12,
        set_aside=2,
        reserved=1,
        ratio=2.0,
        lack="lack {} cores",
        too_big="{} cores is too many",
    )
    if failure is None:
        return None
    assert failure.check is Check.CORES
    assert failure.figures is not None
    return failure.text, failure.figures


@pytest.mark.parametrize(
    ("requested", "used", "capacity", "limit"),
    [(4, 16, 20, 11), (11, 0, 20, 11), (0, 20, 20, 0)],
)
def test_fits_when_the_sum_reaches_the_capacity_and_one_vm_the_limit(
    requested: int, used: int, capacity: int, limit: int
) -> None:
    assert _check(requested, used, capacity, limit) is None


def test_a_sum_over_the_capacity_lacks_and_carries_every_figure() -> None:
    assert _check(5, 16, 20, 11) == (
        "lack 5 cores",
        Figures(Unit.CORES, 5, 4, 12, 2, 1, 2.0, 20, 16, 11),
    )


def test_one_vm_over_the_limit_is_too_big_though_the_sum_fits() -> None:
    result = _check(12, 0, 20, 11)
    assert result is not None
    assert result[0] == "12 cores is too many"
    assert result[1].free == 20


def test_lacking_wins_over_too_big() -> None:
    result = _check(12, 10, 20, 11)
    assert result is not None and result[0] == "lack 12 cores"


def test_room_figures_free_may_be_negative_and_leaves_the_rest_unset() -> None:
    figures = room_figures(
        Unit.MIB, 64, used=300, capacity=256, total=512, set_aside=128, ratio=1.0
    )
    assert figures == Figures(
        Unit.MIB, 64, free=-44, total=512, set_aside=128, ratio=1.0, capacity=256, used=300
    )
    assert figures.reserved is None and figures.limit is None
