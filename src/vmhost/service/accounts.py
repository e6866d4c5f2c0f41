"""Keeping a host's usage exact: compare-and-swap writes, recounts, adopted VMs' allocations."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import TypeVar

from vmhost import model, scheduler, store
from vmhost.model.accounting import Allocation, HostUsage, HostView
from vmhost.scheduler import capacity

T = TypeVar("T")
CAS_RETRIES = 50


def unknown_names(
    conn: store.Connection, names: Iterable[tuple[str, str | None]]
) -> dict[str, list[str]]:
    """Errors per field for zone/pool names (``("zone", name)``, ``("pool", name)``) that do not
    exist; None values are skipped."""
    errors: dict[str, list[str]] = {}
    for kind, value in names:
        if value is None:
            continue
        try:
            store.catalog.named_id(conn, kind, value)
        except model.NotFoundError as exc:
            errors.setdefault(kind, []).append(f"no {exc.kind} named {value!r}")
    return errors


def usage_values(view: HostView, usage: HostUsage) -> dict[str, object]:
    """Column values for a new usage, with its exact prefilter hints."""
    hints = capacity.prefilter_hints(dataclasses.replace(view, usage=usage))
    return store.rows.hints_values(hints, usage)


def with_cas_retry(db: store.Database, work: Callable[[store.Connection], T]) -> T:
    """Run ``work`` in a write transaction, again when it lost a generation race (bounded)."""
    for _ in range(CAS_RETRIES):
        try:
            with db.write() as conn:
                return work(conn)
        except model.GenerationConflictError:
            continue
    raise model.ConflictError("the VM host kept changing; try again")


def change_usage(
    conn: store.Connection, host_id: int, change: Callable[[HostUsage], HostUsage]
) -> HostView:
    """Apply ``change`` to a host's usage under its generation (raises on a lost race)."""
    view = store.candidates.load_view(conn, host_id, spaces={})
    usage = change(view.usage)
    store.hosts.cas_update_host(conn, host_id, view.generation, usage_values(view, usage))
    return dataclasses.replace(view, usage=usage, generation=view.generation + 1)


def settle(conn: store.Connection, host_id: int) -> HostView:
    """Set a host's usage to the sum of its VM records, under its generation.

    Every change that removes or restores a VM's resources goes through here rather than
    subtracting: a VM already taken out of the usage (MISSING) can never be subtracted twice,
    and a pinned core re-given meanwhile is never dropped from the set.
    """
    usage = recount(conn, host_id)
    return change_usage(conn, host_id, lambda _old: usage)


def recount(conn: store.Connection, host_id: int) -> HostUsage:
    """The usage a host should have: the sum of its VM records' allocations."""
    held = [
        (alloc, vm.origin)
        for vm, alloc in store.vms.list_vms(conn, host_id)
        if vm.state is not model.VmState.MISSING
    ]
    return HostUsage.of(held)


def adopted_allocation(view: HostView, vm: model.DiscoveredVm) -> Allocation:
    """What a VM found on the host holds, in our terms (the scheduler's NUMA rules)."""
    return scheduler.found_allocation(view, vm)
