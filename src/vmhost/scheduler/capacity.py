"""Capacity arithmetic. Pure; the single place where over-commit is applied.

Rules, and where they differ from MAAS on purpose:

* ``capacity = floor((total - reserved) * ratio)``, computed exactly: the ratio is taken as the
  decimal the operator typed (``Fraction(repr(ratio))``), so ``128 GiB x 5.5`` is exactly
  720896 MiB and ``10 x 0.7`` never becomes 6 through binary floating point. Fractions of a core
  or a MiB cannot be composed, hence the floor.
* A claim fits when ``used + request <= capacity`` (equality allowed, as in MAAS).
* ``used`` counts every VM on the host: composed here (*allocated*) and found there (*other*).
  MAAS counted only its tracked LXD project for the compose check; a VM in another project eats
  the same cores, so we count it.
* Pinned cores are dedicated: they leave the shared pool before the ratio applies
  (``shared capacity = floor((cores - reserved - pinned) * cpu_ratio)``) and a pinned core is
  never given twice. MAAS checked ``cores`` instead of the pinned count and never checked
  that pinned cores were free.
* Hugepages are never over-committed and are counted per NUMA node and page size. The memory
  set aside as hugepages is not general memory: ``general = memory - hugepages``. (MAAS's global
  view forgot to subtract it; its per-NUMA view did.)
* Storage is per pool and never over-committed: ``free = total - allocated - other - external``
  where *external* is what the host reports as used beyond the disks of the VMs we know.
* Reserved cores are the lowest-numbered cores: they are never pinned to a VM.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

from vmhost.model.accounting import HostView, NodeView, PrefilterHints, SriovView


@functools.lru_cache(maxsize=1024)
def exact_ratio(ratio: float) -> Fraction:
    """The ratio as the decimal the operator set (0.1 is one tenth, not 0.1000000000000000055)."""
    return Fraction(repr(float(ratio)))


@functools.lru_cache(maxsize=65536)
def capacity(total: int, reserved: int, ratio: float) -> int:
    """``floor((total - reserved) * ratio)``, never negative."""
    usable = max(total - reserved, 0)
    return math.floor(usable * exact_ratio(ratio))


def minimum_ratio(total: int, reserved: int, demand: int, step: float = 0.1) -> float | None:
    """The smallest ratio on a ``step`` grid with ``capacity(total, reserved, r) >= demand``.

    None when even the maximum ratio (10) is not enough.
    """
    usable = max(total - reserved, 0)
    if demand <= 0:
        return 0.0
    if usable == 0:
        return None
    steps = math.ceil(Fraction(demand, usable) / exact_ratio(step))
    ratio = steps * exact_ratio(step)
    if ratio > 10:
        return None
    return float(ratio)


def pinnable_cores(view: HostView) -> tuple[int, ...]:
    """Cores a VM may be pinned to: every core but the reserved (lowest-numbered) ones."""
    cores = sorted(c for n in view.numa for c in n.cores) or list(range(view.cores))
    return tuple(cores[view.reserved_cores :])


def shared_core_capacity(view: HostView, extra_pinned: int = 0) -> int:
    """vCPUs the shared pool can hold, after pinned cores (and ``extra_pinned`` more) leave it."""
    pinned = len(view.usage.pinned) + extra_pinned
    return capacity(view.cores - pinned, view.reserved_cores, view.cpu_over_commit_ratio)


def general_memory_mib(view: HostView) -> int:
    """Host memory that is not set aside as hugepages."""
    return max(view.memory_mib - view.hugepages_mib, 0)


def memory_capacity_mib(view: HostView) -> int:
    """General memory capacity with the ratio applied."""
    return capacity(
        general_memory_mib(view), view.reserved_memory_mib, view.memory_over_commit_ratio
    )


def free_vcpus(view: HostView) -> int:
    """Shared vCPUs still composable (may be negative if the host is over-used)."""
    return shared_core_capacity(view) - view.usage.vcpus.total


def free_memory_mib(view: HostView) -> int:
    """General memory still composable (may be negative if over-used)."""
    return memory_capacity_mib(view) - view.usage.memory_mib.total


def node_core_capacity(view: HostView, node: NodeView, extra_pinned: int = 0) -> int:
    """Shared vCPUs one NUMA node can hold."""
    pinned = sum(1 for c in node.cores if c in view.usage.pinned) + extra_pinned
    return capacity(len(node.cores) - pinned, 0, view.cpu_over_commit_ratio)


def node_free_vcpus(view: HostView, node: NodeView) -> int:
    """Shared vCPUs one NUMA node can still take (may be negative if over-used)."""
    return node_core_capacity(view, node) - view.usage.node_vcpus.get(node.index, 0)


def node_general_memory_mib(node: NodeView) -> int:
    """A NUMA node's memory that is not set aside as hugepages."""
    return max(node.memory_mib - node.hugepages_mib, 0)


def node_memory_capacity_mib(view: HostView, node: NodeView) -> int:
    """General memory one NUMA node can hold."""
    return capacity(node_general_memory_mib(node), 0, view.memory_over_commit_ratio)


def node_free_memory_mib(view: HostView, node: NodeView) -> int:
    """General memory one NUMA node can still take (may be negative if over-used)."""
    return node_memory_capacity_mib(view, node) - view.usage.node_memory_mib.get(node.index, 0)


def free_hugepages_mib(view: HostView, node: NodeView, page_size_kib: int) -> int:
    """Hugepage memory of one size still free on one node."""
    total = sum(h.total_mib for h in node.hugepages if h.page_size_kib == page_size_kib)
    return total - view.usage.node_hugepages_mib.get((node.index, page_size_kib), 0)


def pool_free_bytes(view: HostView, name: str) -> int:
    """Bytes still composable in a storage pool (never over-committed)."""
    pool = view.storage_pool(name)
    if pool is None:
        return 0
    used = view.usage.pools.get(name)
    return pool.total_bytes - pool.external_bytes - (used.total if used else 0)


def nic_free_vfs(view: HostView, nic: SriovView) -> int:
    """Virtual functions still free on one of the host's SR-IOV NICs."""
    used = view.usage.sriov.get(nic.name)
    return nic.total_vfs - (used.total if used else 0)


def sriov_free_vfs(view: HostView, nic: str) -> int:
    """Virtual functions still free on a NIC (0 for a NIC the host does not have)."""
    for s in view.sriov:
        if s.name == nic:
            return nic_free_vfs(view, s)
    return 0


def prefilter_hints(view: HostView) -> PrefilterHints:
    """The numbers the store filters candidates on in SQL (see PrefilterHints)."""
    pinned = view.usage.pinned
    allowed = set(pinnable_cores(view))
    nodes = view.nodes()
    return PrefilterHints(
        free_vcpus=free_vcpus(view),
        free_memory_mib=free_memory_mib(view),
        free_pinnable_cores=max(
            (sum(1 for c in n.cores if c in allowed and c not in pinned) for n in nodes), default=0
        ),
        max_node_free_vcpus=max((node_free_vcpus(view, n) for n in nodes), default=0),
        max_node_free_memory_mib=max((node_free_memory_mib(view, n) for n in nodes), default=0),
        max_free_hugepages_mib=max(
            (free_hugepages_mib(view, n, h.page_size_kib) for n in nodes for h in n.hugepages),
            default=0,
        ),
        max_pool_free_bytes=max((pool_free_bytes(view, p.name) for p in view.pools), default=0),
    )
