"""A libvirt domain's XML -> what it uses (pure, tested on recorded XML).

``parse_domain`` reads vCPUs, memory, pinning, hugepages, NUMA placement, disks (by pool and
volume, or by path), NICs and the PCI functions passed through; ``to_discovered_vm`` resolves the
disks' pools and sizes and the SR-IOV functions' parents into a ``model.DiscoveredVm``.
"""

from __future__ import annotations

import dataclasses
import logging
import posixpath
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping

from vmhost import model

from . import domain_xml as dx
from . import parse
from .facts import PoolFacts, vmhost_arch

LOG = logging.getLogger(__name__)

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


def power_state(state: int) -> str:
    """libvirt's domain state number -> ``running`` / ``stopped`` / ``unknown``."""
    return _POWER.get(state, "unknown")


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
    root = parse.xml_root(text)
    vcpu = root.find("vcpu")
    cores = parse.to_int(vcpu.get("current") if vcpu is not None else None, 0) or parse.to_int(
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
    memory_kib = parse.size_kib(root.find("memory"))
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


def pool_of_path(path: str, pools: Iterable[PoolFacts]) -> tuple[str, str]:
    """(pool, volume) for a disk path inside a pool's target directory; ("", "") if none."""
    best = ("", "")
    best_len = -1
    for pool in pools:
        root = pool.path.rstrip("/")
        if root and path.startswith(root + "/") and len(root) > best_len:
            best = (pool.name, posixpath.relpath(path, root))
            best_len = len(root)
    return best


def disk_location(ref: DiskRef, pools: Iterable[PoolFacts]) -> tuple[str, str]:
    """(pool, volume) of a disk: as its source names them, or found from its path."""
    if not ref.pool and ref.path:
        return pool_of_path(ref.path, pools)
    return ref.pool, ref.volume


def to_discovered_vm(
    parsed: ParsedDomain,
    *,
    state: int,
    pools: Iterable[PoolFacts],
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
    numa_node = model.sole_numa_node(parsed.numa_nodes)
    if numa_node is None and parsed.pinned_cores:
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
        architecture=vmhost_arch(parsed.arch) if parsed.arch else "",
    )
