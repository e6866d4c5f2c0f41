"""Owners of composed VMs: allocate (atomic), release, the idle list, addresses, and the
migration that added ``vms.owner``; on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import concurrent.futures
import threading
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from core_support import GIB, add_fake_host, assert_accounts_exact, inventory

from vmhost import model, store
from vmhost.service import Services

SMALL = model.ComposeRequest(cores=1, memory_mib=1 * GIB, disks=(model.DiskRequest(10**9),))


def _inventory_with_cidr() -> dict[str, Any]:
    inv = inventory()
    inv["networks"] = [{"name": "br0", "kind": "bridge", "cidr": "192.0.2.0/24"}]
    return inv


def test_composed_vm_is_idle_unless_composed_with_an_owner(services: Services) -> None:
    add_fake_host(services, "h1")
    idle = services.vms.compose(SMALL).vm
    owned = services.vms.compose(
        model.ComposeRequest(cores=1, memory_mib=GIB, disks=SMALL.disks, owner="juju:m1")
    ).vm
    assert idle.owner == "" and owned.owner == "juju:m1"
    assert services.vms.get(owned.id).owner == "juju:m1"  # stored with the claim
    assert [vm.id for vm in services.allocation.idle()] == [idle.id]
    assert [vm.id for vm in services.allocation.list(owner="juju:m1")] == [owned.id]
    assert [vm.id for vm in services.allocation.list(idle=False)] == [owned.id]
    assert [vm.id for vm in services.allocation.list(idle=True)] == [idle.id]


def test_allocate_then_release(services: Services) -> None:
    add_fake_host(services, "h1")
    vm = services.vms.compose(SMALL).vm
    got = services.allocation.allocate(vm.id, "juju:m1")
    assert got.owner == "juju:m1" and got.id == vm.id
    assert services.allocation.idle() == []
    with pytest.raises(model.ConflictError, match="already allocated to 'juju:m1'"):
        services.allocation.allocate(vm.id, "juju:m2")
    with pytest.raises(model.ConflictError, match="already allocated"):
        services.allocation.allocate(vm.id, "juju:m1")  # not re-entrant: one allocation
    released = services.allocation.release(vm.id)
    assert released.owner == ""
    assert services.allocation.release(vm.id).owner == ""  # releasing an idle VM: no-op
    assert [v.id for v in services.allocation.idle()] == [vm.id]
    assert services.vms.get(vm.id).state is model.VmState.READY  # still there, resources held
    usage = services.hosts.get(vm.host_id).view.usage
    assert usage.vcpus.allocated == 1


def test_allocate_refuses_what_is_not_idle(services: Services) -> None:
    host_id = add_fake_host(services, "h1")
    with pytest.raises(model.NotFoundError):
        services.allocation.allocate(999, "x")
    with pytest.raises(model.NotFoundError):
        services.allocation.release(999)
    for bad in ("", "x" * 256, "a\x00b", "tab\there"):
        with pytest.raises(model.InvalidInputError, match="owner"):
            services.allocation.allocate(1, bad)
    # a claim (compose in flight) is not ready
    claim = services.claims.claim(SMALL, "in-flight")
    with pytest.raises(model.ConflictError, match="claimed, not ready"):
        services.allocation.allocate(claim.vm.id, "x")
    services.claims.release(claim.vm.id)
    # an adopted VM is the host's, not vmhost's to hand out
    from vmhost.drivers import fake

    hv = fake.hypervisor_at("fake://h1")
    hv.vms["found"] = model.DiscoveredVm(name="found", cores=1, memory_mib=512)
    services.hosts.refresh(host_id)
    adopted = next(vm for vm in services.vms.list() if vm.name == "found")
    with pytest.raises(model.ConflictError, match="not composed by vmhost"):
        services.allocation.allocate(adopted.id, "x")
    assert services.allocation.idle() == []


def test_idle_filters_and_order(services: Services) -> None:
    add_fake_host(services, "h1")
    big = services.vms.compose(dataclasses_replace(SMALL, cores=4, memory_mib=4 * GIB)).vm
    small = services.vms.compose(SMALL).vm
    box = services.vms.compose(
        dataclasses_replace(SMALL, instance_type=model.InstanceType.CONTAINER)
    ).vm
    assert [v.id for v in services.allocation.idle()] == [small.id, box.id, big.id]
    assert [v.id for v in services.allocation.idle(limit=1)] == [small.id]
    assert services.allocation.idle(limit=0) == []
    assert services.allocation.idle(SMALL, limit=0) == []

    def idle(**changes: Any) -> list[int]:
        return [v.id for v in services.allocation.idle(dataclasses_replace(SMALL, **changes))]

    assert idle() == [small.id, big.id]  # virtual machines at least this big
    assert idle(cores=2) == [big.id]
    assert idle(memory_mib=2 * GIB) == [big.id]
    assert idle(instance_type=model.InstanceType.CONTAINER) == [box.id]
    assert idle(disks=(model.DiskRequest(2 * 10**9),)) == []
    assert idle(zone="default") == [small.id, big.id]
    assert idle(zones=("z9",)) == []
    assert idle(tags=("gpu",)) == []
    assert idle(architecture="arm64") == []
    assert idle(architecture="amd64") == [small.id, big.id]
    assert idle(interfaces=(model.InterfaceRequest(network="br0"),)) == [small.id, big.id]
    assert idle(interfaces=(model.InterfaceRequest(network="br1"),)) == []
    assert idle(interfaces=(model.InterfaceRequest(space="db"),)) == []
    services.spaces.set("db", "br0")
    assert idle(interfaces=(model.InterfaceRequest(space="db"),)) == [small.id, big.id]
    assert idle(not_spaces=("db",)) == []
    assert idle(hostname=small.hostname) == [small.id]


def dataclasses_replace(request: model.ComposeRequest, **changes: Any) -> model.ComposeRequest:
    import dataclasses

    return dataclasses.replace(request, **changes)


def test_racing_allocators_never_share_a_vm(services: Services) -> None:
    add_fake_host(services, "h1")
    vms = [services.vms.compose(SMALL).vm for _ in range(3)]
    n = 12
    barrier = threading.Barrier(n)

    def grab(i: int) -> list[int]:
        barrier.wait(timeout=30)
        won = []
        for vm in vms:  # everyone tries every VM, in the same order
            try:
                services.allocation.allocate(vm.id, f"owner-{i}")
                won.append(vm.id)
            except model.ConflictError:
                pass
        return won

    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        results = list(pool.map(grab, range(n)))
    winners = [vm_id for won in results for vm_id in won]
    assert sorted(winners) == sorted(vm.id for vm in vms)  # each VM exactly once
    owners = {services.vms.get(vm.id).owner for vm in vms}
    assert len(owners) == len({i for i, won in enumerate(results) if won})


def test_parallel_callers_for_one_idle_vm_have_one_winner(services: Services) -> None:
    add_fake_host(services, "h1")
    idle = services.vms.compose(SMALL).vm
    n = 8
    barrier = threading.Barrier(n)

    def take(i: int) -> int | None:
        barrier.wait(timeout=30)
        try:
            return services.allocation.allocate_matching(SMALL, f"owner-{i}", False).vm.id
        except model.ConflictError:
            return None

    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        results = list(pool.map(take, range(n)))
    assert [r for r in results if r is not None] == [idle.id]  # exactly one winner
    winner = results.index(idle.id)
    assert services.vms.get(idle.id).owner == f"owner-{winner}"
    assert len(services.vms.list()) == 1  # nothing composed without compose=True
    assert_accounts_exact(services)


def test_parallel_reuse_or_compose_gives_each_caller_its_own_vm(services: Services) -> None:
    add_fake_host(services, "h1")
    idle = services.vms.compose(SMALL).vm
    n = 6
    barrier = threading.Barrier(n)

    def get(i: int) -> tuple[int, bool]:
        barrier.wait(timeout=30)
        got = services.allocation.allocate_matching(SMALL, f"owner-{i}", True)
        assert got.vm.owner == f"owner-{i}" and got.host_name == "h1"
        return got.vm.id, got.reused

    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        results = list(pool.map(get, range(n)))
    assert [vm_id for vm_id, reused in results if reused] == [idle.id]
    assert len({vm_id for vm_id, _ in results}) == n  # no VM given twice
    owners = sorted(vm.owner for vm in services.vms.list())
    assert owners == sorted(f"owner-{i}" for i in range(n))
    usage = services.hosts.get(idle.host_id).view.usage
    assert usage.vcpus.allocated == n  # the reused VM counted once, each composed one once
    assert_accounts_exact(services)


def test_a_miss_composes_in_the_same_call(services: Services) -> None:
    add_fake_host(services, "h1")
    idle = services.vms.compose(SMALL).vm
    bigger = dataclasses_replace(SMALL, cores=2)
    with pytest.raises(model.ConflictError, match="no idle VM satisfies the request"):
        services.allocation.allocate_matching(bigger, "juju:m1", False)
    got = services.allocation.allocate_matching(bigger, "juju:m1", True)
    assert not got.reused and got.vm.id != idle.id and got.vm.cores == 2
    assert got.vm.owner == "juju:m1" and got.vm.state is model.VmState.READY
    assert services.vms.get(idle.id).owner == ""  # the idle VM is left alone
    with pytest.raises(model.NoCapacityError, match="MiB of memory requested"):
        services.allocation.allocate_matching(
            dataclasses_replace(SMALL, memory_mib=1000 * GIB), "juju:m2", True
        )
    assert len(services.vms.list()) == 2  # nothing made for the request no host can take
    with pytest.raises(model.InvalidInputError, match="owner"):
        services.allocation.allocate_matching(SMALL, "", True)
    assert services.vms.get(idle.id).owner == ""
    assert_accounts_exact(services)


def test_addresses_come_from_the_host(services: Services) -> None:
    host_id = add_fake_host(services, "h1", _inventory_with_cidr())
    vm = services.vms.compose(SMALL).vm
    assert vm.addresses == ()  # the fake's DHCP lease comes after compose answers
    seen = services.allocation.observe(vm.id)
    assert seen.addresses == ("192.0.2.10",)
    assert services.vms.get(vm.id).addresses == ("192.0.2.10",)
    other = services.vms.compose(SMALL).vm
    services.hosts.refresh(host_id)  # a host refresh records them too
    assert services.vms.get(other.id).addresses == ("192.0.2.11",)
    assert services.allocation.observe(vm.id).power_state == "running"


def test_observe_a_vm_whose_host_is_unreachable(services: Services) -> None:
    add_fake_host(services, "h1")
    vm = services.vms.compose(SMALL).vm
    from vmhost.drivers import fake

    fake.hypervisor_at("fake://h1").inject("discover", "unreachable: host down")
    with pytest.raises(model.HostProblemError, match="cannot read VM"):
        services.allocation.observe(vm.id)


def test_decompose_of_an_allocated_vm_drops_it(services: Services) -> None:
    add_fake_host(services, "h1")
    vm = services.vms.compose(dataclasses_replace(SMALL, owner="juju:m1")).vm
    services.vms.decompose(vm.id)
    assert services.allocation.list(owner="juju:m1") == []


# -- the migration -------------------------------------------------------------------------------


def _upgrade_from_0002(url: str) -> None:
    db = store.Database(url)
    try:
        store.upgrade(db, "0002")
        with db.write() as conn:
            zone = conn.execute(
                sa.insert(store.tables.zones).values(name="z")
            ).inserted_primary_key
            pool = conn.execute(
                sa.insert(store.tables.resource_pools).values(name="p")
            ).inserted_primary_key
            host = conn.execute(
                sa.text(
                    "INSERT INTO hosts (name, type, address, zone_id, pool_id, tags, "
                    "cpu_over_commit_ratio, memory_over_commit_ratio, status, architectures, "
                    "inventory, usage, created_at) VALUES ('h', 'fake', 'fake://h', :z, :p, "
                    "'[]', 1, 1, 'ready', '[]', '{}', '{}', 0) RETURNING id"
                ),
                {"z": zone[0], "p": pool[0]},
            ).scalar_one()
            conn.execute(
                sa.text(
                    "INSERT INTO vms (host_id, name, origin, state, cores, memory_mib, "
                    "instance_type, spec, allocation, created_at, updated_at) VALUES "
                    "(:h, 'old', 'composed', 'ready', 1, 512, 'virtual-machine', '{}', '{}', 0, 0)"
                ),
                {"h": host},
            )
        store.upgrade(db)
        with db.write() as conn:
            rows = store.vms.list_vms(conn)
            assert [(vm.name, vm.owner) for vm, _ in rows] == [("old", "")]
            assert store.vms.allocate_vm(conn, rows[0][0].id, "juju:m1")
            assert not store.vms.allocate_vm(conn, rows[0][0].id, "juju:m2")
            # the migrated schema is the tables' schema (nothing left for autogenerate)
            context = MigrationContext.configure(conn, opts={"render_as_batch": True})
            diffs = [
                d for d in compare_metadata(context, store.tables.metadata) if "vms" in str(d)
            ]
            assert diffs == []
        command.downgrade(store.migrate.alembic_config(db.url), "0002")
        with db.read() as conn:
            assert "owner" not in {c["name"] for c in sa.inspect(conn).get_columns("vms")}
    finally:
        db.dispose()


def test_migration_0003_on_sqlite(tmp_path: Any) -> None:
    _upgrade_from_0002(f"sqlite:///{tmp_path / 'vmhost.db'}")


@pytest.mark.postgres
def test_migration_0003_on_postgresql(postgres_server: Any) -> None:
    with postgres_server.fresh_database("migration0003") as url:
        _upgrade_from_0002(url)
