"""The compose form, on a host or anywhere: a live preview of the host the scheduler would choose
and why (or why no host can take it), then the compose itself, followed without a reload."""

from __future__ import annotations

import re
from typing import Any

import fastapi
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import FormData

from vmhost import model, schemas
from vmhost.service import Services, views

from . import format as fmt
from . import ops, render
from .forms import Form, form_data
from .host_pages import ChangeForm, load, placement_choices
from .hostinfo import HostInfo
from .session import check_csrf, current, services

router = render.router()

GB = 1000**3
PINNING = {"any": "any cores", "pin": "pinned, chosen by vmhost", "cores": "these cores"}
KINDS = {"": "as the network is", "bridge": "bridge", "macvlan": "macvlan", "sriov": "SR-IOV"}
INSTANCE_TYPES = {"virtual-machine": "Virtual machine", "container": "System container"}
HUGEPAGE_SIZES = {"": "any size", "2048": "2 MiB", "1048576": "1 GiB"}
POLICY_WORDS = {
    "pack": "the pack policy fills the fullest host that fits first",
    "spread": "the spread policy chooses the emptiest host",
    "least-loaded": "the least-loaded policy chooses the host with the fewest VMs",
}
_CORES_RE = re.compile(r"^\s*\d+(\s*-\s*\d+)?(\s*,\s*\d+(\s*-\s*\d+)?)*\s*$")
ROWS = 3


def parse_cores(form: Form, name: str) -> tuple[int, ...]:
    """``1,2,4-12`` as core numbers (MAAS's range format)."""
    text = form.text(name)
    if not _CORES_RE.match(text):
        form.fail(name, 'Cores must follow the format "1,2,4-12"')
        return ()
    cores: list[int] = []
    for part in text.replace(" ", "").split(","):
        low, _, high = part.partition("-")
        first, last = int(low), int(high or low)
        if last < first or last - first > 4096:
            form.fail(name, f"{part!r} is not a range of cores")
            return ()
        cores.extend(range(first, last + 1))
    if len(set(cores)) != len(cores):
        form.fail(name, "Duplicate core indices detected.")
    return tuple(cores)


def _disks(form: Form) -> tuple[model.DiskRequest, ...]:
    disks = []
    for size, pool in zip(form.all("disk_size"), form.all("disk_pool"), strict=False):
        if not size.strip():
            continue
        try:
            gb = float(size.replace(",", "."))
            if not gb > 0:
                raise ValueError
            disks.append(model.DiskRequest(round(gb * GB), pool=pool.strip() or None))
        except (ValueError, model.InvalidInputError):
            form.fail("disks", f"A disk size must be a positive number of GB, not {size!r}")
    if not disks:
        form.fail("disks", "At least one disk is required (the first is the root disk)")
    return tuple(disks)


def _nics(form: Form) -> tuple[model.InterfaceRequest, ...]:
    nics = []
    rows = zip(form.all("nic_network"), form.all("nic_space"), form.all("nic_kind"), strict=False)
    for i, (network, space, kind) in enumerate(rows):
        if not network.strip() and not space.strip():
            continue
        if kind not in KINDS:
            form.fail("interfaces", f"{kind!r} is not a kind of NIC")
            continue
        nics.append(
            model.InterfaceRequest(
                name=f"eth{i}",
                network=network.strip() or None,
                space=space.strip() or None,
                kind=model.NetworkKind(kind) if kind else None,
            )
        )
    return tuple(nics)


def parse_request(form: Form, host_id: int | None) -> model.ComposeRequest | None:
    """The compose request of the form (None, with errors in ``form``, when it has none)."""
    pinning = form.choice("pinning", PINNING, "Core placement", "any")
    cores = form.integer("cores", "Cores", minimum=1, default=1)
    pinned: tuple[int, ...] = ()
    if pinning == "cores":
        pinned = parse_cores(form, "pinned_cores")
        cores = len(pinned) or cores
    # the API's rule (MAAS's compose minimum), so both surfaces take the same requests
    memory = form.integer("memory_mib", "Memory", minimum=schemas.MIN_MEMORY_MIB, default=2048)
    hugepages = form.checked("hugepages_backed")
    size = form.choice("hugepage_size_kib", HUGEPAGE_SIZES, "Hugepage size", "")
    instance = form.choice("instance_type", INSTANCE_TYPES, "Instance type", "virtual-machine")
    disks, nics = _disks(form), _nics(form)
    if not form.ok:
        return None
    try:
        return model.ComposeRequest(
            cores=cores,
            memory_mib=memory,
            disks=disks,
            interfaces=nics,
            pinned_cores=pinned,
            pin_cores=pinning == "pin",
            numa_affinity=form.checked("numa_affinity"),
            hugepages_backed=hugepages,
            hugepage_size_kib=int(size) if hugepages and size else None,
            instance_type=model.InstanceType(instance),
            hostname=form.optional("hostname"),
            zone=form.optional("zone") if host_id is None else None,
            pool=form.optional("pool") if host_id is None else None,
            tags=form.tags("tags") if host_id is None else (),
            host_id=host_id,
        )
    except model.InvalidInputError as exc:
        form.take(exc)
        return None


def _validated(svc: Services, form: Form, host_id: int | None) -> model.ComposeRequest | None:
    request = parse_request(form, host_id)
    if request is None:
        return None
    try:
        return svc.vms.validate(request)
    except model.InvalidInputError as exc:
        form.take(exc)
        return None


def preview(svc: Services, request: model.ComposeRequest) -> dict[str, Any]:
    """Where the request would go and why, or why it cannot go anywhere (nothing claimed)."""
    ranked = svc.claims.candidates(request, limit=5)
    data = views.candidates(ranked, svc.claims.explain(request))
    chosen = data.candidates[0].host if data.candidates else None
    policy = svc.ctx.settings.policy.value
    reasons = [{"hosts": r.hosts, "reason": r.reason, "host": r.host_name} for r in data.reasons]
    if chosen:
        others = [c.host.name for c in data.candidates[1:]]
        summary = f"It would go to {chosen.name}"
        summary += f" ({POLICY_WORDS.get(policy, policy)}" + (
            f"; also fit: {', '.join(others)})." if others else ")."
        )
    else:
        summary = "No VM host can take it."
    return {
        "ok": chosen is not None,
        "chosen": {"id": chosen.id, "name": chosen.name} if chosen else None,
        "considered": data.considered,
        "summary": summary,
        "reasons": reasons,
        "message": data.message,
    }


def _page(
    request: fastapi.Request,
    svc: Services,
    host: HostInfo | None,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
    shown: dict[str, Any] | None = None,
) -> Response:
    networks = [n.name for n in views.networks(host.detail.view)] if host else []
    return render.page(
        request,
        current(request),
        "compose.html",
        status,
        host=host,
        values=values,
        errors=errors,
        preview=shown,
        pinning=PINNING,
        kinds=KINDS,
        instance_types=INSTANCE_TYPES,
        hugepage_sizes=HUGEPAGE_SIZES,
        **placement_choices(svc),
        storage_pools=[p.name for p in host.storage_pools] if host else [],
        networks=networks,
        spaces=sorted({s["space"] for s in svc.spaces.list()}),
        rows=ROWS,
    )


def _defaults(host: HostInfo | None) -> dict[str, Any]:
    container = host is not None and not host.can_run_vms and host.can_run_containers
    return {
        "cores": "1",
        "memory_mib": "2048",
        "pinning": "any",
        "instance_type": "container" if container else "virtual-machine",
        "disk_size": ["8", "", ""],
        "disk_pool": ["", "", ""],
        "nic_network": ["", "", ""],
        "nic_space": ["", "", ""],
        "nic_kind": ["", "", ""],
    }


def _typed(form: Form) -> dict[str, Any]:
    values: dict[str, Any] = form.values()
    for name in ("disk_size", "disk_pool", "nic_network", "nic_space", "nic_kind"):
        values[name] = (form.all(name) + [""] * ROWS)[: max(ROWS, len(form.all(name)))]
    return values


@router.get("/compose")
def compose_anywhere_form(request: fastapi.Request) -> Response:
    """Compose on the host the scheduler chooses."""
    svc = services(request)
    return _page(request, svc, None, _defaults(None), {})


@router.get("/hosts/{key}/compose")
def compose_here_form(request: fastapi.Request, key: str) -> Response:
    """Compose on this host."""
    svc = services(request)
    host = load(svc, key)
    return _page(request, svc, host, _defaults(host), {})


def _host_of(svc: Services, form: Form) -> HostInfo | None:
    key = form.text("host_id")
    return load(svc, key) if key else None


@router.post("/compose/preview")
def compose_preview(
    request: fastapi.Request, data: FormData = fastapi.Depends(form_data)
) -> Response:
    """The live preview of the form as typed (JSON for the page's script)."""
    form = Form(data)
    check_csrf(request, current(request), form.text("csrf_token"))
    svc = services(request)
    host = _host_of(svc, form)
    compose_request = _validated(svc, form, host.id if host else None)
    if compose_request is None:
        return JSONResponse({"errors": form.errors}, status_code=400)
    return JSONResponse({"errors": {}, **preview(svc, compose_request)})


@router.post("/compose")
def compose(request: fastapi.Request, form: Form = ChangeForm) -> Response:
    """Compose; bad input comes back inline, the compose runs as an operation."""
    svc = services(request)
    host = _host_of(svc, form)
    compose_request = _validated(svc, form, host.id if host else None)
    if compose_request is None:
        if render.wants_json(request):
            return JSONResponse({"errors": form.errors}, status_code=400)
        return _page(request, svc, host, _typed(form), form.errors, 400)
    target = f"/hosts/{host.id}" if host else "/compose"
    cr = compose_request

    def work() -> ops.Done:
        result = svc.vms.compose(cr)
        vm = result.vm
        return ops.Done(
            message=f"Composed {vm.name} on {result.host_name}: {vm.cores} cores, "
            f"{fmt.mib(vm.memory_mib)}, {fmt.plural(len(vm.disks), 'disk')}.",
            redirect=f"/hosts/{result.host_id}/vms",
            data={"vm": vm.name, "vm_id": vm.id, "host": result.host_name, "host_id": vm.host_id},
        )

    return ops.run(request, "compose", target, work)
