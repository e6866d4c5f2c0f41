"""The scheduling pipeline: policy filters, then exact fit, then weighers.

``schedule`` returns every candidate ranked best first, with the placement each would get, and
the hosts removed grouped by what refused them (``model.Reason``: the checks, their subjects
and figures); ``no_capacity_error`` turns those into the message operators read: for several
hosts "3 hosts considered: 2 lack 16384 MiB of memory; 1 not in zone 'z2'", for one host
"host 'kvm-3' cannot take this VM: 3 cores requested, 2 free (8 cores × 1.0, 6 used)".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import TypeVar

from vmhost import model
from vmhost.model import Failure, Reason
from vmhost.model.accounting import HostView

from . import filters, weighers
from .fit import Placement, fit

NO_HOST = "No VM host can take this request"


@dataclasses.dataclass(frozen=True, slots=True)
class Candidate:
    """A host that can take the request, what it would take there, and its weight."""

    view: HostView
    placement: Placement
    weight: float


@dataclasses.dataclass(frozen=True, slots=True)
class Schedule:
    """The ranked candidates, and the hosts removed grouped by why (most hosts first)."""

    candidates: list[Candidate]
    considered: int
    removed: list[Reason]


@dataclasses.dataclass(slots=True)
class _Group:
    """Hosts refused alike: how many, the failures they share, the first of them, and the
    distinct failures (figures included) already merged into ``failures``: merging one of those
    again changes nothing (what hosts share is already within each of them), so hosts of the
    same size and usage are merged once."""

    hosts: int
    failures: tuple[Failure, ...]
    first: HostView
    merged: set[tuple[Failure, ...]]


def _common(a: tuple[Failure, ...], b: tuple[Failure, ...]) -> tuple[Failure, ...]:
    """What two hosts refused alike share: their failures with only the figures both have."""
    if a == b:
        return a
    return tuple(
        fa
        if fa.figures is None or fa.figures == fb.figures
        else fa.with_figures(None if fb.figures is None else fa.figures.common(fb.figures))
        for fa, fb in zip(a, b, strict=True)
    )


# What ``schedule(explain=False)`` found for a host: {host id: (the view, the request, spread,
# the filters, the placement or None when refused)}. A function of those alone, so an entry holds
# while the caller passes the same view object (the store makes one per stored row) and an equal
# request; one entry per host, replaced when either changes.
_Outcome = TypeVar("_Outcome")
_Kept = tuple[
    HostView, model.ComposeRequest, bool, Sequence[tuple[model.Check, filters.Filter]], _Outcome
]
FitMemo = dict[int, _Kept[Placement | None]]


# What ``schedule(explain=True)`` found for a host: as a FitMemo entry, with the host's failures
# in place of None when refused. Held for the process (one entry per host id, replaced when the
# view object or the request changes): explaining why nothing fits asks every host again, and
# the store hands out the same view object for an unchanged row, so a second explanation of an
# equal request re-fits only the hosts that changed since.
_EXPLAINED: dict[int, _Kept[Placement | tuple[Failure, ...]]] = {}


class _SameRequest:
    """Whether a memo entry's request equals this call's: compared once per request object the
    entries hold (a call's entries mostly hold one, that of the call that made them), not once
    per host."""

    __slots__ = ("request", "seen")

    def __init__(self, request: model.ComposeRequest) -> None:
        self.request = request
        # id of a kept request -> (that request, whether it is equal): the request is held so
        # that its id stays its own for this call
        self.seen: dict[int, tuple[model.ComposeRequest, bool]] = {}

    def __call__(self, kept: model.ComposeRequest) -> bool:
        if kept is self.request:
            return True
        known = self.seen.get(id(kept))
        if known is None:
            known = self.seen[id(kept)] = (kept, kept == self.request)
        return known[1]


def _kept(
    entry: tuple[HostView, model.ComposeRequest, bool, object, object],
    view: HostView,
    same: _SameRequest,
    spread: bool,
    policy_filters: Sequence[tuple[model.Check, filters.Filter]],
) -> bool:
    """Whether a memo entry (``FitMemo`` or ``_EXPLAINED``) was made for these arguments: the
    same view object, policy and filters, and an equal request."""
    return (
        entry[0] is view and entry[2] is spread and entry[3] is policy_filters and same(entry[1])
    )


def _explain_one(
    view: HostView,
    same: _SameRequest,
    spread: bool,
    policy_filters: Sequence[tuple[model.Check, filters.Filter]],
) -> Placement | tuple[Failure, ...]:
    """The placement ``view`` would get, or every failure that refuses it (the first policy
    filter that refuses it, else the exact fit's failures), kept in ``_EXPLAINED``."""
    entry = _EXPLAINED.get(view.id)
    if entry is not None and _kept(entry, view, same, spread, policy_filters):
        return entry[4]
    request = same.request
    outcome: Placement | tuple[Failure, ...]
    for check, policy_filter in policy_filters:
        text = policy_filter(view, request)
        if text is not None:
            outcome = (Failure(check, text),)
            break
    else:
        result = fit(view, request, spread, True)
        outcome = result if isinstance(result, Placement) else result.failures
    _EXPLAINED[view.id] = (view, request, spread, policy_filters, outcome)
    return outcome


def schedule(
    views: Iterable[HostView],
    request: model.ComposeRequest,
    policy: model.PlacementPolicy = model.PlacementPolicy.PACK,
    policy_filters: Sequence[tuple[model.Check, filters.Filter]] = filters.DEFAULT_FILTERS,
    explain: bool = True,
    memo: FitMemo | None = None,
) -> Schedule:
    """Filter, fit and rank ``views`` for ``request``. With ``explain=False`` (finding and
    claiming, where nobody reads why) a refused host costs only its first failed check and
    ``removed`` is empty; there, ``memo`` keeps each host's outcome for the next call (a claim
    changes one host of a page: the others are not fitted again)."""
    spread = policy is not model.PlacementPolicy.PACK
    groups: dict[tuple[object, ...], _Group] = {}
    fitting: list[tuple[HostView, Placement]] = []
    considered = 0
    if explain:
        memo = None
    same = _SameRequest(request)
    for view in views:
        considered += 1
        if memo is not None:
            entry = memo.get(view.id)
            if entry is not None and _kept(entry, view, same, spread, policy_filters):
                if entry[4] is not None:
                    fitting.append((view, entry[4]))
                continue
            placed = _fit_one(view, request, spread, policy_filters)
            memo[view.id] = (view, request, spread, policy_filters, placed)
            if placed is not None:
                fitting.append((view, placed))
            continue
        if not explain:
            placed = _fit_one(view, request, spread, policy_filters)
            if placed is not None:
                fitting.append((view, placed))
            continue
        outcome = _explain_one(view, same, spread, policy_filters)
        if isinstance(outcome, Placement):
            fitting.append((view, outcome))
            continue
        failures = outcome
        key = tuple(f[:3] for f in failures)  # all but the figures
        group = groups.get(key)
        if group is None:
            groups[key] = _Group(1, failures, view, {failures})
        else:
            group.hosts += 1
            if failures not in group.merged:
                group.merged.add(failures)
                group.failures = _common(group.failures, failures)
    ranked = weighers.weigh(fitting, policy)
    removed = [
        Reason(g.hosts, g.failures, g.first.id, g.first.name)
        if g.hosts == 1
        else Reason(g.hosts, g.failures)
        for g in sorted(groups.values(), key=lambda g: -g.hosts)
    ]
    return Schedule(
        candidates=[Candidate(v, p, w) for w, v, p in ranked],
        considered=considered,
        removed=removed,
    )


def _fit_one(
    view: HostView,
    request: model.ComposeRequest,
    spread: bool,
    policy_filters: Sequence[tuple[model.Check, filters.Filter]],
) -> Placement | None:
    """The placement ``view`` would get (filters, then exact fit), or None when refused."""
    for _check, policy_filter in policy_filters:
        if policy_filter(view, request) is not None:
            return None
    result = fit(view, request, spread, False)
    return result if isinstance(result, Placement) else None


def describe(removed: Sequence[Reason], considered: int) -> str:
    """``3 hosts considered: 2 lack 16384 MiB of memory; 1 not in zone 'z2'``, or for one host
    ``host 'kvm-3' cannot take this VM: 3 cores requested, 2 free (8 cores × 1.0, 6 used)``."""
    if considered == 0:
        return "there are no VM hosts"
    if considered == 1 and len(removed) == 1 and removed[0].host_name is not None:
        return f"host {removed[0].host_name!r} cannot take this VM: {removed[0].detail}"
    noun = "host" if considered == 1 else "hosts"
    parts = [f"{r.hosts} {r.reason}" for r in removed]
    return f"{considered} {noun} considered: " + "; ".join(parts)


def no_capacity_error(result: Schedule, extra: Sequence[Reason] = ()) -> model.NoCapacityError:
    """The error for a request no host can take, naming every check's removals."""
    removed = [*result.removed, *extra]
    considered = result.considered + sum(r.hosts for r in extra)
    text = describe(removed, considered)
    message = text if text.startswith("host ") else f"{NO_HOST}; {text}"
    return model.NoCapacityError(message, removed, considered)
