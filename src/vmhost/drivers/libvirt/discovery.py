"""What a libvirt host has: pure parsers of libvirt's XML, and the calls that fetch it.

The parsers (``parse_*``) take XML text and return model objects; they are tested on recorded
XML. ``scan()`` makes the libvirt calls, few of them: capabilities and node info once, one
pass over every pool, network, interface and node device, and ONE pass over the domains
(``getAllDomainStats``, which lists them with state and the capacity of every disk libvirt can
size itself: running domains' disks and stopped domains' disks given by path) plus each
domain's XML. The remaining disks (stopped domains' ``<source pool= volume=>`` disks) are sized
from one volume listing per pool they use and one ``info()`` per volume. libvirt has no bulk
call for domain XML or volume sizes, so with many domains those per-item calls run a few at a
time on the same connection (``workers``; libvirtd serves 5 calls per client at once by
default): on a remote host each call costs a network round trip.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import posixpath
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from vmhost import model

from . import designer
from . import domain_xml as dx

LOG = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

# Per-item libvirt calls (domain XML, volume info) in flight at once on one connection, when
# there are at least FETCH_THRESHOLD of them; libvirtd's default max_client_requests is 5.
FETCH_WORKERS = 4
FETCH_THRESHOLD = 32

# libvirt domain states (virDomainState) -> vmhost power states
_POWER = {
    0: "unknown",  # no state
    1: "running",
    2: "running",  # blocked on resource
    3: "stopped",  # paused (MAAS: off)
    4: "running",  # being shut down
    5: "stopped",  # shut off
    6: "stopped",  # crashed
    7: "stopped",  # suspended by guest power management
}
_VIRTUAL_NIC_PREFIXES = ("vnet", "macvtap", "tap", "veth", "virbr", "ifb", "dummy", "docker")


def power_state(state: int) -> str:
    """libvirt's domain state number -> ``running`` / ``stopped`` / ``unknown``."""
    return _POWER.get(state, "unknown")


def _xml(text: str) -> ET.Element:
    return ET.fromstring(text)  # noqa: S314 - trusted: XML produced by the libvirt daemon


def _int(text: str | None, default: int = 0) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


def _kib(element: ET.Element | None) -> int:
    """An element's size in KiB, honouring its ``unit`` attribute."""
    if element is None or element.text is None:
        return 0
    value = _int(element.text.strip())
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
    guests: tuple[designer.GuestFacts, ...]

    @property
    def hugepage_sizes_kib(self) -> tuple[int, ...]:
        """Page sizes above the base (smallest) one."""
        return tuple(s for s in self.page_sizes_kib if s > min(self.page_sizes_kib, default=0))


def parse_capabilities(text: str) -> Capabilities:
    """Host arch, NUMA cells (CPUs, memory, hugepages per size) and the guests offered."""
    root = _xml(text)
    host = root.find("host")
    arch = (host.findtext("cpu/arch") if host is not None else None) or "x86_64"
    sizes = sorted(
        {_int(p.get("size")) for p in root.iterfind("host/cpu/pages") if p.get("size")}
        | {_int(p.get("size")) for p in root.iterfind("host/topology/cells/cell/pages")}
    )
    base = sizes[0] if sizes else 4
    nodes: list[model.NumaNode] = []
    for cell in root.iterfind("host/topology/cells/cell"):
        cpus = tuple(sorted(_int(c.get("id")) for c in cell.iterfind("cpus/cpu")))
        hugepages = tuple(
            model.Hugepages(page_size_kib=_int(p.get("size")), total_pages=_int(p.text))
            for p in cell.iterfind("pages")
            if _int(p.get("size")) > base
        )
        nodes.append(
            model.NumaNode(
                index=_int(cell.get("id")),
                cores=cpus,
                memory_mib=_kib(cell.find("memory")) // 1024,
                hugepages=hugepages,
            )
        )
    guests: list[designer.GuestFacts] = []
    for guest in root.iterfind("guest"):
        arch_el = guest.find("arch")
        if arch_el is None:
            continue
        types = tuple(d.get("type", "") for d in arch_el.iterfind("domain") if d.get("type"))
        guests.append(
            designer.GuestFacts(
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
    facts: designer.PoolFacts


def parse_pool(text: str, active: bool = True) -> PoolInfo:
    """A ``<pool>``: name, type, UUID (vmhost's pool_id), path, capacity/allocation/available."""
    root = _xml(text)
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
    facts = designer.PoolFacts(
        name=name, type=kind, uuid=uuid, path=path, available_bytes=available, active=active
    )
    return PoolInfo(pool, facts)


def _kib_bytes(element: ET.Element | None) -> int:
    """A size element in bytes (pool XML says ``unit='bytes'``)."""
    if element is None or element.text is None:
        return 0
    unit = (element.get("unit") or "bytes").lower()
    if unit in ("bytes", "b"):
        return _int(element.text.strip())
    return _kib(element) * 1024


# --- networks, bridges, NICs, SR-IOV -----------------------------------------------------------


def parse_network(text: str) -> tuple[model.Network, str]:
    """A libvirt ``<network>``: the model network and its bridge name."""
    root = _xml(text)
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
    root = _xml(text)
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
    root = _xml(text)
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
    root = _xml(text)
    cap = root.find("capability[@type='pci']")
    if cap is None:
        return None
    address = dx.PciAddress(
        _int(cap.findtext("domain")),
        _int(cap.findtext("bus")),
        _int(cap.findtext("slot")),
        _int(cap.findtext("function")),
    )
    numa = cap.find("numa")
    numa_node = _int(numa.get("node"), -1) if numa is not None else -1
    vf_cap = cap.find("capability[@type='virt_functions']")
    vfs: tuple[dx.PciAddress, ...] = ()
    max_vfs = 0
    if vf_cap is not None:
        vfs = tuple(dx.PciAddress.from_element(a) for a in vf_cap.iterfind("address"))
        max_vfs = _int(vf_cap.get("maxCount"), len(vfs))
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


# --- domains -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class DiskRef:
    """A disk as the domain XML states it; the pool/volume may need resolving from the path."""

    target: str
    pool: str = ""
    volume: str = ""
    path: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class ParsedDomain:
    """What one domain XML says (before sizes and pools are resolved)."""

    name: str
    uuid: str
    cores: int
    memory_mib: int
    arch: str
    pinned_cores: tuple[int, ...]
    hugepages_backed: bool
    numa_nodes: tuple[int, ...]
    disks: tuple[DiskRef, ...]
    nics: tuple[model.DiscoveredNic, ...]
    vf_addresses: tuple[dx.PciAddress, ...]
    metadata: dx.VmhostMetadata | None
    active: bool


def _parse_disks(root: ET.Element) -> tuple[DiskRef, ...]:
    disks = []
    for disk in root.iterfind("devices/disk"):
        if disk.get("device", "disk") != "disk":
            continue
        source = disk.find("source")
        target = disk.find("target")
        attrs = source.attrib if source is not None else {}
        disks.append(
            DiskRef(
                target=target.get("dev", "") if target is not None else "",
                pool=attrs.get("pool", ""),
                volume=attrs.get("volume", ""),
                path=attrs.get("file") or attrs.get("dev") or "",
            )
        )
    return tuple(disks)


def _parse_nics(
    root: ET.Element,
) -> tuple[tuple[model.DiscoveredNic, ...], tuple[dx.PciAddress, ...]]:
    """NICs (hostdev ones name their VF's PCI address) and every PCI address passed through."""
    nics: list[model.DiscoveredNic] = []
    vf_addresses: list[dx.PciAddress] = []
    for index, nic in enumerate(root.iterfind("devices/interface")):
        kind_text = nic.get("type", "")
        mac = nic.find("mac")
        source = nic.find("source")
        attrs = source.attrib if source is not None else {}
        if kind_text == "hostdev":
            address = nic.find("source/address")
            network = ""
            if address is not None:
                vf = dx.PciAddress.from_element(address)
                vf_addresses.append(vf)
                network = str(vf)
            kind = model.NetworkKind.SRIOV
        elif kind_text == "direct":
            kind, network = model.NetworkKind.MACVLAN, attrs.get("dev", "")
        elif kind_text == "network":
            kind, network = model.NetworkKind.NETWORK, attrs.get("network", "")
        else:
            kind, network = model.NetworkKind.BRIDGE, attrs.get("bridge", "")
        nics.append(
            model.DiscoveredNic(
                name=f"eth{index}",
                mac_address=(mac.get("address", "") if mac is not None else "").lower(),
                kind=kind,
                network=network,
            )
        )
    for hostdev in root.iterfind("devices/hostdev[@type='pci']"):
        address = hostdev.find("source/address")
        if address is not None:
            vf_addresses.append(dx.PciAddress.from_element(address))
    return tuple(nics), tuple(vf_addresses)


def parse_domain(text: str) -> ParsedDomain:
    """vCPUs, memory, pinning, hugepages, NUMA, disks (pool/volume or path), NICs, VFs."""
    root = _xml(text)
    vcpu = root.find("vcpu")
    cores = _int(vcpu.get("current") if vcpu is not None else None, 0) or _int(
        vcpu.text if vcpu is not None else None, 1
    )
    pinned: set[int] = set()
    for pin in root.iterfind("cputune/vcpupin"):
        try:
            pinned.update(dx.parse_cpuset(pin.get("cpuset", "")))
        except ValueError:
            LOG.warning("domain %s: unreadable vcpupin %r", root.findtext("name"), pin.attrib)
    numa_nodes: tuple[int, ...] = ()
    memory_tune = root.find("numatune/memory")
    if memory_tune is not None and memory_tune.get("nodeset"):
        try:
            numa_nodes = dx.parse_cpuset(memory_tune.get("nodeset", ""))
        except ValueError:
            numa_nodes = ()
    nics, vf_addresses = _parse_nics(root)
    memory_kib = _kib(root.find("memory"))
    os_type = root.find("os/type")
    return ParsedDomain(
        name=root.findtext("name") or "",
        uuid=root.findtext("uuid") or "",
        cores=cores,
        memory_mib=memory_kib // 1024,
        arch=os_type.get("arch", "") if os_type is not None else "",
        pinned_cores=tuple(sorted(pinned)),
        hugepages_backed=root.find("memoryBacking/hugepages") is not None,
        numa_nodes=numa_nodes,
        disks=_parse_disks(root),
        nics=nics,
        vf_addresses=vf_addresses,
        metadata=dx.VmhostMetadata.from_domain(root),
        active=root.get("id") not in (None, "-1"),
    )


def fetch_all(fn: Callable[[T], R], items: Sequence[T], workers: int = FETCH_WORKERS) -> list[R]:
    """``[fn(item) for item in items]``, a few at a time when there are many.

    For per-item libvirt calls on one connection (the bindings release the GIL while a call
    waits for the daemon). The first exception is raised, after the calls in flight end.
    """
    if workers <= 1 or len(items) < FETCH_THRESHOLD:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="libvirt-scan") as pool:
        return list(pool.map(fn, items))


def pool_of_path(path: str, pools: Iterable[designer.PoolFacts]) -> tuple[str, str]:
    """(pool, volume) for a disk path inside a pool's target directory; ("", "") if none."""
    best = ("", "")
    best_len = -1
    for pool in pools:
        root = pool.path.rstrip("/")
        if root and path.startswith(root + "/") and len(root) > best_len:
            best = (pool.name, posixpath.relpath(path, root))
            best_len = len(root)
    return best


def disk_location(ref: DiskRef, pools: Iterable[designer.PoolFacts]) -> tuple[str, str]:
    """(pool, volume) of a disk: as its source names them, or found from its path."""
    if not ref.pool and ref.path:
        return pool_of_path(ref.path, pools)
    return ref.pool, ref.volume


def to_discovered_vm(
    parsed: ParsedDomain,
    *,
    state: int,
    pools: Iterable[designer.PoolFacts],
    node_of_core: Mapping[int, int],
    size_of: Callable[[DiskRef, str, str], int],
    pf_of_vf: Mapping[dx.PciAddress, str],
) -> model.DiscoveredVm:
    """A parsed domain plus its state and resolved disks -> ``model.DiscoveredVm``."""
    pools = list(pools)
    disks = []
    for ref in parsed.disks:
        pool, volume = disk_location(ref, pools)
        disks.append(
            model.DiscoveredDisk(
                name=ref.target,
                size_bytes=size_of(ref, pool, volume),
                pool=pool,
                volume=volume,
            )
        )
    nics = tuple(
        dataclasses.replace(
            nic, network=pf_of_vf.get(dx.PciAddress.parse(nic.network), nic.network)
        )
        if nic.kind is model.NetworkKind.SRIOV and nic.network
        else nic
        for nic in parsed.nics
    )
    numa_node = None
    if len(parsed.numa_nodes) == 1:
        numa_node = parsed.numa_nodes[0]
    elif parsed.pinned_cores:
        nodes = {node_of_core.get(c) for c in parsed.pinned_cores}
        if len(nodes) == 1 and None not in nodes:
            numa_node = nodes.pop()
    return model.DiscoveredVm(
        name=parsed.name,
        cores=parsed.cores,
        memory_mib=parsed.memory_mib,
        pinned_cores=parsed.pinned_cores,
        hugepages_backed=parsed.hugepages_backed,
        numa_node=numa_node,
        disks=tuple(disks),
        nics=nics,
        power_state=power_state(state),
        instance_type=model.InstanceType.VIRTUAL_MACHINE.value,
        uuid=parsed.uuid,
        architecture=designer.vmhost_arch(parsed.arch) if parsed.arch else "",
    )


# --- the calls ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Scan:
    """One refresh: the inventory vmhost stores and the facts compose designs with."""

    inventory: model.HostInventory
    facts: designer.HostFacts
    capabilities: Capabilities


def _version(number: int) -> str:
    return f"{number // 1_000_000}.{number // 1000 % 1000}.{number % 1000}"


def _safe(call: Callable[[], Any], default: Any, what: str) -> Any:
    """Optional facts: a host whose libvirt lacks an API still gets discovered."""
    import libvirt

    try:
        return call()
    except libvirt.libvirtError as exc:
        LOG.debug("%s unavailable: %s", what, exc)
        return default


def scan_pools(conn: Any, refresh: bool = False) -> tuple[PoolInfo, ...]:
    """Every storage pool (inactive ones too, marked so): one XML read each."""
    import libvirt

    result = []
    for pool in conn.listAllStoragePools():
        active = bool(pool.isActive())
        if refresh and active:
            try:
                pool.refresh(0)
            except libvirt.libvirtError as exc:  # e.g. a volume being built right now
                LOG.debug("pool %s not refreshed: %s", pool.name(), exc)
        result.append(parse_pool(pool.XMLDesc(0), active=active))
    return tuple(result)


def scan_networks(conn: Any) -> tuple[tuple[model.Network, str], ...]:
    """Active libvirt networks with their bridge names."""
    import libvirt

    flags = libvirt.VIR_CONNECT_LIST_NETWORKS_ACTIVE
    return tuple(parse_network(n.XMLDesc(0)) for n in conn.listAllNetworks(flags))


def scan_node_devices(conn: Any) -> tuple[tuple[NodeNet, ...], tuple[PciDevice, ...]]:
    """Network and PCI node devices (for physical NICs and SR-IOV)."""
    import libvirt

    nets: tuple[NodeNet, ...] = tuple(
        n
        for n in (
            parse_net_device(d.XMLDesc(0))
            for d in _safe(
                lambda: conn.listAllDevices(libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_NET),
                [],
                "net node devices",
            )
        )
        if n is not None
    )
    pci: tuple[PciDevice, ...] = tuple(
        p
        for p in (
            parse_pci_device(d.XMLDesc(0))
            for d in _safe(
                lambda: conn.listAllDevices(libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV),
                [],
                "PCI node devices",
            )
        )
        if p is not None
    )
    return nets, pci


def scan_interfaces(conn: Any) -> tuple[HostInterface, ...]:
    """Active host interfaces (bridges, NICs)."""
    import libvirt

    return tuple(
        parse_interface(i.XMLDesc(0))
        for i in _safe(
            lambda: conn.listAllInterfaces(libvirt.VIR_CONNECT_LIST_INTERFACES_ACTIVE),
            [],
            "host interfaces",
        )
    )


def scan_domains(
    conn: Any, workers: int = FETCH_WORKERS
) -> list[tuple[ParsedDomain, int, dict[str, Any]]]:
    """ONE pass over the domains: stats (state, block capacity) and each one's XML."""
    import libvirt

    stats_flags = libvirt.VIR_DOMAIN_STATS_STATE | libvirt.VIR_DOMAIN_STATS_BLOCK
    try:
        records = conn.getAllDomainStats(stats_flags, 0)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() not in (libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_ERR_INVALID_ARG):
            raise
        records = [(d, {"state.state": d.state()[0]}) for d in conn.listAllDomains(0)]

    def xml_of(record: tuple[Any, Any]) -> str | None:
        try:
            return str(record[0].XMLDesc(0))
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None  # undefined between the listing and now
            raise

    records = list(records)
    texts = fetch_all(xml_of, records, workers)
    return [
        (parse_domain(text), int(stats.get("state.state", 0)), dict(stats))
        for (_domain, stats), text in zip(records, texts, strict=True)
        if text is not None
    ]


def _block_capacity(stats: Mapping[str, Any]) -> dict[str, int]:
    """``{target: capacity}`` from a running domain's block stats."""
    result = {}
    for i in range(int(stats.get("block.count", 0))):
        name = stats.get(f"block.{i}.name")
        capacity = stats.get(f"block.{i}.capacity")
        if name and capacity is not None:
            result[str(name)] = int(capacity)
    return result


class _VolumeSizes:
    """Volume capacities: one volume listing per pool asked about, one ``info()`` per volume
    (those fetched together by ``prefetch``), each asked once."""

    def __init__(self, conn: Any, workers: int = FETCH_WORKERS) -> None:
        self.conn = conn
        self.workers = workers
        self.pools: dict[str, dict[str, Any]] = {}
        self.sizes: dict[tuple[str, str], int] = {}

    def _volumes(self, pool: str) -> dict[str, Any]:
        import libvirt

        if pool not in self.pools:
            try:
                handle = self.conn.storagePoolLookupByName(pool)
                self.pools[pool] = (
                    {v.name(): v for v in handle.listAllVolumes(0)} if handle.isActive() else {}
                )
            except libvirt.libvirtError:
                self.pools[pool] = {}
        return self.pools[pool]

    def _info(self, key: tuple[str, str]) -> int:
        import libvirt

        vol = self._volumes(key[0]).get(key[1])
        if vol is None:
            return 0
        try:
            return int(vol.info()[1])
        except libvirt.libvirtError:
            return 0

    def prefetch(self, keys: Iterable[tuple[str, str]]) -> None:
        """Size these (pool, volume) pairs now, a few calls at a time."""
        todo = [k for k in dict.fromkeys(keys) if k[0] and k[1] and k not in self.sizes]
        for pool in dict.fromkeys(p for p, _ in todo):
            self._volumes(pool)  # listings first, one per pool, before the threads start
        self.sizes.update(zip(todo, fetch_all(self._info, todo, self.workers), strict=True))

    def size(self, pool: str, volume: str) -> int:
        if not pool or not volume:
            return 0
        key = (pool, volume)
        if key not in self.sizes:
            self.sizes[key] = self._info(key)
        return self.sizes[key]


def scan(
    conn: Any,
    *,
    refresh_pools: bool = True,
    caps: Capabilities | None = None,
    workers: int = FETCH_WORKERS,
) -> Scan:
    """Everything about the host, as inventory (for the store) and facts (for compose)."""
    caps = caps or parse_capabilities(conn.getCapabilities())
    info = conn.getInfo()  # [model, memory MiB, cpus, MHz, nodes, sockets, cores, threads]
    numa = caps.numa_nodes
    sizes = list(caps.hugepage_sizes_kib)
    if numa and sizes:
        free = _safe(
            lambda: conn.getFreePages(sizes, numa[0].index, len(numa), 0), {}, "free hugepages"
        )
        numa = with_free_hugepages(numa, free or {})
    pools = scan_pools(conn, refresh=refresh_pools)
    networks = scan_networks(conn)
    interfaces = scan_interfaces(conn)
    nets, pci = scan_node_devices(conn)
    pfs = sriov_pfs(pci, nets)
    pf_of_vf = {vf: pf.name for pf in pfs for vf in pf.vfs}
    domains = scan_domains(conn, workers)

    pool_facts = [p.facts for p in pools]
    node_of_core = {c: n.index for n in caps.numa_nodes for c in n.cores}
    capacities = [_block_capacity(stats) for _parsed, _state, stats in domains]
    volumes = _VolumeSizes(conn, workers)
    volumes.prefetch(  # the disks libvirt's stats did not size
        disk_location(ref, pool_facts)
        for (parsed, _state, _stats), capacity in zip(domains, capacities, strict=True)
        for ref in parsed.disks
        if not capacity.get(ref.target)
    )
    vms = []
    used_vfs: set[dx.PciAddress] = set()
    for (parsed, state, _stats), capacity in zip(domains, capacities, strict=True):
        used_vfs.update(parsed.vf_addresses)

        def size_of(
            ref: DiskRef, pool: str, volume: str, capacity: dict[str, int] = capacity
        ) -> int:
            return capacity.get(ref.target) or volumes.size(pool, volume)

        vms.append(
            to_discovered_vm(
                parsed,
                state=state,
                pools=pool_facts,
                node_of_core=node_of_core,
                size_of=size_of,
                pf_of_vf=pf_of_vf,
            )
        )
    free_vfs = {pf.name: tuple(vf for vf in pf.vfs if vf not in used_vfs) for pf in pfs}
    all_networks = host_networks(networks, interfaces, nets, pci)
    host_guests = [g for g in caps.guests if g.arch == caps.arch and g.os_type == "hvm"]
    kvm = any("kvm" in g.domain_types for g in host_guests)
    reason = ""
    if not host_guests:
        reason = f"libvirt offers no hvm guests for {caps.arch}"
    elif not kvm:
        reason = "KVM is not available: VMs run emulated (QEMU TCG), slowly"
    hypervisor = _safe(conn.getVersion, 0, "hypervisor version")
    version = f"libvirt {_version(conn.getLibVersion())}"
    if hypervisor:
        version += f", {conn.getType()} {_version(hypervisor)}"
    inventory = model.HostInventory(
        cores=int(info[2]),
        memory_mib=int(info[1]),
        numa_nodes=numa,
        storage_pools=tuple(p.pool for p in pools if p.facts.active),
        networks=all_networks,
        sriov_nics=tuple(
            model.SriovNic(
                name=pf.name,
                total_vfs=len(pf.vfs),
                free_vfs=len(free_vfs[pf.name]),
                numa_node=pf.numa_node,
            )
            for pf in pfs
        ),
        vms=tuple(vms),
        version=version,
        architectures=(designer.vmhost_arch(caps.arch),),
        cpu_speed_mhz=int(info[3]),
        can_run_vms=bool(host_guests),
        can_run_containers=False,
        vm_unsupported_reason=reason,
        name=_safe(conn.getHostname, "", "hostname"),
    )
    facts = designer.HostFacts(
        arch=caps.arch,
        guests=caps.guests,
        numa_nodes=caps.numa_nodes,
        pools=tuple(pool_facts),
        networks={n.name: n.kind for n in all_networks},
        free_vfs=free_vfs,
        default_hugepage_kib=2048 if 2048 in sizes or not sizes else sizes[0],
    )
    return Scan(inventory=inventory, facts=facts, capabilities=caps)
