"""MAAS machines: list, read, allocate (take a Ready machine, else compose a reservation), and
compose a Ready machine on a host (``pods/{id}/?op=compose``).

An allocated or composed machine is a *reservation* (``model/machine.py``): the usual claim
(``claims``: compare-and-swap of the host's generation plus a VM record) made durable in state
``reserved``, its MACs chosen, owned by the caller when allocated; nothing is on the host until
deploy (``machine_deploy``). Allocate answers at once.
"""

from __future__ import annotations

import builtins
import dataclasses
import logging
import secrets
from collections.abc import Sequence

from vmhost import model, store

from . import accounts
from .claims import Claim, ClaimsService, NoCandidate
from .context import Context
from .vms import VmsService

log = logging.getLogger("vmhost.service.machines")

Status = model.MaasStatus
_MAC_PREFIX = {model.HostType.LIBVIRT: "52:54:00", model.HostType.LXD: "00:16:3e"}


@dataclasses.dataclass(frozen=True, slots=True)
class AllocateRequest:
    """What ``machines/?op=allocate`` asks, parsed (``maas/machines_params.py``)."""

    compose: model.ComposeRequest
    disk_labels: tuple[str, ...] = ()  # per disk of ``compose``; "" = not labelled
    nic_labels: tuple[str, ...] = ()  # per NIC of ``compose``
    agent_name: str = ""
    comment: str = ""
    dry_run: bool = False
    system_id: str | None = None
    pods: tuple[str, ...] = ()  # hosts by id or name (any of them)
    not_pods: tuple[str, ...] = ()
    pod_type: str | None = None
    not_in_zones: tuple[str, ...] = ()
    not_in_pools: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Allocated:
    """An allocated machine and which of its disks and NICs answer which label."""

    machine: model.Machine
    storage: tuple[tuple[str, tuple[int, ...]], ...] = ()  # label -> disk indexes
    interfaces: tuple[tuple[str, tuple[int, ...]], ...] = ()  # label -> NIC indexes


def random_mac(host_type: model.HostType) -> str:
    """A MAC address chosen up front (LXD's and QEMU's own prefixes)."""
    tail = secrets.token_bytes(3)
    return _MAC_PREFIX.get(host_type, "00:16:3e") + "".join(f":{b:02x}" for b in tail)


def matches(machine: model.Machine, ask: AllocateRequest, host_ids: set[int] | None) -> bool:
    """Whether a Ready machine answers the request (MAAS takes one before composing)."""
    req, vm = ask.compose, machine.vm
    disks = sorted((d.size_bytes for d in vm.disks[1:]), reverse=True)
    wanted = sorted((d.size_bytes for d in req.disks[1:]), reverse=True)
    nic_spaces = [i.space for i in vm.interfaces]
    return (
        vm.cores >= req.cores
        and vm.memory_mib >= req.memory_mib
        and (not vm.disks or vm.disks[0].size_bytes >= req.disks[0].size_bytes)
        and len(disks) >= len(wanted)
        and all(have >= need for have, need in zip(disks, wanted, strict=False))
        and all(any(s in nic_spaces for s in i.spaces) for i in req.interfaces if i.spaces)
        and not set(req.not_spaces) & {s for s in nic_spaces if s}
        and (req.zone is None or machine.zone == req.zone)
        and machine.zone not in ask.not_in_zones
        and (req.pool is None or machine.pool == req.pool)
        and machine.pool not in ask.not_in_pools
        and set(req.tags) <= set(machine.host_tags)
        and not set(req.not_tags) & set(machine.host_tags)
        and (req.architecture is None or machine.architecture == req.architecture)
        and (req.hostname is None or vm.hostname == req.hostname)
        and (host_ids is None or vm.host_id in host_ids)
    )


def _labels(labels: Sequence[str]) -> tuple[tuple[str, tuple[int, ...]], ...]:
    named: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        if label:
            named.setdefault(label, []).append(index)
    return tuple((k, tuple(v)) for k, v in named.items())


class MachinesService:
    """Machines: list, read, allocate, compose Ready."""

    def __init__(self, ctx: Context, claims: ClaimsService, vms: VmsService) -> None:
        self.ctx = ctx
        self.claims = claims
        self.vms = vms

    def list(self, where: model.MachineFilter) -> builtins.list[model.Machine]:
        """The machines that pass the filters."""
        with self.ctx.db.read() as conn:
            return store.machines.list_machines(conn, where)

    def get(self, system_id: str) -> model.Machine:
        """One machine; NotFoundError (MAAS's words) when there is none."""
        vm_id = model.vm_id_of(system_id)
        with self.ctx.db.read() as conn:
            machine = store.machines.get_machine(conn, vm_id) if vm_id else None
        if machine is None:
            raise model.MachineNotFoundError(system_id)
        return machine

    # -- allocate ---------------------------------------------------------------------------

    def allocate(self, ask: AllocateRequest, owner: str) -> Allocated:
        """Take a Ready machine that matches, else compose a reservation; NoCapacityError
        (409) naming what was lacking when neither can be done."""
        host_ids = self._host_ids(ask)
        if ask.system_id is not None:
            return self._take_named(ask, owner, host_ids)
        request = self._checked(ask, host_ids)
        ask = dataclasses.replace(ask, compose=request)
        with self.ctx.db.read() as conn:
            ready = store.machines.list_machines(
                conn, model.MachineFilter(status=Status.READY, owner="")
            )
        for machine in ready:
            if matches(machine, ask, host_ids):
                if ask.dry_run:
                    return self._answer(machine, ask)
                taken = self._acquire(machine, owner, ask.agent_name)
                if taken is not None:
                    return self._answer(taken, ask)
        return self._compose(ask, owner, host_ids, dynamic=True)

    def compose_ready(self, host_id: int, request: model.ComposeRequest) -> model.Machine:
        """A Ready (not dynamic) machine on one host: release keeps it (``pods compose``)."""
        ask = AllocateRequest(dataclasses.replace(request, host_id=host_id, owner=""))
        ask = dataclasses.replace(ask, compose=self._checked(ask, None))
        return self._compose(ask, "", None, dynamic=False).machine

    def _host_ids(self, ask: AllocateRequest) -> set[int] | None:
        """The hosts the pod parameters leave (None: any); 400 for a pod that is not one."""
        if not (ask.pods or ask.not_pods or ask.pod_type or ask.not_in_zones or ask.not_in_pools):
            return None
        with self.ctx.db.read() as conn:
            named = store.machines.host_ids_by(conn, [*ask.pods, *ask.not_pods])
            unknown = [p for p in (*ask.pods, *ask.not_pods) if p not in named]
            if unknown:
                field = "pod" if unknown[0] in ask.pods else "not_pod"
                raise model.InvalidInputError.for_field(field, f"No such pod: {unknown[0]!r}")
            every = {h.id: h for h, _ in store.hosts.details(conn)}
        allowed = set(every)
        if ask.pods:
            allowed &= {named[p] for p in ask.pods}
        allowed -= {named[p] for p in ask.not_pods}
        if ask.pod_type:
            with self.ctx.db.read() as conn:
                allowed &= set(store.machines.hosts_of_type(conn, ask.pod_type))
        allowed = {
            h
            for h in allowed
            if every[h].zone.name not in ask.not_in_zones
            and every[h].pool.name not in ask.not_in_pools
        }
        return allowed

    def _checked(self, ask: AllocateRequest, host_ids: set[int] | None) -> model.ComposeRequest:
        """The request validated (unknown zone, pool, space: 400 naming it) and its tags known."""
        request = self.vms.validate(ask.compose)
        with self.ctx.db.read() as conn:
            known = store.machines.host_tags(conn)
            names = [("zone", z) for z in ask.not_in_zones]
            names += [("pool", p) for p in ask.not_in_pools]
            errors = accounts.unknown_names(conn, names) if names else {}
        for field, tags in (("tags", request.tags), ("not_tags", request.not_tags)):
            missing = [t for t in tags if t not in known]
            if missing:
                raise model.InvalidInputError.for_field(
                    field, f"No such tag(s): {', '.join(repr(t) for t in missing)}."
                )
        if errors:
            first = next(iter(errors.items()))
            raise model.InvalidInputError(f"{first[0]}: {first[1][0]}", errors)
        if host_ids is not None and len(host_ids) == 1 and request.host_id is None:
            request = dataclasses.replace(request, host_id=next(iter(host_ids)))
        return request

    def _take_named(
        self, ask: AllocateRequest, owner: str, host_ids: set[int] | None
    ) -> Allocated:
        vm_id = model.vm_id_of(ask.system_id or "")
        with self.ctx.db.read() as conn:
            machine = store.machines.get_machine(conn, vm_id) if vm_id else None
        if (
            machine is None
            or machine.fields.status is not Status.READY
            or machine.vm.owner
            or not matches(machine, dataclasses.replace(ask, compose=ask.compose), host_ids)
        ):
            raise model.NoCapacityError(f"system_id={ask.system_id}")
        if ask.dry_run:
            return self._answer(machine, ask)
        taken = self._acquire(machine, owner, ask.agent_name)
        if taken is None:
            raise model.NoCapacityError(f"system_id={ask.system_id} (taken meanwhile)")
        return self._answer(taken, ask)

    def _acquire(
        self, machine: model.Machine, owner: str, agent_name: str
    ) -> model.Machine | None:
        """Give a Ready machine to ``owner`` (compare-and-swap: one of two racing wins)."""
        with self.ctx.db.write() as conn:
            won = store.machines.set_machine(
                conn,
                machine.vm.id,
                {"owner": owner, "agent_name": agent_name, "maas_status": Status.ALLOCATED.value},
                expect_status=[Status.READY],
                expect_owner="",
            )
            return store.machines.get_machine(conn, machine.vm.id) if won else None

    def _compose(
        self, ask: AllocateRequest, owner: str, host_ids: set[int] | None, *, dynamic: bool
    ) -> Allocated:
        request = dataclasses.replace(ask.compose, owner=owner)
        exclude: list[int] = []
        if host_ids is not None:
            with self.ctx.db.read() as conn:
                exclude = [h.id for h, _ in store.hosts.details(conn) if h.id not in host_ids]
        if ask.dry_run:
            usable = [
                c
                for kind in self._kinds(request)
                for c in self.claims.candidates(kind, limit=4).candidates
                if c.view.id not in exclude
            ]
            if not usable:
                raise self._explain(request)
            preview = model.Machine(
                vm=model.Vm(
                    0,
                    usable[0].view.id,
                    request.hostname or "",
                    model.VmOrigin.COMPOSED,
                    model.VmState.RESERVED,
                    request.cores,
                    request.memory_mib,
                ),
                fields=model.MachineFields(Status.ALLOCATED, agent_name=ask.agent_name),
                host_name=usable[0].view.name,
                zone="",
                pool="",
            )
            return self._answer(preview, ask)
        name = request.hostname or f"maas-{secrets.token_hex(3)}"
        claim = self._claim(request, name, exclude)
        status = Status.ALLOCATED if owner else Status.READY
        with self.ctx.db.write() as conn:
            host = store.hosts.host(conn, claim.vm.host_id)
            vm = dataclasses.replace(
                claim.vm,
                state=model.VmState.RESERVED,
                power_state="off",
                interfaces=tuple(
                    dataclasses.replace(
                        nic,
                        name=nic.name or f"eth{i}",
                        mac_address=nic.mac_address or random_mac(host.type),
                    )
                    for i, nic in enumerate(claim.vm.interfaces)
                ),
            )
            if not store.vms.update_vm(conn, vm, expect_state=model.VmState.CLAIMED):
                raise model.ConflictError("the reservation was released meanwhile; try again")
            fields = model.MachineFields(status, agent_name=ask.agent_name, dynamic=dynamic)
            values = {
                **store.machines.machine_values(fields),
                "system_id": model.system_id_of(vm.id),
            }
            store.machines.set_machine(conn, vm.id, values)
            machine = store.machines.get_machine(conn, vm.id)
        assert machine is not None
        log.info("reserved machine %s (%s) on host %s", machine.system_id, name, host.name)
        return self._answer(machine, ask)

    @staticmethod
    def _kinds(request: model.ComposeRequest) -> tuple[model.ComposeRequest, ...]:
        """A virtual machine, else a system container (an LXD host that cannot run VMs)."""
        if request.instance_type is not model.InstanceType.VIRTUAL_MACHINE:
            return (request,)
        return (request, dataclasses.replace(request, instance_type=model.InstanceType.CONTAINER))

    def _claim(self, request: model.ComposeRequest, name: str, exclude: Sequence[int]) -> Claim:
        for kind in self._kinds(request):
            try:
                return self.claims.claim(kind, name, exclude=exclude)
            except NoCandidate:
                continue
        raise self._explain(request, exclude)

    def _explain(
        self, request: model.ComposeRequest, exclude: Sequence[int] = ()
    ) -> model.NoCapacityError:
        """Why nothing fits: the virtual-machine answer, unless hosts refused it only for not
        running VMs (then the container answer says what they lack)."""
        del exclude  # hosts the pod parameters left out show their own reasons
        error = self.claims.explain(request)
        checks = {r.check for r in error.reasons} - {model.Check.DRIVER}
        if checks == {model.Check.INSTANCE_TYPE} and len(self._kinds(request)) > 1:
            return self.claims.explain(self._kinds(request)[1])
        return error

    @staticmethod
    def _answer(machine: model.Machine, ask: AllocateRequest) -> Allocated:
        disks = len(machine.vm.disks)
        nics = len(machine.vm.interfaces)
        storage = _labels(ask.disk_labels[:disks])
        interfaces = _labels(ask.nic_labels[:nics])
        return Allocated(machine, storage, interfaces)
