"""The LXD driver against the real LXD (HTTPS on 127.0.0.1:8443, a vmhost certificate).

Containers only: this machine cannot run LXD virtual machines (no vhost_vsock); the VM path is
checked through LXD's own refusal.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import lxd_helpers as h
import pytest

from vmhost import model, pki
from vmhost.drivers import base, registry
from vmhost.drivers.lxd import driver as lxd_driver

pytestmark = [pytest.mark.lxd, pytest.mark.timeout(300)]

_reason = h.skip_reason()
if _reason:
    pytest.skip(_reason, allow_module_level=True)

MB = 1000**2
TIMINGS = h.TIMINGS  # printed at the end of the run by conftest.pytest_terminal_summary
PROJECTS = (f"vmhost-t{h.RUN}-a", f"vmhost-t{h.RUN}-b")


@pytest.fixture(scope="module")
def pair() -> Iterator[pki.KeyPair]:
    pair = h.new_pair("driver")
    fp = h.trust(pair, f"vmhost-test-{h.RUN}")
    yield pair
    h.untrust(fp)


@pytest.fixture(scope="module", autouse=True)
def _wipe_projects() -> Iterator[None]:
    yield
    for project in (*PROJECTS, f"vmhost-t{h.RUN}-scale", f"vmhost-t{h.RUN}-limit"):
        h.wipe_project(project)


@pytest.fixture()
def driver(pair: pki.KeyPair) -> Iterator[lxd_driver.LxdDriver]:
    drv = registry.driver_for(h.connection(pair, PROJECTS[0]))
    assert isinstance(drv, lxd_driver.LxdDriver)
    yield drv
    drv.close()


def container_spec(name: str, **kw: object) -> base.ComposeSpec:
    values: dict[str, object] = {
        "name": name,
        "cores": 1,
        "memory_mib": 128,
        "instance_type": model.InstanceType.CONTAINER,
        "disks": (
            model.VmDisk("root", 1000 * MB, h.POOL),
            model.VmDisk("data", 300 * MB, h.POOL),
            model.VmDisk("logs", 200 * MB, h.POOL),
        ),
        "interfaces": (
            model.VmInterface("eth0", h.BRIDGES[0], model.NetworkKind.BRIDGE),
            model.VmInterface("eth1", h.BRIDGES[1], model.NetworkKind.BRIDGE),
        ),
    }
    values.update(kw)
    return base.ComposeSpec(**values)  # type: ignore[arg-type]


def _meminfo_mib() -> int:
    with open("/proc/meminfo", encoding="ascii") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    raise AssertionError("no MemTotal")


def test_discover_host(driver: lxd_driver.LxdDriver) -> None:
    started = time.perf_counter()
    inv = driver.discover()
    TIMINGS["discover (empty project)"] = time.perf_counter() - started

    resources = h.query("/1.0/resources")
    assert inv.cores == resources["cpu"]["total"] == os.cpu_count()
    assert inv.memory_mib == resources["memory"]["total"] // (1024 * 1024)
    assert 0 <= inv.memory_mib - _meminfo_mib() <= inv.memory_mib // 20  # physical vs usable
    assert inv.numa_nodes, "at least node 0"
    assert sorted(c for n in inv.numa_nodes for c in n.cores) == list(range(inv.cores))
    assert sum(n.memory_mib for n in inv.numa_nodes) == inv.memory_mib

    pools = {p.name: p for p in inv.storage_pools}
    assert pools[h.POOL].type == "dir"
    assert pools[h.POOL].total_bytes > 0
    assert 0 < pools[h.POOL].used_bytes < pools[h.POOL].total_bytes

    nets = {n.name: n for n in inv.networks}
    for bridge in h.BRIDGES:
        assert nets[bridge].kind is model.NetworkKind.BRIDGE
        assert nets[bridge].managed
        assert nets[bridge].cidr.startswith("10.")

    server = h.query("/1.0")
    assert inv.version == server["environment"]["server_version"]
    assert inv.can_run_containers
    assert inv.can_run_vms == ("qemu" in server["environment"]["driver"])
    # the project was created with vmhost's features
    project = h.query(f"/1.0/projects/{PROJECTS[0]}")
    assert project["config"] == lxd_driver.PROJECT_CONFIG
    assert project["description"] == lxd_driver.PROJECT_DESCRIPTION


@pytest.mark.parametrize("project", PROJECTS)
def test_compose_container_two_disks_two_nics_then_decompose(
    pair: pki.KeyPair, project: str
) -> None:
    drv = lxd_driver.LxdDriver(h.connection(pair, project))
    name = f"c{h.RUN}-{project[-1]}"
    try:
        started = time.perf_counter()
        vm = drv.compose(container_spec(name))
        TIMINGS[f"compose ({project[-1]})"] = time.perf_counter() - started

        assert vm.name == name
        assert vm.instance_type is model.InstanceType.CONTAINER
        assert (vm.cores, vm.memory_mib, vm.power_state) == (1, 128, "running")
        assert [(d.name, d.volume, d.pool) for d in vm.disks] == [
            ("root", "", h.POOL),
            ("data", f"{name}-data", h.POOL),
            ("logs", f"{name}-logs", h.POOL),
        ]
        assert [(i.name, i.network) for i in vm.interfaces] == [
            ("eth0", h.BRIDGES[0]),
            ("eth1", h.BRIDGES[1]),
        ]
        listed = {i["name"]: i for i in h.instances(project)}
        assert listed[name]["status"] == "Running"
        config = listed[name]["config"]
        for nic in vm.interfaces:
            assert nic.mac_address and nic.mac_address == config[f"volatile.{nic.name}.hwaddr"]
        assert vm.uuid == config["volatile.uuid"]
        custom = {v["name"] for v in h.volumes(project) if v["type"] == "custom"}
        assert custom == {f"{name}-data", f"{name}-logs"}
        assert drv.power_query(name) == "running"

        found = {v.name: v for v in drv.discover().vms}
        assert found[name].project == project
        assert [d.volume for d in found[name].disks] == ["", f"{name}-data", f"{name}-logs"]

        started = time.perf_counter()
        drv.decompose(name, vm.disks)
        TIMINGS[f"decompose ({project[-1]})"] = time.perf_counter() - started
        assert h.instances(project) == []
        assert h.volumes(project) == []  # `lxc storage volume list default` shows nothing
        assert drv.power_query(name) == "unknown"
        drv.decompose(name, vm.disks)  # absent things are fine
    finally:
        drv.close()


def test_power_off_on(driver: lxd_driver.LxdDriver) -> None:
    name = f"p{h.RUN}"
    vm = driver.compose(container_spec(name, disks=(model.VmDisk("root", 1000 * MB, h.POOL),)))
    try:
        started = time.perf_counter()
        driver.power_off(name)
        TIMINGS["power off (clean stop)"] = time.perf_counter() - started
        assert driver.power_query(name) == "stopped"
        assert h.instances(PROJECTS[0])[0]["status"] == "Stopped"
        driver.power_off(name)  # already off: nothing to do
        driver.power_on(name)
        assert driver.power_query(name) == "running"
        driver.power_on(name)
    finally:
        driver.decompose(name, vm.disks)
    with pytest.raises(base.DriverNotFoundError, match="not found"):
        driver.power_on(name)


def test_compose_not_started(driver: lxd_driver.LxdDriver) -> None:
    name = f"s{h.RUN}"
    vm = driver.compose(container_spec(name, start=False))
    try:
        assert vm.power_state == "stopped"
        assert all(i.mac_address for i in vm.interfaces)
    finally:
        driver.decompose(name, vm.disks)
    assert h.volumes(PROJECTS[0]) == []


def test_instance_made_behind_our_back_is_discovered(driver: lxd_driver.LxdDriver) -> None:
    driver.ensure_project()
    name = f"b{h.RUN}"
    h.lxc(
        "launch",
        h.IMAGE,
        name,
        "--project",
        PROJECTS[0],
        "-c",
        "limits.cpu=1",
        "-c",
        "limits.memory=64MiB",
    )
    try:
        found = {v.name: v for v in driver.discover().vms}
        assert name in found
        vm = found[name]
        assert (vm.project, vm.cores, vm.memory_mib) == (PROJECTS[0], 1, 64)
        assert vm.power_state == "running"
        assert vm.nics and vm.nics[0].network == h.BRIDGES[0]  # the default profile's NIC
        projects = {p.name: p for p in driver.list_projects()}
        assert projects[PROJECTS[0]].instances == 1
        assert projects[PROJECTS[0]].memory_mib == 64
        assert "default" in projects
    finally:
        h.lxc("delete", "--force", name, "--project", PROJECTS[0])
    assert name not in {v.name for v in driver.discover().vms}


def test_vm_request_on_host_without_vm_support(driver: lxd_driver.LxdDriver) -> None:
    server = h.query("/1.0")
    if "qemu" in server["environment"]["driver"]:
        pytest.skip("this LXD can run virtual machines")
    spec = container_spec(f"v{h.RUN}", instance_type=model.InstanceType.VIRTUAL_MACHINE)
    with pytest.raises(base.DriverUnsupportedError) as err:
        driver.compose(spec)
    reasons = [
        w["last_message"]
        for w in h.query("/1.0/warnings?recursion=1")
        if w["type"] == "Instance type not operational"
    ]
    assert reasons and reasons[0] in str(err.value)
    assert "vhost_vsock" in str(err.value)
    assert h.instances(PROJECTS[0]) == [] and h.volumes(PROJECTS[0]) == []  # nothing made
    # never silently a container:
    assert driver.power_query(spec.name) == "unknown"


def test_lxd_own_vm_refusal_is_mapped(driver: lxd_driver.LxdDriver) -> None:
    """Even without the pre-check, LXD's answer to a VM payload becomes DriverUnsupportedError."""
    if "qemu" in h.query("/1.0")["environment"]["driver"]:
        pytest.skip("this LXD can run virtual machines")
    from vmhost.drivers.lxd import instance_spec

    spec = container_spec(
        f"w{h.RUN}",
        instance_type=model.InstanceType.VIRTUAL_MACHINE,
        disks=(model.VmDisk("root", 1000 * MB, h.POOL),),
    )
    plan = instance_spec.plan_instance(spec, project=PROJECTS[0], image="none")
    driver.ensure_project()
    with pytest.raises(base.DriverUnsupportedError, match="vhost_vsock kernel module"):
        driver.client.call("POST", "/1.0/instances", project=PROJECTS[0], json=plan.instance)
    assert h.instances(PROJECTS[0]) == []


def test_discover_many_instances(pair: pki.KeyPair) -> None:
    project = f"vmhost-t{h.RUN}-scale"
    drv = lxd_driver.LxdDriver(h.connection(pair, project))
    count = int(os.environ.get("VMHOST_LXD_SCALE", "30"))
    try:
        drv.ensure_project()
        for i in range(count):
            h.lxc(
                "init",
                h.IMAGE,
                f"n{i}",
                "--project",
                project,
                "-c",
                "limits.cpu=1",
                "-c",
                "limits.memory=64MiB",
            )
        started = time.perf_counter()
        inv = drv.discover()
        TIMINGS[f"discover ({count} instances)"] = time.perf_counter() - started
        mine = [v for v in inv.vms if v.project == project]
        assert len(mine) == count
        assert all(v.power_state == "stopped" and v.memory_mib == 64 for v in mine)
        started = time.perf_counter()
        projects = {p.name: p for p in drv.list_projects()}
        TIMINGS[f"list_projects ({count} instances)"] = time.perf_counter() - started
        assert projects[project].instances == count
    finally:
        drv.close()
        h.wipe_project(project)


def test_registry_builds_lxd_driver(pair: pki.KeyPair) -> None:
    drv = registry.driver_for(h.connection(pair))
    try:
        assert isinstance(drv, lxd_driver.LxdDriver)
        assert drv.project == "default"
    finally:
        drv.close()


def test_one_connection_per_block_released_on_exit(pair: pki.KeyPair) -> None:
    with registry.driver_for(h.connection(pair, PROJECTS[0])) as drv:
        assert isinstance(drv, lxd_driver.LxdDriver)
        drv.discover()
        client = drv.client
        assert drv.observe(f"absent{h.RUN}") == ("unknown", ())
        assert drv.client is client  # every call in the block on the same session
        key_dir = client._dir
        assert sorted(os.listdir(key_dir)) == ["client.crt", "client.key", "server.crt"]
    assert not os.path.exists(key_dir)  # the key files went with the session
    assert drv._client is None
