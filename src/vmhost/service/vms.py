"""Use cases on VMs: compose (find, claim, realise), decompose, power, and crash recovery.

Compose: candidates prefiltered in SQL -> scheduler (filters, exact fit, weighers) -> claim
(one transaction: compare-and-swap of the host's generation + a VM record in state
``claimed``) -> driver, outside any transaction -> record ``ready``. A driver failure releases the
claim and tries the next host. A crash between claim and record leaves a ``claimed`` row that
``reconcile`` settles from what the host really has.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import time
from collections.abc import Sequence

from vmhost import model, scheduler, store
from vmhost.drivers import base
from vmhost.model.accounting import Allocation, HostView

from . import accounts, pool_tags
from .context import Context

log = logging.getLogger("vmhost.service.vms")
CLAIM_ROUNDS = 20
RECONCILE_GRACE_SHARED_S = 900.0


@dataclasses.dataclass(frozen=True, slots=True)
class ComposeResult:
    """What was asked, where it went and what was obtained."""

    vm: model.Vm
    host_id: int
    host_name: str
    attempts: list[str]  # "host: error" for hosts that failed before the one that worked


@dataclasses.dataclass(frozen=True, slots=True)
class Claim:
    """A committed claim: the VM record and what it holds."""

    vm: model.Vm
    allocation: Allocation
    view: HostView


def _spaces(request: model.ComposeRequest) -> dict[int | None, dict[str, tuple[str, ...]]] | None:
    """Space mappings are read only when the request names spaces (None = read them)."""
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


class VmsService:
    """Compose and decompose VMs, keeping accounts exact."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    # -- validation --------------------------------------------------------------------------

    def validate(self, request: model.ComposeRequest) -> model.ComposeRequest:
        """Names in the request must exist somewhere; say which do not. Returns the request
        with MAAS's storage rule applied (:func:`pool_tags.select_pools`)."""
        errors: dict[str, list[str]] = {}
        with self.ctx.db.read() as conn:
            names = [("zone", request.zone), ("pool", request.pool)]
            names += [("zone", z) for z in request.zones]
            errors.update(accounts.unknown_names(conn, names))
            if request.host_id is not None:
                store.hosts.host(conn, request.host_id)
            if request.hostname and store.vms.list_vms(conn, filters={"name": request.hostname}):
                errors.setdefault("hostname", []).append(
                    f"a VM named {request.hostname!r} already exists"
                )
            # host views for pool names only: spaces come from the mapping table (the views'
            # spaces are read from it too), and reading 1,000 views costs ~50 ms
            named = any(d.pool or d.tags for d in request.disks)
            views = store.candidates.load_views(conn) if named else []
        pools = {p.name for v in views for p in v.pools}
        request = pool_tags.select_pools(request, pools)
        for disk in request.disks:
            if disk.pool and views and disk.pool not in pools:
                errors.setdefault("disks", []).append(
                    f"no VM host has a storage pool {disk.pool!r}"
                )
        spaces = {s for v in views for s in v.spaces}
        with self.ctx.db.read() as conn:
            spaces |= {m["space"] for m in store.catalog.list_spaces(conn)}
        for nic in request.interfaces:
            for space in nic.spaces:
                if space not in spaces:
                    errors.setdefault("interfaces", []).append(
                        f"space {space!r} has no network mapped to it"
                    )
        if errors:
            first = next(iter(errors.items()))
            raise model.InvalidInputError(f"{first[0]}: {first[1][0]}", errors)
        return request

    # -- finding and claiming -----------------------------------------------------------------

    def candidates(
        self, request: model.ComposeRequest, limit: int | None = None
    ) -> scheduler.Schedule:
        """Ranked hosts that could take the request now (nothing is claimed).

        With a limit, hosts are read from the SQL prefilter in batches, best first for the
        policy, until ``limit`` fit; without one, every host is ranked.
        """
        policy = self.ctx.settings.policy
        query = _query(request, policy)
        if limit is None:
            with self.ctx.db.read() as conn:
                views = store.candidates.candidate_views(
                    conn, query, limit=None, spaces=_spaces(request)
                )
            return scheduler.schedule(views, request, policy)
        batch = max(4, limit)
        offset = 0
        found: list[scheduler.Candidate] = []
        considered = 0
        while True:
            with self.ctx.db.read() as conn:
                views = store.candidates.candidate_views(
                    conn, query, limit=batch, offset=offset, spaces=_spaces(request)
                )
            result = scheduler.schedule(views, request, policy)
            found.extend(result.candidates)
            considered += result.considered
            if len(found) >= limit or len(views) < batch:
                return scheduler.Schedule(found[:limit], considered, result.removed)
            offset += batch

    def explain(
        self, request: model.ComposeRequest, exclude: Sequence[tuple[int, str]] = ()
    ) -> model.NoCapacityError:
        """The per-check reasons why no host can take the request (every host considered)."""
        with self.ctx.db.read() as conn:
            views = store.candidates.load_views(conn)
        excluded = dict(exclude)
        result = scheduler.schedule(
            [v for v in views if v.id not in excluded], request, self.ctx.settings.policy
        )
        extra = []
        if excluded:
            grouped: dict[str, int] = {}
            for message in excluded.values():
                grouped[message] = grouped.get(message, 0) + 1
            extra = [("driver", n, f"failed to compose: {m}") for m, n in grouped.items()]
        return scheduler.no_capacity_error(result, extra)

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
            fresh = scheduler.fit(current, request, spread)
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
        store.hosts.cas_update_host(
            conn, view.id, view.generation, accounts.usage_values(view, usage)
        )
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
            numa_node=placement.numa_nodes[0] if len(placement.numa_nodes) == 1 else None,
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
        vm_id = store.vms.insert_vm(conn, vm, alloc)
        return Claim(dataclasses.replace(vm, id=vm_id), alloc, view)

    def claim(
        self, request: model.ComposeRequest, name: str, exclude: Sequence[int] = ()
    ) -> Claim:
        """Find the best host and claim it durably; a lost race moves on to the next candidate.

        Hosts are read in the policy's SQL order in growing pages. Pages can shift while other
        composes claim, so before giving up, one last pass ranks every host that passes the
        prefilter; a round that lost a race starts again (bounded).
        """
        for _ in range(CLAIM_ROUNDS):
            claim, raced = self._claim_round(request, name, set(exclude), paged=True)
            if claim is not None:
                return claim
            if not raced:
                claim, raced = self._claim_round(request, name, set(exclude), paged=False)
                if claim is not None:
                    return claim
                if not raced:
                    raise NoCandidate()
        raise model.ConflictError("VM hosts kept changing under concurrent composes; try again")

    def _claim_round(
        self, request: model.ComposeRequest, name: str, skip: set[int], paged: bool
    ) -> tuple[Claim | None, bool]:
        policy = self.ctx.settings.policy
        query = _query(request, policy)
        batch: int | None = 4 if paged else None  # the SQL order puts the best hosts first
        offset = 0
        raced = False
        while True:
            with self.ctx.db.read() as conn:
                views = store.candidates.candidate_views(
                    conn, query, limit=batch, offset=offset, spaces=_spaces(request)
                )
            result = scheduler.schedule([v for v in views if v.id not in skip], request, policy)
            for cand in result.candidates:
                try:
                    with self.ctx.db.write() as conn:
                        return self._try_claim(conn, cand, request, name), raced
                except model.GenerationConflictError:
                    skip.add(cand.view.id)
                    raced = True
            if batch is None or len(views) < batch:
                return None, raced
            offset += batch
            batch = min(batch * 4, 1024)

    def release(self, vm_id: int) -> None:
        """Drop a VM's record and give its resources back (the host's usage is recounted)."""

        def work(conn: store.Connection) -> None:
            vm, _ = store.vms.get_vm(conn, vm_id)
            store.vms.delete_vm(conn, vm_id)
            accounts.settle(conn, vm.host_id)

        accounts.with_cas_retry(self.ctx.db, work)

    # -- compose ----------------------------------------------------------------------------

    def compose(self, request: model.ComposeRequest) -> ComposeResult:
        """Compose a VM on the best host, trying the next host when a driver fails."""
        request = self.validate(request)
        name = request.hostname or f"vmhost-{secrets.token_hex(3)}"
        failed: list[tuple[int, str]] = []
        for _ in range(self.ctx.settings.compose_attempts):
            try:
                claim = self.claim(request, name, exclude=[h for h, _ in failed])
            except NoCandidate:
                raise self.explain(request, failed) from None
            except model.ConflictError as exc:
                raise model.ConflictError(f"cannot claim: {exc}") from exc
            spec = _spec(claim.vm, request)
            try:
                driver = self.ctx.driver(claim.vm.host_id)
                try:
                    got = driver.compose(spec)
                finally:
                    driver.close()
            except base.DriverError as exc:
                log.warning("compose of %s on host %s failed: %s", name, claim.view.name, exc)
                self.release(claim.vm.id)
                failed.append((claim.vm.host_id, f"{claim.view.name}: {exc}"))
                continue
            vm = self._record_composed(claim, got)
            return ComposeResult(vm, claim.view.id, claim.view.name, [m for _, m in failed])
        raise model.HostProblemError(
            "compose failed on every host tried: " + "; ".join(m for _, m in failed)
        )

    def _record_composed(self, claim: Claim, got: model.ComposedVm) -> model.Vm:
        vm = dataclasses.replace(
            claim.vm,
            state=model.VmState.READY,
            power_state=got.power_state,
            uuid=got.uuid,
            addresses=got.addresses,
            disks=got.disks or claim.vm.disks,
            interfaces=tuple(
                dataclasses.replace(nic, space=asked.space)
                for nic, asked in zip(got.interfaces, claim.vm.interfaces, strict=False)
            )
            or claim.vm.interfaces,
        )
        with self.ctx.db.write() as conn:
            kept = store.vms.update_vm(conn, vm, expect_state=model.VmState.CLAIMED)
        if not kept:
            # Another manager's reconcile released this claim while the driver worked (a
            # compose slower than the reconcile grace): give the host back what we made.
            log.warning("claim of %s was released during compose; decomposing it", vm.name)
            driver = self.ctx.driver(vm.host_id)
            try:
                driver.decompose(vm.name, vm.disks)
            finally:
                driver.close()
            raise model.ConflictError(
                f"the claim for {vm.name!r} was released while the VM was being composed "
                "(it took longer than the reconcile grace); the VM was removed, try again"
            )
        return vm

    # -- decompose and power -------------------------------------------------------------------

    def decompose(self, vm_id: int) -> None:
        """Delete the VM and its volumes from the host, then release its resources."""
        with self.ctx.db.write() as conn:
            vm, _ = store.vms.get_vm(conn, vm_id)
            if vm.state is model.VmState.CLAIMED:
                raise model.ConflictError(f"VM {vm.name!r} is still being composed")
            store.vms.set_vm_state(conn, vm_id, model.VmState.RELEASING)
        driver = self.ctx.driver(vm.host_id)
        try:
            driver.decompose(vm.name, vm.disks)
        except base.DriverError as exc:
            with self.ctx.db.write() as conn:
                store.vms.set_vm_state(conn, vm_id, vm.state, f"decompose failed: {exc}")
            raise model.HostProblemError(f"cannot decompose {vm.name!r}: {exc}") from exc
        finally:
            driver.close()
        self.release(vm_id)

    def power(self, vm_id: int, on: bool) -> model.Vm:
        """Start or stop a VM."""
        with self.ctx.db.read() as conn:
            vm, _ = store.vms.get_vm(conn, vm_id)
        driver = self.ctx.driver(vm.host_id)
        try:
            if on:
                driver.power_on(vm.name)
            else:
                driver.power_off(vm.name)
            state = driver.power_query(vm.name)
        except base.DriverError as exc:
            raise model.HostProblemError(
                f"cannot power {'on' if on else 'off'} {vm.name!r}: {exc}"
            ) from exc
        finally:
            driver.close()
        with self.ctx.db.write() as conn:
            store.vms.set_power_state(conn, vm_id, state)
        return dataclasses.replace(vm, power_state=state)

    def get(self, vm_id: int) -> model.Vm:
        """One VM."""
        with self.ctx.db.read() as conn:
            return store.vms.get_vm(conn, vm_id)[0]

    def list(
        self,
        host_id: int | None = None,
        origin: model.VmOrigin | None = None,
        states: Sequence[model.VmState] | None = None,
    ) -> list[model.Vm]:
        """VMs, filtered."""
        with self.ctx.db.read() as conn:
            return [vm for vm, _ in store.vms.list_vms(conn, host_id, states, origin)]

    # -- crash recovery ---------------------------------------------------------------------

    def reconcile(self, older_than_s: float | None = None) -> dict[str, int]:
        """Settle claims and deletions a crash left half done.

        A ``claimed`` record whose VM exists on the host becomes ``ready`` (the compose had
        finished); one whose VM does not exist is released. A ``releasing`` record is decomposed
        again (idempotent) and released. Hosts that cannot be reached are left for next time.
        """
        grace = older_than_s
        if grace is None:
            grace = self.ctx.settings.reconcile_grace_s
        if grace is None:
            # one SQLite manager has no claims in flight at start; managers sharing a server
            # database leave each other's in-flight composes alone
            grace = 0.0 if self.ctx.db.is_sqlite else RECONCILE_GRACE_SHARED_S
        cutoff = time.time() - grace
        counts = {"completed": 0, "released": 0, "decomposed": 0, "skipped": 0}
        pending = [
            vm
            for vm in self.list(states=[model.VmState.CLAIMED, model.VmState.RELEASING])
            if vm.created_at <= cutoff
        ]
        by_host: dict[int, list[model.Vm]] = {}
        for vm in pending:
            by_host.setdefault(vm.host_id, []).append(vm)
        for host_id, vms in by_host.items():
            try:
                driver = self.ctx.driver(host_id)
                try:
                    present = {(v.project, v.name): v for v in driver.discover().vms}
                    for vm in vms:
                        if vm.state is model.VmState.RELEASING:
                            driver.decompose(vm.name, vm.disks)
                            self.release(vm.id)
                            counts["decomposed"] += 1
                        elif (vm.project, vm.name) in present:
                            seen = present[(vm.project, vm.name)]
                            disks = tuple(
                                model.VmDisk(d.name, d.size_bytes, d.pool, d.volume)
                                for d in seen.disks
                            )
                            with self.ctx.db.write() as conn:
                                store.vms.update_vm(
                                    conn,
                                    dataclasses.replace(
                                        vm,
                                        state=model.VmState.READY,
                                        power_state=seen.power_state,
                                        uuid=seen.uuid,
                                        disks=disks or vm.disks,  # the volumes really created
                                    ),
                                )
                            counts["completed"] += 1
                        else:
                            # no VM, but a crash may have left volumes: decompose is idempotent
                            driver.decompose(vm.name, vm.disks)
                            self.release(vm.id)
                            counts["released"] += 1
                finally:
                    driver.close()
            except base.DriverError as exc:
                log.warning("reconcile: host %s unreachable, left for later: %s", host_id, exc)
                counts["skipped"] += len(vms)
        return counts


class NoCandidate(Exception):  # noqa: N818 (internal control flow, never leaves the module)
    """No host could be claimed."""


def _spec(vm: model.Vm, request: model.ComposeRequest) -> base.ComposeSpec:
    return base.ComposeSpec(
        name=vm.name,
        cores=vm.cores,
        memory_mib=vm.memory_mib,
        disks=vm.disks,
        interfaces=vm.interfaces,
        pinned_cores=vm.pinned_cores,
        numa_nodes=(vm.numa_node,)
        if vm.numa_node is not None
        else tuple(k for k, _ in vm.numa_memory_mib),
        hugepages_backed=vm.hugepages_backed,
        hugepage_size_kib=vm.hugepage_size_kib,
        instance_type=vm.instance_type,
        architecture=request.architecture,
        hostname=vm.hostname,
        user_data=request.user_data,
    )
