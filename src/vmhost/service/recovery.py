"""Crash recovery: settle the claims and deletions a crash left half done."""

from __future__ import annotations

import dataclasses
import logging
import time

from vmhost import model, store
from vmhost.drivers import base

from . import machine_deploy
from .claims import ClaimsService
from .context import Context

log = logging.getLogger("vmhost.service.recovery")
RECONCILE_GRACE_SHARED_S = 900.0


class Reconciled(dict[str, int]):
    """What a reconcile settled: how many VMs per outcome (``completed``, ``released``,
    ``decomposed``, ``skipped``), and in ``actions`` one line per VM saying what was done."""

    def __init__(self) -> None:
        super().__init__(completed=0, released=0, decomposed=0, skipped=0)
        self.actions: list[str] = []

    def note(self, outcome: str, vm: model.Vm, what: str) -> None:
        """Count ``vm`` under ``outcome``; say (and log) what was done with it."""
        self[outcome] += 1
        line = f"VM {vm.name!r} (id {vm.id}) on host {vm.host_id}: {what}"
        self.actions.append(line)
        log.warning("reconcile: %s", line)


class RecoveryService:
    """What a manager does at start: reconcile VM records with what the hosts have."""

    def __init__(self, ctx: Context, claims: ClaimsService) -> None:
        self.ctx = ctx
        self.claims = claims

    def reconcile(self, older_than_s: float | None = None) -> Reconciled:
        """Settle claims and deletions a crash left half done.

        A ``claimed`` record whose VM exists on the host becomes ``ready``: the compose had
        finished, or it had created the VM but not started it yet (LXD creates an instance,
        then starts it): then it is started now, and when it cannot be started it is
        decomposed and its claim released, so no stopped VM holds capacity with nobody owning
        it. A ``claimed`` record whose VM does not exist is released. A ``releasing`` record is
        decomposed again (idempotent) and released. Hosts that cannot be reached are left for
        next time. A MAAS machine still ``Deploying`` (its background work died with the
        process) is ``Failed deployment``, its reservation kept (``machine_deploy``). Every VM
        settled is logged and named in the result's ``actions``.
        """
        grace = older_than_s
        if grace is None:
            grace = self.ctx.settings.reconcile_grace_s
        if grace is None:
            # one SQLite manager has no claims in flight at start; managers sharing a server
            # database leave each other's in-flight composes alone
            grace = 0.0 if self.ctx.db.is_sqlite else RECONCILE_GRACE_SHARED_S
        cutoff = time.time() - grace
        result = Reconciled()
        pending = [vm for vm in self._unsettled() if vm.created_at <= cutoff]
        by_host: dict[int, list[model.Vm]] = {}
        for vm in pending:
            by_host.setdefault(vm.host_id, []).append(vm)
        for host_id, vms in by_host.items():
            try:
                with self.ctx.driver(host_id) as driver:
                    present = {(v.project, v.name): v for v in driver.discover().vms}
                    for vm in vms:
                        self._settle(driver, vm, present.get((vm.project, vm.name)), result)
            except base.DriverError as exc:
                log.warning("reconcile: host %s unreachable, left for later: %s", host_id, exc)
                result["skipped"] += len(vms)
        for machine in machine_deploy.settle_interrupted(self.ctx, cutoff):
            result.note(
                "decomposed", machine.vm, "its MAAS deploy was interrupted: Failed deployment"
            )
        return result

    def _settle(
        self,
        driver: base.HostDriver,
        vm: model.Vm,
        seen: model.DiscoveredVm | None,
        result: Reconciled,
    ) -> None:
        if vm.state is model.VmState.RELEASING:
            driver.decompose(vm.name, vm.disks)
            self.claims.release(vm.id)
            result.note("decomposed", vm, "its deletion was finished")
        elif seen is None:
            # no VM, but a crash may have left volumes: decompose is idempotent
            driver.decompose(vm.name, vm.disks)
            self.claims.release(vm.id)
            result.note("released", vm, "not on the host: its claim was released")
        elif seen.power_state != "stopped":
            self._complete(vm, seen, seen.power_state)
            result.note("completed", vm, "its compose had finished: recorded as ready")
        else:
            # created, not started: finish the compose (every compose starts its VM)
            try:
                driver.power_on(vm.name)
            except base.DriverError as exc:
                driver.decompose(vm.name, vm.disks)
                self.claims.release(vm.id)
                result.note(
                    "decomposed",
                    vm,
                    f"created but not started, and it would not start ({exc}): "
                    "decomposed, its claim released",
                )
                return
            self._complete(vm, seen, driver.power_query(vm.name))
            result.note("completed", vm, "created but not started: started, recorded as ready")

    def _complete(self, vm: model.Vm, seen: model.DiscoveredVm, power_state: str) -> None:
        disks = seen.disks
        with self.ctx.db.write() as conn:
            store.vms.update_vm(
                conn,
                dataclasses.replace(
                    vm,
                    state=model.VmState.READY,
                    power_state=power_state,
                    uuid=seen.uuid,
                    disks=disks or vm.disks,  # the volumes really created
                ),
            )

    def _unsettled(self) -> list[model.Vm]:
        with self.ctx.db.read() as conn:
            rows = store.vms.list_vms(
                conn, states=[model.VmState.CLAIMED, model.VmState.RELEASING]
            )
        return [vm for vm, _ in rows]
