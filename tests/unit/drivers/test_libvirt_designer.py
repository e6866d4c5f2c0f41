"""The pure designer: ComposeSpec + host facts -> domain and volume builders."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET

import pytest

from vmhost import model
from vmhost.drivers import base
from vmhost.drivers.libvirt import designer
from vmhost.drivers.libvirt import domain_xml as dx
from vmhost.drivers.libvirt.facts import (
    GuestFacts,
    HostFacts,
    PoolFacts,
    libvirt_arch,
    vmhost_arch,
)

UUID = "0b1c2d3e-0000-4000-8000-000000000001"
GIB = 1024**3
VF0 = dx.PciAddress(0, 0x3B, 0x10, 0)
VF2 = dx.PciAddress(0, 0x3B, 0x10, 2)

FACTS = HostFacts(
    arch="x86_64",
    guests=(
        GuestFacts("x86_64", ("qemu", "kvm"), emulator="/usr/bin/qemu-system-x86_64"),
        GuestFacts("i686", ("qemu",)),
        GuestFacts("aarch64", ("qemu",), os_type="hvm"),
    ),
    numa_nodes=(
        model.NumaNode(0, (0, 1, 2, 3), 32000),
        model.NumaNode(1, (4, 5, 6, 7), 32000),
    ),
    pools=(
        PoolFacts("default", "dir", uuid="11111111-0000-4000-8000-000000000001"),
        PoolFacts("shared", "netfs"),
        PoolFacts("vg-fast", "logical"),
        PoolFacts("tank", "zfs"),
        PoolFacts("san", "iscsi"),
        PoolFacts("off", "dir", active=False),
    ),
    networks={
        "vmhost-net0": model.NetworkKind.NETWORK,
        "br0": model.NetworkKind.BRIDGE,
        "eno1": model.NetworkKind.PHYSICAL,
    },
    free_vfs={"enp59s0f0": (VF0, VF2)},
)


def spec(**overrides: object) -> base.ComposeSpec:
    values: dict[str, object] = {
        "name": "vm1",
        "cores": 2,
        "memory_mib": 1024,
        "disks": (model.VmDisk("root", 10 * GIB, "default"),),
    }
    values.update(overrides)
    return base.ComposeSpec(**values)  # type: ignore[arg-type]


def xml_of(design: designer.Design) -> ET.Element:
    return ET.fromstring(design.domain.to_xml())


def nic(network: str, kind: model.NetworkKind, **kw: object) -> model.VmInterface:
    return model.VmInterface(name="", network=network, kind=kind, **kw)  # type: ignore[arg-type]


def test_plain_vm_on_kvm() -> None:
    design = designer.design(spec(), FACTS, UUID)
    root = xml_of(design)
    assert design.domain_type == "kvm"
    assert root.get("type") == "kvm"
    assert root.findtext("uuid") == UUID
    assert root.findtext("vcpu") == "2"
    assert root.find("vcpu").get("cpuset") is None  # type: ignore[union-attr]
    assert root.find("cputune") is None
    assert root.find("numatune") is None
    assert root.find("memoryBacking") is None
    assert root.find("cpu").get("mode") == "host-model"  # type: ignore[union-attr]
    assert root.find("cpu/numa") is None
    assert [b.get("dev") for b in root.iterfind("os/boot")] == ["network", "hd"]
    assert root.find("os/type").get("arch") == "x86_64"  # type: ignore[union-attr]
    assert root.findtext("devices/emulator") == "/usr/bin/qemu-system-x86_64"
    assert dx.VmhostMetadata.from_domain(root) == dx.VmhostMetadata(
        (dx.VolumeRef("default", "vm1-root"),)
    )


@pytest.mark.parametrize(
    ("pool", "fmt", "size"),
    [
        ("default", "qcow2", 10 * GIB + 123),
        ("shared", "qcow2", 10 * GIB + 123),
        ("vg-fast", None, 10 * GIB + 123),
        ("tank", None, 10 * GIB),  # zfs: whole MiB
    ],
)
def test_volume_format_per_pool_type(pool: str, fmt: str | None, size: int) -> None:
    design = designer.design(
        spec(disks=(model.VmDisk("root", 10 * GIB + 123, pool),)), FACTS, UUID
    )
    (planned,) = design.volumes
    assert planned.pool == pool
    assert planned.volume.format == fmt
    assert planned.volume.capacity_bytes == size
    assert design.disks == (model.VmDisk("root", size, pool, "vm1-root"),)
    disk = xml_of(design).find("devices/disk")
    assert disk.get("type") == "volume"  # type: ignore[union-attr]
    assert disk.find("driver").get("type") == (fmt or "raw")  # type: ignore[union-attr]
    assert disk.find("source").attrib == {"pool": pool, "volume": "vm1-root"}  # type: ignore[union-attr]


def test_two_disks_targets_names_and_pool_by_uuid() -> None:
    design = designer.design(
        spec(
            disks=(
                model.VmDisk("root", GIB, "11111111-0000-4000-8000-000000000001"),
                model.VmDisk("data", 2 * GIB, "vg-fast", volume="custom-data"),
            )
        ),
        FACTS,
        UUID,
    )
    root = xml_of(design)
    assert [d.find("target").get("dev") for d in root.iterfind("devices/disk")] == [  # type: ignore[union-attr]
        "vda",
        "vdb",
    ]
    assert [(v.pool, v.volume.name) for v in design.volumes] == [
        ("default", "vm1-root"),
        ("vg-fast", "custom-data"),
    ]


@pytest.mark.parametrize(
    ("disks", "error", "message"),
    [
        ((model.VmDisk("root", GIB, "nope"),), base.DriverError, "storage pool 'nope' not found"),
        ((model.VmDisk("root", GIB, "off"),), base.DriverError, "'off' is not active"),
        (
            (model.VmDisk("root", GIB, "san"),),
            base.DriverUnsupportedError,
            "cannot create volumes in a 'iscsi' pool",
        ),
        ((model.VmDisk("root", 1000, "tank"),), base.DriverError, "at least 1 MiB"),
        (
            (model.VmDisk("a", GIB, "default", "x"), model.VmDisk("b", GIB, "default", "x")),
            base.DriverError,
            "two disks would use volume 'x'",
        ),
        ((), base.DriverError, "at least a root disk"),
    ],
)
def test_disk_errors(
    disks: tuple[model.VmDisk, ...], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        designer.design(spec(disks=disks), FACTS, UUID)


def test_nic_kinds_network_bridge_macvlan_sriov() -> None:
    design = designer.design(
        spec(
            interfaces=(
                nic("vmhost-net0", model.NetworkKind.BRIDGE),  # the host says: a network
                nic("br0", model.NetworkKind.BRIDGE),
                nic("eno1", model.NetworkKind.MACVLAN),
                nic("enp59s0f0", model.NetworkKind.SRIOV),
                nic("enp59s0f0", model.NetworkKind.SRIOV, mac_address="52:54:00:AB:CD:EF"),
                nic("eno1", model.NetworkKind.BRIDGE),  # a physical NIC cannot be bridged
            )
        ),
        FACTS,
        UUID,
    )
    nics = list(xml_of(design).iterfind("devices/interface"))
    assert [n.get("type") for n in nics] == [
        "network",
        "bridge",
        "direct",
        "hostdev",
        "hostdev",
        "direct",
    ]
    assert nics[0].find("source").attrib == {"network": "vmhost-net0"}  # type: ignore[union-attr]
    assert nics[1].find("source").attrib == {"bridge": "br0"}  # type: ignore[union-attr]
    assert nics[2].find("source").attrib == {"dev": "eno1", "mode": "bridge"}  # type: ignore[union-attr]
    vfs = [dx.PciAddress.from_element(n.find("source/address")) for n in nics[3:5]]  # type: ignore[arg-type]
    assert vfs == [VF0, VF2]
    assert [i.kind for i in design.interfaces] == [
        model.NetworkKind.NETWORK,
        model.NetworkKind.BRIDGE,
        model.NetworkKind.MACVLAN,
        model.NetworkKind.SRIOV,
        model.NetworkKind.SRIOV,
        model.NetworkKind.MACVLAN,
    ]
    assert [i.name for i in design.interfaces] == [f"eth{i}" for i in range(6)]
    macs = [i.mac_address for i in design.interfaces]
    assert macs[4] == "52:54:00:ab:cd:ef"
    assert all(m.startswith("52:54:00:") for m in macs)
    assert len(set(macs)) == 6
    # stable: the same UUID gives the same MACs
    again = designer.design(spec(interfaces=(nic("br0", model.NetworkKind.BRIDGE),)), FACTS, UUID)
    assert again.interfaces[0].mac_address == macs[0]


def test_macvlan_mode_from_host_setting() -> None:
    facts = dataclasses.replace(FACTS, macvlan_mode="passthru")
    design = designer.design(
        spec(interfaces=(nic("eno1", model.NetworkKind.MACVLAN),)), facts, UUID
    )
    assert xml_of(design).find("devices/interface/source").get("mode") == "passthrough"  # type: ignore[union-attr]


def test_unknown_network_keeps_requested_kind() -> None:
    design = designer.design(
        spec(
            interfaces=(
                nic("lost", model.NetworkKind.NETWORK),
                nic("brX", model.NetworkKind.BRIDGE),
            )
        ),
        FACTS,
        UUID,
    )
    assert [n.get("type") for n in xml_of(design).iterfind("devices/interface")] == [
        "network",
        "bridge",
    ]


def test_sriov_without_free_vf() -> None:
    three = tuple(nic("enp59s0f0", model.NetworkKind.SRIOV) for _ in range(3))
    with pytest.raises(
        base.DriverError, match=r"needs a free SR-IOV virtual function.*2 are free"
    ):
        designer.design(spec(interfaces=three), FACTS, UUID)
    with pytest.raises(base.DriverError, match="on 'eth9', but 0 are free"):
        designer.design(spec(interfaces=(nic("eth9", model.NetworkKind.SRIOV),)), FACTS, UUID)


def test_pinned_numa_hugepages_on_node_1() -> None:
    design = designer.design(
        spec(
            cores=4,
            memory_mib=2048,
            pinned_cores=(4, 5, 6, 7),
            numa_nodes=(1,),
            hugepages_backed=True,
        ),
        FACTS,
        UUID,
    )
    root = xml_of(design)
    assert root.find("vcpu").get("cpuset") == "4-7"  # type: ignore[union-attr]
    assert [(p.get("vcpu"), p.get("cpuset")) for p in root.iterfind("cputune/vcpupin")] == [
        ("0", "4"),
        ("1", "5"),
        ("2", "6"),
        ("3", "7"),
    ]
    assert root.find("cputune/emulatorpin").get("cpuset") == "4-7"  # type: ignore[union-attr]
    assert root.find("numatune/memory").attrib == {"mode": "strict", "nodeset": "1"}  # type: ignore[union-attr]
    assert root.find("numatune/memnode").attrib == {  # type: ignore[union-attr]
        "cellid": "0",
        "mode": "strict",
        "nodeset": "1",
    }
    assert root.find("cpu/numa/cell").attrib == {  # type: ignore[union-attr]
        "id": "0",
        "cpus": "0-3",
        "memory": str(2048 * 1024),
        "unit": "KiB",
    }
    assert root.find("memoryBacking/hugepages/page").attrib == {  # type: ignore[union-attr]
        "size": "2048",
        "unit": "KiB",
        "nodeset": "0",
    }


def test_pinned_over_two_nodes_splits_cells_by_pinned_core() -> None:
    design = designer.design(
        spec(cores=3, memory_mib=3072, pinned_cores=(2, 3, 4)),  # nodes derived: 0 and 1
        FACTS,
        UUID,
    )
    root = xml_of(design)
    cells = [c.attrib for c in root.iterfind("cpu/numa/cell")]
    assert cells == [
        {"id": "0", "cpus": "0-1", "memory": str(2048 * 1024), "unit": "KiB"},
        {"id": "1", "cpus": "2", "memory": str(1024 * 1024), "unit": "KiB"},
    ]
    assert root.find("numatune/memory").get("nodeset") == "0-1"  # type: ignore[union-attr]
    assert [m.get("nodeset") for m in root.iterfind("numatune/memnode")] == ["0", "1"]


def test_numa_only_round_robin_and_gigantic_pages() -> None:
    design = designer.design(
        spec(
            cores=4,
            memory_mib=4096,
            numa_nodes=(0, 1),
            hugepages_backed=True,
            hugepage_size_kib=1048576,
        ),
        FACTS,
        UUID,
    )
    root = xml_of(design)
    assert root.find("cputune") is None
    assert [c.get("cpus") for c in root.iterfind("cpu/numa/cell")] == ["0,2", "1,3"]
    assert [c.get("memory") for c in root.iterfind("cpu/numa/cell")] == [str(2 * 1024**2)] * 2
    assert root.find("cpu/topology").attrib == {"sockets": "2", "cores": "2", "threads": "1"}  # type: ignore[union-attr]
    assert root.find("memoryBacking/hugepages/page").attrib == {  # type: ignore[union-attr]
        "size": "1048576",
        "unit": "KiB",
        "nodeset": "0-1",
    }


def test_hugepages_without_numa_placement() -> None:
    root = xml_of(designer.design(spec(hugepages_backed=True), FACTS, UUID))
    assert root.find("memoryBacking/hugepages/page").attrib == {"size": "2048", "unit": "KiB"}  # type: ignore[union-attr]
    assert root.find("cpu/numa") is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"hugepages_backed": True, "memory_mib": 1001}, "not a whole number of 2048 KiB"),
        ({"pinned_cores": (1,)}, "1 pinned cores for 2 vCPUs"),
        ({"pinned_cores": (1, 99)}, "host core 99 does not exist"),
        ({"numa_nodes": (7,)}, "NUMA node 7 does not exist"),
        ({"pinned_cores": (0, 4), "numa_nodes": (0,)}, "pinned core 4 is on NUMA node 1"),
        (
            {"instance_type": model.InstanceType.CONTAINER},
            "virtual machines only, not containers",
        ),
        ({"architecture": "sparc64"}, "architecture 'sparc64' is not supported"),
        ({"architecture": "ppc64el/generic"}, "cannot run ppc64le guests"),
    ],
)
def test_refusals(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(base.DriverError, match=message):
        designer.design(spec(**overrides), FACTS, UUID)


def test_architecture_and_domain_type_choice() -> None:
    i386 = designer.design(spec(architecture="i386/generic"), FACTS, UUID)
    assert i386.domain_type == "qemu"
    root = xml_of(i386)
    assert root.find("os/type").get("arch") == "i686"  # type: ignore[union-attr]
    assert root.find("cpu").get("mode") is None  # type: ignore[union-attr]
    arm = xml_of(designer.design(spec(architecture="arm64"), FACTS, UUID))
    assert arm.find("features/apic") is None
    assert arm.find("features/acpi") is not None


def test_cpu_mode_options() -> None:
    passthrough = dataclasses.replace(
        FACTS, cpu_mode="host-passthrough", cpu_features_disable=("arch-capabilities",)
    )
    root = xml_of(designer.design(spec(), passthrough, UUID))
    assert root.find("cpu").get("mode") == "host-passthrough"  # type: ignore[union-attr]
    assert root.find("cpu/feature").attrib == {"policy": "disable", "name": "arch-capabilities"}  # type: ignore[union-attr]
    default = xml_of(designer.design(spec(), dataclasses.replace(FACTS, cpu_mode=None), UUID))
    assert default.find("cpu").get("mode") is None  # type: ignore[union-attr]
    assert default.find("cpu/topology") is not None


def test_arch_names() -> None:
    assert libvirt_arch("amd64/generic") == "x86_64"
    assert libvirt_arch("arm64") == "aarch64"
    assert vmhost_arch("x86_64") == "amd64/generic"
    assert vmhost_arch("ppc64le") == "ppc64el/generic"


def test_design_is_pure_and_deterministic() -> None:
    one = designer.design(spec(interfaces=(nic("br0", model.NetworkKind.BRIDGE),)), FACTS, UUID)
    two = designer.design(spec(interfaces=(nic("br0", model.NetworkKind.BRIDGE),)), FACTS, UUID)
    assert one == two
    assert one.domain.to_xml() == two.domain.to_xml()
