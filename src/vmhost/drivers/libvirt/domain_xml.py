"""Typed builders for libvirt domain and storage-volume XML, over ``xml.etree.ElementTree``.

One small frozen dataclass per XML element, each with ``to_element()`` and ``to_xml()``; the
values are validated when the object is made, so a builder that exists renders valid XML.
ElementTree escapes names and paths; there are no string templates here.

Element reference: https://libvirt.org/formatdomain.html and https://libvirt.org/formatstorage.html
"""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable

VMHOST_XMLNS = "https://vmhost.dev/xmlns/libvirt/1"
"""Namespace of vmhost's ``<metadata>`` element in the domains it composes."""

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,62}$")
_VOLUME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,254}$")
_MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_TARGET_RE = re.compile(r"^(vd|sd|hd|xvd)[a-z]{1,3}$")

DISK_FORMATS = ("qcow2", "raw")
DISK_BUSES = ("virtio", "scsi", "sata", "ide", "usb")
INTERFACE_KINDS = ("network", "bridge", "direct", "hostdev")
MACVLAN_MODES = ("bridge", "vepa", "private", "passthrough")
NUMA_MODES = ("strict", "preferred", "interleave", "restrictive")
CPU_MODES = ("host-model", "host-passthrough", "custom", "maximum")
BOOT_DEVICES = ("network", "hd", "cdrom", "fd")


class XmlBuilder:
    """Base of every builder: ``to_element()`` is the structure, ``to_xml()`` its text."""

    def to_element(self) -> ET.Element:
        """The element tree of this object."""
        raise NotImplementedError

    def to_xml(self) -> str:
        """Indented XML text (what ``defineXML`` / ``storageVolCreateXML`` take)."""
        element = self.to_element()
        ET.indent(element, space="  ")
        return ET.tostring(element, encoding="unicode")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: object) -> ET.Element:
    """Append ``<tag attrs>text</tag>``; attributes whose value is None are left out."""
    element = ET.SubElement(
        parent, tag, {k.rstrip("_"): str(v) for k, v in attrs.items() if v is not None}
    )
    if text is not None:
        element.text = text
    return element


def format_cpuset(cpus: Iterable[int]) -> str:
    """``(0, 1, 2, 3, 8)`` -> ``"0-3,8"`` (libvirt's cpuset syntax, sorted, ranges joined)."""
    ordered = sorted(set(cpus))
    if not ordered:
        raise ValueError("a cpuset needs at least one CPU")
    if ordered[0] < 0:
        raise ValueError(f"CPU numbers are non-negative, not {ordered[0]}")
    parts: list[str] = []
    start = prev = ordered[0]
    for cpu in [*ordered[1:], None]:
        if cpu is not None and cpu == prev + 1:
            prev = cpu
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if cpu is not None:
            start = prev = cpu
    return ",".join(parts)


def parse_cpuset(text: str) -> tuple[int, ...]:
    """``"0-3,^2,8"`` -> ``(0, 1, 3, 8)``; raises ValueError on malformed text."""
    include: set[int] = set()
    exclude: set[int] = set()
    for raw in text.split(","):
        part = raw.strip()
        if not part:
            continue
        target = include
        if part.startswith("^"):
            target = exclude
            part = part[1:]
        if "-" in part:
            low, high = part.split("-", 1)
            first, last = int(low), int(high)
            if last < first:
                raise ValueError(f"bad CPU range {part!r}")
            target.update(range(first, last + 1))
        else:
            target.add(int(part))
    return tuple(sorted(include - exclude))


def _check_name(field: str, value: str) -> None:
    if not _NAME_RE.match(value):
        raise ValueError(f"{field} {value!r} is not a valid libvirt name")


def _check_positive(field: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{field} must be a positive integer, not {value!r}")


# --- CPU, memory, NUMA -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class CpuTopology(XmlBuilder):
    """``<topology sockets cores threads/>``; the product must equal the vCPU count."""

    sockets: int = 1
    cores: int = 1
    threads: int = 1

    def __post_init__(self) -> None:
        for field in ("sockets", "cores", "threads"):
            _check_positive(field, getattr(self, field))

    @property
    def vcpus(self) -> int:
        """How many vCPUs this topology describes."""
        return self.sockets * self.cores * self.threads

    def to_element(self) -> ET.Element:
        """``<topology/>``."""
        return ET.Element(
            "topology",
            {"sockets": str(self.sockets), "cores": str(self.cores), "threads": str(self.threads)},
        )


@dataclasses.dataclass(frozen=True, slots=True)
class GuestNumaCell(XmlBuilder):
    """A guest NUMA cell: ``<cell id cpus memory unit='KiB'/>`` (guest vCPU numbers)."""

    id: int
    cpus: tuple[int, ...]
    memory_kib: int

    def __post_init__(self) -> None:
        if self.id < 0:
            raise ValueError(f"NUMA cell id must be non-negative, not {self.id}")
        _check_positive("cell memory_kib", self.memory_kib)
        format_cpuset(self.cpus)

    def to_element(self) -> ET.Element:
        """``<cell/>``."""
        return ET.Element(
            "cell",
            {
                "id": str(self.id),
                "cpus": format_cpuset(self.cpus),
                "memory": str(self.memory_kib),
                "unit": "KiB",
            },
        )


CPU_FEATURE_POLICIES = ("force", "require", "optional", "disable", "forbid")


@dataclasses.dataclass(frozen=True, slots=True)
class CpuFeature(XmlBuilder):
    """``<feature policy name/>``: e.g. disable a CPU flag host-model would pass on."""

    name: str
    policy: str = "disable"

    def __post_init__(self) -> None:
        if self.policy not in CPU_FEATURE_POLICIES:
            raise ValueError(
                f"CPU feature policy {self.policy!r} is not one of "
                f"{', '.join(CPU_FEATURE_POLICIES)}"
            )
        if not re.match(r"^[a-z0-9][a-z0-9_.-]*$", self.name):
            raise ValueError(f"{self.name!r} is not a CPU feature name")

    def to_element(self) -> ET.Element:
        """``<feature/>``."""
        return ET.Element("feature", {"policy": self.policy, "name": self.name})


@dataclasses.dataclass(frozen=True, slots=True)
class Cpu(XmlBuilder):
    """``<cpu mode>`` with an optional topology and guest NUMA cells.

    ``mode=None`` renders no mode (libvirt's custom CPU with only topology/NUMA), which is
    what non-KVM domain types accept.
    """

    mode: str | None = "host-model"
    topology: CpuTopology | None = None
    numa_cells: tuple[GuestNumaCell, ...] = ()
    features: tuple[CpuFeature, ...] = ()

    def __post_init__(self) -> None:
        if self.mode is not None and self.mode not in CPU_MODES:
            raise ValueError(f"CPU mode {self.mode!r} is not one of {', '.join(CPU_MODES)}")
        ids = [c.id for c in self.numa_cells]
        if len(set(ids)) != len(ids):
            raise ValueError("guest NUMA cell ids must be unique")
        cpus = [cpu for cell in self.numa_cells for cpu in cell.cpus]
        if len(set(cpus)) != len(cpus):
            raise ValueError("a vCPU is in two guest NUMA cells")
        if self.features and self.mode is None:
            raise ValueError("CPU features need a CPU mode (host-model, host-passthrough, ...)")

    def to_element(self) -> ET.Element:
        """``<cpu/>``."""
        cpu = ET.Element("cpu", {"mode": self.mode} if self.mode else {})
        if self.topology is not None:
            cpu.append(self.topology.to_element())
        for feature in self.features:
            cpu.append(feature.to_element())
        if self.numa_cells:
            numa = _sub(cpu, "numa")
            for cell in self.numa_cells:
                numa.append(cell.to_element())
        return cpu


@dataclasses.dataclass(frozen=True, slots=True)
class Vcpu(XmlBuilder):
    """``<vcpu placement cpuset>N</vcpu>``: the count, and optionally the host CPUs allowed."""

    count: int
    cpuset: tuple[int, ...] = ()
    placement: str = "static"

    def __post_init__(self) -> None:
        _check_positive("vcpu count", self.count)
        if self.placement not in ("static", "auto"):
            raise ValueError(f"vcpu placement {self.placement!r} is not static or auto")
        if self.cpuset:
            format_cpuset(self.cpuset)

    def to_element(self) -> ET.Element:
        """``<vcpu/>``."""
        attrs = {"placement": self.placement}
        if self.cpuset:
            attrs["cpuset"] = format_cpuset(self.cpuset)
        element = ET.Element("vcpu", attrs)
        element.text = str(self.count)
        return element


@dataclasses.dataclass(frozen=True, slots=True)
class VcpuPin(XmlBuilder):
    """``<vcpupin vcpu='0' cpuset='8'/>``: guest vCPU -> host CPUs."""

    vcpu: int
    cpuset: tuple[int, ...]

    def __post_init__(self) -> None:
        if self.vcpu < 0:
            raise ValueError(f"vcpu number must be non-negative, not {self.vcpu}")
        format_cpuset(self.cpuset)

    def to_element(self) -> ET.Element:
        """``<vcpupin/>``."""
        return ET.Element(
            "vcpupin", {"vcpu": str(self.vcpu), "cpuset": format_cpuset(self.cpuset)}
        )


@dataclasses.dataclass(frozen=True, slots=True)
class CpuTune(XmlBuilder):
    """``<cputune>``: one ``vcpupin`` per vCPU and an optional ``emulatorpin``."""

    vcpupins: tuple[VcpuPin, ...] = ()
    emulatorpin: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        vcpus = [p.vcpu for p in self.vcpupins]
        if len(set(vcpus)) != len(vcpus):
            raise ValueError("a vCPU is pinned twice")
        if self.emulatorpin:
            format_cpuset(self.emulatorpin)

    def to_element(self) -> ET.Element:
        """``<cputune/>``."""
        tune = ET.Element("cputune")
        for pin in self.vcpupins:
            tune.append(pin.to_element())
        if self.emulatorpin:
            _sub(tune, "emulatorpin", cpuset=format_cpuset(self.emulatorpin))
        return tune


@dataclasses.dataclass(frozen=True, slots=True)
class MemNode(XmlBuilder):
    """``<memnode cellid mode nodeset/>``: where one guest NUMA cell's memory lives."""

    cellid: int
    nodeset: tuple[int, ...]
    mode: str = "strict"

    def __post_init__(self) -> None:
        if self.mode not in NUMA_MODES:
            raise ValueError(f"memnode mode {self.mode!r} is not one of {', '.join(NUMA_MODES)}")
        format_cpuset(self.nodeset)

    def to_element(self) -> ET.Element:
        """``<memnode/>``."""
        return ET.Element(
            "memnode",
            {
                "cellid": str(self.cellid),
                "mode": self.mode,
                "nodeset": format_cpuset(self.nodeset),
            },
        )


@dataclasses.dataclass(frozen=True, slots=True)
class NumaTune(XmlBuilder):
    """``<numatune>``: the host nodes for all guest memory, and per guest cell."""

    nodeset: tuple[int, ...]
    mode: str = "strict"
    memnodes: tuple[MemNode, ...] = ()

    def __post_init__(self) -> None:
        if self.mode not in NUMA_MODES:
            raise ValueError(f"numatune mode {self.mode!r} is not one of {', '.join(NUMA_MODES)}")
        format_cpuset(self.nodeset)

    def to_element(self) -> ET.Element:
        """``<numatune/>``."""
        tune = ET.Element("numatune")
        _sub(tune, "memory", mode=self.mode, nodeset=format_cpuset(self.nodeset))
        for memnode in self.memnodes:
            tune.append(memnode.to_element())
        return tune


@dataclasses.dataclass(frozen=True, slots=True)
class HugePage(XmlBuilder):
    """``<page size unit='KiB' nodeset/>``: a page size, for some guest NUMA cells or all."""

    size_kib: int
    nodeset: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        _check_positive("hugepage size_kib", self.size_kib)
        if self.nodeset:
            format_cpuset(self.nodeset)

    def to_element(self) -> ET.Element:
        """``<page/>``."""
        attrs = {"size": str(self.size_kib), "unit": "KiB"}
        if self.nodeset:
            attrs["nodeset"] = format_cpuset(self.nodeset)
        return ET.Element("page", attrs)


@dataclasses.dataclass(frozen=True, slots=True)
class MemoryBacking(XmlBuilder):
    """``<memoryBacking><hugepages>...</hugepages></memoryBacking>``.

    With no ``pages`` the guest uses the host's default hugepage size.
    """

    pages: tuple[HugePage, ...] = ()
    hugepages: bool = True
    locked: bool = False

    def __post_init__(self) -> None:
        if self.pages and not self.hugepages:
            raise ValueError("hugepage sizes given but hugepages is off")

    def to_element(self) -> ET.Element:
        """``<memoryBacking/>``."""
        backing = ET.Element("memoryBacking")
        if self.hugepages:
            huge = _sub(backing, "hugepages")
            for page in self.pages:
                huge.append(page.to_element())
        if self.locked:
            _sub(backing, "locked")
        return backing


# --- devices -----------------------------------------------------------------------------------


_PCI_RE = re.compile(
    r"^(?:(?P<domain>[0-9a-fA-F]{1,4}):)?(?P<bus>[0-9a-fA-F]{1,2}):"
    r"(?P<slot>[0-9a-fA-F]{1,2})\.(?P<function>[0-7])$"
)


@dataclasses.dataclass(frozen=True, slots=True, order=True)
class PciAddress(XmlBuilder):
    """A host PCI address (``0000:3b:02.1``), e.g. of an SR-IOV virtual function."""

    domain: int
    bus: int
    slot: int
    function: int

    def __post_init__(self) -> None:
        limits = {"domain": 0xFFFF, "bus": 0xFF, "slot": 0x1F, "function": 7}
        for field, limit in limits.items():
            value = getattr(self, field)
            if not 0 <= value <= limit:
                raise ValueError(f"PCI {field} {value!r} is out of range 0-{limit:#x}")

    @classmethod
    def parse(cls, text: str) -> PciAddress:
        """``"0000:3b:02.1"`` or ``"3b:02.1"``; also libvirt's ``pci_0000_3b_02_1``."""
        if text.startswith("pci_"):
            parts = text[4:].split("_")
            if len(parts) == 4:
                text = f"{parts[0]}:{parts[1]}:{parts[2]}.{parts[3]}"
        match = _PCI_RE.match(text)
        if not match:
            raise ValueError(f"{text!r} is not a PCI address like 0000:3b:02.1")
        return cls(
            int(match["domain"] or "0", 16),
            int(match["bus"], 16),
            int(match["slot"], 16),
            int(match["function"], 16),
        )

    @classmethod
    def from_element(cls, element: ET.Element) -> PciAddress:
        """From ``<address domain='0x0000' bus='0x3b' slot='0x02' function='0x1'/>``."""
        return cls(
            int(element.get("domain", "0"), 0),
            int(element.get("bus", "0"), 0),
            int(element.get("slot", "0"), 0),
            int(element.get("function", "0"), 0),
        )

    def __str__(self) -> str:
        return f"{self.domain:04x}:{self.bus:02x}:{self.slot:02x}.{self.function:x}"

    def to_element(self) -> ET.Element:
        """``<address type='pci' .../>``."""
        return ET.Element(
            "address",
            {
                "type": "pci",
                "domain": f"0x{self.domain:04x}",
                "bus": f"0x{self.bus:02x}",
                "slot": f"0x{self.slot:02x}",
                "function": f"0x{self.function:x}",
            },
        )


def disk_target(index: int) -> str:
    """The virtio device name of the ``index``-th disk: vda ... vdz, vdaa, vdab, ..."""
    if index < 0:
        raise ValueError(f"disk index must be non-negative, not {index}")
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(ord("a") + rem) + letters
    return f"vd{letters}"


@dataclasses.dataclass(frozen=True, slots=True)
class Disk(XmlBuilder):
    """A disk: a storage-pool volume (``source='volume'``), a file or a block device."""

    target: str
    format: str = "qcow2"
    source: str = "volume"  # volume | file | block
    pool: str = ""
    volume: str = ""
    path: str = ""
    bus: str = "virtio"
    boot_order: int | None = None
    serial: str | None = None
    cache: str | None = None

    def __post_init__(self) -> None:
        if not _TARGET_RE.match(self.target):
            raise ValueError(f"disk target {self.target!r} is not a device name like vda")
        if self.format not in DISK_FORMATS:
            raise ValueError(f"disk format {self.format!r} is not one of qcow2, raw")
        if self.bus not in DISK_BUSES:
            raise ValueError(f"disk bus {self.bus!r} is not one of {', '.join(DISK_BUSES)}")
        if self.source == "volume":
            if not (self.pool and self.volume):
                raise ValueError("a volume disk needs a pool and a volume name")
        elif self.source in ("file", "block"):
            if not self.path.startswith("/"):
                raise ValueError(f"a {self.source} disk needs an absolute path, not {self.path!r}")
        else:
            raise ValueError(f"disk source {self.source!r} is not one of volume, file, block")
        if self.boot_order is not None:
            _check_positive("disk boot_order", self.boot_order)

    def to_element(self) -> ET.Element:
        """``<disk type device='disk'>``."""
        disk = ET.Element("disk", {"type": self.source, "device": "disk"})
        _sub(disk, "driver", name="qemu", type_=self.format, cache=self.cache)
        if self.source == "volume":
            _sub(disk, "source", pool=self.pool, volume=self.volume)
        elif self.source == "file":
            _sub(disk, "source", file=self.path)
        else:
            _sub(disk, "source", dev=self.path)
        _sub(disk, "target", dev=self.target, bus=self.bus)
        if self.serial:
            _sub(disk, "serial", self.serial)
        if self.boot_order is not None:
            _sub(disk, "boot", order=self.boot_order)
        return disk


@dataclasses.dataclass(frozen=True, slots=True)
class Interface(XmlBuilder):
    """A NIC.

    * ``network``: a libvirt network (``source`` is its name);
    * ``bridge``: a host bridge (``source`` is the bridge);
    * ``direct``: macvlan on a host NIC (``source`` is the NIC, ``mode`` the macvlan mode);
    * ``hostdev``: an SR-IOV virtual function passed through (``pci_address`` of the VF).
    """

    kind: str
    source: str = ""
    mac: str | None = None
    mode: str | None = None
    pci_address: PciAddress | None = None
    model: str | None = "virtio"
    vlan: int | None = None
    boot_order: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in INTERFACE_KINDS:
            raise ValueError(
                f"interface type {self.kind!r} is not one of {', '.join(INTERFACE_KINDS)}"
            )
        if self.mac is not None and not _MAC_RE.match(self.mac):
            raise ValueError(
                f"{self.mac!r} is not a lower-case MAC address like 52:54:00:12:34:56"
            )
        if self.kind == "hostdev":
            if self.pci_address is None:
                raise ValueError("an SR-IOV (hostdev) interface needs the VF's PCI address")
        elif not self.source:
            raise ValueError(f"a {self.kind} interface needs a source")
        if self.kind == "direct":
            if self.mode not in MACVLAN_MODES:
                raise ValueError(
                    f"macvlan mode {self.mode!r} is not one of {', '.join(MACVLAN_MODES)}"
                )
        elif self.mode is not None:
            raise ValueError(f"mode is only for direct (macvlan) interfaces, not {self.kind}")
        if self.vlan is not None and not 0 <= self.vlan <= 4095:
            raise ValueError(f"VLAN tag {self.vlan} is out of range 0-4095")
        if self.boot_order is not None:
            _check_positive("interface boot_order", self.boot_order)

    def to_element(self) -> ET.Element:
        """``<interface type=...>``."""
        attrs = {"type": self.kind}
        if self.kind == "hostdev":
            attrs["managed"] = "yes"
        nic = ET.Element("interface", attrs)
        if self.mac:
            _sub(nic, "mac", address=self.mac)
        if self.kind == "network":
            _sub(nic, "source", network=self.source)
        elif self.kind == "bridge":
            _sub(nic, "source", bridge=self.source)
        elif self.kind == "direct":
            _sub(nic, "source", dev=self.source, mode=self.mode)
        else:
            assert self.pci_address is not None
            _sub(nic, "driver", name="vfio")
            _sub(nic, "source").append(self.pci_address.to_element())
        if self.vlan is not None:
            _sub(_sub(nic, "vlan"), "tag", id=self.vlan)
        if self.model and self.kind != "hostdev":
            _sub(nic, "model", type_=self.model)
        if self.boot_order is not None:
            _sub(nic, "boot", order=self.boot_order)
        return nic


@dataclasses.dataclass(frozen=True, slots=True)
class Serial(XmlBuilder):
    """A pty serial port (optionally logged to a file) and the console on it."""

    port: int = 0
    log_file: str | None = None

    def to_element(self) -> ET.Element:
        """``<serial type='pty'>`` (the matching ``<console>`` comes from ``console()``)."""
        serial = ET.Element("serial", {"type": "pty"})
        if self.log_file:
            _sub(serial, "log", file=self.log_file, append="on")
        _sub(serial, "target", port=self.port)
        return serial

    def console(self) -> ET.Element:
        """``<console type='pty'><target type='serial' port/></console>``."""
        console = ET.Element("console", {"type": "pty"})
        _sub(console, "target", type_="serial", port=self.port)
        return console


@dataclasses.dataclass(frozen=True, slots=True)
class Devices(XmlBuilder):
    """``<devices>``: emulator, disks, NICs, serial console, balloon."""

    disks: tuple[Disk, ...] = ()
    interfaces: tuple[Interface, ...] = ()
    serials: tuple[Serial, ...] = (Serial(),)
    emulator: str | None = None
    memballoon: str | None = "virtio"

    def __post_init__(self) -> None:
        targets = [d.target for d in self.disks]
        if len(set(targets)) != len(targets):
            raise ValueError("two disks have the same target device")
        macs = [i.mac for i in self.interfaces if i.mac]
        if len(set(macs)) != len(macs):
            raise ValueError("two interfaces have the same MAC address")
        vfs = [i.pci_address for i in self.interfaces if i.pci_address]
        if len(set(vfs)) != len(vfs):
            raise ValueError("two interfaces use the same virtual function")
        orders = [d.boot_order for d in self.disks if d.boot_order] + [
            i.boot_order for i in self.interfaces if i.boot_order
        ]
        if len(set(orders)) != len(orders):
            raise ValueError("two devices have the same boot order")

    @property
    def has_boot_order(self) -> bool:
        """Whether any device carries a per-device ``<boot order>``."""
        return any(d.boot_order for d in self.disks) or any(i.boot_order for i in self.interfaces)

    def to_element(self) -> ET.Element:
        """``<devices/>``."""
        devices = ET.Element("devices")
        if self.emulator:
            _sub(devices, "emulator", self.emulator)
        for disk in self.disks:
            devices.append(disk.to_element())
        for nic in self.interfaces:
            devices.append(nic.to_element())
        for serial in self.serials:
            devices.append(serial.to_element())
        if self.serials:
            devices.append(self.serials[0].console())
        if self.memballoon:
            _sub(devices, "memballoon", model=self.memballoon)
        return devices


@dataclasses.dataclass(frozen=True, slots=True)
class Os(XmlBuilder):
    """``<os>``: guest type, arch, machine and the boot order (network, then disk)."""

    arch: str = "x86_64"
    machine: str | None = None
    type: str = "hvm"
    boot_devices: tuple[str, ...] = ("network", "hd")

    def __post_init__(self) -> None:
        for dev in self.boot_devices:
            if dev not in BOOT_DEVICES:
                raise ValueError(f"boot device {dev!r} is not one of {', '.join(BOOT_DEVICES)}")
        if len(set(self.boot_devices)) != len(self.boot_devices):
            raise ValueError("a boot device is listed twice")

    def to_element(self) -> ET.Element:
        """``<os/>``."""
        os_element = ET.Element("os")
        _sub(os_element, "type", self.type, arch=self.arch, machine=self.machine)
        for dev in self.boot_devices:
            _sub(os_element, "boot", dev=dev)
        return os_element


@dataclasses.dataclass(frozen=True, slots=True)
class VolumeRef:
    """A storage volume recorded in vmhost's domain metadata."""

    pool: str
    name: str


@dataclasses.dataclass(frozen=True, slots=True)
class VmhostMetadata(XmlBuilder):
    """``<vmhost:vm>`` in ``<metadata>``: marks a composed domain and the volumes it created.

    Decompose reads it back to remove exactly the volumes vmhost made, even when the caller
    does not list them.
    """

    volumes: tuple[VolumeRef, ...] = ()
    hostname: str = ""

    def to_element(self) -> ET.Element:
        """``<vmhost:vm xmlns:vmhost=...>`` (prefix written literally; no global registry)."""
        vm = ET.Element("vmhost:vm", {"xmlns:vmhost": VMHOST_XMLNS})
        if self.hostname:
            _sub(vm, "vmhost:hostname", self.hostname)
        for ref in self.volumes:
            _sub(vm, "vmhost:volume", pool=ref.pool, name=ref.name)
        return vm

    @classmethod
    def from_domain(cls, domain: ET.Element) -> VmhostMetadata | None:
        """The metadata of a parsed ``<domain>``, or None when vmhost did not compose it."""
        vm = domain.find(f"metadata/{{{VMHOST_XMLNS}}}vm")
        if vm is None:
            return None
        hostname = vm.findtext(f"{{{VMHOST_XMLNS}}}hostname") or ""
        volumes = tuple(
            VolumeRef(v.get("pool", ""), v.get("name", ""))
            for v in vm.findall(f"{{{VMHOST_XMLNS}}}volume")
            if v.get("pool") and v.get("name")
        )
        return cls(volumes=volumes, hostname=hostname)


@dataclasses.dataclass(frozen=True, slots=True)
class Domain(XmlBuilder):
    """``<domain type>``: the whole guest definition."""

    name: str
    memory_mib: int
    vcpu: Vcpu
    type: str = "kvm"
    uuid: str | None = None
    cpu: Cpu | None = None
    cputune: CpuTune | None = None
    numatune: NumaTune | None = None
    memory_backing: MemoryBacking | None = None
    os: Os = Os()
    devices: Devices = Devices()
    acpi: bool = True
    apic: bool = True
    metadata: VmhostMetadata | None = None
    on_poweroff: str = "destroy"
    on_reboot: str = "restart"
    on_crash: str = "restart"

    def __post_init__(self) -> None:
        _check_name("domain name", self.name)
        _check_positive("memory_mib", self.memory_mib)
        if self.os.boot_devices and self.devices.has_boot_order:
            raise ValueError(
                "libvirt refuses per-device boot order together with <os><boot dev>; use one"
            )
        if self.cputune is not None:
            for pin in self.cputune.vcpupins:
                if pin.vcpu >= self.vcpu.count:
                    raise ValueError(f"vCPU {pin.vcpu} is pinned but there are {self.vcpu.count}")
        self._check_cpu()
        self._check_memory()

    def _check_cpu(self) -> None:
        if self.cpu is None:
            return
        if self.cpu.topology is not None and self.cpu.topology.vcpus != self.vcpu.count:
            raise ValueError(
                f"CPU topology gives {self.cpu.topology.vcpus} vCPUs, not {self.vcpu.count}"
            )
        if self.cpu.numa_cells:
            cell_cpus = sorted(c for cell in self.cpu.numa_cells for c in cell.cpus)
            if cell_cpus != list(range(self.vcpu.count)):
                raise ValueError("guest NUMA cells must hold every vCPU exactly once")
            cell_kib = sum(cell.memory_kib for cell in self.cpu.numa_cells)
            if cell_kib != self.memory_mib * 1024:
                raise ValueError(
                    f"guest NUMA cells hold {cell_kib} KiB, the domain {self.memory_mib} MiB"
                )

    def _check_memory(self) -> None:
        cell_ids = {c.id for c in self.cpu.numa_cells} if self.cpu else set()
        if self.numatune is not None:
            for memnode in self.numatune.memnodes:
                if memnode.cellid not in cell_ids:
                    raise ValueError(
                        f"memnode for guest cell {memnode.cellid}, which is not defined"
                    )
        if self.memory_backing is not None:
            for page in self.memory_backing.pages:
                if page.nodeset and not set(page.nodeset) <= cell_ids:
                    raise ValueError(
                        "hugepage nodeset names guest NUMA cells that are not defined"
                    )
                if (self.memory_mib * 1024) % page.size_kib:
                    raise ValueError(
                        f"memory {self.memory_mib} MiB is not a whole number of "
                        f"{page.size_kib} KiB hugepages"
                    )

    def to_element(self) -> ET.Element:
        """``<domain/>``."""
        domain = ET.Element("domain", {"type": self.type})
        _sub(domain, "name", self.name)
        if self.uuid:
            _sub(domain, "uuid", self.uuid)
        if self.metadata is not None:
            _sub(domain, "metadata").append(self.metadata.to_element())
        _sub(domain, "memory", str(self.memory_mib), unit="MiB")
        _sub(domain, "currentMemory", str(self.memory_mib), unit="MiB")
        if self.memory_backing is not None:
            domain.append(self.memory_backing.to_element())
        domain.append(self.vcpu.to_element())
        if self.cputune is not None:
            domain.append(self.cputune.to_element())
        if self.numatune is not None:
            domain.append(self.numatune.to_element())
        domain.append(self.os.to_element())
        if self.acpi or self.apic:
            features = _sub(domain, "features")
            if self.acpi:
                _sub(features, "acpi")
            if self.apic:
                _sub(features, "apic")
        if self.cpu is not None:
            domain.append(self.cpu.to_element())
        _sub(domain, "on_poweroff", self.on_poweroff)
        _sub(domain, "on_reboot", self.on_reboot)
        _sub(domain, "on_crash", self.on_crash)
        domain.append(self.devices.to_element())
        return domain


# --- storage volumes ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Volume(XmlBuilder):
    """A storage volume: ``<volume><name/><capacity/><allocation/><target><format/>``.

    ``format=None`` renders no format (logical, zfs and disk pools have raw volumes only).
    """

    name: str
    capacity_bytes: int
    format: str | None = "qcow2"
    allocation_bytes: int = 0

    def __post_init__(self) -> None:
        if not _VOLUME_RE.match(self.name):
            raise ValueError(f"volume name {self.name!r} is not a valid libvirt volume name")
        _check_positive("volume capacity_bytes", self.capacity_bytes)
        if self.format is not None and self.format not in DISK_FORMATS:
            raise ValueError(f"volume format {self.format!r} is not one of qcow2, raw")
        if self.allocation_bytes < 0 or self.allocation_bytes > self.capacity_bytes:
            raise ValueError("volume allocation must be from 0 to its capacity")

    @property
    def disk_format(self) -> str:
        """How QEMU reads it: the format, raw when none is given."""
        return self.format or "raw"

    def to_element(self) -> ET.Element:
        """``<volume/>``."""
        volume = ET.Element("volume")
        _sub(volume, "name", self.name)
        _sub(volume, "capacity", str(self.capacity_bytes), unit="bytes")
        _sub(volume, "allocation", str(self.allocation_bytes), unit="bytes")
        if self.format is not None:
            target = _sub(volume, "target")
            _sub(target, "format", type_=self.format)
        return volume
