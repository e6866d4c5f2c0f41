"""The scheduling pipeline: policy filters, then exact fit, then weighers.

``schedule`` returns every candidate ranked best first, with the placement each would get, and
for every host removed the check that removed it; ``no_capacity_error`` turns those reasons into
the message operators read ("3 hosts considered: 2 lack 16384 MiB of memory; 1 not in zone
'z2'").
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Iterable, Sequence

from vmhost import model
from vmhost.model.accounting import HostView

from . import filters, weighers
from .fit import Placement, Rejection, fit


@dataclasses.dataclass(frozen=True, slots=True)
class Candidate:
    """A host that can take the request, what it would take there, and its weight."""

    view: HostView
    placement: Placement
    weight: float


@dataclasses.dataclass(frozen=True, slots=True)
class Schedule:
    """The ranked candidates, and per check how many hosts it removed and why."""

    candidates: list[Candidate]
    considered: int
    removed: list[tuple[str, int, str]]  # (check, hosts, reason)


def schedule(
    views: Iterable[HostView],
    request: model.ComposeRequest,
    policy: model.PlacementPolicy = model.PlacementPolicy.PACK,
    policy_filters: Sequence[tuple[str, filters.Filter]] = filters.DEFAULT_FILTERS,
) -> Schedule:
    """Filter, fit and rank ``views`` for ``request``."""
    spread = policy is not model.PlacementPolicy.PACK
    removed: collections.Counter[tuple[str, str]] = collections.Counter()
    fitting: list[tuple[HostView, Placement]] = []
    considered = 0
    for view in views:
        considered += 1
        for name, check in policy_filters:
            reason = check(view, request)
            if reason is not None:
                removed[(name, reason)] += 1
                break
        else:
            result = fit(view, request, spread)
            if isinstance(result, Rejection):
                removed[(result.check, result.reason)] += 1
            else:
                fitting.append((view, result))
    ranked = weighers.weigh(fitting, policy)
    return Schedule(
        candidates=[Candidate(v, p, w) for w, v, p in ranked],
        considered=considered,
        removed=[(check, n, reason) for (check, reason), n in removed.most_common()],
    )


def describe(removed: Sequence[tuple[str, int, str]], considered: int) -> str:
    """``3 hosts considered: 2 lack 16384 MiB of memory; 1 not in zone 'z2'``."""
    if considered == 0:
        return "there are no VM hosts"
    noun = "host" if considered == 1 else "hosts"
    parts = [f"{n} {reason}" for _, n, reason in removed]
    return f"{considered} {noun} considered: " + "; ".join(parts)


def no_capacity_error(
    result: Schedule, extra: Sequence[tuple[str, int, str]] = ()
) -> model.NoCapacityError:
    """The error for a request no host can take, naming each check's removals."""
    removed = [*result.removed, *extra]
    considered = result.considered + sum(n for _, n, _ in extra)
    return model.NoCapacityError(
        f"No VM host can take this request; {describe(removed, considered)}", removed
    )
