"""The no-capacity answer of a compose (and of the warm pool's reuse-or-compose) comes from the
failed claim's last ranking of every host: the same reasons, considered count and message as
an explanation read afresh, for several constraint mixes, on SQLite and the real PostgreSQL;
and the warm pool's paged reads and one-statement allocation."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from core_support import GIB, assert_accounts_exact, inventory

from vmhost import model, scheduler, store
from vmhost.service import Services


def _add(services: Services, name: str, zone: str, tags: tuple[str, ...], inv: Any) -> int:
    detail = services.hosts.add(
        model.HostSettings(
            name=name, type=model.HostType.FAKE, address=f"fake://{name}", zone=zone, tags=tags
        ),
        options={"inventory": inv},
    )
    assert detail.host.status == "ready", detail.host.last_error
    return int(detail.host.id)


def _two_networks(cores: int, memory_gib: int) -> dict[str, Any]:
    inv = inventory(cores=cores, memory_mib=memory_gib * GIB)
    inv["networks"] = [{"name": "br0", "kind": "bridge"}, {"name": "br-db", "kind": "bridge"}]
    return inv


@pytest.fixture
def hosts(services: Services) -> list[int]:
    """Nine hosts over three zones: a third small and tagged ``ssd``, two thirds larger with a
    ``br-db`` mapped to space ``db``; some VMs composed, so the hosts' usage differs."""
    for zone in ("z1", "z2", "z3"):
        services.zones.create(zone)
    ids = []
    for i in range(9):
        inv = _two_networks(8, 16) if i % 3 else inventory(cores=4, memory_mib=8 * GIB)
        ids.append(_add(services, f"h{i}", f"z{1 + i % 3}", ("ssd",) if i % 3 == 0 else (), inv))
    services.spaces.set("db", "br-db")
    services.spaces.set("public", "br0")
    for cores in (1, 2, 3, 1):
        services.vms.compose(model.ComposeRequest(cores=cores, memory_mib=GIB))
    return ids


def _fresh(services: Services, request: model.ComposeRequest) -> model.NoCapacityError:
    """What a fresh explanation says: every host (or the named one) read with the space
    mappings, ranked with every check."""
    only = None if request.host_id is None else [request.host_id]
    with services.ctx.db.read() as conn:
        views = store.candidates.load_views(conn, only)
    result = scheduler.schedule(views, request, services.ctx.settings.policy)
    assert result.candidates == []
    return scheduler.no_capacity_error(result)


def _answer(error: model.NoCapacityError) -> tuple[Any, ...]:
    return (str(error), error.considered, tuple(error.reasons))


MIXES: dict[str, dict[str, Any]] = {
    "memory": {"memory_mib": 64 * GIB},
    "cores": {"cores": 40},
    "tags": {"tags": ("gpu",)},
    "zone and tags": {"zones": ("z1", "z2"), "tags": ("ssd",), "cores": 6},
    "space": {"interfaces": (model.InterfaceRequest(space="db"),), "memory_mib": 20 * GIB},
    "excluded space": {"not_spaces": ("db", "public")},
    "not tags": {"not_tags": ("ssd",), "memory_mib": 17 * GIB},
    "container": {"instance_type": model.InstanceType.CONTAINER, "cores": 9},
    "disk": {"disks": (model.DiskRequest(2 * 10**12),)},
}


@pytest.mark.parametrize("mix", sorted(MIXES))
def test_no_capacity_answer_is_the_fresh_explanation(
    services: Services, hosts: list[int], mix: str
) -> None:
    request = model.ComposeRequest(**MIXES[mix])
    expected = _fresh(services, request)
    assert expected.reasons and all(isinstance(r.check, model.Check) for r in expected.reasons)
    for _ in range(2):  # the second answer is made from kept views and fits: the same
        with pytest.raises(model.NoCapacityError) as composed:
            services.vms.compose(request)
        assert _answer(composed.value) == _answer(expected)
        with pytest.raises(model.NoCapacityError) as reused:
            services.allocation.allocate_matching(request, "juju:m1", True)
        assert _answer(reused.value) == _answer(expected)
        assert _answer(services.claims.explain(request)) == _answer(expected)
    assert len(services.vms.list()) == 4  # nothing made
    assert_accounts_exact(services)


def test_no_capacity_reasons_name_the_checks_and_subjects(
    services: Services, hosts: list[int]
) -> None:
    def reasons(**fields: Any) -> list[model.Reason]:
        with pytest.raises(model.NoCapacityError) as err:
            services.vms.compose(model.ComposeRequest(**fields))
        assert err.value.considered == sum(r.hosts for r in err.value.reasons) == 9
        return list(err.value.reasons)

    def checks(**fields: Any) -> set[tuple[model.Check, model.Subject]]:
        return {(f.check, f.subject) for r in reasons(**fields) for f in r.failures}

    for reason in reasons(**MIXES["memory"]):  # every host lacks the memory (some cores too)
        assert (model.Check.MEMORY, model.Subject()) in {
            (f.check, f.subject) for f in reason.failures
        }
    assert checks(**MIXES["tags"]) == {(model.Check.TAGS, model.Subject())}
    assert {c for c, _ in checks(**MIXES["zone and tags"])} == {
        model.Check.ZONE,
        model.Check.TAGS,
        model.Check.CORES,
    }
    assert (model.Check.NETWORK, model.Subject(space="db", nic="eth0")) in checks(**MIXES["space"])


def test_a_named_host_answers_with_its_figures_as_they_are_now(
    services: Services, hosts: list[int]
) -> None:
    host = hosts[1]  # 8 cores, 16 GiB
    request = model.ComposeRequest(memory_mib=15 * GIB, host_id=host)
    services.vms.compose(model.ComposeRequest(cores=1, memory_mib=2 * GIB, host_id=host))
    with pytest.raises(model.NoCapacityError) as before:
        services.vms.compose(request)
    assert _answer(before.value) == _answer(_fresh(services, request))
    assert before.value.considered == 1
    services.vms.compose(model.ComposeRequest(cores=1, memory_mib=2 * GIB, host_id=host))
    with pytest.raises(model.NoCapacityError) as after:
        services.vms.compose(request)  # the host changed: its figures are read again
    assert _answer(after.value) == _answer(_fresh(services, request))
    assert str(after.value) != str(before.value)


def test_hosts_whose_driver_failed_are_their_own_reason(
    services: Services, hosts: list[int]
) -> None:
    from vmhost.drivers import fake

    request = model.ComposeRequest(tags=("ssd",), memory_mib=4 * GIB)
    for host in hosts[::3]:  # the ssd hosts
        fake.hypervisor_for(services.ctx.connection(host)).inject("compose", "boom", count=5)
    with pytest.raises(model.NoCapacityError) as err:
        services.vms.compose(request)
    driver = [r for r in err.value.reasons if r.check is model.Check.DRIVER]
    failed = {f"failed to compose: h{i}: boom" for i in (0, 3, 6)}
    assert driver and all(r.hosts == 1 and r.reason in failed for r in driver)
    assert len({r.reason for r in driver}) == len(driver)
    assert err.value.considered == sum(r.hosts for r in err.value.reasons) == 9
    others = [r for r in err.value.reasons if r.check is not model.Check.DRIVER]
    assert {f.check for r in others for f in r.failures} <= {
        model.Check.TAGS,
        model.Check.CORES,
        model.Check.MEMORY,
    }
    assert len(services.vms.list()) == 4


def test_view_memo_keeps_both_kinds_of_read(services: Services, hosts: list[int]) -> None:
    """A claim's read without space mappings and an explanation's with them each keep their
    views: neither makes the other's again."""
    with services.ctx.db.read() as conn:
        bare = store.candidates.load_views(conn, spaces={})
        mapped = store.candidates.load_views(conn)
        again = store.candidates.load_views(conn, spaces={})
        mapped_again = store.candidates.load_views(conn)
    assert all(a is b for a, b in zip(bare, again, strict=True))
    assert all(a is b for a, b in zip(mapped, mapped_again, strict=True))
    assert any(v.spaces for v in mapped) and not any(v.spaces for v in bare)
    assert [dataclasses.replace(v, spaces={}) for v in mapped] == bare


# -- the warm pool ---------------------------------------------------------------------------


def test_reuse_finds_a_match_past_the_first_pages(services: Services, hosts: list[int]) -> None:
    """More idle VMs than the first page holds are cheaper but in the wrong zone: the match
    further on is the one allocated, as it is now (owner set)."""
    for vm in services.vms.list():
        services.allocation.allocate(vm.id, "other")
    small = model.ComposeRequest(cores=1, memory_mib=GIB)
    made = [services.vms.compose(dataclasses.replace(small, zone="z2")).vm for _ in range(12)]
    wanted = services.vms.compose(dataclasses.replace(small, cores=2, zone="z3")).vm
    assert [vm.id for vm in services.allocation.idle(small)] == [vm.id for vm in made] + [
        wanted.id
    ]
    stored = services.vms.get(wanted.id)
    in_z3 = dataclasses.replace(small, zone="z3")
    got = services.allocation.allocate_matching(in_z3, "juju:m1", False)
    assert got.reused and got.vm.id == wanted.id
    assert got.vm == dataclasses.replace(stored, owner="juju:m1") == services.vms.get(wanted.id)
    assert {services.vms.get(vm.id).owner for vm in made} == {""}
    with pytest.raises(model.ConflictError, match="no idle VM satisfies"):
        services.allocation.allocate_matching(in_z3, "juju:m2", False)
    assert_accounts_exact(services)


def test_take_vm_answers_the_allocated_vm_or_none(services: Services, hosts: list[int]) -> None:
    vm = services.vms.list()[0]
    with services.ctx.db.write() as conn:
        taken = store.vms.take_vm(conn, vm.id, "juju:m1")
        assert taken == store.vms.get_vm(conn, vm.id)[0]
        assert store.vms.take_vm(conn, vm.id, "juju:m2") is None  # not idle any more
        assert store.vms.take_vm(conn, 10**6, "juju:m2") is None  # no such VM
    assert taken is not None and taken.owner == "juju:m1"
    assert services.vms.get(vm.id).owner == "juju:m1"
