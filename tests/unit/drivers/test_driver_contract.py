"""The driver contract: every driver declares every method the service calls, is a context
manager that releases its connection on exit, and takes a ``ComposeSpec`` built from the VM the
service claimed."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import pytest

from vmhost import model
from vmhost.drivers import base, fake, registry
from vmhost.drivers.libvirt.driver import LibvirtDriver
from vmhost.drivers.lxd.driver import LxdDriver

GIB = 1024**3
DRIVERS = (fake.FakeDriver, LxdDriver, LibvirtDriver)
CONTRACT = sorted(
    name
    for name, member in vars(base.HostDriver).items()
    if inspect.isfunction(member) and not name.startswith("_")
)


def test_the_contract_holds_every_call_the_service_makes() -> None:
    assert CONTRACT == [
        "close",
        "compose",
        "decompose",
        "discover",
        "list_projects",
        "observe",
        "power_off",
        "power_on",
        "power_query",
    ]


@pytest.mark.parametrize("cls", DRIVERS, ids=lambda c: c.__name__)
def test_every_driver_implements_the_whole_contract(cls: type[base.HostDriver]) -> None:
    assert base.HostDriver in cls.__mro__
    for name in CONTRACT:
        assert getattr(cls, name) is not getattr(base.HostDriver, name), f"{cls.__name__}.{name}"
    assert cls.__enter__ is base.HostDriver.__enter__  # one life cycle for all


@pytest.fixture
def fake_connection() -> Iterator[base.HostConnection]:
    fake.reset()
    yield base.HostConnection(model.HostType.FAKE, "fake://small")
    fake.reset()


def test_fake_observe_sees_one_vm(fake_connection: base.HostConnection) -> None:
    spec = base.ComposeSpec("vm1", 1, 512, (model.VmDisk("root", GIB, "default"),))
    with registry.driver_for(fake_connection) as driver:
        driver.compose(spec)
        assert driver.observe("vm1") == ("running", ())
        driver.power_off("vm1")
        assert driver.observe("vm1") == ("stopped", ())
        assert driver.observe("nope") == ("unknown", ())
        fake.hypervisor_for(fake_connection).inject("discover", "unreachable: down")
        with pytest.raises(base.DriverConnectionError, match="down"):
            driver.observe("vm1")


def test_a_driver_closes_on_leaving_the_block(fake_connection: base.HostConnection) -> None:
    closed: list[str] = []

    class Counting(fake.FakeDriver):
        def close(self) -> None:
            closed.append("closed")

    with pytest.raises(base.DriverError, match="not found"), Counting(fake_connection) as driver:
        driver.power_on("absent")
    assert closed == ["closed"]


def test_libvirt_observe_and_close_on_exit() -> None:
    connection = base.HostConnection(model.HostType.LIBVIRT, "test:///default")
    with registry.driver_for(connection) as driver:
        assert isinstance(driver, LibvirtDriver)
        assert driver.observe("test") == ("running", ())  # the test driver's own domain
        assert driver.observe("absent") == ("unknown", ())
        assert driver.conn.is_open
    assert not driver.conn.is_open


def test_compose_spec_from_the_claimed_vm() -> None:
    disks = (model.VmDisk("root", 10 * GIB, "fast"), model.VmDisk("data", GIB, "default"))
    nics = (model.VmInterface("eth0", "br0", model.NetworkKind.BRIDGE, space="db"),)
    vm = model.Vm(
        id=7,
        host_id=1,
        name="vm7",
        origin=model.VmOrigin.COMPOSED,
        state=model.VmState.CLAIMED,
        cores=4,
        memory_mib=4096,
        pinned_cores=(0, 1, 8, 9),
        hugepages_backed=True,
        hugepage_size_kib=2048,
        numa_memory_mib=((0, 2048), (1, 2048)),
        disks=disks,
        interfaces=nics,
        instance_type=model.InstanceType.CONTAINER,
        hostname="vm7",
    )
    request = model.ComposeRequest(architecture="arm64/generic", user_data="#cloud-config\n")
    assert base.ComposeSpec.from_vm(vm, request) == base.ComposeSpec(
        name="vm7",
        cores=4,
        memory_mib=4096,
        disks=disks,
        interfaces=nics,
        pinned_cores=(0, 1, 8, 9),
        numa_nodes=(0, 1),
        hugepages_backed=True,
        hugepage_size_kib=2048,
        instance_type=model.InstanceType.CONTAINER,
        architecture="arm64/generic",
        hostname="vm7",
        user_data="#cloud-config\n",
    )
    one_node = base.ComposeSpec.from_vm(
        model.Vm(1, 1, "a", model.VmOrigin.COMPOSED, model.VmState.CLAIMED, 1, 512, numa_node=1),
        model.ComposeRequest(),
    )
    assert (one_node.numa_nodes, one_node.architecture, one_node.user_data) == ((1,), None, None)
