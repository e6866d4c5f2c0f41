"""The scheduler's zone filter: ``zone`` (exactly this one) and ``zones`` (one of these)."""

from __future__ import annotations

import pytest

from vmhost import model
from vmhost.model.accounting import HostView, PoolView
from vmhost.scheduler import schedule
from vmhost.scheduler.filters import zone_filter

GIB = 1024


def _host(host_id: int, zone: str) -> HostView:
    return HostView(
        id=host_id,
        name=f"h{host_id}",
        type=model.HostType.FAKE,
        generation=0,
        zone=zone,
        cores=16,
        memory_mib=64 * GIB,
        pools=(PoolView("default", "dir", "/p", 10**13),),
        default_pool="default",
        networks=(("br0", model.NetworkKind.BRIDGE),),
    )


@pytest.mark.parametrize(
    ("zone", "zones", "host_zone", "reason"),
    [
        (None, (), "z1", None),
        ("z1", (), "z1", None),
        ("z1", (), "z2", "not in zone 'z1'"),
        (None, ("z1", "z2"), "z2", None),
        (None, ("z1", "z2"), "z3", "not in zones z1,z2"),
        # Both given: both must hold.
        ("z1", ("z1", "z2"), "z1", None),
        ("z1", ("z1", "z2"), "z2", "not in zone 'z1'"),
        ("z3", ("z1", "z2"), "z3", "not in zones z1,z2"),
    ],
)
def test_zone_filter(
    zone: str | None, zones: tuple[str, ...], host_zone: str, reason: str | None
) -> None:
    request = model.ComposeRequest(zone=zone, zones=zones)
    assert zone_filter(_host(1, host_zone), request) == reason


def test_zones_default_to_any() -> None:
    assert model.ComposeRequest().zones == ()


def test_schedule_places_only_in_the_zones_asked_for() -> None:
    views = [_host(1, "z1"), _host(2, "z2"), _host(3, "z3")]
    result = schedule(views, model.ComposeRequest(zones=("z3", "z1")))
    assert sorted(c.view.id for c in result.candidates) == [1, 3]
    assert [(r.check, r.hosts, r.reason) for r in result.removed] == [
        ("zone", 1, "not in zones z3,z1")
    ]
