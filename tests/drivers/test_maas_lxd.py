"""The MAAS API on the real LXD: Juju's allocate + deploy compose a container that boots.

The local LXD (scripts/setup-hosts) is registered in a fresh project with the locally built
test image behind the host's series map (``noble`` -> ``vmhost-test``: nothing is downloaded),
space ``db`` mapped to bridge ``vmhbr0``. Then, through ``/MAAS/api/2.0`` with gomaasapi's
headers and urlencoded bodies: allocate (``cpu_count``, ``mem``, ``storage``, ``interfaces`` by
space id, ``agent_name``) answers at once, deploy with base64(gzip(cloud-config)) and
``distro_series=noble`` composes the container, which gets its IPv4 address on ``vmhbr0`` and
reaches ``Deployed`` with that address in ``interface_set[].links[].ip_address``; LXD's
``cloud-init.user-data`` holds the decoded cloud-config; release leaves nothing in ``lxc list``
or ``lxc storage volume list``.

Containers only: this machine's LXD cannot run VMs (vhost_vsock). libvirt/KVM: see the note at
the end of this module. Only 127.0.0.1 and the instances made here are contacted; every wait is
bounded.
"""

from __future__ import annotations

import base64
import gzip
import ipaddress
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import lxd_helpers as h
import pytest
import yaml
from fastapi.testclient import TestClient
from support.maas_auth import go_header

from vmhost import model, pki
from vmhost.api.app import create_app
from vmhost.service import Services, Settings

pytestmark = [pytest.mark.lxd, pytest.mark.timeout(300)]

_reason = h.skip_reason()
if _reason:
    pytest.skip(_reason, allow_module_level=True)

PROJECT = f"vmhost-maas{h.RUN}"
PREFIX = "/MAAS/api/2.0"
AGENT = f"7a1c0e2d-4b3f-4a5e-9c6d-{h.RUN}000000"
DEPLOY_TIMEOUT_S = 120.0
CLOUD_CONFIG = f"#cloud-config\nruncmd:\n- echo maas-lxd-{h.RUN}\n"


class Maas:
    """The MAAS API in-process over services with the real LXD host."""

    def __init__(self, client: TestClient, key: str, services: Services, host_id: int) -> None:
        self.client, self.key, self.services, self.host_id = client, key, services, host_id

    def get(self, path: str, params: Any = None) -> Any:
        return self.client.get(
            f"{PREFIX}/{path}", params=params, headers={"Authorization": go_header(self.key)}
        )

    def post(self, path: str, data: Any = None) -> Any:
        return self.client.post(
            f"{PREFIX}/{path}", data=data, headers={"Authorization": go_header(self.key)}
        )


def _ok(response: Any) -> Any:
    assert response.status_code == 200, (
        f"{response.request.method} {response.request.url}: {response.status_code} "
        f"{response.text[:400]}"
    )
    return response.json()


@pytest.fixture(scope="module")
def maas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Maas]:
    services = Services.create(Settings(data_dir=str(tmp_path_factory.mktemp("maas-lxd"))))
    fingerprint = ""
    try:
        detail = services.hosts.add(
            model.HostSettings(
                name="lxd-maas",
                type=model.HostType.LXD,
                address=f"https://{h.ADDRESS}",
                project=PROJECT,
            ),
            options={"image": h.IMAGE, "series_images": {"noble": h.IMAGE}},
        )
        host_id = int(detail.host.id)
        cert = services.certificates.certificate(host_id).certificate
        with tempfile.NamedTemporaryFile("w", suffix=".crt") as f:
            f.write(cert)
            f.flush()
            h.lxc("config", "trust", "add", f.name, "--name", f"vmhost-maas-{h.RUN}")
        fingerprint = pki.fingerprint(cert)
        ready = services.hosts.refresh(host_id)
        assert ready.host.status == "ready", ready.host.last_error
        services.spaces.set("db", "vmhbr0")
        record, token = services.tokens.create("juju-lxd", "admin")
        with TestClient(create_app(services), raise_server_exceptions=False) as client:
            yield Maas(client, f"{record.name}:{record.id}:{token}", services, host_id)
    finally:
        if fingerprint:
            h.untrust(fingerprint)
        h.wipe_project(PROJECT)
        services.close()


def _wait_deployed(maas: Maas, system_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + DEPLOY_TIMEOUT_S
    while True:
        (machine,) = _ok(maas.get("machines/", [("agent_name", AGENT), ("id", system_id)]))
        status = machine["status_name"]
        assert status in ("Deploying", "Deployed"), (status, machine.get("status_message"))
        if status == "Deployed":
            return dict(machine)
        assert time.monotonic() < deadline, f"still Deploying after {DEPLOY_TIMEOUT_S} s"
        time.sleep(0.5)


def test_allocate_deploy_release_a_container_through_the_maas_api(maas: Maas) -> None:
    spaces = _ok(maas.get("spaces/"))
    space_id = next(s["id"] for s in spaces if s["name"] == "db")
    allocated = _ok(
        maas.post(
            "machines/?op=allocate",
            {
                "cpu_count": "1",
                "mem": "512",
                "storage": "root:2",
                "interfaces": f"{space_id}:space={space_id}",
                "agent_name": AGENT,
            },
        )
    )
    system_id = allocated["system_id"]
    assert allocated["status_name"] == "Allocated"
    assert allocated["constraints_by_type"]["interfaces"][str(space_id)]
    assert h.instances(PROJECT) == []  # allocate claims; deploy composes

    user_data = base64.b64encode(gzip.compress(CLOUD_CONFIG.encode())).decode()
    deploying = _ok(
        maas.post(
            f"machines/{system_id}/?op=deploy",
            {"user_data": user_data, "distro_series": "noble"},
        )
    )
    assert deploying["status_name"] == "Deploying"
    deployed = _wait_deployed(maas, system_id)

    (instance,) = h.instances(PROJECT)
    assert instance["name"] == deployed["hostname"]
    assert instance["type"] == "container" and instance["status"] == "Running"
    shown = yaml.safe_load(h.lxc("config", "show", instance["name"], "--project", PROJECT))
    assert shown["config"]["cloud-init.user-data"] == CLOUD_CONFIG
    bridge = ipaddress.ip_network("10.213.70.0/24")
    seen = [
        a["address"]
        for net in (instance.get("state") or {}).get("network", {}).values()
        for a in net.get("addresses", [])
        if a.get("family") == "inet" and a.get("address") != "127.0.0.1"
    ]
    assert seen and all(ipaddress.ip_address(a) in bridge for a in seen), seen
    linked = [link.get("ip_address") for i in deployed["interface_set"] for link in i["links"]]
    assert set(seen) <= set(deployed["ip_addresses"]) and set(seen) <= set(linked), deployed

    released = _ok(maas.post("machines/?op=release", {"machines": [system_id]}))
    assert released == [system_id]
    deadline = time.monotonic() + DEPLOY_TIMEOUT_S
    while maas.get(f"machines/{system_id}/").status_code != 404:
        assert time.monotonic() < deadline, "the machine was not deleted after release"
        time.sleep(0.5)
    assert h.instances(PROJECT) == []
    assert [v for v in h.volumes(PROJECT) if v.get("type") != "image"] == []


# libvirt/KVM: the same path runs on libvirt only with a bootable image whose first boot reads
# the NoCloud seed and takes a DHCP lease; scripts/setup-hosts prepares none (its libvirt
# guests are kernel-less and sit in firmware, enough for the life cycle, never an address), and
# nothing can be downloaded here, so a libvirt machine would never reach Deployed.
