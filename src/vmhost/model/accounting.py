"""The accounting data: what one VM holds (Allocation), what a host has in use (HostUsage),
and the snapshot of a host the scheduler works on (HostView).

Every VM, composed here or found on the host, holds exactly one Allocation; a host's HostUsage is
the sum of its VMs' allocations, split by origin (``allocated`` = composed by vmhost, ``other`` =
found on the host). The store keeps HostUsage next to the host row and changes it only together
with the host's generation (compare-and-swap), so the sum is exact under concurrency; a refresh
recomputes it from the VM records.

The maths that decides whether a request fits is in ``vmhost.scheduler.capacity``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from .host import HostStatus, HostType
from .inventory import NetworkKind, NumaNode
from .vm import VmOrigin

ALLOCATED = VmOrigin.COMPOSED
OTHER = VmOrigin.ADOPTED


@dataclasses.dataclass(frozen=True, slots=True)
class Allocation:
    """The resources one VM holds on its host.

    ``vcpus`` are shared (over-committable) vCPUs; a pinned VM has ``vcpus == 0`` and its cores in
    ``pinned_cores``. ``memory_mib`` is general (over-committable) memory; a hugepage-backed VM has
    ``memory_mib == 0`` and its memory in ``hugepages``. ``numa_vcpus``/``numa_memory_mib`` say how
    much of the VM's shared vCPUs and general memory sit on which NUMA node (empty when the VM
    floats across nodes).
    """

    vcpus: int = 0
    pinned_cores: tuple[int, ...] = ()
    memory_mib: int = 0
    hugepages: tuple[tuple[int, int, int], ...] = ()  # (node, page_size_kib, mib)
    numa_vcpus: tuple[tuple[int, int], ...] = ()  # (node, vcpus)
    numa_memory_mib: tuple[tuple[int, int], ...] = ()  # (node, mib)
    disks: tuple[tuple[str, int], ...] = ()  # (pool, bytes)
    sriov: tuple[tuple[str, int], ...] = ()  # (nic, vfs)

    @property
    def hugepages_mib(self) -> int:
        """Hugepage-backed memory, all nodes."""
        return sum(mib for _, _, mib in self.hugepages)

    @property
    def cores(self) -> int:
        """Cores this VM counts for: pinned cores, or shared vCPUs."""
        return len(self.pinned_cores) or self.vcpus

    @property
    def total_memory_mib(self) -> int:
        """General plus hugepage memory."""
        return self.memory_mib + self.hugepages_mib

    @property
    def disk_bytes(self) -> int:
        """All disks."""
        return sum(b for _, b in self.disks)

    def to_json(self) -> dict[str, Any]:
        """Plain data for storage."""
        return {
            "vcpus": self.vcpus,
            "pinned_cores": list(self.pinned_cores),
            "memory_mib": self.memory_mib,
            "hugepages": [list(h) for h in self.hugepages],
            "numa_vcpus": [list(x) for x in self.numa_vcpus],
            "numa_memory_mib": [list(x) for x in self.numa_memory_mib],
            "disks": [list(d) for d in self.disks],
            "sriov": [list(s) for s in self.sriov],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Allocation:
        """Inverse of ``to_json``."""
        return cls(
            vcpus=int(data.get("vcpus", 0)),
            pinned_cores=tuple(int(c) for c in data.get("pinned_cores", ())),
            memory_mib=int(data.get("memory_mib", 0)),
            hugepages=tuple((int(a), int(b), int(c)) for a, b, c in data.get("hugepages", ())),
            numa_vcpus=tuple((int(a), int(b)) for a, b in data.get("numa_vcpus", ())),
            numa_memory_mib=tuple((int(a), int(b)) for a, b in data.get("numa_memory_mib", ())),
            disks=tuple((str(a), int(b)) for a, b in data.get("disks", ())),
            sriov=tuple((str(a), int(b)) for a, b in data.get("sriov", ())),
        )


def _bump(d: dict[Any, int], key: Any, delta: int) -> None:
    value = d.get(key, 0) + delta
    if value:
        d[key] = value
    else:
        d.pop(key, None)


@dataclasses.dataclass(frozen=True, slots=True)
class Split:
    """A quantity in use, split by origin."""

    allocated: int = 0
    other: int = 0

    @property
    def total(self) -> int:
        """Both together."""
        return self.allocated + self.other


@dataclasses.dataclass(frozen=True, slots=True)
class HostUsage:
    """The sum of the allocations of every VM on a host."""

    vms: Split = Split()
    vcpus: Split = Split()
    memory_mib: Split = Split()
    hugepages_mib: Split = Split()
    disk_bytes: Split = Split()
    pinned_allocated: frozenset[int] = frozenset()
    pinned_other: frozenset[int] = frozenset()
    node_vcpus: Mapping[int, int] = dataclasses.field(default_factory=dict)
    node_memory_mib: Mapping[int, int] = dataclasses.field(default_factory=dict)
    node_hugepages_mib: Mapping[tuple[int, int], int] = dataclasses.field(default_factory=dict)
    pools: Mapping[str, Split] = dataclasses.field(default_factory=dict)
    sriov: Mapping[str, Split] = dataclasses.field(default_factory=dict)

    @property
    def pinned(self) -> frozenset[int]:
        """Every pinned core, whoever holds it."""
        return self.pinned_allocated | self.pinned_other

    @property
    def cores(self) -> Split:
        """Cores in use: shared vCPUs plus pinned cores."""
        return Split(
            self.vcpus.allocated + len(self.pinned_allocated),
            self.vcpus.other + len(self.pinned_other),
        )

    def apply(self, alloc: Allocation, origin: VmOrigin, sign: int = 1) -> HostUsage:
        """The usage after adding (sign=1) or removing (sign=-1) one VM's allocation."""
        mine = origin is VmOrigin.COMPOSED

        def split(s: Split, delta: int) -> Split:
            d = delta * sign
            return Split(s.allocated + d, s.other) if mine else Split(s.allocated, s.other + d)

        pinned_a, pinned_o = set(self.pinned_allocated), set(self.pinned_other)
        target = pinned_a if mine else pinned_o
        for core in alloc.pinned_cores:
            if sign > 0:
                target.add(core)
            else:
                target.discard(core)
        node_vcpus = dict(self.node_vcpus)
        for node, n in alloc.numa_vcpus:
            _bump(node_vcpus, node, n * sign)
        node_mem = dict(self.node_memory_mib)
        for node, mib in alloc.numa_memory_mib:
            _bump(node_mem, node, mib * sign)
        node_hp = dict(self.node_hugepages_mib)
        for node, size, mib in alloc.hugepages:
            _bump(node_hp, (node, size), mib * sign)
        pools = dict(self.pools)
        for pool, size in alloc.disks:
            pools[pool] = split(pools.get(pool, Split()), size)
        sriov = dict(self.sriov)
        for nic, n in alloc.sriov:
            sriov[nic] = split(sriov.get(nic, Split()), n)
        return HostUsage(
            vms=split(self.vms, 1),
            vcpus=split(self.vcpus, alloc.vcpus),
            memory_mib=split(self.memory_mib, alloc.memory_mib),
            hugepages_mib=split(self.hugepages_mib, alloc.hugepages_mib),
            disk_bytes=split(self.disk_bytes, alloc.disk_bytes),
            pinned_allocated=frozenset(pinned_a),
            pinned_other=frozenset(pinned_o),
            node_vcpus=node_vcpus,
            node_memory_mib=node_mem,
            node_hugepages_mib=node_hp,
            pools={k: v for k, v in pools.items() if v.total or v.allocated or v.other},
            sriov={k: v for k, v in sriov.items() if v.total or v.allocated or v.other},
        )

    @classmethod
    def of(cls, allocations: Iterable[tuple[Allocation, VmOrigin]]) -> HostUsage:
        """The usage of a set of VMs (recount from the records)."""
        usage = cls()
        for alloc, origin in allocations:
            usage = usage.apply(alloc, origin)
        return usage

    def to_json(self) -> dict[str, Any]:
        """Plain data for storage."""

        def s(x: Split) -> list[int]:
            return [x.allocated, x.other]

        return {
            "vms": s(self.vms),
            "vcpus": s(self.vcpus),
            "memory_mib": s(self.memory_mib),
            "hugepages_mib": s(self.hugepages_mib),
            "disk_bytes": s(self.disk_bytes),
            "pinned_allocated": sorted(self.pinned_allocated),
            "pinned_other": sorted(self.pinned_other),
            "node_vcpus": [[k, v] for k, v in sorted(self.node_vcpus.items())],
            "node_memory_mib": [[k, v] for k, v in sorted(self.node_memory_mib.items())],
            "node_hugepages_mib": [
                [k[0], k[1], v] for k, v in sorted(self.node_hugepages_mib.items())
            ],
            "pools": {k: s(v) for k, v in sorted(self.pools.items())},
            "sriov": {k: s(v) for k, v in sorted(self.sriov.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> HostUsage:
        """Inverse of ``to_json``."""
        if not data:
            return cls()

        def s(x: Any) -> Split:
            return Split(int(x[0]), int(x[1])) if x else Split()

        return cls(
            vms=s(data.get("vms")),
            vcpus=s(data.get("vcpus")),
            memory_mib=s(data.get("memory_mib")),
            hugepages_mib=s(data.get("hugepages_mib")),
            disk_bytes=s(data.get("disk_bytes")),
            pinned_allocated=frozenset(int(c) for c in data.get("pinned_allocated", ())),
            pinned_other=frozenset(int(c) for c in data.get("pinned_other", ())),
            node_vcpus={int(k): int(v) for k, v in data.get("node_vcpus", ())},
            node_memory_mib={int(k): int(v) for k, v in data.get("node_memory_mib", ())},
            node_hugepages_mib={
                (int(a), int(b)): int(c) for a, b, c in data.get("node_hugepages_mib", ())
            },
            pools={k: s(v) for k, v in data.get("pools", {}).items()},
            sriov={k: s(v) for k, v in data.get("sriov", {}).items()},
        )


# A NUMA node as the scheduler sees it is exactly what discovery reports.
NodeView = NumaNode


@dataclasses.dataclass(frozen=True, slots=True)
class PoolView:
    """A storage pool with its size; use comes from HostUsage.pools plus ``external_bytes``."""

    name: str
    type: str
    path: str
    total_bytes: int
    external_bytes: int = 0  # used on the host by things that are not VM disks we know
    tags: tuple[str, ...] = ()
    pool_id: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class SriovView:
    """A physical function offering virtual functions."""

    name: str
    total_vfs: int
    numa_node: int | None = None
    network: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class HostView:
    """A host's configuration, inventory and usage at one generation."""

    id: int
    name: str
    type: HostType
    generation: int
    status: HostStatus = HostStatus.READY
    zone: str = "default"
    pool: str = "default"
    tags: tuple[str, ...] = ()
    architectures: tuple[str, ...] = ()
    cpu_over_commit_ratio: float = 1.0
    memory_over_commit_ratio: float = 1.0
    reserved_cores: int = 0
    reserved_memory_mib: int = 0
    cores: int = 0
    memory_mib: int = 0
    numa: tuple[NodeView, ...] = ()
    pools: tuple[PoolView, ...] = ()
    default_pool: str | None = None
    networks: tuple[tuple[str, NetworkKind], ...] = ()
    spaces: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    sriov: tuple[SriovView, ...] = ()
    can_run_vms: bool = True
    can_run_containers: bool = False
    vm_unsupported_reason: str = ""
    project: str = ""
    usage: HostUsage = HostUsage()

    def nodes(self) -> tuple[NumaNode, ...]:
        """The NUMA nodes, or one node 0 holding every core and all memory."""
        return self.numa or (NumaNode(0, tuple(range(self.cores)), self.memory_mib),)

    @property
    def hugepages_mib(self) -> int:
        """Memory set aside as hugepages on the whole host."""
        return sum(n.hugepages_mib for n in self.numa)

    def storage_pool(self, name: str) -> PoolView | None:
        """The pool with this name, if any."""
        for p in self.pools:
            if p.name == name:
                return p
        return None


@dataclasses.dataclass(frozen=True, slots=True)
class PrefilterHints:
    """Exact "largest request that could fit" numbers kept on the host row for SQL prefiltering.

    Computed by the scheduler's capacity maths whenever a host's usage or settings change; the
    store filters candidates on them in SQL (``free_vcpus >= :cores`` ...), then the scheduler's
    ``fit`` decides exactly. Each is a necessary condition, so prefiltering never drops a host
    that fits.
    """

    free_vcpus: int = 0
    free_memory_mib: int = 0
    free_pinnable_cores: int = 0  # most free pinnable cores on one NUMA node
    max_node_free_vcpus: int = 0
    max_node_free_memory_mib: int = 0
    max_free_hugepages_mib: int = 0  # most free hugepage memory on one node, any size
    max_pool_free_bytes: int = 0
