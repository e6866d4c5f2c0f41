"""How a VM's memory spreads over NUMA nodes; the same rules for composed and found VMs.

A VM pinned to cores on several nodes has its memory split over those nodes in proportion to
its cores on each (2048 MiB pinned to one core on node 0 and one on node 1 is 1024 MiB on
each); a hugepage-backed VM's share on a node is rounded up to whole pages of that node's size,
so two nodes with different page sizes each get their own rounding (1024 MiB is 2048 MiB on a
node of 2048 MiB pages and 4096 MiB on a node of 4096 MiB pages).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from vmhost import model
from vmhost.model.accounting import Allocation, HostView

# (node, weight): how much of a VM sits on each NUMA node
Weights = Sequence[tuple[int, int]]


def split_weighted(total: int, weights: Weights) -> list[tuple[int, int]]:
    """Split ``total`` over keys in proportion to integer weights; remainder to the heaviest."""
    whole = sum(w for _, w in weights)
    parts = [(k, total * w // whole) for k, w in weights]
    rest = total - sum(p for _, p in parts)
    if rest:
        heaviest = max(range(len(parts)), key=lambda i: (weights[i][1], -i))
        k, p = parts[heaviest]
        parts[heaviest] = (k, p + rest)
    return [(k, p) for k, p in parts if p]


def pinned_weights(view: HostView, pinned: Iterable[int]) -> list[tuple[int, int]]:
    """Per NUMA node, how many of ``pinned`` are its cores (nodes without any left out)."""
    cores = set(pinned)
    weights = [(n.index, sum(1 for c in n.cores if c in cores)) for n in view.nodes()]
    return [(k, w) for k, w in weights if w]


def page_round_up(mib: int, page_size_kib: int) -> int:
    """``mib`` rounded up to whole hugepages of ``page_size_kib``, in MiB."""
    pages = math.ceil(mib * 1024 / page_size_kib)
    return math.ceil(pages * page_size_kib / 1024)


def node_page_sizes(node: model.NumaNode, wanted: int | None = None) -> list[int]:
    """The node's hugepage sizes, smallest first (only ``wanted`` when given)."""
    return sorted(
        h.page_size_kib for h in node.hugepages if wanted is None or h.page_size_kib == wanted
    )


def found_allocation(view: HostView, vm: model.DiscoveredVm) -> Allocation:
    """What a VM found on the host (not composed by vmhost) holds, in our terms.

    Pinned cores count on their nodes and the memory is split over those nodes as for a
    composed VM (:func:`split_weighted`); an unpinned VM bound to one node counts there; a
    floating one on no node. Hugepage memory goes to each node's first page size, rounded up
    (a share on a node without hugepages is counted as that node's general memory, so it is
    counted somewhere).
    """
    pinned = tuple(sorted(vm.pinned_cores))
    weights: list[tuple[int, int]] = pinned_weights(view, pinned) if pinned and view.numa else []
    if not weights and vm.numa_node is not None:
        weights = [(vm.numa_node, 1)]
    numa_vcpus: tuple[tuple[int, int], ...] = ()
    if vm.numa_node is not None and not pinned:
        numa_vcpus = ((vm.numa_node, vm.cores),)
    general = 0 if vm.hugepages_backed else vm.memory_mib
    numa_memory: list[tuple[int, int]] = []
    hugepages: list[tuple[int, int, int]] = []
    if vm.hugepages_backed:
        nodes = {n.index: n for n in view.nodes()}
        for k, mib in split_weighted(vm.memory_mib, weights or [(0, 1)]):
            node = nodes.get(k)
            sizes = node_page_sizes(node) if node is not None else []
            if sizes:
                hugepages.append((k, sizes[0], page_round_up(mib, sizes[0])))
            else:
                general += mib
                numa_memory.append((k, mib))
    elif weights:
        numa_memory = split_weighted(vm.memory_mib, weights)
    disks: dict[str, int] = {}
    for d in vm.disks:
        disks[d.pool] = disks.get(d.pool, 0) + d.size_bytes
    return Allocation(
        vcpus=0 if pinned else vm.cores,
        pinned_cores=pinned,
        memory_mib=general,
        hugepages=tuple(hugepages),
        numa_vcpus=numa_vcpus,
        numa_memory_mib=tuple(numa_memory),
        disks=tuple(sorted(disks.items())),
        sriov=_found_sriov(view, vm),
    )


def _found_sriov(view: HostView, vm: model.DiscoveredVm) -> tuple[tuple[str, int], ...]:
    """Virtual functions per physical function; LXD reports a managed SR-IOV network's name."""
    sriov: dict[str, int] = {}
    by_network = {s.network: s.name for s in view.sriov if s.network}
    names = {s.name for s in view.sriov}
    for nic in vm.nics:
        if nic.kind is model.NetworkKind.SRIOV:
            pf = nic.network if nic.network in names else by_network.get(nic.network, nic.network)
            sriov[pf] = sriov.get(pf, 0) + 1
    return tuple(sorted(sriov.items()))
