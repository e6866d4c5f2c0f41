"""``/api/v1/vms``: VMs composed here or found on hosts; compose anywhere; candidates."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

import fastapi

from vmhost import model, schemas
from vmhost.service import Services, views

from . import auth, composing, convert, deps, errors

router = fastapi.APIRouter(
    prefix=f"{schemas.API_PREFIX}/vms", tags=["vms"], route_class=errors.ErrorRoute
)
VmId = Annotated[int, fastapi.Path(ge=1, le=deps.MAX_ID, description="VM id")]


@router.get("", **auth.reader_route(404, 422))
def list_vms(
    svc: deps.Svc,
    host: str | None = fastapi.Query(None, description="host id or name", max_length=255),
    origin: Literal["composed", "adopted"] | None = None,
    state: Literal["claimed", "ready", "releasing", "missing"] | None = None,
    owner: str | None = fastapi.Query(
        None,
        description="VMs allocated to this owner",
        min_length=1,
        max_length=255,
        pattern=schemas.OWNER_PATTERN,
    ),
    idle: bool | None = fastapi.Query(
        None,
        description="true: the warm pool (composed, ready, no owner); false: allocated VMs",
    ),
) -> list[schemas.Vm]:
    """VMs, filtered by host, origin (composed here / adopted from the host), state, owner and
    whether they are idle."""
    host_id = deps.optional_host_id(svc, host)
    if host_id is not None:
        svc.hosts.get(host_id)
    filters: dict[str, Any] = {
        "host_id": host_id,
        "origin": model.VmOrigin(origin) if origin else None,
        "states": [model.VmState(state)] if state else None,
    }
    if owner is None and idle is None:
        vms = svc.vms.list(**filters)
    else:
        vms = svc.allocation.list(**filters, owner=owner, idle=idle)
    names = svc.hosts.names()
    return [convert.vm(vm, names.get(vm.host_id, "")) for vm in vms]


@router.post(
    "",
    response_model=schemas.ComposeResult,
    **auth.admin_route(400, 404, 409, 422, 503, operation=True),
    summary="Compose a VM on the best host",
)
def compose_anywhere(body: schemas.HostComposeBody, svc: deps.Svc, run: deps.Run) -> Any:
    """The scheduler picks the host (``host`` restricts it to one). No room answers 409 with
    the reasons per check ("3 hosts considered: 2 lack 16384 MiB of memory; ...")."""
    host_id = deps.optional_host_id(svc, body.host)
    return composing.compose(run, svc, body, host_id)


def _validated(svc: Services, body: schemas.HostComposeBody) -> model.ComposeRequest:
    """The compose request of a body, checked as a compose would check it (nothing claimed)."""
    return svc.vms.validate(convert.compose_request(body, deps.optional_host_id(svc, body.host)))


@router.post(
    "/candidates",
    **auth.reader_route(400, 404, 422),
    summary="Where a compose request would go (nothing is claimed)",
)
def candidates(
    body: schemas.HostComposeBody, svc: deps.Svc, limit: int = fastapi.Query(10, ge=1, le=1000)
) -> schemas.Candidates:
    """Hosts that could take the request now, best first, and per check why others cannot."""
    request = _validated(svc, body)
    ranked = svc.claims.candidates(request, limit=limit)
    data = views.candidates(ranked, svc.claims.explain(request))
    return schemas.Candidates.model_validate(
        {
            "considered": data.considered,
            "candidates": [
                {**dataclasses.asdict(c), "host": convert.host_ref(c.host.id, c.host.name)}
                for c in data.candidates
            ],
            "reasons": [schemas.Reason.of(r) for r in data.reasons],
            "message": data.message,
        }
    )


@router.post(
    "/idle",
    **auth.reader_route(400, 404, 422),
    summary="Idle VMs that would satisfy a compose request (nothing is allocated)",
)
def idle_vms(
    body: schemas.HostComposeBody, svc: deps.Svc, limit: int = fastapi.Query(100, ge=1, le=1000)
) -> list[schemas.Vm]:
    """The warm pool filtered by a request: composed, ready VMs with no owner that have at
    least the cores, memory and disks asked for, the same instance type, a NIC per space or
    network asked for (none in an excluded space), on a ready host that passes the zone,
    pool, tags and architecture checks; cheapest first (cores + memory in GiB)."""
    request = _validated(svc, body)
    vms = svc.allocation.idle(request, limit=limit)
    names = svc.hosts.names(list({vm.host_id for vm in vms})) if vms else {}
    return [convert.vm(vm, names.get(vm.host_id, "")) for vm in vms]


def _answer(svc: Services, vm: model.Vm) -> schemas.Vm:
    """A VM as the routes answer it, with its host's name."""
    return convert.vm(vm, svc.hosts.names([vm.host_id]).get(vm.host_id, ""))


@router.post(
    "/allocate",
    **auth.admin_route(400, 404, 409, 422, 503),
    summary="Allocate a matching idle VM to an owner, or compose one (one request)",
)
def allocate_matching(body: schemas.AllocateMatchingBody, svc: deps.Svc) -> schemas.AllocateResult:
    """The warm pool's one-request allocation: the cheapest idle VM that satisfies the compose
    request (the checks of ``POST /vms/idle``) is allocated to ``owner`` atomically (of callers
    racing for one VM, one gets it, the others the next one). On a miss, ``compose: true``
    composes a VM for ``owner`` in the same request (409 with the reasons per check when no
    host can take it, as ``POST /vms``); ``compose: false`` answers 409. ``reused`` says
    which happened."""
    host_id = deps.optional_host_id(svc, body.host)
    got = svc.allocation.allocate_matching(
        convert.compose_request(body, host_id), body.owner, body.compose
    )
    return schemas.AllocateResult.model_validate(
        {
            "system_id": str(got.vm.id),
            "resource_uri": convert.vm_uri(got.vm.id),
            "host": convert.host_ref(got.vm.host_id, got.host_name),
            "vm": convert.vm(got.vm, got.host_name),
            "attempts": got.attempts,
            "reused": got.reused,
        }
    )


@router.get("/{vm_id}", **auth.reader_route(404))
def read_vm(vm_id: VmId, svc: deps.Svc) -> schemas.Vm:
    """One VM."""
    return _answer(svc, svc.vms.get(vm_id))


def _power(on: bool) -> Any:
    def power(vm_id: VmId, svc: deps.Svc) -> schemas.Vm:
        return _answer(svc, svc.vms.power(vm_id, on))

    power.__doc__ = f"Power the VM {'on' if on else 'off'}; answers the VM with its new state."
    return power


for _on in (True, False):
    router.add_api_route(
        f"/{{vm_id}}/power-{'on' if _on else 'off'}",
        _power(_on),
        methods=["POST"],
        **auth.admin_route(404, 503),
        name=f"power_{'on' if _on else 'off'}",
        summary=f"Power a VM {'on' if _on else 'off'}",
    )


@router.post(
    "/{vm_id}/allocate",
    **auth.admin_route(400, 404, 409, 422),
    summary="Allocate an idle VM to an owner (409 when it is not idle)",
)
def allocate_vm(body: schemas.AllocateBody, vm_id: VmId, svc: deps.Svc) -> schemas.Vm:
    """Give an idle composed VM (ready, no owner) to ``owner``, atomically: of two callers
    racing for one VM, one gets it and the other 409."""
    return _answer(svc, svc.allocation.allocate(vm_id, body.owner))


@router.post(
    "/{vm_id}/release",
    **auth.admin_route(404),
    summary="Release a VM: clear its owner, keep it (idle, in the warm pool)",
)
def release_vm(vm_id: VmId, svc: deps.Svc) -> schemas.Vm:
    """Clear the VM's owner; the VM stays on its host, idle. Releasing an idle VM is a no-op;
    to delete the VM, DELETE it."""
    return _answer(svc, svc.allocation.release(vm_id))


@router.post(
    "/{vm_id}/refresh",
    **auth.admin_route(404, 503),
    summary="Re-read a VM's power state and addresses from its host",
)
def refresh_vm(vm_id: VmId, svc: deps.Svc) -> schemas.Vm:
    """Ask the host for this VM's power state and IP addresses now, record and answer them."""
    return _answer(svc, svc.allocation.observe(vm_id))


@router.delete(
    "/{vm_id}",
    response_model=schemas.Deleted,
    **auth.admin_route(404, 409, 503, operation=True),
    summary="Decompose a VM (delete it and its volumes from the host)",
)
def delete_vm(vm_id: VmId, svc: deps.Svc, run: deps.Run) -> Any:
    """Delete the VM and every volume vmhost created for it, then give its resources back."""
    vm = svc.vms.get(vm_id)

    def work() -> schemas.Deleted:
        svc.vms.decompose(vm_id)
        return schemas.Deleted(id=vm_id, name=vm.name)

    return run("decompose", convert.vm_uri(vm_id), work)
