"""Weighers: how good a host is for a request, once it fits (Nova's shape, small).

Each weigher gives a raw number per candidate; the pipeline normalises each weigher's numbers to
0..1 across candidates, multiplies by the weigher's factor and sums. Higher wins; ties go to the
lower host id, so the result is deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from vmhost import model
from vmhost.model.accounting import HostView

from . import capacity as cap
from .fit import Placement

Weigher = Callable[[HostView, Placement], float]


def _fraction(free: int, total: int) -> float:
    return free / total if total > 0 else 0.0


def free_fraction(view: HostView, placement: Placement) -> float:
    """Mean free fraction of shared cores and general memory once the VM is placed."""
    alloc = placement.allocation
    cores_total = cap.shared_core_capacity(view, len(alloc.pinned_cores))
    cores_free = cores_total - view.usage.vcpus.total - alloc.vcpus
    mem_total = cap.memory_capacity_mib(view)
    mem_free = mem_total - view.usage.memory_mib.total - alloc.memory_mib
    return (_fraction(cores_free, cores_total) + _fraction(mem_free, mem_total)) / 2


def negative_free_fraction(view: HostView, placement: Placement) -> float:
    """Pack: the fuller the better."""
    return -free_fraction(view, placement)


def fewest_vms(view: HostView, placement: Placement) -> float:
    """Least-loaded: fewer VMs is better."""
    return -float(view.usage.vms.total)


POLICIES: dict[model.PlacementPolicy, Sequence[tuple[Weigher, float]]] = {
    model.PlacementPolicy.PACK: ((negative_free_fraction, 1.0),),
    model.PlacementPolicy.SPREAD: ((free_fraction, 1.0),),
    model.PlacementPolicy.LEAST_LOADED: ((fewest_vms, 1.0), (free_fraction, 0.5)),
}


def weigh(
    candidates: Sequence[tuple[HostView, Placement]], policy: model.PlacementPolicy
) -> list[tuple[float, HostView, Placement]]:
    """Rank candidates best first: normalised weights times factors, ties by host id."""
    totals = [0.0] * len(candidates)
    for weigher, factor in POLICIES[policy]:
        raw = [weigher(v, p) for v, p in candidates]
        if not raw:
            break
        low, high = min(raw), max(raw)
        span = high - low
        for i, value in enumerate(raw):
            totals[i] += factor * ((value - low) / span if span else 0.0)
    ranked = [(totals[i], v, p) for i, (v, p) in enumerate(candidates)]
    ranked.sort(key=lambda x: (-x[0], x[1].id))
    return ranked
