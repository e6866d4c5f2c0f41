"""Keeping a host's usage exact: compare-and-swap writes, recounts, adopted VMs' allocations."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import TypeVar

from vmhost import model, store
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
    """What a VM found on the host holds, in our terms."""
    pinned = tuple(sorted(vm.pinned_cores))
    nodes = {n.index: n for n in view.numa}
    numa_vcpus: tuple[tuple[int, int], ...] = ()
    numa_memory: tuple[tuple[int, int], ...] = ()
    hugepages: tuple[tuple[int, int, int], ...] = ()
    node = vm.numa_node
    if pinned and nodes:
        weights = [(k, sum(1 for c in pinned if c in n.cores)) for k, n in nodes.items()]
        weights = [(k, w) for k, w in weights if w]
        if weights:
            node = max(weights, key=lambda x: x[1])[0]
    if node is not None and not pinned:
        numa_vcpus = ((node, vm.cores),)
    if vm.hugepages_backed:
        sizes = sorted({h.page_size_kib for n in view.numa for h in n.hugepages})
        size = sizes[0] if sizes else 2048
        hugepages = ((node if node is not None else 0, size, vm.memory_mib),)
    elif node is not None:
        numa_memory = ((node, vm.memory_mib),)
    disks: dict[str, int] = {}
    for d in vm.disks:
        disks[d.pool] = disks.get(d.pool, 0) + d.size_bytes
    sriov: dict[str, int] = {}
    by_network = {s.network: s.name for s in view.sriov if s.network}
    for nic in vm.nics:
        if nic.kind is model.NetworkKind.SRIOV:
            # accounts are per physical function; LXD reports a managed SR-IOV network's name
            pf = nic.network if any(s.name == nic.network for s in view.sriov) else None
            pf = pf or by_network.get(nic.network, nic.network)
            sriov[pf] = sriov.get(pf, 0) + 1
    return Allocation(
        vcpus=0 if pinned else vm.cores,
        pinned_cores=pinned,
        memory_mib=0 if vm.hugepages_backed else vm.memory_mib,
        hugepages=hugepages,
        numa_vcpus=numa_vcpus,
        numa_memory_mib=numa_memory,
        disks=tuple(sorted(disks.items())),
        sriov=tuple(sorted(sriov.items())),
    )
