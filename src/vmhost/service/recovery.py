"""Crash recovery: settle the claims and deletions a crash left half done."""

from __future__ import annotations

import dataclasses
import logging
import time

from vmhost import model, store
from vmhost.drivers import base

from .claims import ClaimsService
from .context import Context

log = logging.getLogger("vmhost.service.recovery")
RECONCILE_GRACE_SHARED_S = 900.0


class RecoveryService:
    """What a manager does at start: reconcile VM records with what the hosts have."""

    def __init__(self, ctx: Context, claims: ClaimsService) -> None:
        self.ctx = ctx
        self.claims = claims

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
        pending = [vm for vm in self._unsettled() if vm.created_at <= cutoff]
        by_host: dict[int, list[model.Vm]] = {}
        for vm in pending:
            by_host.setdefault(vm.host_id, []).append(vm)
        for host_id, vms in by_host.items():
            try:
                with self.ctx.driver(host_id) as driver:
                    present = {(v.project, v.name): v for v in driver.discover().vms}
                    for vm in vms:
                        if vm.state is model.VmState.RELEASING:
                            driver.decompose(vm.name, vm.disks)
                            self.claims.release(vm.id)
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
                            self.claims.release(vm.id)
                            counts["released"] += 1
            except base.DriverError as exc:
                log.warning("reconcile: host %s unreachable, left for later: %s", host_id, exc)
                counts["skipped"] += len(vms)
        return counts

    def _unsettled(self) -> list[model.Vm]:
        with self.ctx.db.read() as conn:
            rows = store.vms.list_vms(
                conn, states=[model.VmState.CLAIMED, model.VmState.RELEASING]
            )
        return [vm for vm, _ in rows]
