"""Use cases on the owner of composed VMs: allocate, release, the idle (warm-pool) list, and
re-reading a VM's addresses from its host.

A composed VM is *idle* when its owner is ``""`` and *allocated* otherwise. The Juju provider
allocates an idle VM that matches a request (the warm pool) or composes one with its owner set
in the claim's own transaction; releasing clears the owner (the VM stays, idle) while
decomposing deletes it. Allocation is a single ``UPDATE ... WHERE owner = ''``: of two
allocators racing for one VM exactly one gets it, the other a ConflictError.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Iterator

from vmhost import model, store
from vmhost.drivers import base
from vmhost.model.accounting import HostView
from vmhost.scheduler import filters

from .claims import space_mappings
from .context import Context
from .vms import VmsService

log = logging.getLogger("vmhost.service.allocation")
MAX_OWNER_LENGTH = model.vm.MAX_OWNER_LENGTH
#: Idle VMs :meth:`AllocationService.take` offers per round, and rounds before giving up.
TAKE_PAGE = 8
TAKE_ROUNDS = 4
#: Idle records read first when looking for matches (then four times as many each time).
IDLE_PAGE = 8


def check_owner(owner: str) -> str:
    """An owner is 1 to 255 printable characters (InvalidInputError otherwise)."""
    if not owner or len(owner) > MAX_OWNER_LENGTH:
        raise model.InvalidInputError.for_field(
            "owner", f"must be 1 to {MAX_OWNER_LENGTH} characters"
        )
    if not owner.isprintable():
        raise model.InvalidInputError.for_field("owner", "must be printable characters only")
    return owner


@dataclasses.dataclass(frozen=True, slots=True)
class Allocated:
    """A VM allocated for a request: reused from the warm pool, or composed on a miss."""

    vm: model.Vm
    host_name: str
    reused: bool
    attempts: list[str]  # composed: "host: error" for hosts that failed first


class AllocationService:
    """Who holds which composed VM."""

    def __init__(self, ctx: Context, vms: VmsService) -> None:
        self.ctx = ctx
        self.vms = vms

    def allocate(self, vm_id: int, owner: str) -> model.Vm:
        """Give the idle VM ``vm_id`` to ``owner``; ConflictError when it is not idle (taken,
        still being composed, being deleted, missing, or adopted rather than composed)."""
        check_owner(owner)
        with self.ctx.db.write() as conn:
            won = store.vms.allocate_vm(conn, vm_id, owner)
            vm, _ = store.vms.get_vm(conn, vm_id)  # NotFoundError when there is no such VM
        if won:
            return vm
        if vm.owner:
            raise model.ConflictError(f"VM {vm.name!r} is already allocated to {vm.owner!r}")
        if vm.origin is not model.VmOrigin.COMPOSED:
            raise model.ConflictError(
                f"VM {vm.name!r} was found on its host, not composed by vmhost; "
                "only composed VMs are allocated"
            )
        raise model.ConflictError(f"VM {vm.name!r} is {vm.state.value}, not ready")

    def release(self, vm_id: int) -> model.Vm:
        """Clear the VM's owner: it stays on its host, idle (no-op when it is idle)."""
        with self.ctx.db.write() as conn:
            if not store.vms.release_vm(conn, vm_id):
                raise model.NotFoundError("VM", vm_id)
            return store.vms.get_vm(conn, vm_id)[0]

    def idle(
        self, request: model.ComposeRequest | None = None, limit: int | None = None
    ) -> list[model.Vm]:
        """Composed, ready VMs nobody owns (the warm pool), cheapest first (MAAS's cost:
        cores + memory in GiB, then id); with ``request``, only those that satisfy it
        (:func:`vm_mismatch`, then :func:`idle_mismatch` against their hosts). Records and
        host views are read a page at a time until ``limit`` are found. Nothing is allocated.
        """
        if limit is not None and limit <= 0:
            return []
        with self.ctx.db.read() as conn:
            if request is None:
                return store.vms.idle_vms(conn, limit=limit)
            page = None if limit is None else max(IDLE_PAGE, limit)
            return [vm for vm, _ in _matching(conn, request, limit, page)]

    def allocate_matching(
        self, request: model.ComposeRequest, owner: str, compose: bool
    ) -> Allocated:
        """Allocate to ``owner`` the cheapest idle VM that satisfies ``request``; on a miss,
        with ``compose``, compose one with ``owner`` set in its claim (NoCapacityError when
        no host can take it), without it ConflictError. The request is validated once."""
        check_owner(owner)
        request = self.vms.validate(dataclasses.replace(request, owner=owner))
        taken = self.take(request, owner)
        if taken is not None:
            return Allocated(taken[0], taken[1], True, [])
        if not compose:
            raise model.ConflictError("no idle VM satisfies the request")
        result = self.vms.compose_validated(request)
        return Allocated(result.vm, result.host_name, False, result.attempts)

    def take(self, request: model.ComposeRequest, owner: str) -> tuple[model.Vm, str] | None:
        """Allocate to ``owner`` the cheapest idle VM that satisfies ``request`` (as
        :meth:`idle` finds them), or None when none does. One write transaction: each VM
        offered is taken with the same ``UPDATE ... WHERE owner = ''`` as :meth:`allocate`,
        so of callers racing for one VM exactly one gets it and the others go on to the next
        (after ``TAKE_PAGE`` offers all taken meanwhile, the pool is read again). The VM as
        allocated and its host's name."""
        check_owner(owner)
        for _ in range(TAKE_ROUNDS):
            offered = 0
            with self.ctx.db.write() as conn:
                for vm, view in _matching(conn, request, None, IDLE_PAGE):
                    taken = store.vms.take_vm(conn, vm.id, owner)
                    if taken is not None:
                        return taken, view.name
                    offered += 1
                    if offered == TAKE_PAGE:
                        break
            if offered < TAKE_PAGE:
                return None
        return None

    def list(
        self,
        *,
        host_id: int | None = None,
        origin: model.VmOrigin | None = None,
        states: list[model.VmState] | None = None,
        owner: str | None = None,
        idle: bool | None = None,
    ) -> list[model.Vm]:
        """VMs filtered by owner too; ``idle`` True = the warm pool (composed, ready, no
        owner), False = allocated VMs (an owner set)."""
        if idle:
            if origin is model.VmOrigin.ADOPTED or (states and model.VmState.READY not in states):
                return []
            origin, states = model.VmOrigin.COMPOSED, [model.VmState.READY]
        with self.ctx.db.read() as conn:
            rows = store.vms.list_vms(
                conn,
                host_id,
                states,
                origin,
                owner=owner,
                allocated=None if idle is None else not idle,
            )
        return [vm for vm, _ in rows]

    def observe(self, vm_id: int) -> model.Vm:
        """Ask the VM's host what the VM looks like now (power state, addresses), record it
        and return the VM. HostProblemError when the host cannot be asked.

        The driver is asked about this one VM (``HostDriver.observe``)."""
        with self.ctx.db.read() as conn:
            vm, _ = store.vms.get_vm(conn, vm_id)
        try:
            with self.ctx.driver(vm.host_id) as driver:
                power_state, addresses = driver.observe(vm.name)
        except base.DriverError as exc:
            raise model.HostProblemError(
                f"cannot read VM {vm.name!r} from its host: {exc}"
            ) from exc
        if (power_state, addresses) != (vm.power_state, vm.addresses):
            with self.ctx.db.write() as conn:
                store.vms.set_observed(conn, vm_id, power_state, addresses)
        return dataclasses.replace(vm, power_state=power_state, addresses=addresses)


def _matching(
    conn: store.Connection, request: model.ComposeRequest, limit: int | None, page: int | None
) -> Iterator[tuple[model.Vm, HostView]]:
    """Idle VMs that satisfy ``request`` and their hosts' views, cheapest first, at most
    ``limit``. Records are read in growing pages from ``page`` records (the first few are
    usually enough; None: all in one read), each host's view once, when one of its VMs first
    needs it; space mappings only when the request names spaces (no other check looks at
    them)."""
    if page is None:
        pages: Iterable[list[model.Vm]] = [
            store.vms.idle_vms(conn, request.cores, request.memory_mib, request.instance_type)
        ]
    else:
        pages = _idle_pages(conn, request, page)
    spaces = space_mappings(request)
    if spaces is None:
        spaces = store.catalog.space_map(conn)
    views: dict[int, HostView | None] = {}
    found = 0
    for vms in pages:
        for vm in vms:
            if vm_mismatch(vm, request) is not None:
                continue
            if vm.host_id not in views:
                views[vm.host_id] = store.candidates.stored_view(conn, vm.host_id, spaces)
            view = views[vm.host_id]
            if view is not None and idle_mismatch(vm, view, request) is None:
                yield vm, view
                found += 1
                if found == limit:
                    return


def _idle_pages(
    conn: store.Connection, request: model.ComposeRequest, page: int
) -> Iterator[list[model.Vm]]:
    """The idle VMs at least as big as ``request``, of its instance type, cheapest first, in
    pages of ``page`` records, then four times as many each time (at most 1,024)."""
    offset = 0
    while True:
        vms = store.vms.idle_page(
            conn, request.cores, request.memory_mib, request.instance_type, page, offset
        )
        yield vms
        if len(vms) < page:
            return
        offset += page
        page = min(page * 4, 1024)


# -- matching an idle VM to a request ---------------------------------------------------------


_HOST_FILTERS = ("host", "status", "zone", "pool", "tags", "architecture")


def vm_mismatch(vm: model.Vm, request: model.ComposeRequest) -> str | None:
    """What the VM itself lacks for ``request`` (at least its cores, memory and disks, the same
    instance type), or None. A request naming a hostname matches only that VM."""
    if request.hostname is not None and vm.hostname != request.hostname:
        return f"is not named {request.hostname!r}"
    if vm.instance_type is not request.instance_type:
        return f"is a {vm.instance_type.value}"
    if vm.cores < request.cores or vm.memory_mib < request.memory_mib:
        return "is smaller"
    if (request.pinned and len(vm.pinned_cores) < request.cores) or (
        request.hugepages_backed and not vm.hugepages_backed
    ):
        return "lacks pinned cores or hugepages"
    if request.numa_affinity and vm.numa_node is None and not vm.pinned_cores:
        return "is not NUMA-affine"
    if len(vm.disks) < len(request.disks):
        return "has fewer disks"
    for have, want in zip(vm.disks, request.disks, strict=False):
        if have.size_bytes < want.size_bytes or (want.pool and have.pool != want.pool):
            return f"disk {have.name} is smaller or in another pool"
    return None


def idle_mismatch(vm: model.Vm, view: HostView, request: model.ComposeRequest) -> str | None:
    """What the VM on ``view`` lacks for ``request`` beyond :func:`vm_mismatch`: its host must
    pass the scheduler's host, status, zone, pool, tags and architecture filters, every disk
    tag must be its pool's (or name it), and every requested NIC must find a NIC of its own
    (by space, through the host's mapping, or by network; each NIC serves one), none in an
    excluded space."""
    for name, check in filters.DEFAULT_FILTERS:
        if name in _HOST_FILTERS:
            reason = check(view, request)
            if reason is not None:
                return reason
    for disk, asked in zip(vm.disks, request.disks, strict=False):
        pool = view.storage_pool(disk.pool)
        tagged = pool is not None and set(asked.tags) <= set(pool.tags)
        if asked.tags and disk.pool not in asked.tags and not tagged:
            return f"disk {disk.name} is not in a pool tagged {','.join(asked.tags)}"

    def spaces_of(nic: model.VmInterface) -> set[str]:
        found = {s for s, networks in view.spaces.items() if nic.network in networks}
        return found | ({nic.space} if nic.space else set())

    excluded = set(request.not_spaces)
    if excluded and any(spaces_of(nic) & excluded for nic in vm.interfaces):
        return "has a NIC in an excluded space"
    free = list(vm.interfaces)
    for want in request.interfaces:
        found = next(
            (
                nic
                for nic in free
                if (not want.spaces or spaces_of(nic) & set(want.spaces))
                and (not want.networks or nic.network in want.networks)
                and (want.kind is None or nic.kind is want.kind)
            ),
            None,
        )
        if found is None:
            return f"has no NIC for {want.space or want.network or 'a NIC'}"
        free.remove(found)
    return None
