"""MAAS machines: release (one or many), owner data, and the few fields PUT may change.

Release (as MAAS's ``_release`` / ``_finalize_release``): a machine allocate composed
(``dynamic``) is decomposed (when deployed) and its record deleted, with its resources given
back, so that reading it afterwards is a 404; any other goes back to Ready: its VM, when
deployed, is decomposed but its reservation kept, and its owner, agent name, owner data, series
and user data are cleared.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence

from vmhost import model, store
from vmhost.drivers import base

from .claims import ClaimsService
from .context import Context
from .machines import MachinesService

log = logging.getLogger("vmhost.service.machines")

Status = model.MaasStatus
RELEASABLE = frozenset({Status.ALLOCATED, Status.DEPLOYED, Status.FAILED_DEPLOYMENT, Status.READY})
CLEARED = model.MachineFields(Status.READY)


class MachineReleaseService:
    """Release, owner data, update."""

    def __init__(self, ctx: Context, claims: ClaimsService, machines: MachinesService) -> None:
        self.ctx = ctx
        self.claims = claims
        self.machines = machines

    def release_many(self, system_ids: Sequence[str], owner: str) -> list[str]:
        """Release every machine named, after checking them all (MAAS's order: an unknown id
        is a 400, one owned by someone else a 403, one in a state that cannot be released a
        409; nothing is released then). Ready machines are left as they are."""
        wanted = list(dict.fromkeys(system_ids))
        ids = {s: model.vm_id_of(s) for s in wanted}
        with self.ctx.db.read() as conn:
            found = store.machines.list_machines(
                conn, model.MachineFilter(vm_ids=tuple(i for i in ids.values() if i))
            )
        by_sid = {m.system_id: m for m in found}
        unknown = [s for s in wanted if s not in by_sid]
        if unknown:
            raise model.InvalidInputError.for_field(
                "machines", f"Unknown machine(s): {', '.join(unknown)}."
            )
        theirs = [s for s in wanted if by_sid[s].vm.owner not in ("", owner)]
        if theirs:
            raise model.MachineForbiddenError(
                "You don't have the required permission to release the following "
                f"machine(s): {', '.join(theirs)}."
            )
        stuck = [s for s in wanted if by_sid[s].fields.status not in RELEASABLE]
        if stuck:
            raise model.ConflictError(
                "Machine(s) cannot be released in their current state: "
                + ", ".join(f"{s} ({by_sid[s].fields.status.value})" for s in stuck)
                + "."
            )
        for sid in wanted:
            if by_sid[sid].fields.status is not Status.READY:
                self._release(by_sid[sid])
        return wanted

    def release(self, system_id: str, owner: str) -> model.Machine | None:
        """Release one machine; the machine afterwards (None: it was deleted)."""
        machine = self.machines.get(system_id)
        if machine.vm.owner not in ("", owner):
            raise model.MachineForbiddenError(
                f"You don't have the required permission to release machine {system_id}."
            )
        if machine.fields.status not in RELEASABLE:
            raise model.ConflictError(
                f"Machine cannot be released in its current state "
                f"('{machine.fields.status.value}')."
            )
        if machine.fields.status is Status.READY:
            return machine
        return self._release(machine)

    def _release(self, machine: model.Machine) -> model.Machine | None:
        vm = machine.vm
        with self.ctx.db.write() as conn:
            if not store.machines.set_machine(
                conn,
                vm.id,
                {"maas_status": Status.RELEASING.value, "agent_name": "", "distro_series": ""},
                expect_status=[machine.fields.status],
            ):
                raise model.ConflictError(
                    f"Machine {machine.system_id} changed while it was being released; try again."
                )
        deployed = vm.state is not model.VmState.RESERVED
        try:
            if deployed:
                with self.ctx.driver(vm.host_id) as driver:
                    driver.decompose(vm.name, vm.disks)
        except base.DriverError as exc:
            with self.ctx.db.write() as conn:
                store.machines.set_machine(
                    conn,
                    vm.id,
                    {
                        "maas_status": Status.FAILED_RELEASING.value,
                        "status_message": f"release failed: {exc}",
                    },
                )
            raise model.HostProblemError(f"cannot release {machine.system_id}: {exc}") from exc
        if machine.fields.dynamic:
            self.claims.release(vm.id)
            log.info("released and deleted machine %s", machine.system_id)
            return None
        kept = dataclasses.replace(
            vm,
            state=model.VmState.RESERVED,
            power_state="off",
            addresses=(),
            uuid="",
            disks=tuple(dataclasses.replace(d, volume="") for d in vm.disks),
        )
        with self.ctx.db.write() as conn:
            store.vms.update_vm(conn, kept)
            store.machines.set_machine(
                conn, vm.id, {**store.machines.machine_values(CLEARED), "owner": ""}
            )
            after = store.machines.get_machine(conn, vm.id)
        log.info("released machine %s: Ready again", machine.system_id)
        return after

    def set_owner_data(
        self, system_id: str, owner: str, changes: Mapping[str, str]
    ) -> model.Machine:
        """Merge ``changes`` into the machine's owner data (an empty value deletes a key)."""
        machine = self.machines.get(system_id)
        if machine.vm.owner != owner:
            raise model.MachineForbiddenError(
                f"Machine {system_id} is not allocated to you; its owner data is its owner's."
            )
        merged = model.merged_owner_data(machine.fields.owner_data_map, changes)
        with self.ctx.db.write() as conn:
            store.machines.set_machine(conn, machine.vm.id, {"owner_data": dict(merged)})
        return self.machines.get(system_id)

    def update(self, system_id: str, owner: str, hostname: str | None) -> model.Machine:
        """PUT: a new hostname (only while nothing is deployed: the VM is named so)."""
        machine = self.machines.get(system_id)
        if machine.vm.owner not in ("", owner):
            raise model.MachineForbiddenError(f"Machine {system_id} is allocated to someone else.")
        if hostname is None or hostname == machine.vm.hostname:
            return machine
        model.ComposeRequest(hostname=hostname)  # the hostname rule, as compose's
        if machine.vm.state is not model.VmState.RESERVED:
            raise model.ConflictError(
                f"hostname: Machine {system_id} is deployed; its hostname can only change "
                "while it is not."
            )
        with self.ctx.db.write() as conn:
            if store.vms.list_vms(conn, filters={"hostname": hostname}):
                raise model.ConflictError.for_field(
                    "hostname", f"hostname: a machine named {hostname!r} already exists"
                )
            store.vms.update_vm(conn, dataclasses.replace(machine.vm, hostname=hostname))
        return self.machines.get(system_id)
