"""The libvirt calls that read a whole host; ``parse`` and ``parse_domain`` read their XML.

``scan()`` makes the libvirt calls, few of them: capabilities and node info once, one
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
import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import libvirt

from vmhost import model

from . import api, parse
from . import domain_xml as dx
from .errors import error_code
from .facts import HostFacts, vmhost_arch
from .parse_domain import DiskRef, ParsedDomain, disk_location, parse_domain, to_discovered_vm

LOG = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

# Per-item libvirt calls (domain XML, volume info) in flight at once on one connection, when
# there are at least FETCH_THRESHOLD of them; libvirtd's default max_client_requests is 5.
FETCH_WORKERS = 4
FETCH_THRESHOLD = 32


def fetch_all(fn: Callable[[T], R], items: Sequence[T], workers: int = FETCH_WORKERS) -> list[R]:
    """``[fn(item) for item in items]``, a few at a time when there are many.

    For per-item libvirt calls on one connection (the bindings release the GIL while a call
    waits for the daemon). The first exception is raised, after the calls in flight end.
    """
    if workers <= 1 or len(items) < FETCH_THRESHOLD:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="libvirt-scan") as pool:
        return list(pool.map(fn, items))


@dataclasses.dataclass(frozen=True, slots=True)
class Scan:
    """One refresh: the inventory vmhost stores and the facts compose designs with."""

    inventory: model.HostInventory
    facts: HostFacts
    capabilities: parse.Capabilities


def _version(number: int) -> str:
    return f"{number // 1_000_000}.{number // 1000 % 1000}.{number % 1000}"


def _safe(call: Callable[[], R], what: str) -> R | None:
    """Optional facts: a host whose libvirt lacks an API still gets discovered (None)."""
    try:
        return call()
    except libvirt.libvirtError as exc:
        LOG.debug("%s unavailable: %s", what, exc)
        return None


def scan_pools(conn: api.Connect, refresh: bool = False) -> tuple[parse.PoolInfo, ...]:
    """Every storage pool (inactive ones too, marked so): one XML read each."""
    result = []
    for pool in conn.listAllStoragePools():
        active = bool(pool.isActive())
        if refresh and active:
            try:
                pool.refresh(0)
            except libvirt.libvirtError as exc:  # e.g. a volume being built right now
                LOG.debug("pool %s not refreshed: %s", pool.name(), exc)
        result.append(parse.parse_pool(pool.XMLDesc(0), active=active))
    return tuple(result)


def scan_networks(conn: api.Connect) -> tuple[tuple[model.Network, str], ...]:
    """Active libvirt networks with their bridge names."""
    flags = libvirt.VIR_CONNECT_LIST_NETWORKS_ACTIVE
    return tuple(parse.parse_network(n.XMLDesc(0)) for n in conn.listAllNetworks(flags))


def scan_node_devices(
    conn: api.Connect,
) -> tuple[tuple[parse.NodeNet, ...], tuple[parse.PciDevice, ...]]:
    """Network and PCI node devices (for physical NICs and SR-IOV)."""

    def devices(flag: int, what: str) -> list[api.XmlObject]:
        return _safe(lambda: conn.listAllDevices(flag), what) or []

    net_flag = libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_NET
    pci_flag = libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV
    nets = (parse.parse_net_device(d.XMLDesc(0)) for d in devices(net_flag, "net node devices"))
    pci = (parse.parse_pci_device(d.XMLDesc(0)) for d in devices(pci_flag, "PCI node devices"))
    return tuple(n for n in nets if n is not None), tuple(p for p in pci if p is not None)


def scan_interfaces(conn: api.Connect) -> tuple[parse.HostInterface, ...]:
    """Active host interfaces (bridges, NICs)."""
    flag = libvirt.VIR_CONNECT_LIST_INTERFACES_ACTIVE
    found = _safe(lambda: conn.listAllInterfaces(flag), "host interfaces") or []
    return tuple(parse.parse_interface(i.XMLDesc(0)) for i in found)


def scan_domains(
    conn: api.Connect, workers: int = FETCH_WORKERS
) -> list[tuple[ParsedDomain, int, api.DomainStats]]:
    """ONE pass over the domains: stats (state, block capacity) and each one's XML."""
    stats_flags = libvirt.VIR_DOMAIN_STATS_STATE | libvirt.VIR_DOMAIN_STATS_BLOCK
    try:
        records = conn.getAllDomainStats(stats_flags, 0)
    except libvirt.libvirtError as exc:
        if error_code(exc) not in (libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_ERR_INVALID_ARG):
            raise
        records = [(d, {"state.state": d.state()[0]}) for d in conn.listAllDomains(0)]

    def xml_of(record: tuple[api.Domain, api.DomainStats]) -> str | None:
        try:
            return str(record[0].XMLDesc(0))
        except libvirt.libvirtError as exc:
            if error_code(exc) == libvirt.VIR_ERR_NO_DOMAIN:
                return None  # undefined between the listing and now
            raise

    records = list(records)
    texts = fetch_all(xml_of, records, workers)
    return [
        (parse_domain(text), int(stats.get("state.state", 0)), dict(stats))
        for (_domain, stats), text in zip(records, texts, strict=True)
        if text is not None
    ]


def _block_capacity(stats: api.DomainStats) -> dict[str, int]:
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

    def __init__(self, conn: api.Connect, workers: int = FETCH_WORKERS) -> None:
        self.conn = conn
        self.workers = workers
        self.pools: dict[str, dict[str, api.StorageVol]] = {}
        self.sizes: dict[tuple[str, str], int] = {}

    def _volumes(self, pool: str) -> dict[str, api.StorageVol]:
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
    conn: api.Connect,
    *,
    refresh_pools: bool = True,
    caps: parse.Capabilities | None = None,
    workers: int = FETCH_WORKERS,
) -> Scan:
    """Everything about the host, as inventory (for the store) and facts (for compose)."""
    caps = caps or parse.parse_capabilities(conn.getCapabilities())
    info = conn.getInfo()  # [model, memory MiB, cpus, MHz, nodes, sockets, cores, threads]
    numa = caps.numa_nodes
    sizes = list(caps.hugepage_sizes_kib)
    if numa and sizes:
        free = _safe(
            lambda: conn.getFreePages(sizes, numa[0].index, len(numa), 0), "free hugepages"
        )
        numa = parse.with_free_hugepages(numa, free or {})
    pools = scan_pools(conn, refresh=refresh_pools)
    networks = scan_networks(conn)
    interfaces = scan_interfaces(conn)
    nets, pci = scan_node_devices(conn)
    pfs = parse.sriov_pfs(pci, nets)
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
    all_networks = parse.host_networks(networks, interfaces, nets, pci)
    host_guests = [g for g in caps.guests if g.arch == caps.arch and g.os_type == "hvm"]
    kvm = any("kvm" in g.domain_types for g in host_guests)
    reason = ""
    if not host_guests:
        reason = f"libvirt offers no hvm guests for {caps.arch}"
    elif not kvm:
        reason = "KVM is not available: VMs run emulated (QEMU TCG), slowly"
    hypervisor = _safe(conn.getVersion, "hypervisor version")
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
        architectures=(vmhost_arch(caps.arch),),
        cpu_speed_mhz=int(info[3]),
        can_run_vms=bool(host_guests),
        can_run_containers=False,
        vm_unsupported_reason=reason,
        name=_safe(conn.getHostname, "hostname") or "",
    )
    facts = HostFacts(
        arch=caps.arch,
        guests=caps.guests,
        numa_nodes=caps.numa_nodes,
        pools=tuple(pool_facts),
        networks={n.name: n.kind for n in all_networks},
        free_vfs=free_vfs,
        default_hugepage_kib=2048 if 2048 in sizes or not sizes else sizes[0],
    )
    return Scan(inventory=inventory, facts=facts, capabilities=caps)
