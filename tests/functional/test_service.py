"""The service layer on SQLite with fake hosts: accounts, refresh, failures, bad input."""

from __future__ import annotations

import dataclasses
import math

import pytest
from core_support import GIB, add_fake_host, assert_accounts_exact, inventory

from vmhost import model
from vmhost.drivers import base, fake
from vmhost.service import Services


def _host_state(services: Services, host_id: int) -> dict[str, object]:
    d = services.hosts.get(host_id)
    return {"host": dataclasses.replace(d.host, refreshed_at=0.0), "view": d.view}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"cpu_over_commit_ratio": -0.1}, "cpu_over_commit_ratio"),
        ({"cpu_over_commit_ratio": 10.1}, "cpu_over_commit_ratio"),
        ({"memory_over_commit_ratio": math.nan}, "memory_over_commit_ratio"),
        ({"memory_over_commit_ratio": "2"}, "memory_over_commit_ratio"),
        ({"memory_over_commit_ratio": True}, "memory_over_commit_ratio"),
        ({"reserved_cores": 11}, "reserved_cores"),
        ({"reserved_memory_mib": 11 * GIB}, "reserved_memory_mib"),
        ({"zone": "nowhere"}, "zone"),
        ({"pool": "nopool"}, "pool"),
        ({"default_storage_pool": "nope"}, "default_storage_pool"),
        ({"type": "lxd"}, "type"),
        ({"tags": ("a,b",)}, "tag"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_bad_updates_are_refused_and_change_nothing(
    services: Services, changes: dict[str, object], field: str
) -> None:
    host_id = add_fake_host(services, "h1")
    before = _host_state(services, host_id)
    with pytest.raises(model.InvalidInputError) as err:
        services.hosts.update(host_id, model.HostChanges.parse(changes))
    assert field in err.value.fields, err.value.fields
    assert _host_state(services, host_id) == before


def test_ratios_update_capacity_exactly(services: Services) -> None:
    host_id = add_fake_host(services, "h1", inventory(cores=8, memory_mib=128 * GIB))
    services.hosts.update(
        host_id, model.HostChanges(cpu_over_commit_ratio=0.5, memory_over_commit_ratio=5.5)
    )
    view = services.hosts.get(host_id).view
    from vmhost.scheduler import capacity

    assert capacity.shared_core_capacity(view) == 4
    assert capacity.memory_capacity_mib(view) == 704 * GIB
    for _ in range(4):  # no one VM is larger than the host: 4 x 128 GiB of the 704
        services.vms.compose(model.ComposeRequest(cores=1, memory_mib=128 * GIB))
    with pytest.raises(
        model.NoCapacityError,
        match=r"host 'h1' cannot take this VM: 1 core requested, 0 free "
        r"\(8 cores × 0.5 = 4, 4 used\)",
    ):
        services.vms.compose(model.ComposeRequest(cores=1, memory_mib=1 * GIB))


def test_duplicate_names_and_addresses(services: Services) -> None:
    add_fake_host(services, "h1")
    with pytest.raises(model.ConflictError, match="already exists"):
        services.hosts.add(
            model.HostSettings(name="h1", type=model.HostType.FAKE, address="fake://x")
        )
    with pytest.raises(model.ConflictError, match="already has type fake"):
        services.hosts.add(
            model.HostSettings(name="h2", type=model.HostType.FAKE, address="fake://h1")
        )
    assert len(services.hosts.list()) == 1


def test_unknown_zone_or_pool_on_add(services: Services) -> None:
    with pytest.raises(model.InvalidInputError) as err:
        services.hosts.add(
            model.HostSettings(name="h1", type=model.HostType.FAKE, address="fake://h1", zone="z9")
        )
    assert err.value.fields == {"zone": ["no zone named 'z9'"]}
    assert services.hosts.list() == []


def test_no_capacity_names_every_filter(services: Services) -> None:
    a = add_fake_host(services, "a", inventory(cores=4, memory_mib=8 * GIB))
    add_fake_host(services, "b", inventory(cores=4, memory_mib=8 * GIB))
    add_fake_host(services, "c", inventory(cores=64, memory_mib=64 * GIB))
    with services.ctx.db.write() as conn:
        from vmhost import store

        store.catalog.create_named(conn, "zone", "z2", "")
    services.hosts.update(a, model.HostChanges(zone="z2"))
    with pytest.raises(model.NoCapacityError) as err:
        services.vms.compose(model.ComposeRequest(cores=2, memory_mib=16 * GIB, zone="z2"))
    msg = str(err.value)
    assert "3 hosts considered" in msg
    assert "2 not in zone 'z2'" in msg
    assert "1 lack 16384 MiB of memory" in msg
    assert services.vms.list() == []


def test_compose_bigger_than_any_host(services: Services) -> None:
    add_fake_host(services, "a")
    with pytest.raises(
        model.NoCapacityError,
        match="host 'a' cannot take this VM: 1000 cores requested, at most 10 for one VM",
    ):
        services.vms.compose(model.ComposeRequest(cores=1000))
    assert_accounts_exact(services)


def test_unknown_storage_pool_and_space_are_input_errors(services: Services) -> None:
    add_fake_host(services, "a")
    with pytest.raises(model.InvalidInputError, match="storage pool 'ssd'"):
        services.vms.compose(model.ComposeRequest(disks=(model.DiskRequest(10**9, pool="ssd"),)))
    with pytest.raises(model.InvalidInputError, match="space 'db'"):
        services.vms.compose(
            model.ComposeRequest(interfaces=(model.InterfaceRequest(space="db"),))
        )


def test_driver_failure_releases_the_claim_and_tries_the_next_host(services: Services) -> None:
    a = add_fake_host(services, "a")
    b = add_fake_host(services, "b")
    conn_a = services.ctx.connection(a)
    fake.hypervisor_for(conn_a).inject("compose", "disk quota exceeded on a")
    result = services.vms.compose(model.ComposeRequest(cores=2, memory_mib=GIB))
    assert result.host_id == b
    assert result.attempts == ["a: disk quota exceeded on a"]
    assert services.hosts.get(a).view.usage.vms.total == 0
    assert services.hosts.get(b).view.usage.vcpus.allocated == 2
    assert_accounts_exact(services)


def test_every_host_failing_reports_each_error(services: Services) -> None:
    a = add_fake_host(services, "a")
    fake.hypervisor_for(services.ctx.connection(a)).inject("compose", "boom", count=5)
    with pytest.raises(model.NoCapacityError, match="failed to compose: a: boom"):
        services.vms.compose(model.ComposeRequest())
    assert services.vms.list() == []
    assert services.hosts.get(a).view.usage.vms.total == 0


def test_refresh_adopts_vms_found_behind_our_back_as_other(services: Services) -> None:
    a = add_fake_host(services, "a", inventory(cores=8, memory_mib=16 * GIB))
    composed = services.vms.compose(model.ComposeRequest(cores=2, memory_mib=2 * GIB))
    fake.add_vm_behind_our_back(
        services.ctx.connection(a),
        model.DiscoveredVm(
            "manual",
            cores=3,
            memory_mib=3 * GIB,
            disks=(model.DiscoveredDisk("root", 5 * 10**9, "default"),),
        ),
    )
    usage = services.hosts.refresh(a).view.usage
    assert (usage.vcpus.allocated, usage.vcpus.other) == (2, 3)
    assert (usage.memory_mib.allocated, usage.memory_mib.other) == (2 * GIB, 3 * GIB)
    assert usage.pools["default"].other == 5 * 10**9
    adopted = services.vms.list(origin=model.VmOrigin.ADOPTED)
    assert [v.name for v in adopted] == ["manual"]
    # the adopted VM's use counts: 3 shared cores left
    with pytest.raises(model.NoCapacityError):
        services.vms.compose(model.ComposeRequest(cores=4))
    services.vms.compose(model.ComposeRequest(cores=3, memory_mib=GIB))
    # a composed VM that vanishes is reported missing and its resources freed
    fake.hypervisor_for(services.ctx.connection(a)).vms.pop(composed.vm.name)
    services.hosts.refresh(a)
    vm = services.vms.get(composed.vm.id)
    assert vm.state is model.VmState.MISSING
    assert "behind vmhost's back" in vm.error
    assert_accounts_exact(services)


def test_unreachable_host_is_refused_and_not_kept(services: Services) -> None:
    with pytest.raises(model.HostProblemError, match="no fake host profile"):
        services.hosts.add(
            model.HostSettings(
                name="gone", type=model.HostType.FAKE, address="fake://no-such-profile"
            )
        )
    assert services.hosts.list() == []


def test_host_that_becomes_unreachable_keeps_its_record_with_the_reason(
    services: Services,
) -> None:
    a = add_fake_host(services, "a")
    fake.hypervisor_for(services.ctx.connection(a)).inject(
        "discover", "unreachable: no route to host"
    )
    with pytest.raises(model.HostProblemError, match="no route to host"):
        services.hosts.refresh(a)
    detail = services.hosts.get(a)
    assert detail.host.status == "unreachable"
    assert detail.host.last_error == "no route to host"
    with pytest.raises(
        model.NoCapacityError, match=r"host 'a' cannot take this VM: unreachable \(not ready\)"
    ):
        services.vms.compose(model.ComposeRequest())
    services.hosts.refresh(a)
    assert services.hosts.get(a).host.status == "ready"


def test_bad_fake_inventory_is_a_driver_error(services: Services) -> None:
    with pytest.raises(model.HostProblemError, match="bad fake inventory"):
        add_fake_host(services, "bad", {"cores": 1})


def test_delete_host_with_vms_needs_a_decision(services: Services) -> None:
    a = add_fake_host(services, "a")
    services.vms.compose(model.ComposeRequest())
    with pytest.raises(model.InvalidInputError, match="decompose=true"):
        services.hosts.delete(a)
    assert len(services.vms.list()) == 1
    hv = fake.hypervisor_for(services.ctx.connection(a))
    assert services.hosts.delete(a, decompose=True) == []
    assert hv.vms == {}
    assert services.hosts.list() == []


def test_delete_without_decompose_leaves_vms_on_the_host(services: Services) -> None:
    a = add_fake_host(services, "a")
    services.vms.compose(model.ComposeRequest())
    hv = fake.hypervisor_for(services.ctx.connection(a))
    services.hosts.delete(a, decompose=False)
    assert len(hv.vms) == 1
    assert services.vms.list() == []


def test_numa_pinning_and_hugepages_on_the_numa_profile(services: Services) -> None:
    detail = services.hosts.add(
        model.HostSettings(name="n", type=model.HostType.FAKE, address="fake://numa")
    )
    host_id = detail.view.id
    pinned = services.vms.compose(
        model.ComposeRequest(cores=6, memory_mib=2 * GIB, pin_cores=True, hugepages_backed=True)
    )
    assert len(pinned.vm.pinned_cores) == 6
    node = {c // 8 for c in pinned.vm.pinned_cores}
    assert len(node) == 1  # NUMA-local
    second = services.vms.compose(model.ComposeRequest(cores=6, pin_cores=True))
    assert {c // 8 for c in second.vm.pinned_cores} != node  # the other node
    with pytest.raises(model.NoCapacityError, match="lack 6 free cores on one NUMA node"):
        services.vms.compose(model.ComposeRequest(cores=6, pin_cores=True))
    sriov = services.vms.compose(
        model.ComposeRequest(
            interfaces=(model.InterfaceRequest(network="enp5s0f0", kind=model.NetworkKind.SRIOV),)
        )
    )
    assert sriov.vm.interfaces[0].kind is model.NetworkKind.SRIOV
    usage = services.hosts.get(host_id).view.usage
    assert usage.sriov["enp5s0f0"].allocated == 1
    assert usage.node_hugepages_mib == {(min(node), 2048): 2 * GIB}
    assert_accounts_exact(services)


def test_explicit_pinned_cores_taken_are_refused(services: Services) -> None:
    services.hosts.add(
        model.HostSettings(name="n", type=model.HostType.FAKE, address="fake://numa")
    )
    services.vms.compose(model.ComposeRequest(cores=2, pinned_cores=(2, 3)))
    with pytest.raises(model.NoCapacityError, match="cannot pin cores 3"):
        services.vms.compose(model.ComposeRequest(cores=2, pinned_cores=(3, 4)))


def test_decompose_failure_keeps_the_record(services: Services) -> None:
    a = add_fake_host(services, "a")
    vm = services.vms.compose(model.ComposeRequest()).vm
    fake.hypervisor_for(services.ctx.connection(a)).inject("decompose", "device busy")
    with pytest.raises(model.HostProblemError, match="device busy"):
        services.vms.decompose(vm.id)
    assert services.vms.get(vm.id).state is model.VmState.READY
    services.vms.decompose(vm.id)
    assert services.vms.list() == []
    assert_accounts_exact(services)


def test_power(services: Services) -> None:
    add_fake_host(services, "a")
    vm = services.vms.compose(model.ComposeRequest()).vm
    assert services.vms.power(vm.id, on=False).power_state == "stopped"
    assert services.vms.power(vm.id, on=True).power_state == "running"


def test_driver_contract_errors_are_typed() -> None:
    assert base.DriverConnectionError("x").retryable
    assert not base.DriverAuthError("x").retryable


def test_decomposing_a_missing_vm_never_subtracts_twice(services: Services) -> None:
    a = add_fake_host(services, "a")
    keep = services.vms.compose(model.ComposeRequest(cores=2, memory_mib=GIB)).vm
    gone = services.vms.compose(model.ComposeRequest(cores=3, memory_mib=GIB)).vm
    fake.hypervisor_for(services.ctx.connection(a)).vms.pop(gone.name)
    services.hosts.refresh(a)
    assert services.vms.get(gone.id).state is model.VmState.MISSING
    services.vms.decompose(gone.id)
    usage = services.hosts.get(a).view.usage
    assert (usage.vms.allocated, usage.vcpus.allocated) == (1, 2)
    assert_accounts_exact(services)
    services.vms.decompose(keep.id)
    assert services.hosts.get(a).view.usage.vcpus.total == 0


def test_explicit_pinned_cores_across_numa_nodes_are_found(services: Services) -> None:
    services.hosts.add(
        model.HostSettings(name="n", type=model.HostType.FAKE, address="fake://numa")
    )
    vm = services.vms.compose(model.ComposeRequest(cores=10, pinned_cores=tuple(range(3, 13)))).vm
    assert vm.pinned_cores == tuple(range(3, 13))
    assert dict(vm.numa_memory_mib).keys() == {0, 1}


def test_a_hostname_in_use_is_an_input_error(services: Services) -> None:
    add_fake_host(services, "a")
    add_fake_host(services, "b")
    services.vms.compose(model.ComposeRequest(hostname="web"))
    with pytest.raises(model.InvalidInputError, match="a VM named 'web' already exists"):
        services.vms.compose(model.ComposeRequest(hostname="web"))
    assert len(services.vms.list()) == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": 5}, "name"),
        ({"tags": "abc"}, "tags"),
        ({"zone": None}, "zone"),
        ({"default_storage_pool": 3}, "default_storage_pool"),
    ],
)
def test_update_with_wrong_types(
    services: Services, changes: dict[str, object], field: str
) -> None:
    host_id = add_fake_host(services, "h1")
    before = _host_state(services, host_id)
    with pytest.raises(model.InvalidInputError) as err:
        services.hosts.update(host_id, model.HostChanges.parse(changes))
    assert field in err.value.fields
    assert _host_state(services, host_id) == before


def test_a_claim_released_during_compose_is_given_back(services: Services) -> None:
    a = add_fake_host(services, "a")
    hv = fake.hypervisor_for(services.ctx.connection(a))
    real_compose = services.ctx.driver(a).compose

    def compose_then_lose_the_claim(spec):  # type: ignore[no-untyped-def]
        got = real_compose(spec)
        # another manager's reconcile settles the claim meanwhile
        (claim,) = services.vms.list(states=[model.VmState.CLAIMED])
        services.claims.release(claim.id)
        return got

    driver = services.ctx.driver(a)
    driver.compose = compose_then_lose_the_claim  # type: ignore[method-assign]
    services.ctx.driver_factory = lambda connection: driver  # type: ignore[assignment,misc]
    with pytest.raises(model.ConflictError, match="was released while the VM was being composed"):
        services.vms.compose(model.ComposeRequest())
    assert hv.vms == {}  # what the driver made was removed
    assert services.vms.list() == []
    assert_accounts_exact(services)


def test_a_refresh_that_cannot_be_recorded_leaves_the_host_in_error(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = add_fake_host(services, "a")
    from vmhost.service import accounts

    def broken(conn, host_id):  # type: ignore[no-untyped-def]
        raise model.ConflictError("the store refused the write")

    monkeypatch.setattr(accounts, "recount", broken)
    with pytest.raises(model.ConflictError):
        services.hosts.refresh(a)
    host = services.hosts.get(a).host
    assert host.status == "error"
    assert host.last_error == "refresh failed: the store refused the write"


def test_a_vm_back_after_its_pinned_cores_were_reused_is_flagged(services: Services) -> None:
    services.hosts.add(
        model.HostSettings(name="n", type=model.HostType.FAKE, address="fake://numa")
    )
    first = services.vms.compose(model.ComposeRequest(cores=2, pinned_cores=(2, 3))).vm
    hv = fake.hypervisor_for(services.ctx.connection(first.host_id))
    stash = hv.vms.pop(first.name)
    services.hosts.refresh(first.host_id)
    assert services.vms.get(first.id).state is model.VmState.MISSING
    services.vms.compose(model.ComposeRequest(cores=2, pinned_cores=(3, 4)))
    hv.vms[first.name] = stash
    services.hosts.refresh(first.host_id)
    back = services.vms.get(first.id)
    assert back.state is model.VmState.READY
    assert back.error == "came back after its pinned cores [3] were given to other VMs"
    assert_accounts_exact(services)
