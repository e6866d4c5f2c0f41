"""LXD JSON → model (pure), on JSON recorded from the real LXD 5.0 of a test machine.

Fixtures in fixtures/lxd/ come from ``fixtures/lxd/record.py`` (a container composed the way
vmhost composes, one made with ``lxc launch`` pinned to cores 0-1, one stopped without limits),
except ``resources-2numa-sriov.json``, the recorded resources reshaped by hand into a 2-NUMA
host with isolated threads, hugepages and an SR-IOV NIC, which the test machine lacks.
"""

from __future__ import annotations

import copy
import json
import pathlib
from typing import Any

import pytest

from vmhost import model
from vmhost.drivers.lxd import discovery, instances

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "lxd"
MIB = 1024 * 1024


def load(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def raw() -> discovery.RawHost:
    return discovery.RawHost(
        server=load("server"),
        resources=load("resources"),
        pools=load("storage-pools"),
        pool_resources={"default": load("storage-pool-default-resources")},
        volumes={"default": [v for vols in load("volumes-default").values() for v in vols]},
        networks=load("networks"),
        instances=load("instances"),
        warnings=load("warnings"),
    )


@pytest.fixture(scope="module")
def inv(raw: discovery.RawHost) -> model.HostInventory:
    return discovery.inventory(raw)


def test_server(inv: model.HostInventory) -> None:
    assert inv.version == "5.0.2"
    assert inv.name == "vm"
    assert inv.architectures == ("amd64/generic", "i386/generic")


def test_vm_capability_from_driver_and_warnings(inv: model.HostInventory) -> None:
    assert inv.can_run_containers
    assert not inv.can_run_vms
    assert inv.vm_unsupported_reason == "vhost_vsock kernel module not loaded"


def test_capability_variants() -> None:
    server = load("server")
    with_qemu = copy.deepcopy(server)
    with_qemu["environment"]["driver"] = "lxc | qemu"
    cap = discovery.capability(with_qemu)
    assert cap.can_run_vms and cap.can_run_containers and cap.vm_unsupported_reason == ""
    assert "cloud_init" in cap.api_extensions
    # no warnings visible: a reason is still given
    cap = discovery.capability(server, [])
    assert not cap.can_run_vms
    assert cap.vm_unsupported_reason == "LXD's driver is 'lxc', without QEMU"
    # newer LXD: environment.instance_types
    newer = copy.deepcopy(server)
    newer["environment"]["instance_types"] = ["container", "virtual-machine"]
    assert discovery.capability(newer).can_run_vms
    # a resolved warning is no reason
    resolved = [dict(w, status="resolved") for w in load("warnings")]
    assert "vhost_vsock" not in discovery.capability(server, resolved).vm_unsupported_reason


def test_cpu_memory_numa(inv: model.HostInventory) -> None:
    resources = load("resources")
    assert inv.cores == resources["cpu"]["total"] == 2
    assert inv.memory_mib == resources["memory"]["total"] // MIB
    assert inv.numa_nodes == (model.NumaNode(0, (0, 1), inv.memory_mib),)
    assert inv.isolated_cores == ()
    assert inv.sriov_nics == ()
    assert inv.cpu_speed_mhz == 0  # this virtual CPU reports no frequency


def test_storage_pools(inv: model.HostInventory) -> None:
    space = load("storage-pool-default-resources")["space"]
    assert inv.storage_pools == (
        model.StoragePool(
            name="default",
            type="dir",
            path="/var/lib/lxd/storage-pools/default",
            total_bytes=space["total"],
            used_bytes=space["used"],
            pool_id="default",
        ),
    )


def test_networks(inv: model.HostInventory) -> None:
    by_name = {n.name: n for n in inv.networks}
    assert by_name["vmhbr0"] == model.Network("vmhbr0", model.NetworkKind.BRIDGE, "10.213.70.0/24")
    assert by_name["vmhbr1"].cidr == "10.213.71.0/24"
    assert by_name["eth0"].kind is model.NetworkKind.PHYSICAL
    assert not by_name["eth0"].managed
    assert "lo" not in by_name
    assert all(n.kind is not None for n in inv.networks)


def test_instances_all_projects(inv: model.HostInventory) -> None:
    vms = {vm.name: vm for vm in inv.vms}
    assert set(vms) == {"fx-composed", "fx-adopted", "fx-stopped"}

    composed = vms["fx-composed"]
    assert composed.project == "vmhost-fixture"
    assert composed.instance_type == "container"
    assert composed.power_state == "running"
    assert (composed.cores, composed.memory_mib, composed.pinned_cores) == (1, 128, ())
    assert composed.disks == (
        model.DiscoveredDisk("root", 1_000_000_000, "default"),
        model.DiscoveredDisk("data", 500_000_000, "default", "fx-composed-data"),
        model.DiscoveredDisk("logs", 500_000_000, "default", "fx-composed-logs"),
    )
    assert [(n.name, n.network, n.kind) for n in composed.nics] == [
        ("eth0", "vmhbr0", model.NetworkKind.BRIDGE),
        ("eth1", "vmhbr1", model.NetworkKind.BRIDGE),
    ]
    config = next(i for i in load("instances") if i["name"] == "fx-composed")["expanded_config"]
    assert composed.nics[0].mac_address == config["volatile.eth0.hwaddr"]
    assert composed.uuid == config["volatile.uuid"]
    assert composed.architecture == "amd64/generic"

    adopted = vms["fx-adopted"]
    assert adopted.project == "default"
    assert adopted.pinned_cores == (0, 1)
    assert adopted.used_cores == 2
    assert adopted.numa_node == 0
    assert adopted.memory_mib == 256
    # NIC from the default profile: "network: vmhbr0" resolves to that network's kind
    assert [(n.name, n.network, n.kind) for n in adopted.nics] == [
        ("eth0", "vmhbr0", model.NetworkKind.BRIDGE)
    ]
    assert [d.name for d in adopted.disks] == ["root"]

    stopped = vms["fx-stopped"]
    assert stopped.power_state == "stopped"
    # a container without limits: 1 core, no memory reserved
    assert (stopped.cores, stopped.memory_mib, stopped.pinned_cores) == (1, 0, ())


def test_addresses_only_with_state() -> None:
    full = load("instance-composed-full")
    vm = instances.discovered_vm(full)
    assert vm.addresses and all(a.startswith("10.213.") for a in vm.addresses)
    assert instances.discovered_vm(load("instances")[0]).addresses == ()


@pytest.mark.parametrize(
    ("code", "status", "state"),
    [
        (103, "Running", "running"),
        (102, "Stopped", "stopped"),
        (110, "Frozen", "stopped"),
        (101, "Started", "running"),
        (112, "Error", "unknown"),
        (None, "Running", "running"),
    ],
)
def test_power_state(code: int | None, status: str, state: str) -> None:
    assert instances.power_state({"status_code": code, "status": status}) == state


# -- a bigger host: NUMA, isolated threads, hugepages, SR-IOV -------------------------------


def vm_instance(**config: str) -> dict[str, Any]:
    """A VM built from the recorded container, as LXD reports VMs (synthetic)."""
    inst = copy.deepcopy(next(i for i in load("instances") if i["name"] == "fx-composed"))
    inst.update(name="fx-vm", type="virtual-machine", status_code=102, status="Stopped")
    inst["expanded_config"] = {"volatile.uuid": "u-1", **config}
    inst["expanded_devices"] = {
        "root": {"type": "disk", "path": "/", "pool": "default"},
        "data": {"type": "disk", "pool": "default", "source": "fx-vm-data"},
        "eth0": {"type": "nic", "nictype": "sriov", "parent": "enp129s0f0"},
        "eth1": {
            "type": "nic",
            "nictype": "macvlan",
            "parent": "eno1",
            "hwaddr": "00:16:3e:0:0:9",
        },
    }
    return inst


def test_two_numa_nodes_hugepages_isolated_sriov() -> None:
    resources = load("resources-2numa-sriov")
    vm = vm_instance(**{"limits.cpu": "8-11", "limits.memory": "4GiB"})
    raw = discovery.RawHost(server=load("server"), resources=resources, instances=[vm])
    inv = discovery.inventory(raw)
    assert inv.cores == 16
    assert inv.memory_mib == 128 * 1024
    assert [n.index for n in inv.numa_nodes] == [0, 1]
    assert inv.numa_nodes[0].cores == (0, 1, 2, 3, 4, 5, 6, 7)
    assert inv.numa_nodes[1].cores == tuple(range(8, 16))
    assert inv.numa_nodes[0].memory_mib == 64 * 1024
    assert inv.numa_nodes[0].hugepages == (model.Hugepages(2048, 1024, 924),)
    assert inv.numa_nodes[1].hugepages == (model.Hugepages(2048, 1024, 1024),)
    assert inv.hugepages_mib == 4096
    assert inv.isolated_cores == (2, 3)
    assert inv.cpu_speed_mhz == 3500
    assert inv.sriov_nics == (
        model.SriovNic("enp129s0f0", 63, free_vfs=62, numa_node=1, parent_network="enp129s0f0"),
    )
    found = inv.vms[0]
    assert found.numa_node == 1
    assert found.pinned_cores == (8, 9, 10, 11)
    assert found.memory_mib == 4096
    assert found.instance_type == "virtual-machine"
    assert [(n.kind, n.network) for n in found.nics] == [
        (model.NetworkKind.SRIOV, "enp129s0f0"),
        (model.NetworkKind.MACVLAN, "eno1"),
    ]
    assert found.nics[1].mac_address == "00:16:3e:0:0:9"


@pytest.mark.parametrize(
    ("config", "cores", "memory", "hugepages", "numa"),
    [
        ({}, 1, 1024, False, None),  # LXD's VM defaults
        ({"limits.cpu": "4", "limits.memory": "8GB"}, 4, 8 * 1000**3 // MIB, False, None),
        ({"limits.cpu": "7-8"}, 2, 1024, False, None),  # across two nodes
        ({"limits.cpu": "0,2"}, 2, 1024, False, 0),
        ({"limits.memory": "25%"}, 1, 32 * 1024, False, None),
        ({"limits.memory.hugepages": "TRUE", "limits.memory": "2048MiB"}, 1, 2048, True, None),
    ],
)
def test_vm_limits(
    config: dict[str, str], cores: int, memory: int, hugepages: bool, numa: int | None
) -> None:
    resources = load("resources-2numa-sriov")
    found = instances.discovered_vm(
        vm_instance(**config),
        host_memory_mib=128 * 1024,
        numa=discovery.numa_nodes(resources),
    )
    assert (found.cores, found.memory_mib, found.hugepages_backed, found.numa_node) == (
        cores,
        memory,
        hugepages,
        numa,
    )


def test_cpu_speed_from_name_or_mean() -> None:
    res = load("resources-2numa-sriov")
    for s in res["cpu"]["sockets"]:
        del s["frequency_turbo"]
    assert discovery.cpu_speed_mhz(res) == 2400
    for s in res["cpu"]["sockets"]:
        del s["frequency"]
    assert discovery.cpu_speed_mhz(res) == 2200


def test_projects_usage(inv: model.HostInventory) -> None:
    projects = {p.name: p for p in instances.projects(load("projects"), inv.vms)}
    assert projects["default"].instances == 2
    assert projects["default"].cores == 3  # 2 pinned + 1
    assert projects["default"].memory_mib == 256
    fixture = projects["vmhost-fixture"]
    assert (fixture.instances, fixture.cores, fixture.memory_mib) == (1, 1, 128)
    assert fixture.disk_bytes == 2_000_000_000
    assert fixture.description == ""
