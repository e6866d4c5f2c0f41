"""The over-commit arithmetic operators know, exactly."""

from __future__ import annotations

import pytest

from vmhost import model
from vmhost.model.accounting import Allocation, HostUsage, HostView, NodeView
from vmhost.scheduler import Placement, fit
from vmhost.scheduler import capacity as cap

GIB = 1024


@pytest.mark.parametrize(
    ("total", "ratio", "expected"),
    [
        (8, 1.0, 8),
        (8, 0.5, 4),
        (32, 10.0, 320),
        (128 * GIB, 5.5, 704 * GIB),
        (8, 0.0, 0),
        (10, 0.7, 7),  # binary float would give 6.999... -> 6 without exact decimals
        (100, 0.57, 57),
        (3, 0.5, 1),  # floor: half a core cannot be composed
    ],
)
def test_capacity_examples(total: int, ratio: float, expected: int) -> None:
    assert cap.capacity(total, 0, ratio) == expected


def test_reserved_comes_off_before_the_ratio() -> None:
    assert cap.capacity(8, 2, 2.0) == 12
    assert cap.capacity(8, 10, 2.0) == 0


def _host(
    cores: int, memory_mib: int, cpu: float = 1.0, mem: float = 1.0, **kw: object
) -> HostView:
    return HostView(
        id=1,
        name="h",
        type=model.HostType.FAKE,
        generation=0,
        cores=cores,
        memory_mib=memory_mib,
        cpu_over_commit_ratio=cpu,
        memory_over_commit_ratio=mem,
        pools=(model.accounting.PoolView("default", "dir", "/p", 10**13),),
        default_pool="default",
        networks=(("br0", model.NetworkKind.BRIDGE),),
        **kw,  # type: ignore[arg-type]
    )


def _place_all(view: HostView, n: int, request: model.ComposeRequest) -> int:
    placed = 0
    for _ in range(n):
        result = fit(view, request)
        if not isinstance(result, Placement):
            break
        view = _with_usage(view, view.usage.apply(result.allocation, model.VmOrigin.COMPOSED))
        placed += 1
    return placed


def _with_usage(view: HostView, usage: HostUsage) -> HostView:
    import dataclasses

    return dataclasses.replace(view, usage=usage)


FOUR_VMS = model.ComposeRequest(cores=2, memory_mib=4 * GIB)


@pytest.mark.parametrize(
    ("cpu", "mem", "fits"),
    [
        (1.0, 1.0, 2),  # 4 cores allow 2, 12 GiB allow 3
        (2.0, 1.0, 3),  # cores allow 4, memory allows 3
        (1.0, 1.4, 2),  # memory allows 4 (16.8 GiB), cores allow 2
        (2.0, 1.3, 3),  # 15.6 GiB: one short
        (2.0, 1.4, 4),  # the minimum ratios for all four
    ],
)
def test_four_vms_of_2_cores_4_gib_on_4_cores_12_gib(cpu: float, mem: float, fits: int) -> None:
    view = _host(4, 12 * GIB, cpu, mem)
    assert _place_all(view, 4, FOUR_VMS) == fits


def test_minimum_ratios_for_the_four_vms() -> None:
    assert cap.minimum_ratio(4, 0, 4 * 2) == 2.0
    assert cap.minimum_ratio(12 * GIB, 0, 4 * 4 * GIB) == 1.4
    assert cap.minimum_ratio(4, 0, 100) is None  # more than 10x


def test_pinned_cores_leave_the_shared_pool_and_are_never_over_committed() -> None:
    view = _host(8, 64 * GIB, cpu=4.0, numa=(NodeView(0, tuple(range(8)), 64 * GIB),))
    assert cap.shared_core_capacity(view) == 32
    pinned = fit(view, model.ComposeRequest(cores=4, pin_cores=True))
    assert not isinstance(pinned, model.NoCapacityError)
    view = _with_usage(view, view.usage.apply(pinned.allocation, model.VmOrigin.COMPOSED))  # type: ignore[union-attr]
    assert cap.shared_core_capacity(view) == 16  # (8 - 4 pinned) x 4
    again = fit(view, model.ComposeRequest(cores=5, pin_cores=True))
    assert again.reason == "lack 5 free cores on one NUMA node to pin"  # type: ignore[union-attr]


def test_hugepages_are_not_general_memory_and_never_over_committed() -> None:
    node = NodeView(
        0, tuple(range(4)), 16 * GIB, (model.Hugepages(2048, 2048),)
    )  # 4 GiB of hugepages
    view = _host(4, 16 * GIB, mem=2.0, numa=(node,))
    assert cap.general_memory_mib(view) == 12 * GIB
    assert cap.memory_capacity_mib(view) == 24 * GIB
    ok = fit(view, model.ComposeRequest(memory_mib=4 * GIB, hugepages_backed=True))
    assert ok.allocation.hugepages == ((0, 2048, 4 * GIB),)  # type: ignore[union-attr]
    view = _with_usage(view, view.usage.apply(ok.allocation, model.VmOrigin.COMPOSED))  # type: ignore[union-attr]
    no = fit(view, model.ComposeRequest(memory_mib=64, hugepages_backed=True))
    assert no.check == "hugepages"  # type: ignore[union-attr]


def test_usage_apply_and_remove_is_exact() -> None:
    alloc = Allocation(vcpus=2, memory_mib=100, disks=(("default", 10),), sriov=(("nic", 1),))
    other = Allocation(pinned_cores=(3,), memory_mib=50)
    usage = HostUsage().apply(alloc, model.VmOrigin.COMPOSED).apply(other, model.VmOrigin.ADOPTED)
    assert usage.cores.allocated == 2 and usage.cores.other == 1
    assert usage.memory_mib.total == 150
    assert HostUsage.from_json(usage.to_json()) == usage
    back = usage.apply(alloc, model.VmOrigin.COMPOSED, -1).apply(other, model.VmOrigin.ADOPTED, -1)
    assert back.to_json() == HostUsage().to_json()
