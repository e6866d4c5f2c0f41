"""The Juju provider end to end on the real LXD: constraints -> vmhost's HTTP API (uvicorn on
127.0.0.1 in a thread, over a temporary SQLite database) -> the LXD host over HTTPS.

Spaces ``db`` and ``storage`` are mapped to the test bridges ``vmhbr0`` and ``vmhbr1``;
``cores=2 mem=1G spaces=db,storage root-disk-source=default virt-type=container`` must become
an instance with those limits and a NIC on each bridge, as ``lxc config show`` shows it; a
constraint no host can meet names the constraint and creates nothing; with the warm pool on, a
second allocation reuses the idle instance. Then ``juju-vmhost add-machine`` with a stand-in
``juju`` on PATH waits for the container's real DHCP address on ``vmhbr0`` and enlists it.

Containers only (this machine cannot run LXD VMs). A fresh project per run, removed with every
instance and the trust entry. Only 127.0.0.1 and the instances made here are contacted; every
wait is bounded.
"""

from __future__ import annotations

import ipaddress
import json
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lxd_helpers as h
import pytest
import uvicorn
import yaml
from vmhost_provider import plugin
from vmhost_provider.allocate import NoCapacity, allocate_or_compose, release

from vmhost import client as vmclient
from vmhost import model, pki, schemas
from vmhost.api.app import create_app
from vmhost.service import Services, Settings

pytestmark = [pytest.mark.lxd, pytest.mark.timeout(300)]

_reason = h.skip_reason()
if _reason:
    pytest.skip(_reason, allow_module_level=True)

PROJECT = f"vmhost-p{h.RUN}"
CONSTRAINTS = "cores=2 mem=1G spaces=db,storage root-disk-source=default virt-type=container"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJ1c3lib3hidXN5Ym94YnVzeWJveGJ1c3lib3g operator@test"
JUJU = """#!/bin/sh
printf '%s\\n' "$*" >> "$JUJU_LOG"
case "$1" in add-machine) echo "created machine 7" >&2 ;; esac
"""


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """The API on 127.0.0.1 with the local LXD registered (project PROJECT)."""

    def __init__(self, url: str, token: str, host_id: int, services: Services) -> None:
        self.url, self.token, self.host_id, self.services = url, token, host_id, services

    def client(self) -> vmclient.VmHostClient:
        return vmclient.VmHostClient(self.url, self.token, timeout=120)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    services = Services.create(Settings(data_dir=str(tmp_path_factory.mktemp("provider"))))
    fingerprint = ""
    srv: uvicorn.Server | None = None
    thread: threading.Thread | None = None
    try:
        detail = services.hosts.add(
            model.HostSettings(
                name="lxd-provider",
                type=model.HostType.LXD,
                address=f"https://{h.ADDRESS}",
                project=PROJECT,
            ),
            options={"image": h.IMAGE},
        )
        host_id = int(detail.host.id)
        cert = services.certificates.certificate(host_id).certificate
        with tempfile.NamedTemporaryFile("w", suffix=".crt") as f:
            f.write(cert)
            f.flush()
            h.lxc("config", "trust", "add", f.name, "--name", f"vmhost-provider-{h.RUN}")
        fingerprint = pki.fingerprint(cert)
        ready = services.hosts.refresh(host_id)
        assert ready.host.status == "ready", ready.host.last_error
        assert ready.host.can_run_containers
        _, token = services.tokens.create("provider-admin", "admin")
        port = _free_port()
        srv = uvicorn.Server(
            uvicorn.Config(create_app(services), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=srv.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not srv.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        server = Server(f"http://127.0.0.1:{port}", token, host_id, services)
        with server.client() as api:
            api.spaces.set(schemas.SpaceSet(space="db", network="vmhbr0"))
            api.spaces.set(schemas.SpaceSet(space="storage", network="vmhbr1"))
        yield server
    finally:
        if srv is not None and thread is not None:
            srv.should_exit = True
            thread.join(timeout=10)
        if fingerprint:
            h.untrust(fingerprint)
        h.wipe_project(PROJECT)
        services.close()


@pytest.fixture
def api(server: Server) -> Iterator[vmclient.VmHostClient]:
    with server.client() as c:
        yield c
    with server.client() as c:  # each test leaves the project empty
        for vm in c.vms.list(host=server.host_id, origin="composed"):
            c.vms.delete(vm.id)


def names() -> list[str]:
    return sorted(i["name"] for i in h.instances(PROJECT))


def config_show(name: str) -> dict[str, Any]:
    shown: dict[str, Any] = yaml.safe_load(h.lxc("config", "show", name, "--project", PROJECT))
    return shown


def _bridge(device: dict[str, Any]) -> str:
    return str(device.get("network") or device.get("parent") or "")


def test_constraints_compose_a_container_on_the_mapped_bridges(
    api: vmclient.VmHostClient,
) -> None:
    got = allocate_or_compose(api, CONSTRAINTS, owner="juju:e2e", user_data=plugin.cloud_init(KEY))
    assert not got.reused and got.vm.owner == "juju:e2e"
    assert names() == [got.vm.name]
    shown = config_show(got.vm.name)
    assert shown["config"]["limits.cpu"] == "2"
    assert shown["config"]["limits.memory"] == "1024MiB"
    user_data = shown["config"].get("cloud-init.user-data") or shown["config"]["user.user-data"]
    assert user_data.startswith("#cloud-config") and KEY in user_data
    nics = {n: d for n, d in shown["devices"].items() if d.get("type") == "nic"}
    assert sorted(_bridge(d) for d in nics.values()) == ["vmhbr0", "vmhbr1"]
    root = next(d for d in shown["devices"].values() if d.get("path") == "/")
    assert root["pool"] == "default"
    state = h.instances(PROJECT)[0]
    assert state["type"] == "container"
    vm = api.vms.get(got.vm_id)
    assert [(n.space, n.network) for n in vm.interfaces] == [
        ("db", "vmhbr0"),
        ("storage", "vmhbr1"),
    ]
    assert (vm.cores, vm.memory_mib, vm.instance_type) == (2, 1024, "container")
    release(api, got.vm_id)
    assert names() == []


def test_a_constraint_no_host_meets_is_named_and_nothing_is_made(
    api: vmclient.VmHostClient,
) -> None:
    before = names()
    used = api.hosts.get("lxd-provider").used.model_dump()
    with pytest.raises(NoCapacity) as caught:
        allocate_or_compose(api, "mem=1T spaces=db virt-type=container", owner="juju:e2e")
    assert caught.value.constraints == ("mem",)
    assert str(caught.value) == (
        "no VM host can satisfy constraint mem=1048576M (1 host lack 1048576 MiB of memory)"
    )
    with pytest.raises(NoCapacity, match=r"constraint cores=64 \(1 host lack 64 free cores\)"):
        allocate_or_compose(api, "cores=64 virt-type=container", owner="juju:e2e")
    assert names() == before
    assert api.vms.list(host="lxd-provider", origin="composed") == []
    assert api.hosts.get("lxd-provider").used.model_dump() == used


def test_warm_pool_reuses_the_idle_container(api: vmclient.VmHostClient) -> None:
    first = allocate_or_compose(api, CONSTRAINTS, owner="juju:one", warm_pool=True)
    assert release(api, first.vm_id, warm_pool=True) is True
    assert names() == [first.vm.name]  # kept on the host, idle
    assert api.vms.get(first.vm_id).owner == ""
    again = allocate_or_compose(api, CONSTRAINTS, owner="juju:two", warm_pool=True)
    assert again.reused and again.vm_id == first.vm_id
    assert api.vms.get(first.vm_id).owner == "juju:two"
    assert names() == [first.vm.name]  # nothing new on LXD
    # release without the warm pool decomposes it (the host has 2 cores: CONSTRAINTS takes
    # them all, so the idle container is what stood in the way of another machine)
    release(api, first.vm_id)
    assert names() == []
    other = allocate_or_compose(api, "cores=1 mem=1G virt-type=container", owner="juju:x")
    assert not other.reused and names() == [other.vm.name]
    release(api, other.vm_id)
    assert names() == []


def test_juju_vmhost_add_machine_on_lxd(
    server: Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The plugin in-process: the container's DHCP address on vmhbr0 is awaited through the
    API (``POST /vms/{id}/refresh``), then ``juju add-machine ssh:ubuntu@ADDRESS`` runs."""
    (tmp_path / "bin").mkdir()
    juju = tmp_path / "bin" / "juju"
    juju.write_text(JUJU)
    juju.chmod(juju.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "key.pub").write_text(KEY)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:/usr/bin:/bin")
    monkeypatch.setenv("JUJU_LOG", str(tmp_path / "juju.log"))
    monkeypatch.setenv("VMHOST_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("VMHOST_URL", server.url)
    monkeypatch.setenv("VMHOST_TOKEN", server.token)
    monkeypatch.delenv("VMHOST_PROFILE", raising=False)
    argv = ["add-machine", "--constraints", "cores=1 mem=1G spaces=db virt-type=container"]
    argv += ["--ssh-key", str(tmp_path / "key.pub"), "--ssh-wait", "0", "--timeout", "90"]
    code = plugin.main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    (call,) = (tmp_path / "juju.log").read_text().splitlines()
    assert call.startswith("add-machine ssh:ubuntu@")
    address = call.removeprefix("add-machine ssh:ubuntu@")
    bridge = h.lxc("network", "get", "vmhbr0", "ipv4.address").strip()  # space db's bridge
    assert ipaddress.ip_address(address) in ipaddress.ip_network(bridge, strict=False)
    (instance,) = h.instances(PROJECT)
    lxd_addresses = [
        a["address"]
        for nic in (instance.get("state") or {}).get("network", {}).values()
        for a in nic.get("addresses", [])
    ]
    assert address in lxd_addresses  # the address LXD itself reports
    assert out == f"created machine 7 ({instance['name']}, {address})\n"
    (entry,) = json.loads((tmp_path / "config" / plugin.STATE_FILE).read_text())["machines"]
    assert (entry["machine"], entry["vm_name"], entry["address"]) == (
        "7",
        instance["name"],
        address,
    )

    assert plugin.main(["remove-machine", "7"]) == 0
    out, err = capsys.readouterr()
    assert out.endswith("decomposed\n"), err
    assert (tmp_path / "juju.log").read_text().splitlines()[-1] == "remove-machine 7"
    assert names() == []
