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
from collections.abc import Callable

from vmhost import model, store
from vmhost.drivers import base

from .context import Context

log = logging.getLogger("vmhost.service.allocation")
MAX_OWNER_LENGTH = model.vm.MAX_OWNER_LENGTH


def check_owner(owner: str) -> str:
    """An owner is 1 to 255 printable characters (InvalidInputError otherwise)."""
    if not owner or len(owner) > MAX_OWNER_LENGTH:
        raise model.InvalidInputError.for_field(
            "owner", f"must be 1 to {MAX_OWNER_LENGTH} characters"
        )
    if not owner.isprintable():
        raise model.InvalidInputError.for_field("owner", "must be printable characters only")
    return owner


class AllocationService:
    """Who holds which composed VM."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

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
        self,
        *,
        host_id: int | None = None,
        instance_type: model.InstanceType | None = None,
        min_cores: int = 0,
        min_memory_mib: int = 0,
    ) -> list[model.Vm]:
        """Composed, ready VMs nobody owns (the warm pool), smallest first (MAAS's cost:
        cores + memory in GiB), optionally of one host and type, at least this big."""
        with self.ctx.db.read() as conn:
            rows = store.vms.list_vms(
                conn,
                host_id,
                states=[model.VmState.READY],
                origin=model.VmOrigin.COMPOSED,
                allocated=False,
            )
        vms = [
            vm
            for vm, _ in rows
            if vm.cores >= min_cores
            and vm.memory_mib >= min_memory_mib
            and (instance_type is None or vm.instance_type is instance_type)
        ]
        return sorted(vms, key=lambda v: (v.cores + v.memory_mib / 1024, v.id))

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

        A driver with ``observe(name) -> (power_state, addresses)`` (LXD: one call) is asked
        for the one VM; otherwise the host is discovered and the VM looked up in it.
        """
        with self.ctx.db.read() as conn:
            vm, _ = store.vms.get_vm(conn, vm_id)
        try:
            driver = self.ctx.driver(vm.host_id)
            try:
                power_state, addresses = _observe(driver, vm)
            finally:
                driver.close()
        except base.DriverError as exc:
            raise model.HostProblemError(
                f"cannot read VM {vm.name!r} from its host: {exc}"
            ) from exc
        if (power_state, addresses) != (vm.power_state, vm.addresses):
            with self.ctx.db.write() as conn:
                store.vms.set_observed(conn, vm_id, power_state, addresses)
        return dataclasses.replace(vm, power_state=power_state, addresses=addresses)


def _observe(driver: base.HostDriver, vm: model.Vm) -> tuple[str, tuple[str, ...]]:
    observe: Callable[[str], tuple[str, tuple[str, ...]]] | None = getattr(driver, "observe", None)
    if observe is not None:
        power_state, addresses = observe(vm.name)
        return power_state, tuple(addresses)
    seen = next(
        (v for v in driver.discover().vms if v.name == vm.name and v.project == vm.project),
        None,
    )
    if seen is None:
        return "unknown", ()
    return seen.power_state, tuple(seen.addresses)
