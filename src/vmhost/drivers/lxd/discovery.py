"""LXD's JSON (``/1.0``, ``/1.0/resources``, pools, networks, instances) → the domain model.

Pure: ``scan.py`` fetches, these functions parse; instances are read in ``instances.py``.
Every field read here is listed in ``tests/unit/drivers/test_lxd_discovery.py`` against JSON
recorded from a real LXD 5.0.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any

from vmhost import model

from . import units
from .instance_spec import HostCapability
from .instances import MIB, discovered_vm, sriov_use

NOT_OPERATIONAL = "Instance type not operational"
_GHZ_RE = re.compile(r"@\s*(\d+(?:\.\d+)?)\s*GHz")

Json = Mapping[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class RawHost:
    """Everything one discovery fetched, as LXD returned it (``metadata`` of each answer)."""

    server: Json  # GET /1.0
    resources: Json  # GET /1.0/resources
    pools: Sequence[Json] = ()  # GET /1.0/storage-pools?recursion=1
    pool_resources: Mapping[str, Json] = dataclasses.field(default_factory=dict)
    volumes: Mapping[str, Sequence[Json]] = dataclasses.field(default_factory=dict)
    networks: Sequence[Json] = ()  # GET /1.0/networks?recursion=1
    instances: Sequence[Json] = ()  # GET /1.0/instances?recursion=1[&all-projects=true]
    warnings: Sequence[Json] = ()  # GET /1.0/warnings?recursion=1


# -- the server -------------------------------------------------------------------------------


def capability(
    server: Json, warnings: Sequence[Json] = (), resources: Json | None = None
) -> HostCapability:
    """What instance types the host can run, and why not.

    LXD 5.0 lists its working drivers in ``environment.driver`` (``"lxc | qemu"``); newer ones
    also have ``environment.instance_types``. The reason a type does not work is only in the
    warnings (``Instance type not operational``: e.g. "vhost_vsock kernel module not loaded").
    """
    env = server.get("environment") or {}
    driver = str(env.get("driver") or "")
    drivers = {d.strip() for d in driver.split("|") if d.strip()}
    types = env.get("instance_types")
    if isinstance(types, list):
        vms = "virtual-machine" in types
        containers = "container" in types
    else:
        vms = "qemu" in drivers
        containers = "lxc" in drivers
    reason = ""
    if not vms:
        reasons = [
            str(w.get("last_message") or "")
            for w in warnings
            if w.get("type") == NOT_OPERATIONAL and w.get("status") != "resolved"
        ]
        reason = "; ".join(r for r in reasons if r) or (
            f"LXD's driver is {driver!r}, without QEMU" if driver else "LXD reports no QEMU"
        )
    hugepage_kib = None
    if resources:
        size = (resources.get("memory") or {}).get("hugepages_size")
        hugepage_kib = int(size) // 1024 if size else None
    return HostCapability(
        can_run_vms=vms,
        vm_unsupported_reason=reason,
        can_run_containers=containers,
        api_extensions=frozenset(server.get("api_extensions") or ()),
        hugepage_size_kib=hugepage_kib,
    )


# -- the host's hardware ------------------------------------------------------------------------


def numa_nodes(resources: Json) -> tuple[model.NumaNode, ...]:
    """NUMA nodes with their online threads, memory and hugepages."""
    cpu = resources.get("cpu") or {}
    memory = resources.get("memory") or {}
    cores: dict[int, list[int]] = {}
    for socket in cpu.get("sockets") or ():
        for core in socket.get("cores") or ():
            for thread in core.get("threads") or ():
                if thread.get("online", True):
                    cores.setdefault(int(thread.get("numa_node", 0)), []).append(int(thread["id"]))
    page_bytes = int(memory.get("hugepages_size") or 0)
    nodes_memory = {int(n.get("numa_node", 0)): n for n in memory.get("nodes") or ()}
    if not nodes_memory:
        nodes_memory = {
            0: {
                "total": memory.get("total", 0),
                "hugepages_total": memory.get("hugepages_total", 0),
                "hugepages_used": memory.get("hugepages_used", 0),
            }
        }
    result = []
    for index in sorted(set(cores) | set(nodes_memory)):
        mem = nodes_memory.get(index, {})
        hugepages: tuple[model.Hugepages, ...] = ()
        hp_total = int(mem.get("hugepages_total") or 0)
        if page_bytes and hp_total:
            hp_used = int(mem.get("hugepages_used") or 0)
            hugepages = (
                model.Hugepages(
                    page_size_kib=page_bytes // 1024,
                    total_pages=hp_total // page_bytes,
                    free_pages=(hp_total - hp_used) // page_bytes,
                ),
            )
        result.append(
            model.NumaNode(
                index=index,
                cores=tuple(sorted(cores.get(index, ()))),
                memory_mib=int(mem.get("total") or 0) // MIB,
                hugepages=hugepages,
            )
        )
    return tuple(result)


def isolated_cores(resources: Json) -> tuple[int, ...]:
    """Threads the kernel isolates (``isolcpus``): only pinned instances should use them."""
    found = [
        int(thread["id"])
        for socket in (resources.get("cpu") or {}).get("sockets") or ()
        for core in socket.get("cores") or ()
        for thread in core.get("threads") or ()
        if thread.get("isolated")
    ]
    return tuple(sorted(found))


def cpu_speed_mhz(resources: Json) -> int:
    """Turbo frequency if known, else the mean frequency, else ``@ x.xxGHz`` in the name."""
    sockets = (resources.get("cpu") or {}).get("sockets") or ()
    turbo = [int(s["frequency_turbo"]) for s in sockets if s.get("frequency_turbo")]
    if turbo:
        return max(turbo)
    freq = [int(s["frequency"]) for s in sockets if s.get("frequency")]
    if freq:
        return int(round(sum(freq) / len(freq), -2))
    names = {s.get("name", "") for s in sockets}
    if len(names) == 1:
        match = _GHZ_RE.search(names.pop())
        if match:
            return int(float(match.group(1)) * 1000)
    return 0


def sriov_nics(
    resources: Json, used: Mapping[str, int] | None = None
) -> tuple[model.SriovNic, ...]:
    """Physical functions offering SR-IOV. ``free_vfs`` = maximum - those instances use."""
    used = used or {}
    result = []
    for card in (resources.get("network") or {}).get("cards") or ():
        sriov = card.get("sriov")
        if not sriov or not sriov.get("maximum_vfs"):
            continue
        ports = card.get("ports") or ()
        name = str(ports[0]["id"]) if ports else str(card.get("pci_address", ""))
        total = int(sriov["maximum_vfs"])
        numa = card.get("numa_node")
        result.append(
            model.SriovNic(
                name=name,
                total_vfs=total,
                free_vfs=max(total - used.get(name, 0), 0),
                numa_node=int(numa) if numa is not None else None,
                parent_network=name,
            )
        )
    return tuple(result)


# -- pools and networks -----------------------------------------------------------------------


def storage_pools(
    pools: Sequence[Json], pool_resources: Mapping[str, Json]
) -> tuple[model.StoragePool, ...]:
    """Pools with size and use from ``/1.0/storage-pools/<name>/resources``."""
    result = []
    for pool in pools:
        name = str(pool["name"])
        config = pool.get("config") or {}
        space = (pool_resources.get(name) or {}).get("space") or {}
        result.append(
            model.StoragePool(
                name=name,
                type=str(pool.get("driver", "")),
                path=str(config.get("source", "")),
                total_bytes=int(space.get("total") or 0),
                used_bytes=int(space.get("used") or 0),
                pool_id=name,
            )
        )
    return tuple(result)


_NETWORK_KINDS = {
    "bridge": model.NetworkKind.BRIDGE,
    "physical": model.NetworkKind.PHYSICAL,
    "bond": model.NetworkKind.PHYSICAL,
    "vlan": model.NetworkKind.PHYSICAL,
    "macvlan": model.NetworkKind.MACVLAN,
    "sriov": model.NetworkKind.SRIOV,
    "ovn": model.NetworkKind.NETWORK,
}


def networks(data: Sequence[Json]) -> tuple[model.Network, ...]:
    """Bridges, NICs usable for macvlan, LXD-managed macvlan/SR-IOV/OVN networks.

    Loopback and ``unknown`` interfaces (e.g. instances' veth ends) are left out.
    """
    result = []
    for net in data:
        kind = _NETWORK_KINDS.get(str(net.get("type", "")))
        if kind is None:
            continue
        config = net.get("config") or {}
        result.append(
            model.Network(
                name=str(net["name"]),
                kind=kind,
                cidr=_cidr(str(config.get("ipv4.address") or "")),
                managed=bool(net.get("managed")),
            )
        )
    return tuple(result)


def _cidr(address: str) -> str:
    try:
        return str(ipaddress.ip_interface(address).network)
    except ValueError:  # "", "none", "auto"
        return ""


# -- everything -------------------------------------------------------------------------------


def inventory(raw: RawHost) -> model.HostInventory:
    """The whole host: hardware, pools, networks, and every instance found."""
    env = raw.server.get("environment") or {}
    memory_mib = int((raw.resources.get("memory") or {}).get("total") or 0) // MIB
    numa = numa_nodes(raw.resources)
    nets = networks(raw.networks)
    vms = tuple(
        discovered_vm(
            inst,
            host_memory_mib=memory_mib,
            numa=numa,
            networks_by_name={n.name: n.kind for n in nets},
            volumes=raw.volumes,
        )
        for inst in raw.instances
    )
    cap = capability(raw.server, raw.warnings, raw.resources)
    return model.HostInventory(
        cores=int((raw.resources.get("cpu") or {}).get("total") or 0),
        memory_mib=memory_mib,
        numa_nodes=numa,
        isolated_cores=isolated_cores(raw.resources),
        storage_pools=storage_pools(raw.pools, raw.pool_resources),
        networks=nets,
        sriov_nics=sriov_nics(raw.resources, sriov_use(vms)),
        vms=vms,
        version=str(env.get("server_version") or ""),
        architectures=tuple(units.debian_architecture(a) for a in env.get("architectures") or ()),
        cpu_speed_mhz=cpu_speed_mhz(raw.resources),
        can_run_vms=cap.can_run_vms,
        can_run_containers=cap.can_run_containers,
        vm_unsupported_reason=cap.vm_unsupported_reason,
        name=str(env.get("server_name") or ""),
    )
