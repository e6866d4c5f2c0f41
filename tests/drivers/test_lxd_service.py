"""vmhost's service against the real LXD over HTTPS: add, trust, refresh, compose, decompose.

Everything goes through ``Services`` on a temporary SQLite database, as the API does: vmhost
generates each host's certificate, the operator's step (``lxc config trust add``) is done here
with ``lxc``, and every result is checked against what ``lxc`` itself shows. Containers only:
this machine cannot run LXD virtual machines (no vhost_vsock), and a VM request must say so.

Each test run uses its own projects (``vmhost-s<run>-*``) and removes them, with every instance,
volume and trust entry it made. Only 127.0.0.1 is contacted; every wait is bounded.
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import lxd_helpers as h
import pytest
from cryptography.hazmat.primitives import serialization

from vmhost import model, pki
from vmhost.drivers import base
from vmhost.service import HostDetail, Services, Settings, accounts

pytestmark = [pytest.mark.lxd, pytest.mark.timeout(300)]

_reason = h.skip_reason()
if _reason:
    pytest.skip(_reason, allow_module_level=True)

ADDRESS = f"https://{h.ADDRESS}"
MB = 1000**2
PROJECTS = {"a": f"vmhost-s{h.RUN}-a", "b": f"vmhost-s{h.RUN}-b"}
IMPORTED = f"vmhost-s{h.RUN}-i"


@dataclasses.dataclass(frozen=True)
class AddedHost:
    """A host as added (before its certificate was trusted) and as refreshed after."""

    host_id: int
    project: str
    fingerprint: str
    untrusted: HostDetail
    ready: HostDetail


def trust_pem(certificate_pem: str, name: str) -> str:
    """``lxc config trust add`` a PEM certificate, as the operator does; its fingerprint."""
    with tempfile.NamedTemporaryFile("w", suffix=".crt") as f:
        f.write(certificate_pem)
        f.flush()
        h.lxc("config", "trust", "add", f.name, "--name", name)
    return pki.fingerprint(certificate_pem)


def make_services(directory: str) -> Services:
    return Services.create(Settings(data_dir=directory))


def assert_accounts_exact(services: Services) -> None:
    """Every host's stored usage equals the sum of its VM records (core_support's check)."""
    with services.ctx.db.read() as conn:
        for detail in services.hosts.list():
            assert detail.view.usage.to_json() == accounts.recount(conn, detail.view.id).to_json()


def mine(project: str, pool: str = h.POOL) -> tuple[list[str], list[str]]:
    """Instances and volumes (every type) ``lxc`` shows in a project."""
    return (
        [i["name"] for i in h.instances(project)],
        [v["name"] for v in h.volumes(project, pool)],
    )


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    s = make_services(str(tmp_path_factory.mktemp("lxd-service")))
    yield s
    s.close()


@pytest.fixture(scope="module")
def hosts(services: Services) -> Iterator[dict[str, AddedHost]]:
    """Two LXD hosts (one per fresh project) added through the service, then trusted."""
    trusted: list[str] = []
    added: dict[str, AddedHost] = {}
    try:
        for key, project in PROJECTS.items():
            untrusted = services.hosts.add(
                model.HostSettings(
                    name=f"lxd-{key}", type=model.HostType.LXD, address=ADDRESS, project=project
                ),
                options={"image": h.IMAGE},  # the driver's image option (default ubuntu:24.04)
            )
            host_id = int(untrusted.host.id)
            cert = services.certificates.certificate(host_id)
            trusted.append(trust_pem(cert.certificate, f"vmhost-svc-{h.RUN}-{key}"))
            ready = services.hosts.refresh(host_id)
            added[key] = AddedHost(host_id, project, cert.fingerprint, untrusted, ready)
        yield added
    finally:
        for fp in trusted:
            h.untrust(fp)
        for project in PROJECTS.values():
            h.wipe_project(project)


# -- adding a host ----------------------------------------------------------------------------


def test_added_host_is_untrusted_until_its_certificate_is_trusted(
    services: Services, hosts: dict[str, AddedHost]
) -> None:
    host = hosts["a"]
    record = host.untrusted.host
    assert record.status == model.HostStatus.UNTRUSTED.value
    # the operator reads which certificate and the exact command
    assert host.fingerprint in record.last_error
    assert "lxc config trust add vmhost.crt" in record.last_error
    cert = services.certificates.certificate(host.host_id)
    assert cert.generated_by_vmhost
    assert cert.trust_command.startswith("lxc config trust add ")
    assert cert.fingerprint == pki.fingerprint(cert.certificate)
    assert "PRIVATE KEY" not in cert.certificate
    assert host.fingerprint in h.trusted_fingerprints()  # the fixture trusted it, as an operator


@pytest.mark.parametrize("key", sorted(PROJECTS))
def test_refresh_discovers_the_host(hosts: dict[str, AddedHost], key: str) -> None:
    host = hosts[key]
    record, view = host.ready.host, host.ready.view
    assert record.status == model.HostStatus.READY.value, record.last_error
    assert record.last_error == ""
    resources = h.query("/1.0/resources")
    server = h.query("/1.0")
    assert view.cores == resources["cpu"]["total"]
    assert view.memory_mib == resources["memory"]["total"] // (1024 * 1024)
    assert record.version == server["environment"]["server_version"]
    pool = view.storage_pool(h.POOL)
    assert pool is not None and pool.type == "dir" and pool.total_bytes > 0
    assert view.default_pool == h.POOL
    networks = dict(view.networks)
    for bridge in h.BRIDGES:
        assert networks[bridge] is model.NetworkKind.BRIDGE
    assert view.can_run_containers
    assert view.can_run_vms == ("qemu" in server["environment"]["driver"])
    # the fresh project was created by vmhost, with its features
    project = h.query(f"/1.0/projects/{host.project}")
    assert project["config"]["features.storage.volumes"] == "true"


# -- compose and decompose ----------------------------------------------------------------------


def container_request(host_id: int, name: str, **kw: object) -> model.ComposeRequest:
    values: dict[str, object] = {
        "cores": 1,
        "memory_mib": 128,
        "instance_type": model.InstanceType.CONTAINER,
        "disks": (
            model.DiskRequest(1000 * MB, pool=h.POOL),
            model.DiskRequest(300 * MB, pool=h.POOL),
        ),
        "interfaces": (
            model.InterfaceRequest(network=h.BRIDGES[0]),
            model.InterfaceRequest(network=h.BRIDGES[1]),
        ),
        "hostname": name,
        "host_id": host_id,
    }
    values.update(kw)
    return model.ComposeRequest(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("key", sorted(PROJECTS))
def test_compose_container_two_disks_two_nics_then_decompose(
    services: Services, hosts: dict[str, AddedHost], key: str
) -> None:
    host = hosts[key]
    name = f"c{h.RUN}{key}"
    before = services.hosts.get(host.host_id).view.usage
    result = services.vms.compose(container_request(host.host_id, name))
    vm = result.vm
    try:
        assert result.host_id == host.host_id and result.attempts == []
        assert (vm.name, vm.project, vm.origin) == (name, host.project, model.VmOrigin.COMPOSED)
        assert vm.state is model.VmState.READY and vm.power_state == "running"
        assert vm.instance_type is model.InstanceType.CONTAINER
        assert [(d.name, d.size_bytes, d.pool, d.volume) for d in vm.disks] == [
            ("root", 1000 * MB, h.POOL, ""),
            ("disk1", 300 * MB, h.POOL, f"{name}-disk1"),
        ]
        assert [i.network for i in vm.interfaces] == list(h.BRIDGES)
        listed = {i["name"]: i for i in h.instances(host.project)}
        assert listed[name]["status"] == "Running"
        assert listed[name]["type"] == "container"
        for nic in vm.interfaces:
            assert nic.mac_address
            assert nic.mac_address == listed[name]["config"][f"volatile.{nic.name}.hwaddr"]
        custom = {v["name"] for v in h.volumes(host.project) if v["type"] == "custom"}
        assert custom == {f"{name}-disk1"}

        usage = services.hosts.get(host.host_id).view.usage
        assert usage.vms.allocated == before.vms.allocated + 1
        assert usage.vcpus.allocated == before.vcpus.allocated + 1
        assert usage.memory_mib.allocated == before.memory_mib.allocated + 128
        assert usage.disk_bytes.allocated == before.disk_bytes.allocated + 1300 * MB
        assert usage.pools[h.POOL].allocated == 1300 * MB
        assert usage.vms.other == before.vms.other  # ours is not counted twice
        assert_accounts_exact(services)

        # a refresh finds it in its project and keeps it as ours (no adopted twin, not missing)
        services.hosts.refresh(host.host_id)
        records = [v for v in services.vms.list(host.host_id) if v.project == host.project]
        assert [(v.name, v.origin, v.state) for v in records] == [
            (name, model.VmOrigin.COMPOSED, model.VmState.READY)
        ]
        assert services.hosts.get(host.host_id).view.usage.vms.allocated == 1
        assert_accounts_exact(services)
    finally:
        services.vms.decompose(vm.id)

    assert mine(host.project) == ([], [])  # `lxc storage volume list default --project P`
    assert [v.name for v in services.vms.list(host.host_id)] == []
    usage = services.hosts.get(host.host_id).view.usage
    assert (usage.vms.allocated, usage.vcpus.allocated, usage.memory_mib.allocated) == (0, 0, 0)
    assert usage.disk_bytes.allocated == 0
    assert h.POOL not in usage.pools or usage.pools[h.POOL].allocated == 0
    assert_accounts_exact(services)


def test_container_made_behind_our_back_is_other_use(
    services: Services, hosts: dict[str, AddedHost]
) -> None:
    host = hosts["a"]
    name = f"x{h.RUN}"
    h.lxc(
        "launch",
        h.IMAGE,
        name,
        "--project",
        host.project,
        "-c",
        "limits.cpu=1",
        "-c",
        "limits.memory=64MiB",
    )
    try:
        detail = services.hosts.refresh(host.host_id)
        found = {(v.project, v.name): v for v in services.vms.list(host.host_id)}
        vm = found[(host.project, name)]
        assert vm.origin is model.VmOrigin.ADOPTED and vm.state is model.VmState.READY
        assert (vm.cores, vm.memory_mib, vm.power_state) == (1, 64, "running")
        assert vm.instance_type is model.InstanceType.CONTAINER
        usage = detail.view.usage
        assert usage.vms.allocated == 0 and usage.vms.other >= 1
        assert usage.vcpus.other >= 1 and usage.memory_mib.other >= 64
        assert_accounts_exact(services)
        other_before = (usage.vms.other, usage.vcpus.other, usage.memory_mib.other)
    finally:
        h.lxc("delete", "--force", name, "--project", host.project)
    detail = services.hosts.refresh(host.host_id)
    assert (host.project, name) not in {
        (v.project, v.name) for v in services.vms.list(host.host_id)
    }
    usage = detail.view.usage
    assert usage.vms.other <= other_before[0] - 1
    assert usage.memory_mib.other <= other_before[2] - 64
    assert_accounts_exact(services)


def test_vm_request_says_the_host_cannot_run_vms(
    services: Services, hosts: dict[str, AddedHost]
) -> None:
    host = hosts["a"]
    view = services.hosts.get(host.host_id).view
    if view.can_run_vms:
        pytest.skip("this LXD can run virtual machines")
    assert view.vm_unsupported_reason  # LXD's own reason, from its warnings
    assert "vhost_vsock" in view.vm_unsupported_reason
    before = services.hosts.get(host.host_id).view.usage
    with pytest.raises(model.NoCapacityError) as err:
        services.vms.compose(
            model.ComposeRequest(cores=1, memory_mib=128, hostname=f"v{h.RUN}")
        )  # instance_type defaults to virtual-machine
    message = str(err.value)
    assert f"cannot run virtual machines ({view.vm_unsupported_reason})" in message
    assert "2 hosts considered" in message
    assert [v for v in services.vms.list() if v.name == f"v{h.RUN}"] == []
    assert services.hosts.get(host.host_id).view.usage == before
    assert mine(host.project) == ([], [])


def test_reconcile_starts_an_instance_a_crash_left_created_but_not_started(
    services: Services, hosts: dict[str, AddedHost]
) -> None:
    """Issue 12 item 4 on the real LXD: a compose killed between LXD's create and its start
    leaves a claimed record and a stopped instance; reconcile starts it and says so."""
    host = hosts["a"]
    name = f"r{h.RUN}"
    request = services.vms.validate(
        container_request(
            host.host_id,
            name,
            disks=(model.DiskRequest(500 * MB, pool=h.POOL),),
            interfaces=(model.InterfaceRequest(network=h.BRIDGES[0]),),
        )
    )
    claim = services.claims.claim(request, name)
    spec = dataclasses.replace(base.ComposeSpec.from_vm(claim.vm, request), start=False)
    try:
        with services.ctx.driver(host.host_id) as driver:
            driver.compose(spec)  # what the killed compose had done
        assert {i["name"]: i["status"] for i in h.instances(host.project)} == {name: "Stopped"}
        result = services.recovery.reconcile(older_than_s=0)
        assert result == {"completed": 1, "released": 0, "decomposed": 0, "skipped": 0}
        assert "created but not started: started" in result.actions[0]
        assert {i["name"]: i["status"] for i in h.instances(host.project)} == {name: "Running"}
        vm = services.vms.get(claim.vm.id)
        assert vm.state is model.VmState.READY and vm.power_state == "running"
        assert_accounts_exact(services)
    finally:
        services.vms.decompose(claim.vm.id)
    assert mine(host.project) == ([], [])
    assert [v for v in services.vms.list() if v.name == name] == []


@pytest.mark.parametrize("fault", ["disk-over-project-limit", "unknown-image"])
def test_lxd_error_during_compose_releases_the_claim(
    services: Services, hosts: dict[str, AddedHost], fault: str
) -> None:
    host = hosts["a"]
    name = f"f{h.RUN}"
    before = services.hosts.get(host.host_id).view.usage
    if fault == "disk-over-project-limit":
        # LXD refuses a disk bigger than the space allowed (the dir pool has no quota of its
        # own, so the project's limits.disk is the pool's size here); the first extra volume
        # is made before the refusal and must be removed again
        h.lxc("project", "set", host.project, "limits.disk=1GB")
        request = container_request(
            host.host_id,
            name,
            disks=(
                model.DiskRequest(400 * MB, pool=h.POOL),
                model.DiskRequest(300 * MB, pool=h.POOL),
                model.DiskRequest(5000 * MB, pool=h.POOL),
            ),
        )
        expected = r"limits\.disk"
    else:
        services.hosts.update(
            host.host_id, model.HostChanges(options={"image": f"no-such-image-{h.RUN}"})
        )
        request = container_request(host.host_id, name)
        expected = r"[Ii]mage( alias)? not found"  # LXD's words
    try:
        with pytest.raises(model.NoCapacityError) as err:
            services.vms.compose(request)
    finally:
        if fault == "disk-over-project-limit":
            h.lxc("project", "unset", host.project, "limits.disk")
        else:
            services.hosts.update(host.host_id, model.HostChanges(options={"image": h.IMAGE}))
    message = str(err.value)
    assert f"failed to compose: lxd-a: LXD at {h.ADDRESS}" in message
    assert re.search(expected, message), message
    assert [v for v in services.vms.list() if v.name == name] == []  # the claim is released
    assert services.hosts.get(host.host_id).view.usage == before
    assert_accounts_exact(services)
    assert mine(host.project) == ([], [])  # nothing left in LXD


# -- imported key and certificate --------------------------------------------------------------


@pytest.fixture()
def fresh_services(tmp_path: Path) -> Iterator[Services]:
    s = make_services(str(tmp_path))
    yield s
    s.close()


def test_imported_pair_works(fresh_services: Services) -> None:
    pair = pki.generate(pki.client_cn(f"imported-{h.RUN}", "operator"))
    fp = trust_pem(pair.certificate_pem, f"vmhost-svc-{h.RUN}-imported")
    try:
        detail = fresh_services.hosts.add(
            model.HostSettings(
                name="imported", type=model.HostType.LXD, address=ADDRESS, project=IMPORTED
            ),
            client_cert_pem=pair.certificate_pem,
            client_key_pem=pair.key_pem,
            options={"image": h.IMAGE},
        )
        assert detail.host.status == model.HostStatus.READY.value, detail.host.last_error
        host_id = int(detail.host.id)
        cert = fresh_services.certificates.certificate(host_id)
        assert cert.fingerprint == fp
        assert fresh_services.hosts.parameters(host_id)["key"] == pair.key_pem
        result = fresh_services.vms.compose(
            container_request(
                host_id,
                f"i{h.RUN}",
                disks=(model.DiskRequest(500 * MB, pool=h.POOL),),
                interfaces=(model.InterfaceRequest(network=h.BRIDGES[0]),),
            )
        )
        assert result.vm.power_state == "running"
        assert [i["name"] for i in h.instances(IMPORTED)] == [f"i{h.RUN}"]
        fresh_services.vms.decompose(result.vm.id)
        assert mine(IMPORTED) == ([], [])
        assert fresh_services.hosts.delete(host_id) == []
    finally:
        h.untrust(fp)
        h.wipe_project(IMPORTED)


def _encrypted(pair: pki.KeyPair, traditional: bool) -> str:
    key = serialization.load_pem_private_key(pair.key_pem.encode(), password=None)
    fmt = (
        serialization.PrivateFormat.TraditionalOpenSSL
        if traditional
        else serialization.PrivateFormat.PKCS8
    )
    return key.private_bytes(
        serialization.Encoding.PEM, fmt, serialization.BestAvailableEncryption(b"secret")
    ).decode()


@pytest.mark.parametrize("case", ["passphrase-pkcs8", "passphrase-traditional", "mismatched"])
def test_unusable_imported_pair_is_refused(fresh_services: Services, case: str) -> None:
    pair = pki.generate(pki.client_cn(f"bad-{h.RUN}", "operator"))
    if case == "mismatched":
        other = pki.generate(pki.client_cn(f"other-{h.RUN}", "operator"))
        cert, key = pair.certificate_pem, other.key_pem
        fields = {"certificate", "key"}
        words = "does not belong"
    else:
        cert, key = pair.certificate_pem, _encrypted(pair, case.endswith("traditional"))
        fields = {"key"}
        words = "passphrase"
    trusted_before = h.trusted_fingerprints()
    with pytest.raises(model.InvalidInputError) as err:
        fresh_services.hosts.add(
            model.HostSettings(
                name="bad", type=model.HostType.LXD, address=ADDRESS, project=IMPORTED
            ),
            client_cert_pem=cert,
            client_key_pem=key,
        )
    assert set(err.value.fields) == fields
    assert words in str(err.value)
    assert all(words in m for msgs in err.value.fields.values() for m in msgs)
    assert "PRIVATE KEY" not in str(err.value)  # no key material in the message
    assert fresh_services.hosts.list() == []  # no host row
    assert h.trusted_fingerprints() == trusted_before
    assert not h.project_exists(IMPORTED)  # nothing touched on LXD
