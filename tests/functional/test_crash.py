"""Crash safety: a process SIGKILLed in the middle of a compose; the next start settles it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from core_support import (
    GIB,
    add_fake_host,
    assert_accounts_exact,
    inventory,
    make_services,
    reset_fakes,
)

from vmhost import model
from vmhost.drivers import fake

CHILD = """
import sys
from core_support import make_services, GIB
from vmhost import model
s = make_services(sys.argv[1])
s.vms.compose(model.ComposeRequest(cores=2, memory_mib=2 * GIB, hostname="crashy"))
"""


def _wait_for(predicate, what: str, timeout_s: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _claimed(data_dir: str) -> bool:
    services = make_services(data_dir)
    try:
        return bool(services.vms.list(states=[model.VmState.CLAIMED]))
    finally:
        services.close()


def _fake_vms(state_file: str) -> list[str]:
    if not os.path.exists(state_file):
        return []
    with open(state_file, encoding="utf-8") as f:
        return sorted(json.load(f).get("vms", {}))


def _crash_during_compose(tmp_path, delay_option: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    reset_fakes()
    data_dir = str(tmp_path / "data")
    state_file = str(tmp_path / "fake-host.json")
    services = make_services(data_dir)
    add_fake_host(services, "h1", inventory(), state_file=state_file, **{delay_option: 60})
    services.close()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.path.dirname(__file__), *sys.path])}
    child = subprocess.Popen([sys.executable, "-c", CHILD, data_dir], env=env)
    try:
        _wait_for(lambda: _claimed(data_dir), "the child's claim")
        if delay_option != "compose_delay_s":  # the VM exists on the host before the kill
            _wait_for(lambda: _fake_vms(state_file) == ["crashy"], "the VM on the host")
        if delay_option == "compose_delay_before_start_s":  # and is saved stopped (2nd save)
            _wait_for(lambda: _fake_power(state_file) == {"crashy": "stopped"}, "the VM stopped")
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
    reset_fakes()  # the next process starts with nothing in memory
    return data_dir, state_file


def test_kill_after_claim_before_the_vm_exists_releases_the_claim(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data_dir, state_file = _crash_during_compose(tmp_path, "compose_delay_s")
    services = make_services(data_dir)
    assert services.recovery.reconcile() == {
        "completed": 0,
        "released": 1,
        "decomposed": 0,
        "skipped": 0,
    }
    host = services.hosts.list()[0]
    assert host.view.usage.vms.total == 0
    assert host.view.usage.vcpus.total == 0
    assert services.vms.list() == []
    assert _fake_vms(state_file) == []  # nothing leaked on the host
    assert_accounts_exact(services)
    services.close()


def test_kill_after_the_vm_exists_completes_the_record(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data_dir, state_file = _crash_during_compose(tmp_path, "compose_delay_after_s")
    services = make_services(data_dir)
    assert services.recovery.reconcile()["completed"] == 1
    (vm,) = services.vms.list()
    assert vm.name == "crashy" and vm.state is model.VmState.READY
    assert vm.origin is model.VmOrigin.COMPOSED
    host = services.hosts.refresh(vm.host_id)
    assert host.view.usage.vcpus.allocated == 2
    assert host.view.usage.memory_mib.allocated == 2 * GIB
    assert host.view.usage.vms.other == 0  # not adopted twice
    assert_accounts_exact(services)
    services.vms.decompose(vm.id)
    assert _fake_vms(state_file) == []
    assert services.hosts.get(vm.host_id).view.usage.vms.total == 0
    services.close()


@pytest.mark.parametrize("grace", [3600.0])
def test_reconcile_leaves_young_claims_alone(tmp_path, grace: float) -> None:  # type: ignore[no-untyped-def]
    data_dir, _ = _crash_during_compose(tmp_path, "compose_delay_s")
    services = make_services(data_dir)
    assert services.recovery.reconcile(older_than_s=grace)["released"] == 0
    assert len(services.vms.list(states=[model.VmState.CLAIMED])) == 1
    services.close()


def _fake_power(state_file: str) -> dict[str, str]:
    with open(state_file, encoding="utf-8") as f:
        return {name: vm["power_state"] for name, vm in json.load(f)["vms"].items()}


def test_kill_after_the_vm_exists_before_it_starts_starts_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Issue 12 item 4: the instance was created, not started; reconcile finishes the compose
    (a stopped, idle VM nobody owns must not hold the host's capacity) and says so."""
    data_dir, state_file = _crash_during_compose(tmp_path, "compose_delay_before_start_s")
    assert _fake_power(state_file) == {"crashy": "stopped"}
    services = make_services(data_dir)
    result = services.recovery.reconcile()
    assert result == {"completed": 1, "released": 0, "decomposed": 0, "skipped": 0}
    assert len(result.actions) == 1 and "'crashy'" in result.actions[0]
    assert "created but not started: started" in result.actions[0]
    (vm,) = services.vms.list()
    assert vm.state is model.VmState.READY and vm.power_state == "running"
    assert _fake_power(state_file) == {"crashy": "running"}
    assert services.hosts.refresh(vm.host_id).view.usage.vcpus.allocated == 2
    assert_accounts_exact(services)
    services.close()


def test_kill_before_the_vm_starts_decomposes_it_when_it_will_not_start(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data_dir, state_file = _crash_during_compose(tmp_path, "compose_delay_before_start_s")
    services = make_services(data_dir)
    (host,) = services.hosts.list()
    hypervisor = fake.hypervisor_for(services.ctx.connection(host.view.id))
    hypervisor.inject("power", "not enough memory to start it")
    result = services.recovery.reconcile()
    assert result == {"completed": 0, "released": 0, "decomposed": 1, "skipped": 0}
    assert "would not start (not enough memory to start it): decomposed" in result.actions[0]
    assert services.vms.list() == []
    assert _fake_vms(state_file) == []
    assert services.hosts.get(host.view.id).view.usage.vms.total == 0
    assert_accounts_exact(services)
    services.close()


def test_a_delayed_start_is_never_seen_running_before_it_starts(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The premise of the test above: another process reading the fake's state file while the
    compose waits to start sees the VM stopped, never running first (it did, now and then,
    under load: the fake wrote it running, then stopped)."""
    reset_fakes()
    services = make_services(str(tmp_path / "data"))
    state_file = str(tmp_path / "fake-host.json")
    add_fake_host(services, "h1", inventory(), state_file=state_file,
                  compose_delay_before_start_s=0.01)  # fmt: skip
    seen: list[dict[str, str]] = []
    save = fake.FakeHypervisor.save

    def recording(self: fake.FakeHypervisor) -> None:
        save(self)
        seen.append(_fake_power(state_file))

    monkeypatch.setattr(fake.FakeHypervisor, "save", recording)
    services.vms.compose(model.ComposeRequest(cores=1, memory_mib=GIB, hostname="late"))
    assert seen == [{"late": "stopped"}, {"late": "running"}]
    services.close()
