"""Finding and claiming hosts for a compose request, and giving claims back.

Candidates are prefiltered in SQL (exact necessary conditions, in the policy's order), then
ranked by the scheduler (filters, exact fit, weighers). A claim is one write transaction: a
compare-and-swap of the host's generation with its new usage, plus a VM record in state
``claimed``. A lost race re-reads that host once, then moves on to the next candidate.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from vmhost import model, scheduler, store
from vmhost.model.accounting import Allocation, HostView

from . import accounts
from .context import Context

CLAIM_ROUNDS = 20
#: The largest page of the paged pass (pages of 4, 16, 64 hosts): past those, a request few
#: hosts can take goes to the last pass, which reads every host once and ranks them all (and,
#: when none can take it, is the explanation), rather than reading them all in more pages first.
PAGED_LAST = 64


@dataclasses.dataclass(frozen=True, slots=True)
class Claim:
    """A committed claim: the VM record and what it holds."""

    vm: model.Vm
    allocation: Allocation
    view: HostView


def space_mappings(
    request: model.ComposeRequest,
) -> dict[int | None, dict[str, tuple[str, ...]]] | None:
    """Space mappings are read only when the request names spaces (None = read them): no
    check of a request that names none looks at a view's spaces."""
    if request.not_spaces or any(i.space for i in request.interfaces):
        return None
    return {}


def _query(
    request: model.ComposeRequest, policy: model.PlacementPolicy
) -> store.candidates.CandidateQuery:
    pinned = request.cores if request.pinned else 0
    # The pinnable-core and hugepage columns are per-NUMA-node maxima: exact for vmhost's own
    # NUMA-local choice, too strict for explicit cores (and their memory) spread over nodes.
    spread_over_nodes = bool(request.pinned_cores)
    return store.candidates.CandidateQuery(
        vcpus=0 if pinned else request.cores,
        memory_mib=0 if request.hugepages_backed else request.memory_mib,
        pinned_cores=1 if spread_over_nodes else pinned,
        hugepages_mib=request.memory_mib
        if request.hugepages_backed and not spread_over_nodes
        else 0,
        node_vcpus=request.cores if request.numa_affinity and not pinned else 0,
        node_memory_mib=request.memory_mib
        if request.numa_affinity and not pinned and not request.hugepages_backed
        else 0,
        largest_disk_bytes=max(d.size_bytes for d in request.disks),
        zone=request.zone,
        pool=request.pool,
        host_id=request.host_id,
        order=policy.value,
    )


class ClaimsService:
    """Candidates, claims and their release, keeping host accounts exact."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        # each host's fit for the last request seen (scheduler.FitMemo): a claim changes one
        # host of a page, the next compose's page re-fits only that one
        self._fits: scheduler.FitMemo = {}

    def candidates(
        self, request: model.ComposeRequest, limit: int | None = None
    ) -> scheduler.Schedule:
        """Ranked hosts that could take the request now (nothing is claimed).

        With a limit, hosts are read from the SQL prefilter in batches, best first for the
        policy, until ``limit`` fit; without one, every host is ranked. ``removed`` is empty:
        :meth:`explain` says why hosts cannot take it.
        """
        policy = self.ctx.settings.policy
        query = _query(request, policy)
        if limit is None:
            with self.ctx.db.read() as conn:
                views = store.candidates.candidate_views(
                    conn, query, limit=None, spaces=space_mappings(request)
                )
            return scheduler.schedule(views, request, policy, explain=False)
        batch = max(4, limit)
        offset = 0
        found: list[scheduler.Candidate] = []
        considered = 0
        while True:
            with self.ctx.db.read() as conn:
                views = store.candidates.candidate_views(
                    conn, query, limit=batch, offset=offset, spaces=space_mappings(request)
                )
            result = scheduler.schedule(views, request, policy, explain=False, memo=self._fits)
            found.extend(result.candidates)
            considered += result.considered
            if len(found) >= limit or len(views) < batch:
                return scheduler.Schedule(found[:limit], considered, result.removed)
            offset += batch

    def explain(
        self, request: model.ComposeRequest, exclude: Sequence[tuple[int, str]] = ()
    ) -> model.NoCapacityError:
        """Why no host can take the request: every host considered, or the one it names."""
        excluded = {host_id for host_id, _ in exclude}
        with self.ctx.db.read() as conn:
            views = _every_view(conn, request)
        result = scheduler.schedule(
            [v for v in views if v.id not in excluded], request, self.ctx.settings.policy
        )
        return why_not(result, exclude)

    def _try_claim(
        self,
        conn: store.Connection,
        cand: scheduler.Candidate,
        request: model.ComposeRequest,
        name: str,
    ) -> Claim:
        """Claim ``cand`` at the generation it was read at; on a lost race, re-read the host and
        claim it if the request still fits (raises GenerationConflictError otherwise)."""
        view, placement = cand.view, cand.placement
        try:
            return self._claim_at(conn, view, placement, request, name)
        except model.GenerationConflictError:
            current = store.candidates.load_view(conn, view.id)
            spread = self.ctx.settings.policy is not model.PlacementPolicy.PACK
            fresh = scheduler.fit(current, request, spread, every=False)
            if isinstance(fresh, scheduler.Rejection):
                raise model.GenerationConflictError(fresh.reason) from None
            return self._claim_at(conn, current, fresh, request, name)

    def _claim_at(
        self,
        conn: store.Connection,
        view: HostView,
        placement: scheduler.Placement,
        request: model.ComposeRequest,
        name: str,
    ) -> Claim:
        alloc = placement.allocation
        usage = view.usage.apply(alloc, model.VmOrigin.COMPOSED)
        vm = model.Vm(
            id=0,
            host_id=view.id,
            name=name,
            origin=model.VmOrigin.COMPOSED,
            state=model.VmState.CLAIMED,
            cores=request.cores,
            memory_mib=request.memory_mib,
            pinned_cores=alloc.pinned_cores,
            hugepages_backed=request.hugepages_backed,
            hugepage_size_kib=placement.hugepage_size_kib,
            numa_node=model.sole_numa_node(placement.numa_nodes),
            numa_memory_mib=alloc.numa_memory_mib,
            disks=tuple(
                model.VmDisk("root" if i == 0 else f"disk{i}", d.size_bytes, pool)
                for i, (d, pool) in enumerate(
                    zip(request.disks, placement.disk_pools, strict=True)
                )
            ),
            interfaces=tuple(
                model.VmInterface(n.name, n.network, n.kind, "", n.space) for n in placement.nics
            ),
            instance_type=request.instance_type,
            project=view.project if view.type is model.HostType.LXD else "",
            hostname=request.hostname or name,
            owner=request.owner,
        )
        vm_id = store.claims.insert_claim(
            conn, vm, alloc, view.generation, accounts.usage_values(view, usage)
        )
        return Claim(dataclasses.replace(vm, id=vm_id), alloc, view)

    def claim(
        self, request: model.ComposeRequest, name: str, exclude: Sequence[int] = ()
    ) -> Claim:
        """Find the best host and claim it durably; a lost race moves on to the next candidate.

        Hosts are read in the policy's SQL order in growing pages (up to ``PAGED_LAST``). Pages
        can shift while other composes claim, and a request few hosts can take may not find
        them in the first pages, so before giving up, one last pass ranks every host; a round
        that lost a race starts again (bounded). NoCandidate when no host can take the request: its
        ``schedule`` is that last ranking, every check's reasons included (:func:`why_not`).
        """
        for _ in range(CLAIM_ROUNDS):
            claim, raced = self._claim_round(request, name, set(exclude), paged=True)
            if claim is not None:
                return claim
            if not raced:
                # NoCandidate (with the last pass's ranking of every host) when none fits
                claim, _ = self._claim_round(request, name, set(exclude), paged=False)
                if claim is not None:
                    return claim
        raise model.ConflictError("VM hosts kept changing under concurrent composes; try again")

    def _claim_round(
        self, request: model.ComposeRequest, name: str, skip: set[int], paged: bool
    ) -> tuple[Claim | None, bool]:
        policy = self.ctx.settings.policy
        query = _query(request, policy)
        batch: int | None = 4 if paged else None  # the SQL order puts the best hosts first
        offset = 0
        raced = False
        while batch is not None:
            # A page is read and claimed in one write transaction, one commit per claim: on
            # SQLite under the write lock, so nobody races it; on PostgreSQL the page's hosts
            # are locked as they are read and hosts that other claims hold are passed over, so
            # concurrent claims take the best hosts nobody else is claiming instead of queueing
            # on the same row (the CAS still guards).
            with self.ctx.db.write() as conn:
                views = store.candidates.candidate_views(
                    conn,
                    query,
                    limit=batch,
                    offset=offset,
                    spaces=space_mappings(request),
                    lock=not self.ctx.db.is_sqlite,
                )
                claim, lost = self._claim_best(conn, views, request, name, skip)
            raced = raced or lost
            if claim is not None:
                return claim, raced
            if len(views) < batch or batch >= PAGED_LAST:
                return None, raced
            offset += batch
            batch *= 4
        # The last pass ranks every host (or the one the request names), prefiltered or not,
        # outside the write lock, with every check's reasons: when none can take it, that
        # ranking is the explanation (NoCandidate carries it), not a second read of every host.
        # The prefilter's conditions are necessary ones, so the candidates are those of the
        # prefiltered hosts.
        with self.ctx.db.read() as conn:
            views = _every_view(conn, request)
        result = scheduler.schedule([v for v in views if v.id not in skip], request, policy)
        if not result.candidates:
            raise NoCandidate(result)
        for cand in result.candidates:
            try:
                with self.ctx.db.write() as conn:
                    return self._try_claim(conn, cand, request, name), raced
            except model.GenerationConflictError:
                skip.add(cand.view.id)
                raced = True
        return None, raced

    def _claim_best(
        self,
        conn: store.Connection,
        views: Sequence[HostView],
        request: model.ComposeRequest,
        name: str,
        skip: set[int],
    ) -> tuple[Claim | None, bool]:
        """Claim the best of ``views`` that still takes the request, in this transaction (a
        lost CAS writes nothing, so the next candidate is tried in the same one)."""
        policy = self.ctx.settings.policy
        result = scheduler.schedule(
            [v for v in views if v.id not in skip],
            request,
            policy,
            explain=False,
            memo=self._fits,
        )
        raced = False
        for cand in result.candidates:
            try:
                return self._try_claim(conn, cand, request, name), raced
            except model.GenerationConflictError:
                skip.add(cand.view.id)
                raced = True
        return None, raced

    def release(self, vm_id: int) -> None:
        """Drop a VM's record and give its resources back (the host's usage is recounted)."""

        def work(conn: store.Connection) -> None:
            vm, _ = store.vms.get_vm(conn, vm_id)
            store.vms.delete_vm(conn, vm_id)
            accounts.settle(conn, vm.host_id)

        accounts.with_cas_retry(self.ctx.db, work)


def _every_view(conn: store.Connection, request: model.ComposeRequest) -> list[HostView]:
    """The views of every host, or of the one the request names (a request for one host is
    about that host only, not "23 not host 24"); space mappings as the claim reads them."""
    only = None if request.host_id is None else [request.host_id]
    return store.candidates.load_views(conn, only, spaces=space_mappings(request))


def why_not(
    result: scheduler.Schedule, exclude: Sequence[tuple[int, str]] = ()
) -> model.NoCapacityError:
    """The NoCapacityError of a ranking without candidates (``ClaimsService.explain``'s, or a
    failed claim's ``NoCandidate.schedule``) over every host but those in ``exclude``: (host
    id, "host: error") of hosts whose driver failed to compose, counted as their own reason."""
    grouped: dict[str, int] = {}
    for message in dict(exclude).values():
        grouped[message] = grouped.get(message, 0) + 1
    extra = [
        model.Reason.of(model.Check.DRIVER, n, f"failed to compose: {m}")
        for m, n in grouped.items()
    ]
    return scheduler.no_capacity_error(result, extra)


class NoCandidate(Exception):  # noqa: N818 (internal control flow, never leaves the service)
    """No host could be claimed: ``schedule`` ranks every host considered, with the reasons."""

    def __init__(self, schedule: scheduler.Schedule) -> None:
        super().__init__("no VM host can take this request")
        self.schedule = schedule
