"""python-libmaas (the MAAS project's own Python client, from PyPI) against vmhost.

libmaas learns the API from the unsigned ``describe/`` document and then calls the handler URIs
given there, with every POST and PUT as multipart. The test drives what a libmaas user does:
connect, version, whoami, zones, pods, allocate (with storage and interface constraints whose
matches are checked), deploy with user data, wait for Deployed, owner data through ``save()``,
list, release (the machine composed by allocate is then gone), a request too large for any host
(``MachineNotFound``, the server's text naming what was lacking), and a machine composed on a
pod: Ready, picked by the next allocate, kept by release.

python-libmaas is AGPL-3.0: it lives only in tox's ``maas`` environment. A missing libmaas is a
failure, not a skip. DeprecationWarnings are errors here (the environment also runs Python with
``-W error::DeprecationWarning``).
"""

from __future__ import annotations

import gzip
import time
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from conftest import MaasServer

pytestmark = [pytest.mark.maas, pytest.mark.filterwarnings("error::DeprecationWarning")]

T = TypeVar("T")
DEPLOY_TIMEOUT_S = 60.0
POLL_S = 0.25
AGENT = "9d3e4b1a-7c55-4a0e-8f1d-3b6c2a9e0d42"

try:
    with warnings.catch_warnings():
        # libmaas's own import of distutils (maas/client/viscera/version.py), not ours
        warnings.filterwarnings(
            "ignore", "The distutils package is deprecated", DeprecationWarning
        )
        # libmaas's own source has invalid escapes ('"/-\|"' in maas/client/utils), which
        # Python reports while compiling it the first time (a fresh environment has no .pyc)
        warnings.filterwarnings("ignore", "invalid escape sequence", DeprecationWarning)
        warnings.filterwarnings("ignore", "invalid escape sequence", SyntaxWarning)
        import maas.client.viscera.version  # noqa: F401
    from maas.client import connect
    from maas.client.bones import CallError
    from maas.client.enum import NodeStatus
    from maas.client.viscera.machines import MachineNotFound
except ImportError as exc:  # pragma: no cover - the environment is broken
    pytest.fail(
        f"python-libmaas is not importable ({exc}): run these tests with `tox -e maas`",
        pytrace=False,
    )


@pytest.fixture(scope="module")
def client(maas_server: MaasServer) -> Any:
    """A libmaas client connected with an admin token's MAAS API key."""
    return connect(f"{maas_server.maas_url}/", apikey=maas_server.api_key)


def raw(obj: Any) -> dict[str, Any]:
    """The JSON libmaas received for an object (its ``_data``), to check keys it does not map."""
    data: dict[str, Any] = obj._data
    return data


def wait_for(what: str, read: Callable[[], T], done: Callable[[T], bool]) -> T:
    """Poll ``read`` until ``done``: bounded by DEPLOY_TIMEOUT_S."""
    deadline = time.monotonic() + DEPLOY_TIMEOUT_S
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not so after {DEPLOY_TIMEOUT_S} s (last: {value!r})")
        time.sleep(POLL_S)


def test_connect_version_whoami_zones_pods(client: Any, maas_server: MaasServer) -> None:
    version = client.version.get()
    assert isinstance(version.version, str) and version.version
    assert "networks-management" in version.capabilities

    me = client.users.whoami()
    assert me.username == "juju-maas" and me.is_admin

    zones = {z.name for z in client.zones.list()}
    assert maas_server.zone in zones

    pods = client.pods.list()
    assert {p.name for p in pods} >= set(maas_server.hosts)
    one = client.pods.get(next(p.id for p in pods if p.name == maas_server.hosts[0]))
    assert one.name == maas_server.hosts[0]
    assert one.zone.name == maas_server.zone
    assert one.total["cores"] == 4 and one.total["memory"] == 8192
    assert one.type == "fake"


def test_allocate_deploy_owner_data_release(client: Any, maas_server: MaasServer) -> None:
    machine = client.machines.allocate(
        cpus=2,
        memory=2048,
        storage="root:20",
        interfaces=[f"eth0:space={maas_server.space}"],
        zone=maas_server.zone,
        tags=["virtual-ok"],
        agent_name=AGENT,
    )
    assert machine.status == NodeStatus.ALLOCATED, machine.status_name
    assert machine.cpus >= 2 and machine.memory >= 2048
    assert machine.zone.name == maas_server.zone

    # constraints_by_type: every id it names is in this same answer
    answer = raw(machine)
    matches = answer["constraints_by_type"]
    interface_ids = {i["id"] for i in answer["interface_set"]}
    device_ids = {d["id"] for d in answer["blockdevice_set"]}
    assert matches["interfaces"]["eth0"], matches
    assert set(matches["interfaces"]["eth0"]) <= interface_ids, matches
    assert set(matches.get("storage", {}).get("root", [])) <= device_ids, matches
    (nic,) = [i for i in answer["interface_set"] if i["id"] == matches["interfaces"]["eth0"][0]]
    assert {link["subnet"]["space"] for link in nic["links"] if link.get("subnet")} == {
        maas_server.space
    }, nic
    # MAAS's storage sizes are GB (10^9 bytes)
    assert sum(d["size"] for d in answer["blockdevice_set"]) >= 20 * 1000**3

    cloud_config = b"#cloud-config\nruncmd:\n- echo libmaas\n"
    deployed = machine.deploy(user_data=gzip.compress(cloud_config), distro_series="noble")
    assert deployed.status == NodeStatus.DEPLOYING, deployed.status_name

    system_id = machine.system_id
    done = wait_for(
        f"machine {system_id} deployed",
        lambda: client.machines.get(system_id),
        lambda m: m.status in (NodeStatus.DEPLOYED, NodeStatus.FAILED_DEPLOYMENT),
    )
    assert done.status == NodeStatus.DEPLOYED, done.status_message
    assert done.status_name == "Deployed"
    assert done.distro_series == "noble"
    assert raw(done)["ip_addresses"], raw(done)
    links = [link.get("ip_address") for i in raw(done)["interface_set"] for link in i["links"]]
    assert any(links), raw(done)["interface_set"]

    done.owner_data = {"juju-model-uuid": AGENT, "juju-is-controller": "true"}
    done.save()
    assert client.machines.get(system_id).owner_data == {
        "juju-model-uuid": AGENT,
        "juju-is-controller": "true",
    }
    again = client.machines.get(system_id)
    again.owner_data = {"juju-model-uuid": AGENT}  # a key removed is deleted
    again.save()
    assert client.machines.get(system_id).owner_data == {"juju-model-uuid": AGENT}

    assert system_id in {m.system_id for m in client.machines.list()}

    again.release(comment="done with it")
    with pytest.raises(CallError) as gone:
        wait_for(
            f"machine {system_id} gone after release",
            lambda: client.machines.get(system_id),
            lambda m: False,
        )
    assert gone.value.status == 404
    assert system_id not in {m.system_id for m in client.machines.list()}


def test_allocate_too_large_names_the_lacking_resource(client: Any) -> None:
    before = {m.system_id for m in client.machines.list()}
    with pytest.raises(MachineNotFound) as refused:
        client.machines.allocate(cpus=64, memory=1024, agent_name=AGENT)
    cause = refused.value.__cause__
    assert isinstance(cause, CallError) and cause.status == 409
    text = cause.content.decode()
    assert "core" in text.lower() or "cpu" in text.lower(), text
    assert "Retry-After" not in cause.response.headers
    with pytest.raises(MachineNotFound) as refused:
        client.machines.allocate(cpus=1, memory=64 * 1024, agent_name=AGENT)
    text = refused.value.__cause__.content.decode()
    assert "mem" in text.lower(), text
    assert {m.system_id for m in client.machines.list()} == before  # nothing claimed


def test_pod_compose_then_allocate_picks_it_and_release_keeps_it(
    client: Any, maas_server: MaasServer
) -> None:
    pod = next(p for p in client.pods.list() if p.name == maas_server.hosts[1])
    composed = pod.compose(cores=1, memory=1024, storage=["root:8"], hostname="libmaas-pod-vm")
    system_id = composed["system_id"]
    assert composed["resource_uri"].endswith(f"/machines/{system_id}/")
    machine = client.machines.get(system_id)
    assert machine.status == NodeStatus.READY, machine.status_name
    assert machine.hostname == "libmaas-pod-vm"
    assert raw(machine)["pod"]["name"] == pod.name

    picked = client.machines.allocate(cpus=1, memory=1024, pod=pod.name, agent_name=AGENT)
    assert picked.system_id == system_id  # the idle machine, not a new composition
    assert picked.status == NodeStatus.ALLOCATED
    picked.release()
    kept = wait_for(
        f"machine {system_id} Ready again",
        lambda: client.machines.get(system_id),
        lambda m: m.status == NodeStatus.READY,
    )
    assert kept.owner_data == {} and raw(kept).get("owner") in (None, "")


def test_a_wrong_key_is_refused(maas_server: MaasServer) -> None:
    name, token_id, secret = maas_server.api_key.split(":")
    wrong = connect(f"{maas_server.maas_url}/", apikey=f"{name}:{token_id}:{secret}x")
    with pytest.raises(CallError) as refused:
        wrong.users.whoami()
    assert refused.value.status == 401
    assert secret not in refused.value.content.decode()
