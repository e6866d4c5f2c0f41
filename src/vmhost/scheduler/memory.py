"""Where a VM's memory goes: general memory per NUMA node, or hugepages per node.

Hugepages are never over-committed; a VM spread over NUMA nodes has each node's share rounded
up to whole pages of that node's size, so nodes with different page sizes can share one VM.
"""

from __future__ import annotations

from vmhost import model
from vmhost.model import Check, Failure, Figures, Subject, Unit
from vmhost.model.accounting import HostView

from . import capacity as cap
from .numa import node_page_sizes, page_round_up, split_weighted
from .shortfall import host_shortfall, room_figures

_Hugepages = tuple[tuple[tuple[int, int, int], ...], int | None]


def _hugepages_failure(
    view: HostView, node: model.NumaNode, size: int, need: int, total_mib: int, where: str
) -> Failure:
    total = sum(h.total_mib for h in node.hugepages if h.page_size_kib == size)
    free = cap.free_hugepages_mib(view, node, size)
    return Failure(
        Check.HUGEPAGES,
        f"lack {total_mib} MiB of {size} KiB hugepages on {where}",
        Subject(numa_node=node.index, hugepage_size_kib=size),
        Figures(Unit.MIB, need, free=free, total=total, used=total - free),
    )


def _hugepages(
    view: HostView, request: model.ComposeRequest, weights: list[tuple[int, int]], spread: bool
) -> _Hugepages | Failure:
    """Hugepages per node: each node's share rounded up to that node's page size."""
    wanted = request.hugepage_size_kib
    nodes = view.nodes()
    if not any(node_page_sizes(n, wanted) for n in nodes):
        what = f"{wanted} KiB hugepages" if wanted else "hugepages"
        return Failure(Check.HUGEPAGES, f"have no {what}", Subject(hugepage_size_kib=wanted))
    by_index = {n.index: n for n in nodes}
    if weights:
        parts: list[tuple[int, int, int]] = []
        for k, mib in split_weighted(request.memory_mib, weights):
            node = by_index[k]
            sizes = node_page_sizes(node, wanted)
            if not sizes:
                what = f"{wanted} KiB hugepages" if wanted else "hugepages"
                return Failure(
                    Check.HUGEPAGES,
                    f"have no {what} on NUMA node {k}",
                    Subject(numa_node=k, hugepage_size_kib=wanted),
                )
            size = next(
                (
                    s
                    for s in sizes
                    if cap.free_hugepages_mib(view, node, s) >= page_round_up(mib, s)
                ),
                None,
            )
            if size is None:
                need = page_round_up(mib, sizes[0])
                return _hugepages_failure(
                    view, node, sizes[0], need, request.memory_mib, f"NUMA node {k}"
                )
            parts.append((k, size, page_round_up(mib, size)))
        used_sizes = {s for _, s, _ in parts}
        return tuple(parts), used_sizes.pop() if len(used_sizes) == 1 else None
    options = []
    for node in nodes:
        for size in node_page_sizes(node, wanted):
            need = page_round_up(request.memory_mib, size)
            free = cap.free_hugepages_mib(view, node, size)
            if free >= need:
                options.append((size, -free if spread else free, node.index, need))
    if not options:
        smallest = min(s for n in nodes for s in node_page_sizes(n, wanted))
        node = max(
            (n for n in nodes if smallest in node_page_sizes(n, wanted)),
            key=lambda n: cap.free_hugepages_mib(view, n, smallest),
        )
        need = page_round_up(request.memory_mib, smallest)
        failure = _hugepages_failure(
            view, node, smallest, need, request.memory_mib, "one NUMA node"
        )
        return failure._replace(subject=Subject(hugepage_size_kib=smallest))
    size, _, index, need = min(options)
    return ((index, size, need),), size


_Memory = tuple[int, tuple[tuple[int, int, int], ...], int | None, tuple[tuple[int, int], ...]]


def _general_memory(
    view: HostView, request: model.ComposeRequest, weights: list[tuple[int, int]]
) -> tuple[tuple[int, int], ...] | list[Failure]:
    """General memory per NUMA node, or why the host cannot hold it."""
    memory = request.memory_mib
    failure = host_shortfall(
        Check.MEMORY,
        Unit.MIB,
        memory,
        used=view.usage.memory_mib.total,
        capacity=cap.memory_capacity_mib(view),
        limit=max(cap.general_memory_mib(view) - view.reserved_memory_mib, 0),
        total=view.memory_mib,
        set_aside=view.hugepages_mib,
        reserved=view.reserved_memory_mib,
        ratio=view.memory_over_commit_ratio,
        lack="lack {} MiB of memory",
        too_big="have less than {} MiB of memory for one VM",
    )
    if failure is not None:
        return [failure]
    if not weights:
        return ()
    numa_memory = tuple(split_weighted(memory, weights))
    nodes = {n.index: n for n in view.nodes()}
    failures = []
    for k, mib in numa_memory:
        node = nodes[k]
        node_used = view.usage.node_memory_mib.get(k, 0)
        node_capacity = cap.node_memory_capacity_mib(view, node)
        if node_used + mib > node_capacity:
            failures.append(
                Failure(
                    Check.MEMORY,
                    f"lack {memory} MiB of memory on NUMA node {k}",
                    Subject(numa_node=k),
                    room_figures(
                        Unit.MIB,
                        mib,
                        used=node_used,
                        capacity=node_capacity,
                        total=node.memory_mib,
                        set_aside=node.hugepages_mib,
                        ratio=view.memory_over_commit_ratio,
                    ),
                )
            )
    return failures or numa_memory


def memory_placement(
    view: HostView, request: model.ComposeRequest, weights: list[tuple[int, int]], spread: bool
) -> _Memory | list[Failure]:
    """(general MiB, hugepages, hugepage size, general MiB per NUMA node)."""
    if request.hugepages_backed:
        hp = _hugepages(view, request, weights, spread)
        if isinstance(hp, Failure):
            return [hp]
        return 0, hp[0], hp[1], ()
    numa_memory = _general_memory(view, request, weights)
    if isinstance(numa_memory, list):
        return numa_memory
    return request.memory_mib, (), None, numa_memory
