"""Use cases on VMs: compose (find, claim, realise), decompose, power.

Compose: candidates prefiltered in SQL -> scheduler (filters, exact fit, weighers) -> claim
(``claims``: one transaction, compare-and-swap of the host's generation + a VM record in state
``claimed``) -> driver, outside any transaction -> record ``ready``. A driver failure releases the
claim and tries the next host. A crash between claim and record leaves a ``claimed`` row that
``recovery`` settles from what the host really has.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from collections.abc import Sequence

from vmhost import model, store
from vmhost.drivers import base

from . import accounts, pool_tags
from .claims import Claim, ClaimsService, NoCandidate, why_not
from .context import Context

log = logging.getLogger("vmhost.service.vms")


@dataclasses.dataclass(frozen=True, slots=True)
class ComposeResult:
    """What was asked, where it went and what was obtained."""

    vm: model.Vm
    host_id: int
    host_name: str
    attempts: list[str]  # "host: error" for hosts that failed before the one that worked


class VmsService:
    """Compose and decompose VMs, keeping accounts exact."""

    def __init__(self, ctx: Context, claims: ClaimsService) -> None:
        self.ctx = ctx
        self.claims = claims

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
            if request.hostname and store.vms.vm_name_taken(conn, request.hostname):
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

    # -- compose ----------------------------------------------------------------------------

    def compose(self, request: model.ComposeRequest) -> ComposeResult:
        """Compose a VM on the best host, trying the next host when a driver fails."""
        return self.compose_validated(self.validate(request))

    def compose_validated(self, request: model.ComposeRequest) -> ComposeResult:
        """:meth:`compose` for a request :meth:`validate` has already answered."""
        name = request.hostname or f"vmhost-{secrets.token_hex(3)}"
        failed: list[tuple[int, str]] = []
        for _ in range(self.ctx.settings.compose_attempts):
            try:
                claim = self.claims.claim(request, name, exclude=[h for h, _ in failed])
            except NoCandidate as none:  # the claim's last ranking of every host says why
                raise why_not(none.schedule, failed) from None
            except model.ConflictError as exc:
                raise model.ConflictError(f"cannot claim: {exc}") from exc
            spec = base.ComposeSpec.from_vm(claim.vm, request)
            try:
                with self.ctx.driver(claim.vm.host_id) as driver:
                    got = driver.compose(spec)
            except base.DriverError as exc:
                log.warning("compose of %s on host %s failed: %s", name, claim.view.name, exc)
                self.claims.release(claim.vm.id)
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
            with self.ctx.driver(vm.host_id) as driver:
                driver.decompose(vm.name, vm.disks)
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
        try:
            with self.ctx.driver(vm.host_id) as driver:
                driver.decompose(vm.name, vm.disks)
        except base.DriverError as exc:
            with self.ctx.db.write() as conn:
                store.vms.set_vm_state(conn, vm_id, vm.state, f"decompose failed: {exc}")
            raise model.HostProblemError(f"cannot decompose {vm.name!r}: {exc}") from exc
        self.claims.release(vm_id)

    def power(self, vm_id: int, on: bool) -> model.Vm:
        """Start or stop a VM."""
        with self.ctx.db.read() as conn:
            vm, _ = store.vms.get_vm(conn, vm_id)
        try:
            with self.ctx.driver(vm.host_id) as driver:
                if on:
                    driver.power_on(vm.name)
                else:
                    driver.power_off(vm.name)
                state = driver.power_query(vm.name)
        except base.DriverError as exc:
            raise model.HostProblemError(
                f"cannot power {'on' if on else 'off'} {vm.name!r}: {exc}"
            ) from exc
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
