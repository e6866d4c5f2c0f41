"""Filters, weighers and the pipeline's reasons (pure)."""

from __future__ import annotations

import dataclasses

import pytest

from vmhost import model
from vmhost.model.accounting import HostUsage, HostView, NodeView, PoolView, SriovView
from vmhost.scheduler import FitMemo, Placement, Rejection, fit, schedule
from vmhost.scheduler.pipeline import no_capacity_error

GIB = 1024
POOL = PoolView("default", "dir", "/p", 10**12)


def host(id_: int, **kw: object) -> HostView:
    base = {
        "id": id_,
        "name": f"h{id_}",
        "type": model.HostType.FAKE,
        "generation": 0,
        "cores": 16,
        "memory_mib": 32 * GIB,
        "architectures": ("amd64/generic",),
        "pools": (POOL,),
        "default_pool": "default",
        "networks": (("br0", model.NetworkKind.BRIDGE),),
        "can_run_containers": True,
    }
    base.update(kw)
    return HostView(**base)  # type: ignore[arg-type]


def used(view: HostView, vcpus: int, memory_mib: int) -> HostView:
    alloc = model.accounting.Allocation(vcpus=vcpus, memory_mib=memory_mib)
    return dataclasses.replace(view, usage=HostUsage().apply(alloc, model.VmOrigin.COMPOSED))


@pytest.mark.parametrize(
    ("request_kw", "view_kw", "reason"),
    [
        ({"zone": "z2"}, {}, "not in zone 'z2'"),
        ({"pool": "p2"}, {}, "not in resource pool 'p2'"),
        ({"tags": ("gpu",)}, {}, "lack tags gpu"),
        ({"not_tags": ("old",)}, {"tags": ("old",)}, "have excluded tags old"),
        ({"architecture": "arm64"}, {}, "are not arm64"),
        ({}, {"can_run_vms": False}, "cannot run virtual machines"),
        (
            {"instance_type": model.InstanceType.CONTAINER},
            {"can_run_containers": False},
            "cannot run containers",
        ),
        ({}, {"status": model.HostStatus.UNREACHABLE}, "unreachable (not ready)"),
        ({"host_id": 7}, {}, "not host 7"),
        (
            {"not_spaces": ("public",)},
            {"spaces": {"public": ("br0",)}},
            "have networks only in excluded spaces public",
        ),
    ],
)
def test_policy_filters_say_why(
    request_kw: dict[str, object], view_kw: dict[str, object], reason: str
) -> None:
    result = schedule([host(1, **view_kw)], model.ComposeRequest(**request_kw))  # type: ignore[arg-type]
    assert result.candidates == []
    assert [r.reason for r in result.removed] == [reason]


def test_architecture_prefix_matches() -> None:
    assert schedule([host(1)], model.ComposeRequest(architecture="amd64")).candidates


@pytest.mark.parametrize(
    ("request_kw", "check", "reason"),
    [
        ({"cores": 17}, "cores", "lack 17 free cores"),
        ({"memory_mib": 33 * GIB}, "memory", "lack 33792 MiB of memory"),
        (
            {"disks": (model.DiskRequest(2 * 10**12),)},
            "storage",
            "lack 2000 GB in storage pool 'default'",
        ),
        (
            {"disks": (model.DiskRequest(10, pool="fast"),)},
            "storage",
            "have no storage pool 'fast'",
        ),
        (
            {"disks": (model.DiskRequest(10, tags=("ssd",)),)},
            "storage",
            "have no storage pool tagged ssd",
        ),
        (
            {"interfaces": (model.InterfaceRequest(network="br9"),)},
            "network",
            "have no network 'br9'",
        ),
        (
            {"interfaces": (model.InterfaceRequest(space="db"),)},
            "network",
            "have no network in space 'db'",
        ),
        (
            {"interfaces": (model.InterfaceRequest(network="br0", kind=model.NetworkKind.SRIOV),)},
            "sriov",
            "lack a free SR-IOV virtual function on br0",
        ),
        ({"hugepages_backed": True}, "hugepages", "have no hugepages"),
    ],
)
def test_fit_rejections(request_kw: dict[str, object], check: str, reason: str) -> None:
    result = fit(host(1), model.ComposeRequest(**request_kw))  # type: ignore[arg-type]
    assert isinstance(result, Rejection)
    assert (result.check, result.reason) == (check, reason)


def test_disks_spread_over_named_and_tagged_pools() -> None:
    fast = PoolView("fast", "zfs", "tank", 10**11, tags=("ssd",))
    view = host(1, pools=(POOL, fast))
    request = model.ComposeRequest(
        disks=(
            model.DiskRequest(10**9),
            model.DiskRequest(2 * 10**9, tags=("ssd",)),
            model.DiskRequest(10**9, pool="fast"),
        )
    )
    placement = fit(view, request)
    assert isinstance(placement, Placement)
    assert placement.disk_pools == ("default", "fast", "fast")
    assert dict(placement.allocation.disks) == {"default": 10**9, "fast": 3 * 10**9}


def test_spaces_and_sriov_nics() -> None:
    view = host(
        1,
        networks=(
            ("br0", model.NetworkKind.BRIDGE),
            ("br-db", model.NetworkKind.BRIDGE),
            ("eno1", model.NetworkKind.PHYSICAL),
        ),
        spaces={"db": ("br-db",)},
        sriov=(SriovView("enp5s0f0", 2, 1, "eno1"),),
    )
    request = model.ComposeRequest(
        interfaces=(
            model.InterfaceRequest(space="db"),
            model.InterfaceRequest(network="eno1"),
            model.InterfaceRequest(network="eno1", kind=model.NetworkKind.SRIOV),
            model.InterfaceRequest(network="enp5s0f0", kind=model.NetworkKind.SRIOV),
        )
    )
    placement = fit(view, request)
    assert isinstance(placement, Placement)
    assert [(n.network, n.kind.value) for n in placement.nics] == [
        ("br-db", "bridge"),
        ("eno1", "macvlan"),
        ("enp5s0f0", "sriov"),
        ("enp5s0f0", "sriov"),
    ]
    assert placement.allocation.sriov == (("enp5s0f0", 2),)
    third = dataclasses.replace(request, interfaces=request.interfaces * 2)
    assert isinstance(fit(view, third), Rejection)


def test_numa_affinity_picks_one_node() -> None:
    nodes = (NodeView(0, tuple(range(8)), 16 * GIB), NodeView(1, tuple(range(8, 16)), 16 * GIB))
    view = host(1, numa=nodes)
    placement = fit(view, model.ComposeRequest(cores=8, memory_mib=16 * GIB, numa_affinity=True))
    assert isinstance(placement, Placement) and len(placement.numa_nodes) == 1
    too_big = fit(view, model.ComposeRequest(cores=9, memory_mib=GIB, numa_affinity=True))
    assert isinstance(too_big, Rejection)
    assert (too_big.check, too_big.reason) == (
        "numa",
        "no NUMA node has 9 cores and 1024 MiB free",
    )


@pytest.mark.parametrize(
    ("policy", "first"),
    [
        (model.PlacementPolicy.PACK, 2),
        (model.PlacementPolicy.SPREAD, 1),
        (model.PlacementPolicy.LEAST_LOADED, 1),
    ],
)
def test_policies_rank(policy: model.PlacementPolicy, first: int) -> None:
    empty = host(1)
    busy = used(host(2), 8, 16 * GIB)
    result = schedule([empty, busy], model.ComposeRequest(), policy)
    assert result.candidates[0].view.id == first


def test_ties_go_to_the_lower_id() -> None:
    result = schedule([host(3), host(1), host(2)], model.ComposeRequest())
    assert [c.view.id for c in result.candidates] == [1, 2, 3]


def test_memo_gives_what_a_fresh_schedule_gives() -> None:
    """The fit memo (explain=False) answers as schedule without it: for the same views, for a
    host whose view changed, for another request and for refused hosts."""
    memo: FitMemo = {}
    views = [host(1), used(host(2), 8, 16 * GIB), host(3, zone="z2"), host(4)]

    def both(views: list[HostView], request: model.ComposeRequest) -> list[int]:
        fresh = schedule(views, request, explain=False)
        memoised = schedule(views, request, explain=False, memo=memo)
        assert memoised.candidates == fresh.candidates
        assert memoised.considered == fresh.considered
        return [c.view.id for c in memoised.candidates]

    small = model.ComposeRequest(cores=2, memory_mib=GIB)
    assert both(views, small) == [2, 1, 3, 4]
    assert both(views, model.ComposeRequest(cores=2, memory_mib=GIB)) == [2, 1, 3, 4]
    assert set(memo) == {1, 2, 3, 4}
    views[1] = used(host(2), 64, 16 * GIB)  # full now: refused
    assert both(views, small) == [1, 3, 4]
    assert both(views, model.ComposeRequest(cores=2, memory_mib=GIB, zone="z2")) == [3]
    assert both(views, model.ComposeRequest(cores=2, memory_mib=20 * GIB)) == [1, 3, 4]
    assert both(views, model.ComposeRequest(cores=2, memory_mib=40 * GIB)) == []
    assert both(views, small) == [1, 3, 4]


def test_no_capacity_message_groups_reasons() -> None:
    views = [
        host(1, zone="z1"),
        host(2, zone="z2", memory_mib=8 * GIB),
        host(3, zone="z2", memory_mib=8 * GIB),
    ]
    result = schedule(views, model.ComposeRequest(memory_mib=16 * GIB, zone="z2"))
    err = no_capacity_error(result)
    assert str(err) == (
        "No VM host can take this request; 3 hosts considered: 2 lack 16384 MiB of memory; "
        "1 not in zone 'z2'"
    )
    assert [(r.check, r.hosts, r.reason) for r in err.reasons] == [
        ("memory", 2, "lack 16384 MiB of memory"),
        ("zone", 1, "not in zone 'z2'"),
    ]
    assert str(no_capacity_error(schedule([], model.ComposeRequest()))).endswith(
        "there are no VM hosts"
    )


def test_a_group_keeps_the_figures_all_its_hosts_share() -> None:
    """Hosts refused alike, many with equal figures: each figure of the group's failure is
    kept exactly when every host of the group has it, whatever the order of the hosts."""
    sizes = [(16, 0), (16, 0), (16, 4), (16, 0), (24, 0), (16, 4), (16, 0)]
    views = [used(host(i + 1, cores=c), u, GIB) for i, (c, u) in enumerate(sizes)]
    request = model.ComposeRequest(cores=40, memory_mib=GIB)
    for order in (views, views[::-1], views[2:] + views[:2]):
        reasons = schedule(order, request).removed
        assert [r.hosts for r in reasons] == [7]
        one = [schedule([v], request).removed[0].failures[0].figures for v in order]
        kept = reasons[0].failures[0].figures
        assert kept is not None and all(f is not None for f in one)
        for field in kept._fields:
            values = {getattr(f, field) for f in one}
            assert getattr(kept, field) == (values.pop() if len(values) == 1 else None), field
    same = schedule(views[:2] + views[3:4] + views[6:], request).removed[0].failures[0]
    assert same.figures == schedule(views[:1], request).removed[0].failures[0].figures


def test_explanations_of_equal_requests_agree() -> None:
    """Each call builds its own request object (as each API call does): equal requests get
    the same explanation, a different one its own."""
    views = [host(1), used(host(2), 8, 16 * GIB), host(3, zone="z2")]

    def answer(request: model.ComposeRequest) -> str:
        return str(no_capacity_error(schedule(views, request)))

    first = answer(model.ComposeRequest(memory_mib=33 * GIB, zone="z2", cores=20))
    assert first == answer(model.ComposeRequest(memory_mib=33 * GIB, zone="z2", cores=20))
    other = answer(model.ComposeRequest(memory_mib=34 * GIB, zone="z2", cores=20))
    assert other != first and "34816 MiB" in other
    assert first == answer(model.ComposeRequest(memory_mib=33 * GIB, zone="z2", cores=20))


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"cores": 0}, "cores"),
        ({"memory_mib": 10}, "memory_mib"),
        ({"disks": ()}, "disks"),
        ({"cores": 2, "pinned_cores": (1, 1)}, "pinned_cores"),
        ({"cores": 3, "pinned_cores": (1, 2)}, "pinned_cores"),
        ({"hostname": "Bad_Name"}, "hostname"),
        ({"hugepage_size_kib": 2048}, "hugepage_size_kib"),
    ],
)
def test_bad_requests(kw: dict[str, object], field: str) -> None:
    with pytest.raises(model.InvalidInputError) as err:
        model.ComposeRequest(**kw)  # type: ignore[arg-type]
    assert field in err.value.fields
