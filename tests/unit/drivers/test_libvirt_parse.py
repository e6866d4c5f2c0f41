"""Discovery parsers on XML recorded from libvirt (see data/libvirt/README.md)."""

from __future__ import annotations

import pathlib

import pytest

from vmhost import model
from vmhost.drivers.libvirt import domain_xml as dx
from vmhost.drivers.libvirt import parse, parse_domain
from vmhost.drivers.libvirt.facts import HostFacts, PoolFacts

DATA = pathlib.Path(__file__).parent / "data" / "libvirt"


def read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


VF = [dx.PciAddress(0, 0x3B, 0x10, f) for f in (0, 2, 4, 6)]


def test_capabilities_real_kvm_host() -> None:
    caps = parse.parse_capabilities(read("capabilities-kvm-1node.xml"))
    assert caps.arch == "x86_64"
    assert caps.page_sizes_kib == (4, 2048, 1048576)
    assert caps.hugepage_sizes_kib == (2048, 1048576)
    (node,) = caps.numa_nodes
    assert node.index == 0
    assert node.cores == (0, 1)
    assert node.memory_mib == 5859532 // 1024
    assert [(h.page_size_kib, h.total_pages) for h in node.hugepages] == [(2048, 0), (1048576, 0)]
    x86 = [g for g in caps.guests if g.arch == "x86_64"]
    assert x86 and x86[0].domain_types == ("qemu", "kvm")
    assert x86[0].emulator == "/usr/bin/qemu-system-x86_64"
    facts = HostFacts(guests=caps.guests)
    assert facts.guest("x86_64").domain_types == ("qemu", "kvm")


def test_capabilities_two_nodes_with_hugepages() -> None:
    caps = parse.parse_capabilities(read("capabilities-2numa-hugepages.xml"))
    assert [n.cores for n in caps.numa_nodes] == [(0, 1, 2, 3), (4, 5, 6, 7)]
    assert [n.memory_mib for n in caps.numa_nodes] == [32000, 32000]
    assert caps.numa_nodes[0].hugepages == (
        model.Hugepages(2048, 1024),
        model.Hugepages(1048576, 4),
    )
    assert caps.numa_nodes[1].hugepages_mib == 4096
    assert caps.numa_nodes[0].hugepages_mib == 2048 + 4096
    free = parse.with_free_hugepages(caps.numa_nodes, {0: {2048: 1000, 1048576: 3}})
    assert free[0].hugepages[0].free_pages == 1000
    assert free[0].hugepages[1].free_pages == 3
    assert free[1].hugepages[0].free_pages is None


def test_capabilities_test_driver_two_cells() -> None:
    caps = parse.parse_capabilities(read("capabilities-test-2nodes.xml"))
    assert [len(n.cores) for n in caps.numa_nodes] == [8, 8]
    assert caps.guests[0].domain_types == ("test",)


@pytest.mark.parametrize(
    ("name", "kind", "path", "total", "available", "uuid"),
    [
        (
            "pool-dir.xml",
            "dir",
            "/var/lib/vmhost/libvirt-pool",
            270553174016,
            245530165248,
            "b5fdcc07-a9c6-4088-a057-5f2339963206",
        ),
        (
            "pool-logical.xml",
            "logical",
            "/dev/vg-fast",
            500103643136,
            392729460736,
            "7c6a3a46-3f1c-4f5e-9c3a-0b7f3f1d0c11",
        ),
        (
            "pool-zfs.xml",
            "zfs",
            "/dev/zvol/tank/vms",
            1992864825344,
            1949915152384,
            "2b1f8a0e-5d7c-4e44-9b0a-6f2d3c1e9a77",
        ),
    ],
)
def test_pools(name: str, kind: str, path: str, total: int, available: int, uuid: str) -> None:
    info = parse.parse_pool(read(name))
    pool = info.pool
    assert pool.type == kind
    assert pool.path == path
    assert pool.total_bytes == total
    assert pool.available_bytes == available
    assert pool.used_bytes == total - available
    assert pool.pool_id == uuid
    assert info.facts.uuid == uuid
    assert info.facts.available_bytes == available
    assert info.facts.active


def test_networks() -> None:
    isolated, bridge = parse.parse_network(read("network-isolated.xml"))
    assert isolated == model.Network("vmhost-net0", model.NetworkKind.NETWORK, "10.213.72.0/24")
    assert bridge == "vmhnet0"
    nat, nat_bridge = parse.parse_network(read("network-nat.xml"))
    assert nat.cidr == "192.168.122.0/24"  # from a netmask
    assert nat_bridge == "virbr0"


def test_interfaces_and_host_networks() -> None:
    bridge = parse.parse_interface(read("iface-bridge.xml"))
    assert bridge == parse.HostInterface("vmhnet0", "bridge", ())
    eth0 = parse.parse_net_device(read("nodedev-net-eth0.xml"))
    assert eth0 == parse.NodeNet("eth0", "pci_0000_00_03_0", virtual=False)
    pf_net = parse.parse_net_device(read("nodedev-net-pf.xml"))
    vf_net = parse.parse_net_device(read("nodedev-net-vf.xml"))
    assert pf_net is not None and vf_net is not None
    pci = [parse.parse_pci_device(read(f"nodedev-pci-vf{f}.xml")) for f in (0, 2, 4, 6)]
    lo = parse.NodeNet("lo", "computer", virtual=True)
    vnet = parse.NodeNet("vnet3", "computer", virtual=False)
    member = parse.NodeNet("eno2", "pci_0000_01_00_1", virtual=False)
    networks = parse.host_networks(
        [parse.parse_network(read("network-isolated.xml"))],
        [
            bridge,  # the network's own bridge: not listed twice
            parse.HostInterface("br-db", "bridge", ("eno2",)),
            parse.HostInterface("eth0", "ethernet"),
        ],
        [eth0, pf_net, vf_net, lo, vnet, member],
        [p for p in pci if p is not None],
    )
    assert [(n.name, n.kind) for n in networks] == [
        ("vmhost-net0", model.NetworkKind.NETWORK),
        ("br-db", model.NetworkKind.BRIDGE),
        ("enp59s0f0", model.NetworkKind.PHYSICAL),
        ("eth0", model.NetworkKind.PHYSICAL),
    ]
    assert not networks[1].managed


def test_sriov_pf_and_vfs() -> None:
    pf = parse.parse_pci_device(read("nodedev-pci-pf.xml"))
    assert pf is not None
    assert pf.address == dx.PciAddress(0, 0x3B, 0, 0)
    assert pf.max_vfs == 63
    assert pf.vfs == tuple(VF)
    assert pf.numa_node == 1
    vf = parse.parse_pci_device(read("nodedev-pci-vf2.xml"))
    assert vf is not None and vf.physical_function == pf.address and vf.max_vfs == 0
    nets = [
        parse.parse_net_device(read("nodedev-net-pf.xml")),
        parse.parse_net_device(read("nodedev-net-vf.xml")),
    ]
    (sriov,) = parse.sriov_pfs([pf, vf], [n for n in nets if n])
    assert sriov.name == "enp59s0f0"
    assert sriov.numa_node == 1
    assert sriov.vfs == tuple(VF)


def test_domain_composed_by_vmhost_running() -> None:
    parsed = parse_domain.parse_domain(read("domain-kvm-running.xml"))
    assert parsed.name == "vmhost-record"
    assert parsed.active
    assert parsed.cores == 1
    assert parsed.memory_mib == 128
    assert parsed.pinned_cores == (1,)
    assert parsed.numa_nodes == (0,)
    assert not parsed.hugepages_backed
    assert parsed.arch == "x86_64"
    assert [(d.target, d.pool, d.volume) for d in parsed.disks] == [
        ("vda", "vmhost-test", "vmhost-record-root"),
        ("vdb", "vmhost-test", "vmhost-record-data"),
    ]
    assert [(n.kind, n.network) for n in parsed.nics] == [
        (model.NetworkKind.NETWORK, "vmhost-net0"),
        (model.NetworkKind.NETWORK, "vmhost-net1"),
    ]
    assert all(n.mac_address.startswith("52:54:00:") for n in parsed.nics)
    assert parsed.metadata == dx.VmhostMetadata(
        (
            dx.VolumeRef("vmhost-test", "vmhost-record-root"),
            dx.VolumeRef("vmhost-test", "vmhost-record-data"),
        )
    )
    vm = parse_domain.to_discovered_vm(
        parsed,
        state=1,
        pools=[],
        node_of_core={0: 0, 1: 0},
        size_of=lambda ref, pool, volume: {"vda": 1 << 30, "vdb": 1 << 29}[ref.target],
        pf_of_vf={},
    )
    assert vm.power_state == "running"
    assert vm.numa_node == 0
    assert vm.architecture == "amd64/generic"
    assert [(d.name, d.size_bytes, d.pool, d.volume) for d in vm.disks] == [
        ("vda", 1 << 30, "vmhost-test", "vmhost-record-root"),
        ("vdb", 1 << 29, "vmhost-test", "vmhost-record-data"),
    ]


def test_domain_with_sriov_macvlan_bridge_hugepages() -> None:
    parsed = parse_domain.parse_domain(read("domain-sriov-hugepages.xml"))
    assert not parsed.active
    assert parsed.cores == 2  # current vCPUs, not the maximum
    assert parsed.memory_mib == 4096  # unit='GiB'
    assert parsed.hugepages_backed
    assert parsed.pinned_cores == (4, 5)
    assert parsed.metadata is None
    assert [d.target for d in parsed.disks] == ["vda", "vdb"]  # the cdrom is not a disk
    assert parsed.vf_addresses == (VF[1], VF[3])
    pools = [
        PoolFacts("images", "dir", path="/var/lib/libvirt/images"),
        PoolFacts("libvirt", "dir", path="/var/lib/libvirt"),
        PoolFacts("vg-fast", "logical", path="/dev/vg-fast"),
    ]
    vm = parse_domain.to_discovered_vm(
        parsed,
        state=5,
        pools=pools,
        node_of_core={4: 1, 5: 1},
        size_of=lambda ref, pool, volume: 7,
        pf_of_vf={VF[1]: "enp59s0f0"},
    )
    assert vm.power_state == "stopped"
    assert vm.numa_node == 1
    assert [(d.pool, d.volume) for d in vm.disks] == [
        ("images", "db-1.qcow2"),  # the deepest pool directory wins
        ("vg-fast", "db-1-data"),
    ]
    assert [(n.kind, n.network, n.mac_address) for n in vm.nics] == [
        (model.NetworkKind.SRIOV, "enp59s0f0", "52:54:00:aa:bb:01"),
        (model.NetworkKind.MACVLAN, "eno1", "52:54:00:aa:bb:02"),
        (model.NetworkKind.BRIDGE, "br-db", "52:54:00:aa:bb:03"),
    ]


@pytest.mark.parametrize(
    ("state", "power"),
    [
        (0, "unknown"),
        (1, "running"),
        (3, "stopped"),
        (4, "running"),
        (5, "stopped"),
        (99, "unknown"),
    ],
)
def test_power_states(state: int, power: str) -> None:
    assert parse_domain.power_state(state) == power


def test_pool_of_path() -> None:
    pools = [PoolFacts("a", "dir", path="/srv/a/"), PoolFacts("b", "dir")]
    assert parse_domain.pool_of_path("/srv/a/x.img", pools) == ("a", "x.img")
    assert parse_domain.pool_of_path("/srv/ab/x.img", pools) == ("", "")
