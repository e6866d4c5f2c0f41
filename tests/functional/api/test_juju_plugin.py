"""``juju-vmhost`` (and ``vmhost juju``): add-machine / remove-machine against the real API
over fake hosts, with a stand-in ``juju`` on PATH that records its arguments and answers like
Juju (``created machine N``). No Juju controller runs here.

The fake hosts' networks have CIDRs, so composed VMs get addresses (from the documentation
ranges; nothing ever connects to them: ``--ssh-wait 0``).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_support import ApiEnv, LiveServer
from fastapi.testclient import TestClient
from vmhost_provider import plugin

from vmhost import client as vmclient
from vmhost import model
from vmhost.drivers import base, fake

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ1c3lib3hidXN5Ym94YnVzeWJveGJ1c3lib3g operator@test"
JUJU = """#!/bin/sh
printf '%s\\n' "$*" >> "$JUJU_LOG"
if [ -n "$JUJU_FAIL" ]; then echo "ERROR $JUJU_FAIL" >&2; exit 1; fi
case "$1" in
add-machine)
  n=$(cat "$JUJU_COUNTER" 2>/dev/null || echo 2); n=$((n+1)); echo "$n" > "$JUJU_COUNTER"
  echo "created machine $n" >&2 ;;
remove-machine) echo "removing machine $2" >&2 ;;
esac
"""
INVENTORY = {
    "cores": 8,
    "memory_mib": 16384,
    "storage_pools": [{"name": "default", "total_bytes": 10**12}],
    "networks": [
        {"name": "br0", "kind": "bridge", "cidr": "192.0.2.0/24"},
        {"name": "br-db", "kind": "bridge", "cidr": "198.51.100.0/24"},
        {"name": "br-x", "kind": "bridge"},
    ],
}


class Env:
    """Paths and helpers of one test: config dir, home, the stand-in juju and its log."""

    def __init__(self, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.config = tmp / "config"
        self.home = tmp / "home"
        self.bin = tmp / "bin"
        self.log = tmp / "juju.log"
        (self.home / ".ssh").mkdir(parents=True)
        (self.home / ".ssh" / "id_ed25519.pub").write_text(KEY + "\n")
        self.bin.mkdir()
        juju = self.bin / "juju"
        juju.write_text(JUJU)
        juju.chmod(juju.stat().st_mode | stat.S_IXUSR)
        self.monkeypatch = monkeypatch
        monkeypatch.setenv("VMHOST_CONFIG_DIR", str(self.config))
        monkeypatch.setenv("HOME", str(self.home))
        monkeypatch.setenv("PATH", f"{self.bin}:/usr/bin:/bin")
        monkeypatch.setenv("JUJU_LOG", str(self.log))
        monkeypatch.setenv("JUJU_COUNTER", str(tmp / "juju.counter"))
        monkeypatch.delenv("JUJU_FAIL", raising=False)

    def juju_calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def state(self) -> list[dict[str, Any]]:
        path = self.config / plugin.STATE_FILE
        if not path.exists():
            return []
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        return list(json.loads(path.read_text())["machines"])

    def without_juju(self) -> None:
        self.monkeypatch.setenv("PATH", str(self.bin.parent / "nobin"))


@pytest.fixture
def env(api: ApiEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    api.services.hosts.add(
        model.HostSettings(name="h1", type=model.HostType.FAKE, address="fake://h1"),
        options={"inventory": INVENTORY},
    )
    assert api.post("/api/v1/spaces", {"space": "db", "network": "br-db"}).status_code == 201
    monkeypatch.setattr(
        plugin,
        "make_client",
        lambda profile: vmclient.VmHostClient(
            "http://testserver", api.admin_token, http=TestClient(api.app)
        ),
    )
    yield Env(tmp_path, monkeypatch)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = plugin.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def vms(api: ApiEnv) -> list[dict[str, Any]]:
    return list(api.get("/api/v1/vms").json())


ADD = ("add-machine", "--ssh-wait", "0")


def test_add_machine_composes_enlists_and_records(
    api: ApiEnv, env: Env, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[base.ComposeSpec] = []
    compose = fake.FakeDriver.compose
    monkeypatch.setattr(
        fake.FakeDriver, "compose", lambda self, spec: seen.append(spec) or compose(self, spec)
    )
    code, out, err = run(capsys, *ADD, "--constraints", "cores=2 mem=2G spaces=db cpu-power=10")
    assert code == 0, err
    assert "WARNING unsupported constraints: cpu-power" in err
    assert env.juju_calls() == ["add-machine ssh:ubuntu@198.51.100.10"]
    (vm,) = vms(api)
    assert out == f"created machine 3 ({vm['name']}, 198.51.100.10)\n"
    assert (vm["cores"], vm["memory_mib"], vm["owner"]) == (2, 2048, "juju")
    assert [(n["network"], n["space"]) for n in vm["interfaces"]] == [("br-db", "db")]
    assert vm["addresses"] == ["198.51.100.10"]
    assert env.state() == [
        {
            "machine": "3",
            "vm_id": vm["id"],
            "vm_name": vm["name"],
            "address": "198.51.100.10",
            "model": "",
            "server": "http://testserver",
            "warm_pool": False,
            "owner": "juju",
        }
    ]
    (spec,) = seen
    assert spec.user_data is not None and spec.user_data.startswith("#cloud-config\n")
    assert KEY in spec.user_data

    code, out, err = run(capsys, "machines")
    assert code == 0 and out.splitlines()[1].split()[:4] == ["3", "-", str(vm["id"]), vm["name"]]

    code, out, err = run(capsys, "remove-machine", "3")
    assert code == 0, err
    assert env.juju_calls()[-1] == "remove-machine 3"
    assert out.splitlines() == ["removed machine 3", f"VM {vm['name']} (id {vm['id']}) decomposed"]
    assert vms(api) == [] and fake.hypervisor_at("fake://h1").vms == {}
    assert env.state() == []


def test_several_machines_in_a_model(
    api: ApiEnv, env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run(capsys, *ADD, "-n", "2", "-m", "prod", "--constraints", "cores=1")
    assert code == 0, err
    assert env.juju_calls() == [
        "add-machine ssh:ubuntu@192.0.2.10 -m prod",
        "add-machine ssh:ubuntu@192.0.2.11 -m prod",
    ]
    assert {vm["owner"] for vm in vms(api)} == {"juju:prod"}
    assert [m["machine"] for m in env.state()] == ["3", "4"]
    code, _out, err = run(capsys, "remove-machine", "4", "3", "-m", "prod")
    assert code == 0, err
    assert env.juju_calls()[2:] == ["remove-machine 4 -m prod", "remove-machine 3 -m prod"]
    assert vms(api) == []


def test_warm_pool_keeps_and_reuses_the_vm(
    api: ApiEnv, env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, *ADD, "--warm-pool", "--constraints", "cores=2")
    assert code == 0, err
    (vm,) = vms(api)
    code, out, err = run(capsys, "remove-machine", "3")
    assert code == 0, err
    assert f"VM {vm['name']} (id {vm['id']}) released to the warm pool" in out
    assert api.get(f"/api/v1/vms/{vm['id']}").json()["owner"] == ""
    code, out, err = run(capsys, *ADD, "--warm-pool", "--constraints", "cores=1 mem=1G")
    assert code == 0, err
    assert f"reused idle VM {vm['name']}" in err
    assert [v["id"] for v in vms(api)] == [vm["id"]]
    assert env.juju_calls()[-1] == "add-machine ssh:ubuntu@192.0.2.10"
    assert [m["machine"] for m in env.state()] == ["4"]
    # --no-warm-pool at removal decomposes it after all
    code, out, err = run(capsys, "remove-machine", "4", "--no-warm-pool")
    assert code == 0 and vms(api) == []


def test_bad_constraints_and_no_capacity_compose_nothing(
    api: ApiEnv, env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, *ADD, "--constraints", "mem=lots")
    assert code == 2
    assert err == (
        'ERROR bad "mem" constraint: must be a non-negative float with optional M/G/T/P suffix\n'
    )
    code, _, err = run(capsys, *ADD, "--constraints", "spaces=dmz")
    assert code == 2 and 'no network is mapped to space "dmz"' in err
    code, _, err = run(capsys, *ADD, "--constraints", "cores=2 mem=1T")
    assert code == 1
    assert err == (
        "ERROR no VM host can satisfy constraint mem=1048576M "
        "(1 host lack 1048576 MiB of memory)\n"
    )
    code, _, err = run(capsys, *ADD, "--base", "noble")
    assert code == 2 and 'invalid base "noble"' in err
    code, _, err = run(capsys, *ADD, "-n", "0")
    assert code == 2
    assert vms(api) == [] and env.juju_calls() == [] and env.state() == []


def test_ssh_key_is_required(api: ApiEnv, env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    (env.home / ".ssh" / "id_ed25519.pub").unlink()
    code, _, err = run(capsys, *ADD)
    assert code == 2
    assert err.startswith("ERROR no SSH public key: give --ssh-key FILE (looked for ")
    (env.home / ".ssh" / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nxx\n")
    code, _, err = run(capsys, *ADD, "--ssh-key", str(env.home / ".ssh" / "id_rsa"))
    assert code == 2 and "is not an SSH public key" in err
    code, _, err = run(capsys, *ADD, "--ssh-key", str(env.home / "nope.pub"))
    assert code == 2 and "does not exist" in err
    assert vms(api) == []
    (env.home / ".ssh" / "id_rsa.pub").write_text("ssh-rsa AAAAB3NzaC1yc2E= me@there\n")
    code, _, err = run(capsys, *ADD)
    assert code == 0, err


def test_without_juju_the_commands_are_printed(
    api: ApiEnv, env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    env.without_juju()
    code, out, err = run(capsys, *ADD, "-m", "dev")
    assert code == 0, err
    assert out == "juju add-machine ssh:ubuntu@192.0.2.10 -m dev\n"
    assert "juju is not on PATH" in err
    (entry,) = env.state()
    assert entry["machine"] == ""
    code, out, err = run(capsys, "remove-machine", f"vm:{entry['vm_id']}")
    assert code == 0, err
    assert out.endswith("decomposed\n") and vms(api) == [] and env.state() == []


def test_juju_refuses_the_machine(
    api: ApiEnv, env: Env, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUJU_FAIL", "cannot connect to 192.0.2.10")
    code, _out, err = run(capsys, *ADD)
    assert code == 1
    assert (
        "ERROR juju add-machine ssh:ubuntu@192.0.2.10 failed: ERROR cannot connect to 192.0.2.10"
        in err
    )
    assert "decomposed" in err and vms(api) == [] and env.state() == []


def test_no_address_in_time(api: ApiEnv, env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, *ADD, "--interfaces", "eth0:network=br-x", "--timeout", "0.5")
    assert code == 1
    assert "has no address after 0.5 s" in err
    assert vms(api) == [] and env.juju_calls() == []


def test_remove_machine_errors(api: ApiEnv, env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "remove-machine", "7")
    assert code == 2 and "machine 7 was not added by 'juju vmhost add-machine'" in err
    assert run(capsys, *ADD)[0] == 0
    env.monkeypatch.setenv("JUJU_FAIL", "machine 3 has units")
    code, _, err = run(capsys, "remove-machine", "3")
    assert code == 1 and "machine 3 has units" in err and "kept" in err
    assert len(vms(api)) == 1 and len(env.state()) == 1  # nothing lost track of
    env.monkeypatch.delenv("JUJU_FAIL")
    api.delete(f"/api/v1/vms/{vms(api)[0]['id']}")
    code, _out, err = run(capsys, "remove-machine", "3")
    assert code == 0 and "already gone" in err and env.state() == []


def test_description_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--description") == (0, f"{plugin.DESCRIPTION}\n", "")
    code, out, _ = run(capsys)
    assert code == 2 and "add-machine" in out
    code, _, err = run(capsys, "add-machine", "--bogus")
    assert code == 2 and "unrecognized arguments: --bogus" in err


def test_not_logged_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.setenv("VMHOST_CONFIG_DIR", str(tmp_path))
    monkeypatch.delenv("VMHOST_URL", raising=False)
    monkeypatch.delenv("VMHOST_PROFILE", raising=False)
    code, _, err = run(capsys, "remove-machine", "1")
    assert code == 2 and "not logged in to vmhost: run 'vmhost login" in err


def test_cloud_init_and_addresses() -> None:
    import yaml

    data = plugin.cloud_init(KEY)
    assert data.startswith("#cloud-config\n")
    assert yaml.safe_load(data) == {"ssh_authorized_keys": [KEY]}
    other = yaml.safe_load(plugin.cloud_init(KEY, "juju"))
    assert other["users"][1]["name"] == "juju" and other["users"][1]["ssh_authorized_keys"]
    assert plugin.best_address(["fe80::1", "2001:db8::5", "10.0.0.5"]) == "10.0.0.5"
    assert plugin.best_address(["fe80::1", "2001:db8::5"]) == "2001:db8::5"
    assert plugin.best_address(["127.0.0.1", "junk"]) is None


# -- the installed console scripts against a live server -------------------------------------


def _script(name: str) -> str:
    path = Path(sys.executable).parent / name
    assert path.exists(), f"{name} is not installed next to this Python"
    return str(path)


def test_vmhost_juju_runs_the_installed_plugin(live_server: LiveServer, tmp_path: Path) -> None:
    live_server.services.hosts.add(
        model.HostSettings(name="h1", type=model.HostType.FAKE, address="fake://h1"),
        options={"inventory": INVENTORY},
    )
    env = Env.__new__(Env)
    env.bin, env.log = tmp_path / "bin", tmp_path / "juju.log"
    env.bin.mkdir()
    (env.bin / "juju").write_text(JUJU)
    (env.bin / "juju").chmod(0o755)
    (tmp_path / "home" / ".ssh").mkdir(parents=True)
    (tmp_path / "home" / ".ssh" / "id_ed25519.pub").write_text(KEY)
    environ = {
        **os.environ,
        "PATH": f"{env.bin}:/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "VMHOST_CONFIG_DIR": str(tmp_path / "config"),
        "JUJU_LOG": str(env.log),
        "JUJU_COUNTER": str(tmp_path / "counter"),
    }
    environ.pop("VMHOST_URL", None)
    vmhost = _script("vmhost")

    def sh(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, env=environ, capture_output=True, text=True, timeout=120, check=False
        )

    login = sh(vmhost, "login", "ci", live_server.url, live_server.admin_token)
    assert login.returncode == 0, login.stderr
    added = sh(vmhost, "juju", "add-machine", "--constraints", "cores=1", "--ssh-wait", "0")
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("created machine 3 (")
    assert env.log.read_text().splitlines() == ["add-machine ssh:ubuntu@192.0.2.10"]
    listed = sh(_script("juju-vmhost"), "machines")
    assert listed.returncode == 0 and listed.stdout.splitlines()[1].startswith("3 ")
    removed = sh(vmhost, "--profile", "ci", "juju", "remove-machine", "3")
    assert removed.returncode == 0, removed.stderr
    assert "decomposed" in removed.stdout
    assert live_server.services.vms.list() == []
    wrong = sh(vmhost, "--profile", "nope", "juju", "machines")
    assert wrong.returncode == 0  # listing needs no server
    wrong = sh(vmhost, "--profile", "nope", "juju", "remove-machine", "3")
    assert wrong.returncode == 2 and "no vmhost profile named 'nope'" in wrong.stderr


def test_state_file_writers_do_not_lose_entries(tmp_path: Path) -> None:
    import concurrent.futures

    state = plugin.State(tmp_path / "cfg" / plugin.STATE_FILE)

    def add(i: int) -> None:
        state.add(plugin.Machine(machine=str(i), vm_id=i, vm_name=f"v{i}", address="192.0.2.1"))

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(add, range(40)))
    assert sorted(m.vm_id for m in state.load()) == list(range(40))
    assert stat.S_IMODE(state.path.stat().st_mode) == 0o600
    state.remove(state.load()[0])
    assert len(state.load()) == 39
