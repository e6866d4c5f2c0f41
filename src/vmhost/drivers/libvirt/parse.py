"""What a libvirt host has, from libvirt's XML: pure parsers, tested on recorded XML.

Capabilities (CPU arch, NUMA cells, hugepages, the guests offered), storage pools, networks,
host interfaces and node devices (physical NICs, SR-IOV functions) become model objects and the
facts ``designer`` needs. A domain's XML is parsed in ``parse_domain``; the calls that fetch
all of this are in ``scan``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping

from vmhost import model

from . import domain_xml as dx
from .facts import GuestFacts, PoolFacts

_VIRTUAL_NIC_PREFIXES = ("vnet", "macvtap", "tap", "veth", "virbr", "ifb", "dummy", "docker")


def xml_root(text: str) -> ET.Element:
    """Parse XML the libvirt daemon produced."""
    return ET.fromstring(text)  # noqa: S314 - trusted: XML produced by the libvirt daemon


def to_int(text: str | None, default: int = 0) -> int:
    """An integer attribute or text; ``default`` when absent or unreadable."""
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def size_kib(element: ET.Element | None) -> int:
    """An element's size in KiB, honouring its ``unit`` attribute."""
    if element is None or element.text is None:
        return 0
    value = to_int(element.text.strip())
    unit = (element.get("unit") or "KiB").lower()
    factors = {
        "b": 1 / 1024,
        "bytes": 1 / 1024,
        "k": 1,
        "kib": 1,
        "kb": 1000 / 1024,
        "m": 1024,
        "mib": 1024,
        "mb": 1000**2 / 1024,
        "g": 1024**2,
        "gib": 1024**2,
        "gb": 1000**3 / 1024,
        "t": 1024**3,
        "tib": 1024**3,
        "tb": 1000**4 / 1024,
    }
    return int(value * factors.get(unit, 1))


# --- capabilities ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Capabilities:
    """The parts of ``virConnectGetCapabilities`` vmhost uses."""

    arch: str
    numa_nodes: tuple[model.NumaNode, ...]
    page_sizes_kib: tuple[int, ...]
    guests: tuple[GuestFacts, ...]

    @property
    def hugepage_sizes_kib(self) -> tuple[int, ...]:
        """Page sizes above the base (smallest) one."""
        return tuple(s for s in self.page_sizes_kib if s > min(self.page_sizes_kib, default=0))


def parse_capabilities(text: str) -> Capabilities:
    """Host arch, NUMA cells (CPUs, memory, hugepages per size) and the guests offered."""
    root = xml_root(text)
    host = root.find("host")
    arch = (host.findtext("cpu/arch") if host is not None else None) or "x86_64"
    sizes = sorted(
        {to_int(p.get("size")) for p in root.iterfind("host/cpu/pages") if p.get("size")}
        | {to_int(p.get("size")) for p in root.iterfind("host/topology/cells/cell/pages")}
    )
    base = sizes[0] if sizes else 4
    nodes: list[model.NumaNode] = []
    for cell in root.iterfind("host/topology/cells/cell"):
        cpus = tuple(sorted(to_int(c.get("id")) for c in cell.iterfind("cpus/cpu")))
        hugepages = tuple(
            model.Hugepages(page_size_kib=to_int(p.get("size")), total_pages=to_int(p.text))
            for p in cell.iterfind("pages")
            if to_int(p.get("size")) > base
        )
        nodes.append(
            model.NumaNode(
                index=to_int(cell.get("id")),
                cores=cpus,
                memory_mib=size_kib(cell.find("memory")) // 1024,
                hugepages=hugepages,
            )
        )
    guests: list[GuestFacts] = []
    for guest in root.iterfind("guest"):
        arch_el = guest.find("arch")
        if arch_el is None:
            continue
        types = tuple(d.get("type", "") for d in arch_el.iterfind("domain") if d.get("type"))
        guests.append(
            GuestFacts(
                arch=arch_el.get("name", ""),
                domain_types=types,
                os_type=guest.findtext("os_type") or "hvm",
                emulator=arch_el.findtext("emulator"),
            )
        )
    return Capabilities(
        arch=arch,
        numa_nodes=tuple(sorted(nodes, key=lambda n: n.index)),
        page_sizes_kib=tuple(sizes),
        guests=tuple(guests),
    )


def with_free_hugepages(
    nodes: Iterable[model.NumaNode], free: Mapping[int, Mapping[int, int]]
) -> tuple[model.NumaNode, ...]:
    """Fill ``free_pages`` from ``getFreePages``' answer ``{cell: {size_kib: free}}``."""
    result = []
    for node in nodes:
        per_size = free.get(node.index, {})
        pages = tuple(
            dataclasses.replace(h, free_pages=per_size.get(h.page_size_kib))
            for h in node.hugepages
        )
        result.append(dataclasses.replace(node, hugepages=pages))
    return tuple(result)


# --- storage pools -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class PoolInfo:
    """A pool as parsed: the model object and the facts the designer needs."""

    pool: model.StoragePool
    facts: PoolFacts


def parse_pool(text: str, active: bool = True) -> PoolInfo:
    """A ``<pool>``: name, type, UUID (vmhost's pool_id), path, capacity/allocation/available."""
    root = xml_root(text)
    name = root.findtext("name") or ""
    kind = root.get("type", "")
    uuid = root.findtext("uuid") or ""
    path = root.findtext("target/path") or root.findtext("source/name") or ""
    capacity = _kib_bytes(root.find("capacity"))
    allocation = _kib_bytes(root.find("allocation"))
    available = _kib_bytes(root.find("available"))
    if available == 0 and capacity and allocation and not active:
        available = max(capacity - allocation, 0)
    pool = model.StoragePool(
        name=name,
        type=kind,
        path=path,
        total_bytes=capacity,
        used_bytes=max(capacity - available, 0),
        pool_id=uuid or name,
    )
    facts = PoolFacts(
        name=name, type=kind, uuid=uuid, path=path, available_bytes=available, active=active
    )
    return PoolInfo(pool, facts)


def _kib_bytes(element: ET.Element | None) -> int:
    """A size element in bytes (pool XML says ``unit='bytes'``)."""
    if element is None or element.text is None:
        return 0
    unit = (element.get("unit") or "bytes").lower()
    if unit in ("bytes", "b"):
        return to_int(element.text.strip())
    return size_kib(element) * 1024


# --- networks, bridges, NICs, SR-IOV -----------------------------------------------------------


def parse_network(text: str) -> tuple[model.Network, str]:
    """A libvirt ``<network>``: the model network and its bridge name."""
    root = xml_root(text)
    cidr = ""
    for ip in root.iterfind("ip"):
        family = ip.get("family", "ipv4")
        address = ip.get("address")
        if not address or family != "ipv4":
            continue
        prefix = ip.get("prefix") or ip.get("netmask") or "24"
        try:
            cidr = str(ipaddress.ip_interface(f"{address}/{prefix}").network)
        except ValueError:
            cidr = ""
        break
    bridge = root.find("bridge")
    return (
        model.Network(
            name=root.findtext("name") or "",
            kind=model.NetworkKind.NETWORK,
            cidr=cidr,
            managed=True,
        ),
        bridge.get("name", "") if bridge is not None else "",
    )


@dataclasses.dataclass(frozen=True, slots=True)
class HostInterface:
    """A host interface from ``listAllInterfaces``: name, type and bridge members."""

    name: str
    type: str
    members: tuple[str, ...] = ()


def parse_interface(text: str) -> HostInterface:
    """``<interface type='bridge|ethernet|bond|vlan' name>`` with its bridge members."""
    root = xml_root(text)
    members = tuple(
        i.get("name", "") for i in root.iterfind("bridge/interface") if i.get("name")
    ) + tuple(i.get("name", "") for i in root.iterfind("bond/interface") if i.get("name"))
    return HostInterface(root.get("name", ""), root.get("type", ""), members)


@dataclasses.dataclass(frozen=True, slots=True)
class NodeNet:
    """A ``net`` node device: interface name, its parent device and whether it is virtual."""

    interface: str
    parent: str
    virtual: bool


def parse_net_device(text: str) -> NodeNet | None:
    """A node device with ``<capability type='net'>``."""
    root = xml_root(text)
    cap = root.find("capability[@type='net']")
    if cap is None:
        return None
    path = root.findtext("path") or ""
    return NodeNet(
        interface=cap.findtext("interface") or "",
        parent=root.findtext("parent") or "",
        virtual="/virtual/" in path,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class PciDevice:
    """A PCI node device: its address, NUMA node and SR-IOV relations."""

    name: str
    address: dx.PciAddress
    numa_node: int | None = None
    max_vfs: int = 0
    vfs: tuple[dx.PciAddress, ...] = ()
    physical_function: dx.PciAddress | None = None


def parse_pci_device(text: str) -> PciDevice | None:
    """A node device with ``<capability type='pci'>`` (virt_functions / phys_function)."""
    root = xml_root(text)
    cap = root.find("capability[@type='pci']")
    if cap is None:
        return None
    address = dx.PciAddress(
        to_int(cap.findtext("domain")),
        to_int(cap.findtext("bus")),
        to_int(cap.findtext("slot")),
        to_int(cap.findtext("function")),
    )
    numa = cap.find("numa")
    numa_node = to_int(numa.get("node"), -1) if numa is not None else -1
    vf_cap = cap.find("capability[@type='virt_functions']")
    vfs: tuple[dx.PciAddress, ...] = ()
    max_vfs = 0
    if vf_cap is not None:
        vfs = tuple(dx.PciAddress.from_element(a) for a in vf_cap.iterfind("address"))
        max_vfs = to_int(vf_cap.get("maxCount"), len(vfs))
    pf_cap = cap.find("capability[@type='phys_function']/address")
    return PciDevice(
        name=root.findtext("name") or "",
        address=address,
        numa_node=numa_node if numa_node >= 0 else None,
        max_vfs=max_vfs,
        vfs=vfs,
        physical_function=dx.PciAddress.from_element(pf_cap) if pf_cap is not None else None,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class SriovPf:
    """An SR-IOV physical function: its netdev name, NUMA node and enabled VFs."""

    name: str
    pci_address: dx.PciAddress
    numa_node: int | None
    max_vfs: int
    vfs: tuple[dx.PciAddress, ...]


def sriov_pfs(pci: Iterable[PciDevice], nets: Iterable[NodeNet]) -> tuple[SriovPf, ...]:
    """Physical functions with SR-IOV, named after their network interface."""
    netdev_of = {n.parent: n.interface for n in nets if n.parent}
    pfs = []
    for device in pci:
        if device.max_vfs <= 0 and not device.vfs:
            continue
        pfs.append(
            SriovPf(
                name=netdev_of.get(device.name, str(device.address)),
                pci_address=device.address,
                numa_node=device.numa_node,
                max_vfs=device.max_vfs,
                vfs=device.vfs,
            )
        )
    return tuple(sorted(pfs, key=lambda p: p.name))


def host_networks(
    networks: Iterable[tuple[model.Network, str]],
    interfaces: Iterable[HostInterface],
    nets: Iterable[NodeNet],
    pci: Iterable[PciDevice] = (),
) -> tuple[model.Network, ...]:
    """libvirt networks, then host bridges (not a network's own), then physical NICs.

    Physical NICs (for macvlan) are the non-virtual ``net`` devices that are not bridge or
    bond members and not SR-IOV virtual functions.
    """
    result: list[model.Network] = []
    network_bridges = set()
    for network, bridge in networks:
        result.append(network)
        network_bridges.add(bridge)
    members: set[str] = set()
    interfaces = list(interfaces)
    for iface in interfaces:
        members.update(iface.members)
    seen = {n.name for n in result}
    for iface in sorted(interfaces, key=lambda i: i.name):
        if iface.type == "bridge" and iface.name not in network_bridges | seen:
            result.append(model.Network(iface.name, model.NetworkKind.BRIDGE, managed=False))
            seen.add(iface.name)
    vf_devices = {p.name for p in pci if p.physical_function is not None}
    for net in sorted(nets, key=lambda n: n.interface):
        name = net.interface
        if (
            not name
            or net.virtual
            or name == "lo"
            or name.startswith(_VIRTUAL_NIC_PREFIXES)
            or name in members
            or name in seen
            or net.parent in vf_devices
        ):
            continue
        result.append(model.Network(name, model.NetworkKind.PHYSICAL, managed=False))
        seen.add(name)
    return tuple(result)
