"""Refusals as data (checks, subjects, figures) and the compose rules of issue 12 (pure).

Each test names the rule it holds: every failing resource reported with the host and its
figures; a found VM's memory split over its NUMA nodes; hugepages rounded per node; no VM
larger than its host; no VM without a NIC unless asked; MAAS's NIC choice.
"""

from __future__ import annotations

import dataclasses

import pytest

from vmhost import model, schemas
from vmhost.model import Check, Figures, Unit
from vmhost.model.accounting import Allocation, HostUsage, HostView, NodeView, PoolView, SriovView
from vmhost.scheduler import Placement, Rejection, fit, found_allocation, schedule
from vmhost.scheduler.pipeline import no_capacity_error

GIB = 1024
BRIDGE = model.NetworkKind.BRIDGE
PHYSICAL = model.NetworkKind.PHYSICAL


def host(id_: int = 3, **kw: object) -> HostView:
    base: dict[str, object] = {
        "id": id_,
        "name": f"kvm-{id_}",
        "type": model.HostType.LIBVIRT,
        "generation": 0,
        "cores": 8,
        "memory_mib": 8 * GIB,
        "pools": (PoolView("default", "dir", "/p", 10**12),),
        "default_pool": "default",
        "networks": (("br0", BRIDGE),),
    }
    base.update(kw)
    return HostView(**base)  # type: ignore[arg-type]


def busy(view: HostView, vcpus: int = 0, memory_mib: int = 0) -> HostView:
    alloc = Allocation(vcpus=vcpus, memory_mib=memory_mib)
    return dataclasses.replace(view, usage=HostUsage().apply(alloc, model.VmOrigin.COMPOSED))


def two_nodes(hugepages: tuple[tuple[int, int], ...] = ()) -> tuple[NodeView, ...]:
    """Node 0 has cores 0-3, node 1 cores 4-7, 4 GiB each; ``hugepages`` (size KiB, pages)
    per node, in node order."""
    pages = [(model.Hugepages(*h),) for h in hugepages] or [(), ()]
    return (
        NodeView(0, (0, 1, 2, 3), 4 * GIB, pages[0]),
        NodeView(1, (4, 5, 6, 7), 4 * GIB, pages[1]),
    )


# -- item 10: the host and the figures, every failing resource ---------------------------------


def test_one_host_refusal_names_the_host_and_every_failing_resource() -> None:
    view = busy(host(), vcpus=6, memory_mib=7 * GIB)
    result = schedule([view], model.ComposeRequest(cores=3, memory_mib=4 * GIB))
    err = no_capacity_error(result)
    assert str(err) == (
        "host 'kvm-3' cannot take this VM: 3 cores requested, 2 free (8 cores × 1.0, 6 used); "
        "4096 MiB of memory requested, 1024 free (8192 MiB × 1.0, 7168 used)"
    )
    assert err.considered == 1
    [reason] = err.reasons
    assert (reason.check, reason.hosts, reason.host_id, reason.host_name) == (
        Check.CORES,
        1,
        3,
        "kvm-3",
    )
    assert [f.check for f in reason.failures] == [Check.CORES, Check.MEMORY]
    assert reason.failures[0].figures == Figures(
        Unit.CORES,
        3,
        free=2,
        total=8,
        set_aside=0,
        reserved=0,
        ratio=1.0,
        capacity=8,
        used=6,
        limit=8,
    )
    assert reason.failures[1].figures == Figures(
        Unit.MIB,
        4096,
        free=1024,
        total=8192,
        set_aside=0,
        reserved=0,
        ratio=1.0,
        capacity=8192,
        used=7168,
        limit=8192,
    )


def test_figures_show_reserved_pinned_and_the_ratio() -> None:
    view = dataclasses.replace(busy(host(), vcpus=8), reserved_cores=1, cpu_over_commit_ratio=1.5)
    result = fit(view, model.ComposeRequest(cores=4))
    assert isinstance(result, Rejection)
    assert result.failures[0].detail == (
        "4 cores requested, 2 free ((8 cores - 1 reserved) × 1.5 = 10, 8 used)"
    )


def test_several_hosts_keep_the_summary_and_only_shared_figures() -> None:
    views = [
        dataclasses.replace(busy(host(1), vcpus=7), zone="z2"),
        dataclasses.replace(busy(host(2), vcpus=6), zone="z2"),
        host(3),
    ]
    err = no_capacity_error(schedule(views, model.ComposeRequest(cores=4, zone="z2")))
    assert str(err) == (
        "No VM host can take this request; 3 hosts considered: 2 lack 4 free cores; "
        "1 not in zone 'z2'"
    )
    cores = err.reasons[0]
    assert (cores.hosts, cores.host_id, cores.host_name) == (2, None, None)
    figures = cores.failures[0].figures
    assert figures is not None
    assert (figures.requested, figures.total, figures.capacity) == (4, 8, 8)
    assert figures.free is None and figures.used is None  # 1 and 2: not shared


def test_a_named_host_among_many_is_not_reported_as_the_others() -> None:
    views = [host(i) for i in range(1, 25)]
    request = model.ComposeRequest(cores=9, host_id=24)
    err = no_capacity_error(schedule([v for v in views if v.id == 24], request))
    assert str(err).startswith("host 'kvm-24' cannot take this VM: 9 cores requested")
    assert "not host" not in str(err)


def test_policy_filter_refusals_carry_their_check() -> None:
    result = schedule([host()], model.ComposeRequest(tags=("gpu",)))
    [reason] = result.removed
    assert reason.check is Check.TAGS and reason.failures[0].figures is None


def test_wire_reason_carries_check_host_subject_and_figures() -> None:
    view = host(
        pools=(PoolView("default", "dir", "/p", 100 * 1000**3, external_bytes=30 * 1000**3),)
    )
    request = model.ComposeRequest(disks=(model.DiskRequest(80 * 1000**3),))
    [reason] = schedule([view], request).removed
    wire = schemas.Reason.of(reason).model_dump(mode="json")
    assert wire == {
        "check": "storage",
        "hosts": 1,
        "reason": "lack 80 GB in storage pool 'default'",
        "host": {"id": 3, "name": "kvm-3"},
        "failures": [
            {
                "check": "storage",
                "reason": "lack 80 GB in storage pool 'default'",
                "detail": "80 GB in storage pool 'default' requested, 70 GB free "
                "(100 GB - 30 GB used outside vmhost, 0 GB used)",
                "subject": {
                    "numa_node": None,
                    "storage_pool": "default",
                    "network": None,
                    "space": None,
                    "nic": None,
                    "hugepage_size_kib": None,
                },
                "figures": {
                    "unit": "bytes",
                    "requested": 80 * 1000**3,
                    "free": 70 * 1000**3,
                    "total": 100 * 1000**3,
                    "set_aside": 30 * 1000**3,
                    "reserved": None,
                    "ratio": None,
                    "capacity": 70 * 1000**3,
                    "used": 0,
                    "limit": None,
                },
            }
        ],
    }
    back = schemas.Reason.model_validate(wire)
    assert back.check is Check.STORAGE and back.failures[0].check is Check.STORAGE
    assert schemas.Reason.model_validate({**wire, "check": "future-check"}).check == "future-check"


def test_wire_figures_and_subject_are_the_model_records_field_for_field() -> None:
    # schemas.Reason.of copies the model's records by field name, and a Response ignores
    # unknown keys: a figure added to the model alone would be dropped without a word
    assert list(schemas.Figures.model_fields) == list(model.Figures._fields)
    assert list(schemas.Subject.model_fields) == list(model.Subject._fields)
    # the wire unit stays a string, so a client reads a newer server's unit (model.Unit is
    # the closed set this server renders)
    newer = schemas.Figures.model_validate({"unit": "IOPS", "requested": 1})
    assert newer.unit == "IOPS" and newer.free is None


def test_every_check_is_a_wire_value() -> None:
    assert {c.value for c in Check} >= {"cores", "memory", "storage", "network", "zone"}
    assert {c for c in Check if c.about_host_state} == {Check.HOST, Check.STATUS, Check.DRIVER}


# -- item 5: a found VM pinned on two nodes has its memory split -------------------------------


def test_found_vm_pinned_on_two_nodes_has_its_memory_split() -> None:
    view = host(numa=two_nodes())
    vm = model.DiscoveredVm("other", cores=2, memory_mib=2048, pinned_cores=(1, 5))
    alloc = found_allocation(view, vm)
    assert alloc.numa_memory_mib == ((0, 1024), (1, 1024))
    assert alloc.pinned_cores == (1, 5) and alloc.vcpus == 0 and alloc.memory_mib == 2048
    three = found_allocation(view, dataclasses.replace(vm, cores=3, pinned_cores=(0, 1, 4)))
    assert three.numa_memory_mib == ((0, 1366), (1, 682))  # as composed VMs: 2/3 and 1/3


def test_found_hugepage_vm_on_two_nodes_rounds_each_share_to_the_node_page() -> None:
    view = host(numa=two_nodes(((2048 * 1024, 2), (4096 * 1024, 2))))
    vm = model.DiscoveredVm("h", 2, 2048, pinned_cores=(0, 4), hugepages_backed=True)
    alloc = found_allocation(view, vm)
    assert alloc.hugepages == ((0, 2048 * 1024, 2048), (1, 4096 * 1024, 4096))
    assert alloc.memory_mib == 0


def test_found_unpinned_vm_bound_to_a_node_counts_there() -> None:
    view = host(numa=two_nodes())
    alloc = found_allocation(view, model.DiscoveredVm("n", 2, 1024, numa_node=1))
    assert alloc.numa_vcpus == ((1, 2),) and alloc.numa_memory_mib == ((1, 1024),)
    floating = found_allocation(view, model.DiscoveredVm("f", 2, 1024))
    assert floating.numa_vcpus == () and floating.numa_memory_mib == ()


# -- item 6: nodes with different hugepage sizes -------------------------------------------------


def test_hugepage_vm_spans_nodes_with_different_page_sizes() -> None:
    view = host(numa=two_nodes(((2048 * 1024, 2), (4096 * 1024, 2))))
    request = model.ComposeRequest(
        cores=2, memory_mib=2048, pinned_cores=(0, 4), hugepages_backed=True
    )
    placement = fit(view, request)
    assert isinstance(placement, Placement), placement
    assert placement.allocation.hugepages == ((0, 2048 * 1024, 2048), (1, 4096 * 1024, 4096))
    assert placement.numa_nodes == (0, 1)
    assert placement.hugepage_size_kib is None  # the nodes' sizes differ
    used = dataclasses.replace(
        view, usage=HostUsage().apply(placement.allocation, model.VmOrigin.COMPOSED)
    )
    again = fit(used, dataclasses.replace(request, pinned_cores=(1, 5), memory_mib=8192))
    assert isinstance(again, Rejection) and again.check is Check.HUGEPAGES


def test_hugepage_vm_on_one_node_takes_a_size_that_node_has() -> None:
    view = host(numa=two_nodes(((2048, 1024), (1024 * 1024, 4))))  # 2 GiB of 2 MiB; 4 x 1 GiB
    placement = fit(view, model.ComposeRequest(memory_mib=3 * GIB, hugepages_backed=True))
    assert isinstance(placement, Placement), placement
    assert placement.allocation.hugepages == ((1, 1024 * 1024, 3 * GIB),)
    assert placement.hugepage_size_kib == 1024 * 1024


# -- item 7: no VM larger than its host --------------------------------------------------------


def test_no_vm_has_more_vcpus_than_the_host_has_cores_whatever_the_ratio() -> None:
    view = host(cores=4, cpu_over_commit_ratio=2.0)
    assert isinstance(fit(view, model.ComposeRequest(cores=4)), Placement)
    result = fit(view, model.ComposeRequest(cores=5))
    assert isinstance(result, Rejection)
    assert (result.check, result.reason) == (Check.CORES, "have fewer than 5 cores for one VM")
    assert result.failures[0].detail.startswith("5 cores requested, at most 4 for one VM")
    reserved = dataclasses.replace(view, reserved_cores=1)
    assert isinstance(fit(reserved, model.ComposeRequest(cores=4)), Rejection)


def test_no_vm_has_more_memory_than_the_host_whatever_the_ratio() -> None:
    view = host(memory_mib=4 * GIB, memory_over_commit_ratio=2.0)
    assert isinstance(fit(view, model.ComposeRequest(memory_mib=4 * GIB)), Placement)
    result = fit(view, model.ComposeRequest(memory_mib=6 * GIB))
    assert isinstance(result, Rejection)
    assert result.reason == "have less than 6144 MiB of memory for one VM"
    assert result.failures[0].figures is not None and result.failures[0].figures.limit == 4096
    reserved = dataclasses.replace(view, reserved_memory_mib=512)
    assert isinstance(fit(reserved, model.ComposeRequest(memory_mib=4 * GIB)), Rejection)


def test_numa_affine_vm_is_not_larger_than_its_node() -> None:
    view = host(numa=two_nodes(), cpu_over_commit_ratio=4.0, memory_over_commit_ratio=4.0)
    assert isinstance(fit(view, model.ComposeRequest(cores=4, numa_affinity=True)), Placement)
    wide = fit(view, model.ComposeRequest(cores=5, numa_affinity=True))
    assert isinstance(wide, Rejection) and wide.check is Check.NUMA
    big = fit(view, model.ComposeRequest(memory_mib=5 * GIB, numa_affinity=True))
    assert isinstance(big, Rejection) and big.check is Check.NUMA


# -- item 8: a VM always has a NIC unless the request says none -------------------------------


def test_host_without_a_network_refuses_a_vm_unless_no_interfaces() -> None:
    view = host(networks=())
    result = fit(view, model.ComposeRequest())
    assert isinstance(result, Rejection)
    assert (result.check, result.reason) == (
        Check.NETWORK,
        "have no host network to attach the VM's interfaces to",
    )
    err = no_capacity_error(schedule([view], model.ComposeRequest()))
    assert str(err) == (
        "host 'kvm-3' cannot take this VM: have no host network to attach the VM's interfaces to"
    )
    none = fit(view, model.ComposeRequest(no_interfaces=True))
    assert isinstance(none, Placement) and none.nics == ()
    plain_nic = fit(view, model.ComposeRequest(interfaces=(model.InterfaceRequest(),)))
    assert isinstance(plain_nic, Rejection) and plain_nic.check is Check.NETWORK


def test_no_interfaces_with_interfaces_is_bad_input() -> None:
    with pytest.raises(model.InvalidInputError) as err:
        model.ComposeRequest(no_interfaces=True, interfaces=(model.InterfaceRequest(),))
    assert set(err.value.fields) == {"no_interfaces"}


# -- item 9: MAAS's NIC choice ------------------------------------------------------------------


def test_space_reachable_as_bridge_and_plain_interface_uses_the_bridge() -> None:
    view = host(networks=(("eno1", PHYSICAL), ("br-db", BRIDGE)), spaces={"db": ("eno1", "br-db")})
    placement = fit(view, model.ComposeRequest(interfaces=(model.InterfaceRequest(space="db"),)))
    assert isinstance(placement, Placement)
    assert [(n.network, n.kind) for n in placement.nics] == [("br-db", BRIDGE)]


@pytest.mark.parametrize(
    ("host_type", "asked", "expected"),
    [
        (model.HostType.LXD, None, ("enp5s0f0", model.NetworkKind.SRIOV)),
        (model.HostType.LXD, model.NetworkKind.MACVLAN, ("enp5s0f0", model.NetworkKind.MACVLAN)),
        (model.HostType.LIBVIRT, None, ("enp5s0f0", model.NetworkKind.MACVLAN)),
    ],
)
def test_lxd_plain_interface_with_free_virtual_functions_gives_sriov(
    host_type: model.HostType,
    asked: model.NetworkKind | None,
    expected: tuple[str, model.NetworkKind],
) -> None:
    view = host(
        type=host_type,
        networks=(("enp5s0f0", PHYSICAL),),
        spaces={"db": ("enp5s0f0",)},
        sriov=(SriovView("enp5s0f0", 1, 0, "enp5s0f0"),),
    )
    request = model.ComposeRequest(interfaces=(model.InterfaceRequest(space="db", kind=asked),))
    placement = fit(view, request)
    assert isinstance(placement, Placement)
    assert [(n.network, n.kind) for n in placement.nics] == [expected]
    sriov = expected[1] is model.NetworkKind.SRIOV
    assert placement.allocation.sriov == ((("enp5s0f0", 1),) if sriov else ())
    if sriov:  # the only function taken: the next NIC shares the interface through macvlan
        full = dataclasses.replace(
            view, usage=HostUsage().apply(placement.allocation, model.VmOrigin.COMPOSED)
        )
        again = fit(full, request)
        assert isinstance(again, Placement)
        assert [n.kind for n in again.nics] == [model.NetworkKind.MACVLAN]


def test_finding_and_claiming_skip_the_explanation() -> None:
    views = [busy(host(1), vcpus=6, memory_mib=7 * GIB), host(2)]
    request = model.ComposeRequest(cores=3, memory_mib=4 * GIB)
    quick = schedule(views, request, explain=False)
    full = schedule(views, request)
    assert [c.view.id for c in quick.candidates] == [c.view.id for c in full.candidates] == [2]
    assert quick.removed == [] and quick.considered == 2
    first = fit(views[0], request, every=False)
    assert isinstance(first, Rejection) and [f.check for f in first.failures] == [Check.CORES]
