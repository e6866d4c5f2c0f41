"""Whether one request fits one host, and exactly what it would take there (a Placement).

Pure. ``fit`` either returns a Placement (cores chosen, NUMA nodes, hugepages per node, a pool
per disk, a network per NIC, SR-IOV functions) or a Rejection listing every check that failed
(cores and memory and storage and network, not only the first), each a ``model.Failure`` with
words that group well ("lack 16384 MiB of memory"), its subject and its figures.

No one VM is larger than its host: over-commit shares a host among VMs, so a VM has at most the
host's cores less the reserved ones as vCPUs, and at most its general memory less the reserved
memory, whatever the ratios.
"""

from __future__ import annotations

import dataclasses

from vmhost import model
from vmhost.model import Check, Failure, Figures, Subject, Unit
from vmhost.model.accounting import Allocation, HostView
from vmhost.model.reasons import FailureSummary

from . import capacity as cap
from .memory import memory_placement
from .nics import NicChoice, nic_placement
from .numa import pinned_weights
from .shortfall import host_shortfall

__all__ = ["NicChoice", "Placement", "Rejection", "fit"]


@dataclasses.dataclass(frozen=True, slots=True)
class Rejection(FailureSummary):
    """Why a host cannot take the request: every check it failed, in the order checked."""

    failures: tuple[Failure, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Placement:
    """Everything decided for one request on one host, at one generation."""

    host_id: int
    generation: int
    allocation: Allocation
    disk_pools: tuple[str, ...]
    nics: tuple[NicChoice, ...]
    numa_nodes: tuple[int, ...] = ()
    hugepage_size_kib: int | None = None  # None when the nodes' page sizes differ


def _pin(view: HostView, request: model.ComposeRequest, spread: bool) -> tuple[int, ...] | Failure:
    taken = view.usage.pinned
    allowed = set(cap.pinnable_cores(view))
    if request.pinned_cores:
        bad = [c for c in request.pinned_cores if c not in allowed or c in taken]
        if bad:
            return Failure(
                Check.PINNING,
                f"cannot pin cores {','.join(map(str, bad))} (taken, reserved or absent)",
            )
        return tuple(sorted(request.pinned_cores))
    n = request.cores
    options = []
    most = 0
    for node in view.nodes():
        free = [c for c in node.cores if c in allowed and c not in taken]
        most = max(most, len(free))
        if len(free) >= n:
            options.append((len(free), node.index, tuple(free[:n])))
    if not options:
        return Failure(
            Check.PINNING,
            f"lack {n} free cores on one NUMA node to pin",
            figures=Figures(Unit.CORES, n, free=most),
        )
    options.sort(key=lambda o: (-o[0] if spread else o[0], o[1]))
    return options[0][2]


def _cores(
    view: HostView, request: model.ComposeRequest, pinned: tuple[int, ...]
) -> Failure | None:
    used = view.usage.vcpus.total
    if pinned:
        if used > cap.shared_core_capacity(view, extra_pinned=len(pinned)):
            return Failure(
                Check.CORES, f"pinning {len(pinned)} cores would over-commit the shared vCPUs"
            )
        for node in view.nodes():
            mine = sum(1 for c in pinned if c in node.cores)
            if mine and view.usage.node_vcpus.get(node.index, 0) > cap.node_core_capacity(
                view, node, mine
            ):
                return Failure(
                    Check.CORES,
                    f"pinning would over-commit NUMA node {node.index}",
                    Subject(numa_node=node.index),
                )
        return None
    return host_shortfall(
        Check.CORES,
        Unit.CORES,
        request.cores,
        used=used,
        capacity=cap.shared_core_capacity(view),
        limit=max(view.cores - view.reserved_cores, 0),
        total=view.cores,
        set_aside=len(view.usage.pinned),
        reserved=view.reserved_cores,
        ratio=view.cpu_over_commit_ratio,
        lack="lack {} free cores",
        too_big="have fewer than {} cores for one VM",
    )


def _numa_node_for(view: HostView, request: model.ComposeRequest, spread: bool) -> int | Failure:
    """The NUMA node for an unpinned NUMA-affine VM (never one smaller than the VM)."""
    best: tuple[int, int] | None = None
    for node in view.nodes():
        if request.cores > len(node.cores):
            continue
        if cap.node_free_vcpus(view, node) < request.cores:
            continue
        if request.hugepages_backed:
            free_mem = max(
                (
                    cap.free_hugepages_mib(view, node, h.page_size_kib)
                    for h in node.hugepages
                    if request.hugepage_size_kib in (None, h.page_size_kib)
                ),
                default=0,
            )
        else:
            if request.memory_mib > node.memory_mib - node.hugepages_mib:
                continue
            free_mem = cap.node_free_memory_mib(view, node)
        if free_mem < request.memory_mib:
            continue
        score = free_mem if spread else -free_mem
        if best is None or score > best[0]:
            best = (score, node.index)
    if best is None:
        return Failure(
            Check.NUMA,
            f"no NUMA node has {request.cores} cores and {request.memory_mib} MiB free",
        )
    return best[1]


def _pool_failure(view: HostView, name: str, size: int) -> Failure:
    pool = view.storage_pool(name)
    free = cap.pool_free_bytes(view, name)
    held = view.usage.pools.get(name)
    return Failure(
        Check.STORAGE,
        f"lack {size / 1000**3:g} GB in storage pool {name!r}",
        Subject(storage_pool=name),
        Figures(
            Unit.BYTES,
            size,
            free=free,
            total=pool.total_bytes if pool else 0,
            set_aside=pool.external_bytes if pool else 0,
            capacity=(pool.total_bytes - pool.external_bytes) if pool else 0,
            used=held.total if held else 0,
        ),
    )


def _disks(
    view: HostView, request: model.ComposeRequest
) -> tuple[tuple[str, ...], tuple[tuple[str, int], ...]] | list[Failure]:
    chosen: list[str] = []
    need: dict[str, int] = {}
    failures: list[Failure] = []
    for disk in request.disks:
        if disk.pool:
            if view.storage_pool(disk.pool) is None:
                failures.append(
                    Failure(
                        Check.STORAGE,
                        f"have no storage pool {disk.pool!r}",
                        Subject(storage_pool=disk.pool),
                    )
                )
                continue
            name = disk.pool
        elif disk.tags:
            tagged = [
                p for p in view.pools if set(disk.tags) <= set(p.tags) or p.name in disk.tags
            ]
            if not tagged:
                failures.append(
                    Failure(Check.STORAGE, f"have no storage pool tagged {','.join(disk.tags)}")
                )
                continue
            name = max(
                tagged,
                key=lambda p: (cap.pool_free_bytes(view, p.name) - need.get(p.name, 0), p.name),
            ).name
        elif view.default_pool and view.storage_pool(view.default_pool):
            name = view.default_pool
        elif view.pools:
            name = max(
                view.pools,
                key=lambda p: (cap.pool_free_bytes(view, p.name) - need.get(p.name, 0), p.name),
            ).name
        else:
            failures.append(Failure(Check.STORAGE, "have no storage pool"))
            continue
        need[name] = need.get(name, 0) + disk.size_bytes
        chosen.append(name)
    for name, size in need.items():
        if cap.pool_free_bytes(view, name) < size:
            failures.append(_pool_failure(view, name, size))
    if failures:
        return failures
    return tuple(chosen), tuple(sorted(need.items()))


_Cores = tuple[tuple[int, ...], tuple[int, ...], list[tuple[int, int]], list[Failure]]


def _cores_and_nodes(view: HostView, request: model.ComposeRequest, spread: bool) -> _Cores:
    """(pinned cores, NUMA nodes, memory weights per node, failures)."""
    failures: list[Failure] = []
    pinned: tuple[int, ...] = ()
    if request.pinned:
        chosen = _pin(view, request, spread)
        if isinstance(chosen, Failure):
            return (), (), [], [chosen]
        pinned = chosen
    cores = _cores(view, request, pinned)
    if cores is not None:
        failures.append(cores)
    if pinned:
        weights = pinned_weights(view, pinned)
        return pinned, tuple(k for k, _ in weights), weights, failures
    if request.numa_affinity and not failures:
        node = _numa_node_for(view, request, spread)
        if isinstance(node, Failure):
            return (), (), [], [node]
        return (), (node,), [(node, 1)], failures
    return (), (), [], failures


def fit(
    view: HostView, request: model.ComposeRequest, spread: bool = False, every: bool = True
) -> Placement | Rejection:
    """Decide what ``request`` would take on ``view``, or say every reason it cannot (only the
    first with ``every=False``: for callers that need the answer, not the explanation)."""
    pinned, numa_nodes, weights, failures = _cores_and_nodes(view, request, spread)
    if failures and not every:
        return Rejection(tuple(failures))
    mem = memory_placement(view, request, weights, spread)
    if isinstance(mem, list):
        failures.extend(mem)
        if not every:
            return Rejection(tuple(failures))
    disks = _disks(view, request)
    if isinstance(disks, list):
        failures.extend(disks)
        if not every:
            return Rejection(tuple(failures))
    nics = nic_placement(view, request)
    if isinstance(nics, Failure):
        failures.append(nics)
    if failures or isinstance(mem, list) or isinstance(disks, list) or isinstance(nics, Failure):
        return Rejection(tuple(failures))
    memory, hugepages, hp_size, numa_memory = mem
    allocation = Allocation(
        vcpus=0 if pinned else request.cores,
        pinned_cores=pinned,
        memory_mib=memory,
        hugepages=hugepages,
        numa_vcpus=((numa_nodes[0], request.cores),) if numa_nodes and not pinned else (),
        numa_memory_mib=numa_memory,
        disks=disks[1],
        sriov=nics[1],
    )
    return Placement(
        host_id=view.id,
        generation=view.generation,
        allocation=allocation,
        disk_pools=disks[0],
        nics=nics[0],
        numa_nodes=numa_nodes,
        hugepage_size_kib=hp_size,
    )
