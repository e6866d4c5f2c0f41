"""Where a compose request would go: ranked candidate hosts and, per check, why the other
hosts cannot take it (``vmhost.service.views`` re-exports it)."""

from __future__ import annotations

import dataclasses

from vmhost import model, scheduler


@dataclasses.dataclass(frozen=True, slots=True)
class HostRef:
    """A host, briefly."""

    id: int
    name: str


@dataclasses.dataclass(frozen=True, slots=True)
class CandidateHost:
    """A host that could take the request, with its weight and where the VM would go."""

    host: HostRef
    weight: float
    numa_nodes: tuple[int, ...]
    disk_pools: tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Candidates:
    """Ranked candidates of a compose request and, per check, why the other hosts cannot."""

    considered: int
    candidates: tuple[CandidateHost, ...]
    reasons: tuple[model.Reason, ...]
    message: str


def candidates(ranked: scheduler.Schedule, why_not: model.NoCapacityError) -> Candidates:
    """Ranked candidates of a compose request (``ranked``) and, over the hosts the request may
    go to (every host, or the one it names), per check how many hosts it removes and why
    (``why_not``: ``ClaimsService.explain``)."""
    return Candidates(
        considered=why_not.considered,
        candidates=tuple(
            CandidateHost(
                host=HostRef(c.view.id, c.view.name),
                weight=c.weight,
                numa_nodes=tuple(c.placement.numa_nodes),
                disk_pools=tuple(c.placement.disk_pools),
            )
            for c in ranked.candidates
        ),
        reasons=tuple(why_not.reasons),
        message=scheduler.describe(why_not.reasons, why_not.considered),
    )
