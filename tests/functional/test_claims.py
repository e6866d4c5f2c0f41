"""Atomic claims: concurrent composes never over-allocate (SQLite threads, PG processes)."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import multiprocessing
import threading

import pytest
from core_support import GIB, add_fake_host, assert_accounts_exact, make_services, reset_fakes

from vmhost import model
from vmhost.service import Services

REQUEST = model.ComposeRequest(cores=1, memory_mib=1 * GIB, disks=(model.DiskRequest(10**9),))


def _compose_many(services: Services, n: int) -> tuple[int, list[str]]:
    barrier = threading.Barrier(n)

    def one(_: int) -> str:
        barrier.wait(timeout=30)
        try:
            services.vms.compose(REQUEST)
        except model.NoCapacityError as exc:
            return f"no capacity: {exc}"
        return "ok"

    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        results = list(pool.map(one, range(n)))
    return results.count("ok"), [r for r in results if r != "ok"]


def _three_hosts_room_for_30(services: Services) -> list[int]:
    # each host: 10 cores x1, 10 GiB x1 -> exactly 10 VMs of 1 core / 1 GiB
    return [add_fake_host(services, f"c{i}") for i in range(3)]


def _check_30(services: Services, host_ids: list[int]) -> None:
    for host_id in host_ids:
        usage = services.hosts.get(host_id).view.usage
        assert usage.vcpus.allocated == 10
        assert usage.memory_mib.allocated == 10 * GIB
        assert usage.disk_bytes.allocated == 10 * 10**9
    assert len(services.vms.list()) == 30
    assert_accounts_exact(services)


def test_50_concurrent_composes_on_sqlite_threads(services: Services) -> None:
    hosts = _three_hosts_room_for_30(services)
    ok, failures = _compose_many(services, 50)
    assert ok == 30
    assert len(failures) == 20
    assert all("lack 1 free cores" in f for f in failures), failures[0]
    _check_30(services, hosts)


def _worker(args: tuple[str, str, int, int]) -> list[str]:
    url, data_dir, threads, start_at = args
    import time

    reset_fakes()
    services = make_services(data_dir, url)
    # every worker registers the same fake inventories (by address) in its own memory
    for detail in services.hosts.list():
        services.ctx.driver(detail.view.id)
    while time.time() < start_at:
        time.sleep(0.001)
    results: list[str] = []
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        for outcome in pool.map(lambda _: _one(services), range(threads)):
            results.append(outcome)
    services.close()
    return results


def _one(services: Services) -> str:
    try:
        services.vms.compose(REQUEST)
    except model.NoCapacityError:
        return "no capacity"
    return "ok"


@pytest.mark.postgres
def test_50_concurrent_composes_on_postgresql_processes(postgres_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import time

    reset_fakes()
    services = make_services(str(tmp_path / "main"), postgres_url)
    hosts = _three_hosts_room_for_30(services)
    ctx = multiprocessing.get_context("spawn")
    start_at = time.time() + 8  # all processes start composing at the same moment
    args = [(postgres_url, str(tmp_path / f"w{i}"), 5, start_at) for i in range(10)]
    with ctx.Pool(10) as pool:
        outcomes = [o for chunk in pool.map(_worker, args) for o in chunk]
    assert outcomes.count("ok") == 30
    assert outcomes.count("no capacity") == 20
    _check_30(services, hosts)
    services.close()


def test_a_claim_written_at_a_stale_generation_writes_nothing(services: Services) -> None:
    """``store.claims.insert_claim`` (one statement on PostgreSQL, two on SQLite): the host's
    compare-and-swap and the VM record are written together or not at all."""
    from vmhost import store
    from vmhost.service import accounts

    add_fake_host(services, "stale")
    first = services.claims.claim(REQUEST, "first")
    stale = first.view  # the host as the first claim read it: its generation is now old
    usage = stale.usage.apply(first.allocation, model.VmOrigin.COMPOSED)
    second = dataclasses.replace(first.vm, id=0, name="second")
    values = accounts.usage_values(stale, usage)
    with pytest.raises(model.GenerationConflictError), services.ctx.db.write() as conn:
        store.claims.insert_claim(conn, second, first.allocation, stale.generation, values)
    assert [vm.name for vm in services.vms.list()] == ["first"]
    assert_accounts_exact(services)
    with services.ctx.db.write() as conn:  # at the host's current generation it is written
        current = store.candidates.load_view(conn, first.vm.host_id)
        usage = current.usage.apply(first.allocation, model.VmOrigin.COMPOSED)
        values = accounts.usage_values(current, usage)
        vm_id = store.claims.insert_claim(
            conn, second, first.allocation, current.generation, values
        )
    assert vm_id > first.vm.id
    assert sorted(vm.name for vm in services.vms.list()) == ["first", "second"]
    assert_accounts_exact(services)
