"""A NIC asked for in any of several spaces or networks (MAAS's ``space=a,space=b``)."""

from __future__ import annotations

import pytest

from vmhost import model
from vmhost.model.accounting import HostView, PoolView, SriovView
from vmhost.scheduler import Placement, Rejection, fit


def view(spaces: dict[str, tuple[str, ...]]) -> HostView:
    return HostView(
        id=1,
        name="h1",
        type=model.HostType.FAKE,
        generation=0,
        cores=8,
        memory_mib=16 * 1024,
        pools=(PoolView("default", "dir", "/p", 10**12),),
        default_pool="default",
        networks=(("br0", model.NetworkKind.BRIDGE), ("eno1", model.NetworkKind.PHYSICAL)),
        spaces=spaces,
        sriov=(SriovView("enp5s0f0", 2, 0, "eno1"),),
    )


def nic(**kw: object) -> model.ComposeRequest:
    return model.ComposeRequest(interfaces=(model.InterfaceRequest(**kw),))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("spaces", "request_", "chosen"),
    [
        # the first alternative with a network on the host, and the space it is in
        ({"public": ("br0",)}, nic(space="db", or_spaces=("public",)), ("br0", "public")),
        (
            {"db": ("br0",), "public": ("eno1",)},
            nic(space="db", or_spaces=("public",)),
            ("br0", "db"),
        ),
        ({}, nic(network="br9", or_networks=("eno1",)), ("eno1", None)),
        (
            {"db": ("eno1",)},
            nic(space="x", or_spaces=("db",), kind=model.NetworkKind.SRIOV),
            ("enp5s0f0", "db"),
        ),
    ],
)
def test_any_alternative_does(
    spaces: dict[str, tuple[str, ...]],
    request_: model.ComposeRequest,
    chosen: tuple[str, str | None],
) -> None:
    placement = fit(view(spaces), request_)
    assert isinstance(placement, Placement)
    (got,) = placement.nics
    assert (got.network, got.space) == chosen


def test_no_alternative_on_the_host() -> None:
    rejected = fit(view({}), nic(space="db", or_spaces=("public",)))
    assert isinstance(rejected, Rejection)
    assert rejected.reason == "have no network in space 'db' or 'public'"


def test_alternatives_need_a_first_choice() -> None:
    with pytest.raises(model.InvalidInputError):
        model.InterfaceRequest(or_spaces=("db",))
    assert model.InterfaceRequest(space="a", or_spaces=("b",)).spaces == ("a", "b")
    assert model.InterfaceRequest(network="n").networks == ("n",)
    assert model.InterfaceRequest().spaces == ()
