"""Table tests of the typed libvirt XML builders: structure, not strings."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from vmhost.drivers.libvirt import domain_xml as dx

VF = dx.PciAddress(0, 0x3B, 0x10, 2)


def attrs(element: ET.Element | None) -> dict[str, str]:
    assert element is not None
    return dict(element.attrib)


def parsed(builder: dx.XmlBuilder) -> ET.Element:
    """Round-trip through text: what libvirt would receive."""
    return ET.fromstring(builder.to_xml())


# --- cpusets and PCI addresses ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("cpus", "text"),
    [
        ((0,), "0"),
        ((0, 1, 2, 3), "0-3"),
        ((3, 1, 2, 0, 8), "0-3,8"),
        ((8, 10, 12), "8,10,12"),
        ((0, 1, 4, 5, 6, 9), "0-1,4-6,9"),
    ],
)
def test_cpuset_format_and_parse(cpus: tuple[int, ...], text: str) -> None:
    assert dx.format_cpuset(cpus) == text
    assert dx.parse_cpuset(text) == tuple(sorted(set(cpus)))


def test_cpuset_parse_exclusions_and_errors() -> None:
    assert dx.parse_cpuset("0-7,^2-3") == (0, 1, 4, 5, 6, 7)
    with pytest.raises(ValueError, match="bad CPU range"):
        dx.parse_cpuset("5-2")
    with pytest.raises(ValueError, match="at least one CPU"):
        dx.format_cpuset(())
    with pytest.raises(ValueError, match="non-negative"):
        dx.format_cpuset((-1,))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0000:3b:10.2", VF),
        ("3b:10.2", VF),
        ("pci_0000_3b_10_2", VF),
    ],
)
def test_pci_address_parse(text: str, expected: dx.PciAddress) -> None:
    assert dx.PciAddress.parse(text) == expected
    assert str(expected) == "0000:3b:10.2"


def test_pci_address_element_round_trip_and_limits() -> None:
    element = VF.to_element()
    assert attrs(element) == {
        "type": "pci",
        "domain": "0x0000",
        "bus": "0x3b",
        "slot": "0x10",
        "function": "0x2",
    }
    assert dx.PciAddress.from_element(element) == VF
    with pytest.raises(ValueError, match="not a PCI address"):
        dx.PciAddress.parse("eth0")
    with pytest.raises(ValueError, match="slot"):
        dx.PciAddress(0, 0, 0x20, 0)


@pytest.mark.parametrize(
    ("index", "name"), [(0, "vda"), (1, "vdb"), (25, "vdz"), (26, "vdaa"), (27, "vdab")]
)
def test_disk_targets(index: int, name: str) -> None:
    assert dx.disk_target(index) == name


# --- NICs ------------------------------------------------------------------------------------

NIC_TABLE = [
    # (builder, type attr, source attrs, model, extra checks)
    (
        dx.Interface("network", source="vmhost-net0", mac="52:54:00:00:00:01"),
        "network",
        {"network": "vmhost-net0"},
        "virtio",
    ),
    (
        dx.Interface("bridge", source="br0", mac="52:54:00:00:00:02"),
        "bridge",
        {"bridge": "br0"},
        "virtio",
    ),
    (
        dx.Interface("direct", source="eno1", mode="bridge", mac="52:54:00:00:00:03"),
        "direct",
        {"dev": "eno1", "mode": "bridge"},
        "virtio",
    ),
    (
        dx.Interface("direct", source="eno2", mode="vepa"),
        "direct",
        {"dev": "eno2", "mode": "vepa"},
        "virtio",
    ),
    (
        dx.Interface("direct", source="eno3", mode="passthrough"),
        "direct",
        {"dev": "eno3", "mode": "passthrough"},
        "virtio",
    ),
]


@pytest.mark.parametrize(("nic", "kind", "source", "model"), NIC_TABLE)
def test_interface_table(nic: dx.Interface, kind: str, source: dict[str, str], model: str) -> None:
    element = parsed(nic)
    assert element.get("type") == kind
    assert attrs(element.find("source")) == source
    assert attrs(element.find("model")) == {"type": model}
    if nic.mac:
        assert attrs(element.find("mac")) == {"address": nic.mac}
    else:
        assert element.find("mac") is None


def test_sriov_hostdev_interface() -> None:
    nic = dx.Interface("hostdev", mac="52:54:00:00:00:09", pci_address=VF, vlan=42)
    element = parsed(nic)
    assert attrs(element) == {"type": "hostdev", "managed": "yes"}
    assert attrs(element.find("source/address")) == {
        "type": "pci",
        "domain": "0x0000",
        "bus": "0x3b",
        "slot": "0x10",
        "function": "0x2",
    }
    assert attrs(element.find("driver")) == {"name": "vfio"}
    assert attrs(element.find("vlan/tag")) == {"id": "42"}
    assert element.find("model") is None  # a VF is the NIC model


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "hostdev"}, "PCI address"),
        ({"kind": "direct", "source": "eno1"}, "macvlan mode None"),
        ({"kind": "direct", "source": "eno1", "mode": "passthru"}, "macvlan mode 'passthru'"),
        ({"kind": "bridge"}, "needs a source"),
        ({"kind": "bridge", "source": "br0", "mode": "bridge"}, "only for direct"),
        ({"kind": "user", "source": "x"}, "not one of"),
        ({"kind": "bridge", "source": "br0", "mac": "52:54:00:AA:00:01"}, "lower-case MAC"),
        ({"kind": "bridge", "source": "br0", "vlan": 5000}, "VLAN"),
    ],
)
def test_interface_refuses_bad_values(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dx.Interface(**kwargs)  # type: ignore[arg-type]


# --- disks and volumes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("disk", "type_", "source", "driver_type"),
    [
        (
            dx.Disk("vda", "qcow2", pool="default", volume="vm-root"),
            "volume",
            {"pool": "default", "volume": "vm-root"},
            "qcow2",
        ),
        (
            dx.Disk("vdb", "raw", pool="vg0", volume="vm-data"),
            "volume",
            {"pool": "vg0", "volume": "vm-data"},
            "raw",
        ),
        (
            dx.Disk("vdc", "qcow2", source="file", path="/var/lib/libvirt/images/a.qcow2"),
            "file",
            {"file": "/var/lib/libvirt/images/a.qcow2"},
            "qcow2",
        ),
        (
            dx.Disk("vdd", "raw", source="block", path="/dev/vg0/data"),
            "block",
            {"dev": "/dev/vg0/data"},
            "raw",
        ),
    ],
)
def test_disk_table(disk: dx.Disk, type_: str, source: dict[str, str], driver_type: str) -> None:
    element = parsed(disk)
    assert attrs(element) == {"type": type_, "device": "disk"}
    assert attrs(element.find("source")) == source
    assert attrs(element.find("driver")) == {"name": "qemu", "type": driver_type}
    assert attrs(element.find("target")) == {"dev": disk.target, "bus": "virtio"}


def test_disk_boot_order_and_serial() -> None:
    element = parsed(dx.Disk("vda", pool="p", volume="v", boot_order=2, serial="v"))
    assert attrs(element.find("boot")) == {"order": "2"}
    assert element.findtext("serial") == "v"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": "hda1"}, "device name"),
        ({"target": "vda", "format": "vmdk", "pool": "p", "volume": "v"}, "qcow2, raw"),
        ({"target": "vda"}, "needs a pool"),
        ({"target": "vda", "source": "file", "path": "rel/path"}, "absolute path"),
        ({"target": "vda", "source": "nbd"}, "not one of volume"),
    ],
)
def test_disk_refuses_bad_values(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dx.Disk(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("volume", "format_"),
    [
        (dx.Volume("vm-root", 10 * 1024**3, "qcow2"), "qcow2"),
        (dx.Volume("vm-root", 10 * 1024**3, "raw"), "raw"),
        (dx.Volume("vm-root", 10 * 1024**3, None), None),
    ],
)
def test_volume_table(volume: dx.Volume, format_: str | None) -> None:
    element = parsed(volume)
    assert element.tag == "volume"
    assert element.findtext("name") == "vm-root"
    assert element.findtext("capacity") == str(10 * 1024**3)
    assert attrs(element.find("capacity")) == {"unit": "bytes"}
    assert element.findtext("allocation") == "0"
    if format_ is None:
        assert element.find("target") is None
        assert volume.disk_format == "raw"
    else:
        assert attrs(element.find("target/format")) == {"type": format_}


def test_volume_refuses_bad_values() -> None:
    with pytest.raises(ValueError, match="capacity_bytes"):
        dx.Volume("v", 0)
    with pytest.raises(ValueError, match="volume name"):
        dx.Volume("../etc/passwd", 1)
    with pytest.raises(ValueError, match="allocation"):
        dx.Volume("v", 10, allocation_bytes=11)


# --- CPU, NUMA, hugepages --------------------------------------------------------------------


def pinned_domain(**overrides: object) -> dx.Domain:
    """4 vCPUs pinned to host cores 8-11 (host node 1), one guest cell, 2 MiB hugepages."""
    values: dict[str, object] = {
        "name": "pinned",
        "memory_mib": 1024,
        "vcpu": dx.Vcpu(4, cpuset=(8, 9, 10, 11)),
        "cpu": dx.Cpu(
            "host-model",
            topology=dx.CpuTopology(1, 4, 1),
            numa_cells=(dx.GuestNumaCell(0, (0, 1, 2, 3), 1024 * 1024),),
            features=(dx.CpuFeature("arch-capabilities"),),
        ),
        "cputune": dx.CpuTune(
            vcpupins=tuple(dx.VcpuPin(i, (8 + i,)) for i in range(4)), emulatorpin=(8, 9, 10, 11)
        ),
        "numatune": dx.NumaTune((1,), memnodes=(dx.MemNode(0, (1,)),)),
        "memory_backing": dx.MemoryBacking(pages=(dx.HugePage(2048, (0,)),)),
        "devices": dx.Devices(
            disks=(dx.Disk("vda", pool="p", volume="pinned-root"),),
            interfaces=(dx.Interface("network", source="n0", mac="52:54:00:00:00:01"),),
        ),
    }
    values.update(overrides)
    return dx.Domain(**values)  # type: ignore[arg-type]


def test_pinning_numatune_hugepages() -> None:
    root = parsed(pinned_domain())
    assert attrs(root.find("vcpu")) == {"placement": "static", "cpuset": "8-11"}
    assert root.findtext("vcpu") == "4"
    pins = [attrs(p) for p in root.iterfind("cputune/vcpupin")]
    assert pins == [{"vcpu": str(i), "cpuset": str(8 + i)} for i in range(4)]
    assert attrs(root.find("cputune/emulatorpin")) == {"cpuset": "8-11"}
    assert attrs(root.find("numatune/memory")) == {"mode": "strict", "nodeset": "1"}
    assert attrs(root.find("numatune/memnode")) == {
        "cellid": "0",
        "mode": "strict",
        "nodeset": "1",
    }
    assert attrs(root.find("memoryBacking/hugepages/page")) == {
        "size": "2048",
        "unit": "KiB",
        "nodeset": "0",
    }
    assert attrs(root.find("cpu")) == {"mode": "host-model"}
    assert attrs(root.find("cpu/topology")) == {"sockets": "1", "cores": "4", "threads": "1"}
    assert attrs(root.find("cpu/feature")) == {"policy": "disable", "name": "arch-capabilities"}
    assert attrs(root.find("cpu/numa/cell")) == {
        "id": "0",
        "cpus": "0-3",
        "memory": "1048576",
        "unit": "KiB",
    }


def test_domain_basics_boot_order_console_metadata() -> None:
    domain = pinned_domain(
        uuid="6f1b1d3c-0000-4000-8000-000000000001",
        metadata=dx.VmhostMetadata((dx.VolumeRef("p", "pinned-root"),), hostname="pinned"),
    )
    root = parsed(domain)
    assert attrs(root) == {"type": "kvm"}
    assert root.findtext("name") == "pinned"
    assert root.findtext("uuid") == "6f1b1d3c-0000-4000-8000-000000000001"
    assert root.findtext("memory") == "1024"
    assert attrs(root.find("memory")) == {"unit": "MiB"}
    assert [b.get("dev") for b in root.iterfind("os/boot")] == ["network", "hd"]
    assert root.find("os/type").text == "hvm"  # type: ignore[union-attr]
    assert root.find("features/acpi") is not None
    assert attrs(root.find("devices/serial")) == {"type": "pty"}
    assert attrs(root.find("devices/console/target")) == {"type": "serial", "port": "0"}
    assert [root.findtext(t) for t in ("on_poweroff", "on_reboot", "on_crash")] == [
        "destroy",
        "restart",
        "restart",
    ]
    meta = dx.VmhostMetadata.from_domain(root)
    assert meta == dx.VmhostMetadata((dx.VolumeRef("p", "pinned-root"),), hostname="pinned")
    assert root.find(f"metadata/{{{dx.VMHOST_XMLNS}}}vm") is not None


def test_names_and_paths_are_escaped_not_templated() -> None:
    domain = dx.Domain(
        "esc",
        64,
        dx.Vcpu(1),
        devices=dx.Devices(
            disks=(dx.Disk("vda", "raw", source="file", path="/srv/a'b\"<c>&.img"),),
        ),
    )
    root = parsed(domain)
    assert root.find("devices/disk/source").get("file") == "/srv/a'b\"<c>&.img"  # type: ignore[union-attr]


def test_serial_log_file() -> None:
    element = parsed(dx.Serial(log_file="/var/log/libvirt/qemu/vm-serial0.log"))
    assert attrs(element.find("log")) == {
        "file": "/var/log/libvirt/qemu/vm-serial0.log",
        "append": "on",
    }


def test_hugepages_without_numa_cells_and_default_size() -> None:
    root = parsed(dx.MemoryBacking(pages=(dx.HugePage(1048576),)))
    assert attrs(root.find("hugepages/page")) == {"size": "1048576", "unit": "KiB"}
    assert parsed(dx.MemoryBacking()).find("hugepages") is not None
    assert parsed(dx.MemoryBacking(hugepages=False, locked=True)).find("hugepages") is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "bad name"}, "not a valid libvirt name"),
        ({"vcpu": dx.Vcpu(2), "cputune": None}, "topology gives 4"),
        (
            {
                "cputune": dx.CpuTune(vcpupins=(dx.VcpuPin(5, (1,)),)),
            },
            "vCPU 5 is pinned",
        ),
        ({"memory_mib": 2048}, "guest NUMA cells hold"),
        ({"numatune": dx.NumaTune((1,), memnodes=(dx.MemNode(3, (1,)),))}, "guest cell 3"),
        (
            {"memory_backing": dx.MemoryBacking(pages=(dx.HugePage(2048, (1,)),))},
            "guest NUMA cells that are not defined",
        ),
        (
            {
                "memory_mib": 1000,
                "cpu": None,
                "numatune": None,
                "memory_backing": dx.MemoryBacking(pages=(dx.HugePage(1048576),)),
            },
            "not a whole number of 1048576 KiB hugepages",
        ),
        (
            {
                "devices": dx.Devices(
                    disks=(dx.Disk("vda", pool="p", volume="v", boot_order=1),),
                )
            },
            "per-device boot order",
        ),
    ],
)
def test_domain_refuses_inconsistent_definitions(
    overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        pinned_domain(**overrides)


def test_per_device_boot_order_without_os_boot() -> None:
    domain = pinned_domain(
        os=dx.Os(boot_devices=()),
        devices=dx.Devices(
            disks=(dx.Disk("vda", pool="p", volume="v", boot_order=2),),
            interfaces=(dx.Interface("network", source="n0", boot_order=1),),
        ),
    )
    root = parsed(domain)
    assert root.find("os/boot") is None
    assert attrs(root.find("devices/interface/boot")) == {"order": "1"}
    assert attrs(root.find("devices/disk/boot")) == {"order": "2"}


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: dx.Cpu("host-copy"), "CPU mode"),
        (lambda: dx.Cpu(None, features=(dx.CpuFeature("x2apic"),)), "need a CPU mode"),
        (lambda: dx.CpuFeature("x2apic", "maybe"), "policy"),
        (lambda: dx.CpuTopology(0, 1, 1), "sockets"),
        (lambda: dx.Vcpu(0), "vcpu count"),
        (lambda: dx.Vcpu(1, placement="dynamic"), "placement"),
        (lambda: dx.CpuTune((dx.VcpuPin(0, (1,)), dx.VcpuPin(0, (2,)))), "pinned twice"),
        (lambda: dx.NumaTune((0,), mode="sometimes"), "numatune mode"),
        (lambda: dx.MemNode(0, (0,), mode="loose"), "memnode mode"),
        (
            lambda: dx.MemoryBacking(pages=(dx.HugePage(2048),), hugepages=False),
            "hugepages is off",
        ),
        (
            lambda: dx.Cpu(
                numa_cells=(dx.GuestNumaCell(0, (0,), 1024), dx.GuestNumaCell(0, (1,), 1024))
            ),
            "unique",
        ),
        (
            lambda: dx.Cpu(
                numa_cells=(dx.GuestNumaCell(0, (0,), 1024), dx.GuestNumaCell(1, (0,), 1024))
            ),
            "two guest NUMA cells",
        ),
        (
            lambda: dx.Devices(
                interfaces=(
                    dx.Interface("hostdev", pci_address=VF),
                    dx.Interface("hostdev", pci_address=VF),
                )
            ),
            "same virtual function",
        ),
        (
            lambda: dx.Devices(
                interfaces=(
                    dx.Interface("bridge", source="a", mac="52:54:00:00:00:01"),
                    dx.Interface("bridge", source="b", mac="52:54:00:00:00:01"),
                )
            ),
            "same MAC",
        ),
        (
            lambda: dx.Devices(
                disks=(dx.Disk("vda", pool="p", volume="a"), dx.Disk("vda", pool="p", volume="b"))
            ),
            "same target",
        ),
        (lambda: dx.Os(boot_devices=("floppy",)), "boot device"),
    ],
)
def test_builders_refuse_bad_values(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()  # type: ignore[operator]
