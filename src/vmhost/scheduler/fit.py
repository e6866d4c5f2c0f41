"""Whether one request fits one host, and exactly what it would take there (a Placement).

Pure. ``fit`` either returns a Placement (cores chosen, NUMA nodes, hugepages per node, a pool
per disk, a network per NIC, SR-IOV functions) or a Rejection naming the check that failed and
why, in words that group well ("lack 16384 MiB of memory").
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from vmhost import model
from vmhost.model.accounting import Allocation, HostView

from . import capacity as cap


@dataclasses.dataclass(frozen=True, slots=True)
class Rejection:
    """Why a host was removed: the check's name and a reason shared by hosts failing alike."""

    check: str
    reason: str


@dataclasses.dataclass(frozen=True, slots=True)
class NicChoice:
    """The network one requested NIC lands on."""

    name: str
    network: str
    kind: model.NetworkKind
    space: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Placement:
    """Everything decided for one request on one host, at one generation."""

    host_id: int
    generation: int
    allocation: Allocation
    disk_pools: tuple[str, ...]
    nics: tuple[NicChoice, ...]
    numa_nodes: tuple[int, ...] = ()
    hugepage_size_kib: int | None = None


def _mib(mib: int) -> str:
    return f"{mib} MiB"


def _split_weighted(total: int, weights: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Split ``total`` over keys in proportion to integer weights; remainder to the heaviest."""
    whole = sum(w for _, w in weights)
    parts = [(k, total * w // whole) for k, w in weights]
    rest = total - sum(p for _, p in parts)
    if rest:
        heaviest = max(range(len(parts)), key=lambda i: (weights[i][1], -i))
        k, p = parts[heaviest]
        parts[heaviest] = (k, p + rest)
    return [(k, p) for k, p in parts if p]


def _pin(
    view: HostView, request: model.ComposeRequest, spread: bool
) -> tuple[int, ...] | Rejection:
    taken = view.usage.pinned
    allowed = set(cap.pinnable_cores(view))
    if request.pinned_cores:
        bad = [c for c in request.pinned_cores if c not in allowed or c in taken]
        if bad:
            return Rejection(
                "pinning",
                f"cannot pin cores {','.join(map(str, bad))} (taken, reserved or absent)",
            )
        return tuple(sorted(request.pinned_cores))
    n = request.cores
    options = []
    for node in view.nodes():
        free = [c for c in node.cores if c in allowed and c not in taken]
        if len(free) >= n:
            options.append((len(free), node.index, tuple(free[:n])))
    if not options:
        return Rejection("pinning", f"lack {n} free cores on one NUMA node to pin")
    options.sort(key=lambda o: (-o[0] if spread else o[0], o[1]))
    return options[0][2]


def _cores(
    view: HostView, request: model.ComposeRequest, pinned: tuple[int, ...]
) -> Rejection | None:
    if pinned:
        if view.usage.vcpus.total > cap.shared_core_capacity(view, extra_pinned=len(pinned)):
            return Rejection(
                "cores", f"pinning {len(pinned)} cores would over-commit the shared vCPUs"
            )
        for node in view.nodes():
            mine = sum(1 for c in pinned if c in node.cores)
            if mine and view.usage.node_vcpus.get(node.index, 0) > cap.node_core_capacity(
                view, node, mine
            ):
                return Rejection("cores", f"pinning would over-commit NUMA node {node.index}")
        return None
    if view.usage.vcpus.total + request.cores > cap.shared_core_capacity(view):
        return Rejection("cores", f"lack {request.cores} free cores")
    return None


def _numa_node_for(view: HostView, request: model.ComposeRequest, spread: bool) -> int | Rejection:
    """The NUMA node for an unpinned NUMA-affine VM."""
    best: tuple[int, int] | None = None
    for node in view.nodes():
        free_cores = cap.node_core_capacity(view, node) - view.usage.node_vcpus.get(node.index, 0)
        if free_cores < request.cores:
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
            free_mem = cap.node_memory_capacity_mib(view, node) - view.usage.node_memory_mib.get(
                node.index, 0
            )
        if free_mem < request.memory_mib:
            continue
        score = free_mem if spread else -free_mem
        if best is None or score > best[0]:
            best = (score, node.index)
    if best is None:
        return Rejection(
            "numa",
            f"no NUMA node has {request.cores} cores and {_mib(request.memory_mib)} free",
        )
    return best[1]


def _hugepages(
    view: HostView,
    request: model.ComposeRequest,
    weights: list[tuple[int, int]],
    spread: bool,
) -> tuple[tuple[tuple[int, int, int], ...], int] | Rejection:
    sizes = sorted({h.page_size_kib for n in view.nodes() for h in n.hugepages})
    size = request.hugepage_size_kib or (sizes[0] if sizes else 0)
    if not size or size not in sizes:
        what = f"{size} KiB hugepages" if request.hugepage_size_kib else "hugepages"
        return Rejection("hugepages", f"have no {what}")
    page_mib = size / 1024

    def round_up(mib: int) -> int:
        return math.ceil(mib / page_mib) * size // 1024 if size >= 1024 else mib

    nodes = {n.index: n for n in view.nodes()}
    if weights:
        parts = [(k, round_up(mib)) for k, mib in _split_weighted(request.memory_mib, weights)]
        for k, mib in parts:
            if cap.free_hugepages_mib(view, nodes[k], size) < mib:
                return Rejection(
                    "hugepages",
                    f"lack {_mib(request.memory_mib)} of {size} KiB hugepages on NUMA node {k}",
                )
        return tuple((k, size, mib) for k, mib in parts), size
    need = round_up(request.memory_mib)
    options = [
        (cap.free_hugepages_mib(view, n, size), n.index)
        for n in nodes.values()
        if cap.free_hugepages_mib(view, n, size) >= need
    ]
    if not options:
        return Rejection(
            "hugepages",
            f"lack {_mib(request.memory_mib)} of {size} KiB hugepages on one NUMA node",
        )
    options.sort(key=lambda o: (-o[0] if spread else o[0], o[1]))
    return ((options[0][1], size, need),), size


def _disks(
    view: HostView, request: model.ComposeRequest
) -> tuple[tuple[str, ...], tuple[tuple[str, int], ...]] | Rejection:
    chosen: list[str] = []
    need: dict[str, int] = {}
    for disk in request.disks:
        if disk.pool:
            if view.storage_pool(disk.pool) is None:
                return Rejection("storage", f"have no storage pool {disk.pool!r}")
            name = disk.pool
        elif disk.tags:
            tagged = [
                p for p in view.pools if set(disk.tags) <= set(p.tags) or p.name in disk.tags
            ]
            if not tagged:
                return Rejection("storage", f"have no storage pool tagged {','.join(disk.tags)}")
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
            return Rejection("storage", "have no storage pool")
        need[name] = need.get(name, 0) + disk.size_bytes
        chosen.append(name)
    for name, size in need.items():
        if cap.pool_free_bytes(view, name) < size:
            return Rejection("storage", f"lack {size / 1000**3:g} GB in storage pool {name!r}")
    return tuple(chosen), tuple(sorted(need.items()))


def _default_nic(view: HostView) -> tuple[NicChoice, ...]:
    for name, kind in view.networks:
        if kind in (model.NetworkKind.BRIDGE, model.NetworkKind.NETWORK):
            return (NicChoice("eth0", name, kind),)
    return ()


def _nics(
    view: HostView, request: model.ComposeRequest
) -> tuple[tuple[NicChoice, ...], tuple[tuple[str, int], ...]] | Rejection:
    if not request.interfaces:
        return _default_nic(view), ()
    kinds = dict(view.networks)
    choices: list[NicChoice] = []
    vfs: dict[str, int] = {}
    for i, nic in enumerate(request.interfaces):
        name = nic.name or f"eth{i}"
        if nic.network:
            candidates: tuple[str, ...] = nic.networks
        elif nic.space:
            candidates = tuple(n for s in nic.spaces for n in view.spaces.get(s, ()))
            if not candidates:
                where = " or ".join(repr(s) for s in nic.spaces)
                return Rejection("network", f"have no network in space {where}")
        else:
            default = _default_nic(view)
            candidates = (default[0].network,) if default else ()
            if not candidates:
                return Rejection("network", "have no network")
        if nic.kind is model.NetworkKind.SRIOV:
            pf = next(
                (
                    s
                    for s in view.sriov
                    if (s.name in candidates or s.network in candidates)
                    and cap.sriov_free_vfs(view, s.name) - vfs.get(s.name, 0) > 0
                ),
                None,
            )
            if pf is None:
                return Rejection(
                    "sriov", f"lack a free SR-IOV virtual function on {'/'.join(candidates)}"
                )
            vfs[pf.name] = vfs.get(pf.name, 0) + 1
            space = _space_of(view, nic, (pf.name, pf.network))
            choices.append(NicChoice(name, pf.name, model.NetworkKind.SRIOV, space))
            continue
        network = next((c for c in candidates if c in kinds), None)
        if network is None:
            what = (
                f"space {nic.space!r}"
                if nic.space and not nic.network
                else f"network {candidates[0]!r}"
            )
            return Rejection("network", f"have no {what}")
        kind = nic.kind or kinds[network]
        if kind is model.NetworkKind.PHYSICAL:
            kind = model.NetworkKind.MACVLAN
        choices.append(NicChoice(name, network, kind, _space_of(view, nic, (network,))))
    return tuple(choices), tuple(sorted(vfs.items()))


def _space_of(
    view: HostView, nic: model.InterfaceRequest, networks: tuple[str, ...]
) -> str | None:
    """The space asked for that the chosen network is in (the first when several are)."""
    return next((s for s in nic.spaces if set(view.spaces.get(s, ())) & set(networks)), nic.space)


_Memory = tuple[int, tuple[tuple[int, int, int], ...], int | None, tuple[tuple[int, int], ...]]


def _memory(
    view: HostView, request: model.ComposeRequest, weights: list[tuple[int, int]], spread: bool
) -> _Memory | Rejection:
    """(general MiB, hugepages, hugepage size, general MiB per NUMA node)."""
    if request.hugepages_backed:
        hp = _hugepages(view, request, weights, spread)
        if isinstance(hp, Rejection):
            return hp
        return 0, hp[0], hp[1], ()
    memory = request.memory_mib
    if view.usage.memory_mib.total + memory > cap.memory_capacity_mib(view):
        return Rejection("memory", f"lack {_mib(memory)} of memory")
    numa_memory: tuple[tuple[int, int], ...] = ()
    if weights:
        numa_memory = tuple(_split_weighted(memory, weights))
        nodes = {n.index: n for n in view.nodes()}
        for k, mib in numa_memory:
            used = view.usage.node_memory_mib.get(k, 0)
            if used + mib > cap.node_memory_capacity_mib(view, nodes[k]):
                return Rejection("memory", f"lack {_mib(memory)} of memory on NUMA node {k}")
    return memory, (), None, numa_memory


def fit(
    view: HostView, request: model.ComposeRequest, spread: bool = False
) -> Placement | Rejection:
    """Decide what ``request`` would take on ``view``, or say why it cannot."""
    pinned: tuple[int, ...] = ()
    if request.pinned:
        result = _pin(view, request, spread)
        if isinstance(result, Rejection):
            return result
        pinned = result
    rejection = _cores(view, request, pinned)
    if rejection:
        return rejection
    numa_nodes: tuple[int, ...] = ()
    weights: list[tuple[int, int]] = []
    if pinned:
        weights = [
            (n.index, sum(1 for c in pinned if c in n.cores))
            for n in view.nodes()
            if any(c in n.cores for c in pinned)
        ]
        numa_nodes = tuple(k for k, _ in weights)
    elif request.numa_affinity:
        node = _numa_node_for(view, request, spread)
        if isinstance(node, Rejection):
            return node
        numa_nodes = (node,)
        weights = [(node, 1)]
    mem = _memory(view, request, weights, spread)
    if isinstance(mem, Rejection):
        return mem
    memory, hugepages, hp_size, numa_memory = mem
    disks = _disks(view, request)
    if isinstance(disks, Rejection):
        return disks
    nics = _nics(view, request)
    if isinstance(nics, Rejection):
        return nics
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
