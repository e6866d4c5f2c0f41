"""The driver against libvirt's in-process ``test:///default`` host (2 NUMA cells, 16 CPUs).

No daemon: fast checks that libvirt accepts the XML vmhost builds and that compose and
decompose clean up. The test host's state lives while a connection to it is open, so each
test gets a fresh one.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import libvirt
import pytest

from vmhost import model
from vmhost.drivers import base, registry
from vmhost.drivers.libvirt import designer
from vmhost.drivers.libvirt.driver import LibvirtDriver

GIB = 1024**3
POOL = "default-pool"


@pytest.fixture
def driver() -> Iterator[LibvirtDriver]:
    drv = LibvirtDriver(base.HostConnection(model.HostType.LIBVIRT, "test:///default"))
    yield drv
    drv.close()


def conn(driver: LibvirtDriver) -> Any:
    return driver.conn.get()


def volumes(driver: LibvirtDriver, pool: str = POOL) -> list[str]:
    return sorted(v.name() for v in conn(driver).storagePoolLookupByName(pool).listAllVolumes())


def domains(driver: LibvirtDriver) -> list[str]:
    return sorted(d.name() for d in conn(driver).listAllDomains())


def spec(**overrides: Any) -> base.ComposeSpec:
    values: dict[str, Any] = {
        "name": "vm1",
        "cores": 1,
        "memory_mib": 128,
        "disks": (model.VmDisk("root", GIB, POOL), model.VmDisk("data", GIB, POOL)),
        "interfaces": (model.VmInterface("eth0", "default", model.NetworkKind.NETWORK),),
    }
    values.update(overrides)
    return base.ComposeSpec(**values)


def lv_error(message: str) -> libvirt.libvirtError:
    exc = libvirt.libvirtError(message)
    exc.err = (libvirt.VIR_ERR_INTERNAL_ERROR, libvirt.VIR_FROM_QEMU, message, 2, None, None,
               None, 0, 0)  # fmt: skip
    return exc


def test_registry_builds_the_driver() -> None:
    drv = registry.driver_for(base.HostConnection(model.HostType.LIBVIRT, "test:///default"))
    try:
        assert isinstance(drv, LibvirtDriver)
        assert drv.list_projects() == []
    finally:
        drv.close()


def test_discover_the_test_host(driver: LibvirtDriver) -> None:
    inv = driver.discover()
    assert inv.cores == 16
    assert [n.cores for n in inv.numa_nodes] == [tuple(range(8)), tuple(range(8, 16))]
    assert [p.name for p in inv.storage_pools] == [POOL]
    assert inv.storage_pools[0].total_bytes == 100 * GIB
    assert inv.storage_pools[0].pool_id == "dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566"
    assert [(n.name, n.kind, n.cidr) for n in inv.networks] == [
        ("default", model.NetworkKind.NETWORK, "192.168.122.0/24")
    ]
    (vm,) = inv.vms
    assert (vm.name, vm.cores, vm.memory_mib, vm.power_state) == ("test", 2, 8192, "running")
    assert vm.nics[0].mac_address == "aa:bb:cc:dd:ee:ff"
    assert inv.version.startswith("libvirt ")
    assert inv.can_run_vms and not inv.can_run_containers


def test_accepts_a_vm_pinned_to_cell_1_with_hugepages(driver: LibvirtDriver) -> None:
    composed = driver.compose(
        spec(
            name="pinned",
            cores=4,
            memory_mib=1024,
            pinned_cores=(8, 9, 10, 11),
            numa_nodes=(1,),
            hugepages_backed=True,
        )
    )
    assert composed.pinned_cores == (8, 9, 10, 11)
    assert composed.hugepages_backed
    assert composed.power_state == "running"
    dom = conn(driver).lookupByName("pinned")
    root = ET.fromstring(dom.XMLDesc(0))
    assert [p.get("cpuset") for p in root.iterfind("cputune/vcpupin")] == ["8", "9", "10", "11"]
    assert root.find("numatune/memory").attrib == {"mode": "strict", "nodeset": "1"}  # type: ignore[union-attr]
    assert root.find("memoryBacking/hugepages/page").get("size") == "2048"  # type: ignore[union-attr]
    assert root.findtext("uuid") == composed.uuid
    (found,) = [vm for vm in driver.discover().vms if vm.name == "pinned"]
    assert found.pinned_cores == (8, 9, 10, 11)
    assert found.numa_node == 1
    assert found.hugepages_backed
    assert [d.size_bytes for d in found.disks] == [GIB, GIB]


def test_defines_the_designed_xml_directly(driver: LibvirtDriver) -> None:
    facts = driver.scan().facts
    plan = designer.design(
        spec(name="direct", cores=2, memory_mib=2048, pinned_cores=(12, 13),
             hugepages_backed=True, hugepage_size_kib=1048576),
        facts,
        "3f0e0000-0000-4000-8000-000000000001",
    )  # fmt: skip
    dom = conn(driver).defineXML(plan.domain.to_xml())
    try:
        assert dom.name() == "direct"
        assert "1048576" in dom.XMLDesc(0)
    finally:
        dom.undefine()


def test_compose_and_decompose_leave_nothing(driver: LibvirtDriver) -> None:
    before = volumes(driver)
    composed = driver.compose(spec())
    assert [d.volume for d in composed.disks] == ["vm1-root", "vm1-data"]
    assert volumes(driver) == sorted([*before, "vm1-root", "vm1-data"])
    assert composed.interfaces[0].mac_address.startswith("52:54:00:")
    assert driver.power_query("vm1") == "running"
    driver.power_off("vm1")
    assert driver.power_query("vm1") == "stopped"
    driver.power_off("vm1")  # already off: fine
    driver.power_on("vm1")
    assert driver.power_query("vm1") == "running"
    driver.decompose("vm1", composed.disks)
    assert volumes(driver) == before
    assert "vm1" not in domains(driver)
    assert driver.power_query("vm1") == "unknown"
    driver.decompose("vm1", composed.disks)  # absent: fine


def test_decompose_finds_volumes_in_the_metadata(driver: LibvirtDriver) -> None:
    before = volumes(driver)
    driver.compose(spec())
    driver.decompose("vm1", ())
    assert volumes(driver) == before


def test_decompose_after_a_crash_before_define(driver: LibvirtDriver) -> None:
    """Volumes made, then the process died: the claim's disks name them (by default name)."""
    pool = conn(driver).storagePoolLookupByName(POOL)
    pool.createXML("<volume><name>vm1-root</name><capacity>1024</capacity></volume>", 0)
    driver.decompose("vm1", (model.VmDisk("root", GIB, POOL),))
    assert "vm1-root" not in volumes(driver)


def test_power_of_a_missing_vm(driver: LibvirtDriver) -> None:
    with pytest.raises(base.DriverNotFoundError, match="domain 'ghost' not found"):
        driver.power_on("ghost")
    with pytest.raises(base.DriverNotFoundError):
        driver.power_off("ghost")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "test"}, "a domain named 'test' already exists"),
        (
            {"disks": (model.VmDisk("root", 200 * GIB, POOL),)},
            f"storage pool '{POOL}' has {100 * GIB} bytes available; the disks need {200 * GIB}",
        ),
        (
            {"disks": (model.VmDisk("root", 60 * GIB, POOL), model.VmDisk("d", 60 * GIB, POOL))},
            "the disks need",
        ),
        ({"disks": (model.VmDisk("root", GIB, "nope"),)}, "storage pool 'nope' not found"),
        (
            {"interfaces": (model.VmInterface("eth0", "nonet", model.NetworkKind.NETWORK),)},
            "network 'nonet' not found",
        ),
        (
            {"instance_type": model.InstanceType.CONTAINER},
            "virtual machines only",
        ),
    ],
)
def test_compose_refusals_create_nothing(
    driver: LibvirtDriver, overrides: dict[str, Any], message: str
) -> None:
    before = (volumes(driver), domains(driver))
    with pytest.raises(base.DriverError, match=message):
        driver.compose(spec(**overrides))
    assert (volumes(driver), domains(driver)) == before


def test_volume_name_taken_keeps_the_existing_volume(driver: LibvirtDriver) -> None:
    pool = conn(driver).storagePoolLookupByName(POOL)
    pool.createXML("<volume><name>vm1-data</name><capacity>1024</capacity></volume>", 0)
    with pytest.raises(
        base.DriverError, match=f"volume 'vm1-data' already exists in pool '{POOL}'"
    ):
        driver.compose(spec())
    assert "vm1-data" in volumes(driver)
    assert "vm1-root" not in volumes(driver)
    assert "vm1" not in domains(driver)


def test_define_failure_removes_the_volumes(
    driver: LibvirtDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = conn(driver)
    before = volumes(driver)

    def refuse(xml: str) -> None:
        raise lv_error("unsupported configuration: no thanks")

    monkeypatch.setattr(c, "defineXML", refuse)
    with pytest.raises(
        base.DriverError,
        match="libvirt refused the definition of 'vm1': unsupported configuration: no thanks",
    ) as info:
        driver.compose(spec())
    assert info.value.host_message == "unsupported configuration: no thanks"
    monkeypatch.undo()
    assert volumes(driver) == before
    assert "vm1" not in domains(driver)


def test_start_failure_undefines_and_removes_the_volumes(
    driver: LibvirtDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = volumes(driver)

    def refuse(self: Any) -> None:
        raise lv_error("qemu unexpectedly closed the monitor")

    monkeypatch.setattr(libvirt.virDomain, "create", refuse)
    with pytest.raises(base.DriverError, match="cannot start 'vm1': qemu unexpectedly closed"):
        driver.compose(spec())
    monkeypatch.undo()
    assert volumes(driver) == before
    assert "vm1" not in domains(driver)


def test_not_running_in_time_is_undone(
    driver: LibvirtDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    driver.running_timeout_s = 0.2
    before = volumes(driver)
    monkeypatch.setattr(libvirt.virDomain, "state", lambda self, flags=0: [3, 0])  # paused
    with pytest.raises(base.DriverError, match=r"did not reach running within 0.2 s"):
        driver.compose(spec())
    monkeypatch.undo()
    assert volumes(driver) == before
    assert "vm1" not in domains(driver)


def test_reconnects_after_the_connection_is_closed(driver: LibvirtDriver) -> None:
    first = conn(driver)
    first.close()
    assert driver.discover().cores == 16
    assert conn(driver) is not first
