"""The libvirt driver against the REAL local daemon (``qemu:///system``) with KVM.

Needs what ``scripts/setup-hosts`` prepares: libvirtd + virtlogd, the ``dir`` pool
``vmhost-test`` and the isolated networks ``vmhost-net0`` / ``vmhost-net1``. Skips with the
reason when any of that is missing.

VMs are tiny (128 MiB, 1 vCPU) and kernel-less: they sit in firmware, which is enough to be
``running`` under KVM. Every VM and volume a test makes is named ``vmhost-t<hex>-...`` and is
removed by the fixture even when the test fails. Only the local daemon is contacted (and a
closed port on 127.0.0.1 for the unreachable-host case).
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
from libvirt_helpers import (
    CPU_FEATURES_DISABLE,
    configured_host,
    remove_everything_named,
    require_kvm_host,
)
from libvirt_helpers import virsh as helpers_virsh

from vmhost import model
from vmhost.drivers import base
from vmhost.drivers.libvirt.driver import LibvirtDriver

pytestmark = pytest.mark.libvirt

HOST = configured_host()
URI = HOST.uri
POOL = HOST.pool
NETS = HOST.networks
MIB = 1024**2


@pytest.fixture(scope="module")
def kvm() -> None:
    require_kvm_host()


@pytest.fixture
def prefix(kvm: None) -> Iterator[str]:
    """A unique name prefix; everything with it is removed afterwards."""
    name = f"vmhost-t{secrets.token_hex(3)}"
    yield name
    remove_everything_named(URI, POOL, name)


@pytest.fixture
def driver(kvm: None) -> Iterator[LibvirtDriver]:
    drv = LibvirtDriver(
        base.HostConnection(
            model.HostType.LIBVIRT,
            URI,
            options={"cpu_features_disable": CPU_FEATURES_DISABLE, "running_timeout_s": 30},
        )
    )
    yield drv
    drv.close()


def virsh(*args: str, check: bool = True) -> str:
    return helpers_virsh(URI, *args, check=check)


def pool_volumes(prefix: str) -> list[str]:
    virsh("pool-refresh", POOL)
    names = [line.split()[0] for line in virsh("vol-list", POOL).splitlines() if line.strip()]
    return sorted(n for n in names if n.startswith(prefix))


def domains_named(prefix: str) -> list[str]:
    return sorted(n for n in virsh("list", "--all", "--name").splitlines() if n.startswith(prefix))


def spec(name: str, **overrides: Any) -> base.ComposeSpec:
    values: dict[str, Any] = {
        "name": name,
        "cores": 1,
        "memory_mib": 128,
        "disks": (
            model.VmDisk("root", 64 * MIB, POOL),
            model.VmDisk("data", 32 * MIB, POOL),
        ),
        "interfaces": (
            model.VmInterface("eth0", NETS[0], model.NetworkKind.NETWORK),
            model.VmInterface("eth1", NETS[1], model.NetworkKind.NETWORK),
        ),
    }
    values.update(overrides)
    return base.ComposeSpec(**values)


def report(what: str, seconds: float) -> None:
    print(f"\n[timing] {what}: {seconds * 1000:.0f} ms")


def test_discover_the_real_host(driver: LibvirtDriver) -> None:
    start = time.perf_counter()
    inv = driver.discover()
    report("discover", time.perf_counter() - start)
    assert inv.cores >= 1 and inv.memory_mib > 0
    assert inv.numa_nodes and sum(len(n.cores) for n in inv.numa_nodes) == inv.cores
    pool = next(p for p in inv.storage_pools if p.name == POOL)
    assert pool.type == "dir" and pool.total_bytes > 0 and pool.pool_id
    kinds = {n.name: n.kind for n in inv.networks}
    assert kinds[NETS[0]] is kinds[NETS[1]] is model.NetworkKind.NETWORK
    assert inv.can_run_vms and inv.vm_unsupported_reason == ""
    assert inv.architectures and inv.version.startswith("libvirt ")


def test_compose_two_disks_two_nics_runs_under_kvm_and_decompose_leaves_nothing(
    driver: LibvirtDriver, prefix: str
) -> None:
    name = f"{prefix}-vm"
    start = time.perf_counter()
    composed = driver.compose(spec(name))
    composed_s = time.perf_counter() - start
    report("compose (2 disks, 2 NICs, started, running)", composed_s)

    assert virsh("domstate", name) == "running"
    root = ET.fromstring(virsh("dumpxml", name))
    assert root.get("type") == "kvm"
    query = virsh("qemu-monitor-command", name, '{"execute": "query-kvm"}')
    assert json.loads(query)["return"] == {"enabled": True, "present": True}
    assert composed.power_state == "running"
    assert composed.uuid == virsh("domuuid", name)
    assert [d.volume for d in composed.disks] == [f"{name}-root", f"{name}-data"]
    assert pool_volumes(prefix) == sorted([f"{name}-root", f"{name}-data"])
    iflist = [line.split() for line in virsh("domiflist", name).splitlines()]
    assert [(row[2], row[4]) for row in iflist] == [
        (NETS[0], composed.interfaces[0].mac_address),
        (NETS[1], composed.interfaces[1].mac_address),
    ]
    blk = [line.split() for line in virsh("domblklist", name).splitlines()]
    assert [row[0] for row in blk] == ["vda", "vdb"]
    assert driver.power_query(name) == "running"

    (found,) = [vm for vm in driver.discover().vms if vm.name == name]
    assert [(d.pool, d.volume, d.size_bytes) for d in found.disks] == [
        (POOL, f"{name}-root", 64 * MIB),
        (POOL, f"{name}-data", 32 * MIB),
    ]
    assert [n.mac_address for n in found.nics] == [i.mac_address for i in composed.interfaces]

    start = time.perf_counter()
    driver.decompose(name, composed.disks)
    report("decompose (destroy, undefine, 2 volumes)", time.perf_counter() - start)
    report("compose + decompose", composed_s + time.perf_counter() - start)
    assert domains_named(prefix) == []
    assert pool_volumes(prefix) == []
    driver.decompose(name, composed.disks)  # again: absent is fine


def test_power_off_and_on(driver: LibvirtDriver, prefix: str) -> None:
    name = f"{prefix}-pw"
    composed = driver.compose(spec(name, disks=(model.VmDisk("root", 16 * MIB, POOL),)))
    driver.power_off(name)
    assert virsh("domstate", name) == "shut off"
    assert driver.power_query(name) == "stopped"
    assert driver.observe(name) == ("stopped", ())
    driver.power_on(name)
    assert virsh("domstate", name) == "running"
    assert driver.observe(name) == ("running", ())
    driver.decompose(name, composed.disks)
    assert driver.power_query(name) == "unknown"


def test_pinned_numa_vm_runs(driver: LibvirtDriver, prefix: str) -> None:
    name = f"{prefix}-pin"
    inv = driver.discover()
    node = inv.numa_nodes[-1]
    core = node.cores[-1]
    composed = driver.compose(
        spec(name, disks=(model.VmDisk("root", 16 * MIB, POOL),), interfaces=(),
             pinned_cores=(core,), numa_nodes=(node.index,))
    )  # fmt: skip
    root = ET.fromstring(virsh("dumpxml", name))
    assert root.find("cputune/vcpupin").get("cpuset") == str(core)  # type: ignore[union-attr]
    assert virsh("domstate", name) == "running"
    (found,) = [vm for vm in driver.discover().vms if vm.name == name]
    assert found.pinned_cores == (core,) and found.numa_node == node.index
    driver.decompose(name, composed.disks)


def test_a_domain_defined_behind_our_back_is_discovered(
    driver: LibvirtDriver, prefix: str, tmp_path: Any
) -> None:
    name = f"{prefix}-other"
    virsh("vol-create-as", POOL, f"{name}.qcow2", "48M", "--format", "qcow2")
    path = virsh("vol-path", "--pool", POOL, f"{name}.qcow2")
    definition = tmp_path / "other.xml"
    definition.write_text(
        f"""<domain type='kvm'>
  <name>{name}</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type><boot dev='hd'/></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{path}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:0f:0e:0d'/>
      <source network='{NETS[1]}'/>
      <model type='virtio'/>
    </interface>
  </devices>
</domain>
""",
        encoding="utf-8",
    )
    virsh("define", str(definition))
    (vm,) = [v for v in driver.discover().vms if v.name == name]
    assert (vm.cores, vm.memory_mib, vm.power_state) == (1, 64, "stopped")
    assert vm.architecture == "amd64/generic"
    assert [(d.name, d.pool, d.volume, d.size_bytes) for d in vm.disks] == [
        ("vda", POOL, f"{name}.qcow2", 48 * MIB)
    ]
    assert [(n.kind, n.network, n.mac_address) for n in vm.nics] == [
        (model.NetworkKind.NETWORK, NETS[1], "52:54:00:0f:0e:0d")
    ]
    assert driver.power_query(name) == "stopped"


# --- faults ------------------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("qemu+tcp://127.0.0.1:{port}/system", "127.0.0.1:{port}: Connection refused"),
        ("qemu+tls://127.0.0.1:{port}/system", "127.0.0.1:{port}: Connection refused"),
        (
            "qemu+unix:///system?socket=/nonexistent/libvirt-sock",
            "Failed to connect socket to '/nonexistent/libvirt-sock'",
        ),
    ],
)
def test_unreachable_uri(kvm: None, address: str, message: str) -> None:
    port = closed_port()
    drv = LibvirtDriver(base.HostConnection(model.HostType.LIBVIRT, address.format(port=port)))
    start = time.perf_counter()
    with pytest.raises(base.DriverConnectionError, match=message.format(port=port)) as info:
        drv.discover()
    assert info.value.retryable
    assert time.perf_counter() - start < 10


def assert_nothing_leaked(prefix: str) -> None:
    assert domains_named(prefix) == []
    assert pool_volumes(prefix) == []


def test_pool_full(driver: LibvirtDriver, prefix: str) -> None:
    available = int(
        next(p for p in driver.discover().storage_pools if p.name == POOL).available_bytes
    )
    too_big = available + 1024 * MIB
    disks = (model.VmDisk("root", too_big, POOL), model.VmDisk("data", 32 * MIB, POOL))
    need = too_big + 32 * MIB
    with pytest.raises(
        base.DriverError, match=rf"storage pool '{POOL}' has \d+ bytes available; .* need {need}"
    ):
        driver.compose(spec(f"{prefix}-full", disks=disks))
    assert_nothing_leaked(prefix)


def test_network_missing(driver: LibvirtDriver, prefix: str) -> None:
    interfaces = (
        model.VmInterface("eth0", NETS[0], model.NetworkKind.NETWORK),
        model.VmInterface("eth1", "vmhost-no-such-net", model.NetworkKind.NETWORK),
    )
    with pytest.raises(base.DriverError, match="network 'vmhost-no-such-net' not found"):
        driver.compose(spec(f"{prefix}-nonet", interfaces=interfaces))
    assert_nothing_leaked(prefix)


def test_bridge_missing_fails_at_start_and_is_undone(driver: LibvirtDriver, prefix: str) -> None:
    interfaces = (model.VmInterface("eth0", "vmhnobr9", model.NetworkKind.BRIDGE),)
    with pytest.raises(base.DriverError, match=r"cannot start '.*-nobr': .*vmhnobr9"):
        driver.compose(spec(f"{prefix}-nobr", interfaces=interfaces))
    assert_nothing_leaked(prefix)


def test_volume_name_taken(driver: LibvirtDriver, prefix: str) -> None:
    name = f"{prefix}-taken"
    virsh("vol-create-as", POOL, f"{name}-data", "1M")
    with pytest.raises(
        base.DriverError, match=f"volume '{name}-data' already exists in pool '{POOL}'"
    ):
        driver.compose(spec(name))
    assert pool_volumes(prefix) == [f"{name}-data"]  # theirs stays, ours was never made
    assert domains_named(prefix) == []


def test_libvirt_error_during_define_removes_the_volumes(
    driver: LibvirtDriver, prefix: str
) -> None:
    caps = driver._capabilities(driver.conn.get())
    driver._caps = dataclasses.replace(
        caps,
        guests=tuple(dataclasses.replace(g, emulator="/nonexistent/qemu") for g in caps.guests),
    )
    with pytest.raises(
        base.DriverError,
        match=r"libvirt refused the definition of '.*-def': Cannot check QEMU binary "
        r"/nonexistent/qemu",
    ):
        driver.compose(spec(f"{prefix}-def"))
    assert_nothing_leaked(prefix)


def test_libvirt_error_during_start_removes_volumes_and_domain(
    driver: LibvirtDriver, prefix: str
) -> None:
    inv = driver.discover()
    if any(h.total_pages for n in inv.numa_nodes for h in n.hugepages):
        pytest.skip("this host has hugepages: a hugepage-backed VM would start")
    with pytest.raises(base.DriverError, match=r"cannot start '.*-huge': .*hugetlbfs"):
        driver.compose(spec(f"{prefix}-huge", hugepages_backed=True))
    assert_nothing_leaked(prefix)


def test_name_taken(driver: LibvirtDriver, prefix: str) -> None:
    name = f"{prefix}-dup"
    composed = driver.compose(spec(name, disks=(model.VmDisk("root", 16 * MIB, POOL),)))
    with pytest.raises(base.DriverError, match=f"a domain named '{name}' already exists"):
        driver.compose(spec(name, disks=(model.VmDisk("other", 16 * MIB, POOL),)))
    assert pool_volumes(prefix) == [f"{name}-root"]
    driver.decompose(name, composed.disks)
    assert_nothing_leaked(prefix)
