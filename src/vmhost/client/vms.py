"""``client.vms``: VMs composed here or found on hosts; compose, the warm pool, power."""

from __future__ import annotations

import builtins

from vmhost import schemas

from .base import Manager, P, seg
from .errors import build


class VmsManager(Manager):
    """``/api/v1/vms``."""

    def list(
        self,
        host: int | str | None = None,
        origin: str | None = None,
        state: str | None = None,
        *,
        owner: str | None = None,
        idle: bool | None = None,
    ) -> builtins.list[schemas.Vm]:
        """VMs, filtered (``idle=True``: the warm pool; ``owner``: one owner's VMs)."""
        return self._list(
            f"{P}/vms", schemas.Vm, host=host, origin=origin, state=state, owner=owner, idle=idle
        )

    def get(self, vm_id: int) -> schemas.Vm:
        """One VM."""
        return self._get(f"{P}/vms/{seg(vm_id)}", schemas.Vm)

    def compose(self, body: schemas.HostComposeBody) -> schemas.ComposeResult:
        """Compose a VM on the best host (``body.host`` restricts it to one)."""
        return self._send("POST", f"{P}/vms", schemas.ComposeResult, body)

    def start_compose(self, body: schemas.HostComposeBody) -> schemas.Operation:
        """Compose in the background."""
        return self._start("POST", f"{P}/vms", body)

    def candidates(self, body: schemas.HostComposeBody, limit: int = 10) -> schemas.Candidates:
        """Where a compose request would go (nothing claimed)."""
        return self._send("POST", f"{P}/vms/candidates", schemas.Candidates, body, limit=limit)

    def idle(self, body: schemas.HostComposeBody, limit: int = 100) -> builtins.list[schemas.Vm]:
        """Idle VMs that would satisfy a compose request, cheapest first (none allocated)."""
        return self._send_list("POST", f"{P}/vms/idle", schemas.Vm, body, limit=limit)

    def allocate_matching(
        self, body: schemas.HostComposeBody, owner: str, *, compose: bool = False
    ) -> schemas.AllocateResult:
        """Allocate to ``owner`` the cheapest idle VM that satisfies ``body``, in one request;
        on a miss, with ``compose``, compose one for ``owner`` (NoCapacityError when no host
        can take it), without it ConflictError. ``reused`` says which happened."""
        data = {**body.model_dump(exclude_unset=True), "owner": owner, "compose": compose}
        request = build(schemas.AllocateMatchingBody, **data)
        return self._send("POST", f"{P}/vms/allocate", schemas.AllocateResult, request)

    def allocate(self, vm_id: int, owner: str) -> schemas.Vm:
        """Allocate an idle VM to ``owner`` (ConflictError when it is not idle)."""
        body = build(schemas.AllocateBody, owner=owner)
        return self._send("POST", f"{P}/vms/{seg(vm_id)}/allocate", schemas.Vm, body)

    def release(self, vm_id: int) -> schemas.Vm:
        """Clear a VM's owner: it stays, idle (in the warm pool)."""
        return self._send("POST", f"{P}/vms/{seg(vm_id)}/release", schemas.Vm)

    def refresh(self, vm_id: int) -> schemas.Vm:
        """Re-read a VM's power state and addresses from its host."""
        return self._send("POST", f"{P}/vms/{seg(vm_id)}/refresh", schemas.Vm)

    def power_on(self, vm_id: int) -> schemas.Vm:
        """Start a VM."""
        return self._send("POST", f"{P}/vms/{seg(vm_id)}/power-on", schemas.Vm)

    def power_off(self, vm_id: int) -> schemas.Vm:
        """Stop a VM."""
        return self._send("POST", f"{P}/vms/{seg(vm_id)}/power-off", schemas.Vm)

    def delete(self, vm_id: int) -> schemas.Deleted:
        """Decompose a VM."""
        return self._send("DELETE", f"{P}/vms/{seg(vm_id)}", schemas.Deleted)

    def start_delete(self, vm_id: int) -> schemas.Operation:
        """Decompose a VM in the background."""
        return self._start("DELETE", f"{P}/vms/{seg(vm_id)}")
