"""A host's settings: address, credentials, zone, pool, tags, default storage pool,
reservations and the over-commit sliders with their live preview; deleting the host."""

from __future__ import annotations

from typing import Any

import fastapi
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import FormData

from vmhost import model
from vmhost.service import Services, SettingsPreview, views

from . import format as fmt
from . import ops, render
from .forms import Form, form_data
from .host_pages import (
    ChangeForm,
    host_key,
    imported_credentials,
    load,
    lxd_credentials,
    placement_choices,
    tabs,
    writer,
)
from .hostinfo import HostInfo
from .session import Session, current, services

router = render.router()

RATIO_FIELDS = {
    "cpu_over_commit_ratio": "CPU over-commit",
    "memory_over_commit_ratio": "Memory over-commit",
}


def _vms(n: int) -> str:
    return fmt.plural(n, "VM")


def cores_preview(preview: SettingsPreview) -> dict[str, Any]:
    """ "8 physical cores × 1.5 = 12 virtual cores", and what it does to the VMs there."""
    then = views.resources(preview.then).cores
    now = views.resources(preview.now).cores
    count = views.vm_count(preview.then).total
    pinned = then.pinned_allocated + then.pinned_other
    minus = (f" − {then.reserved} reserved" if then.reserved else "") + (
        f" − {pinned} pinned" if pinned else ""
    )
    base = f"{then.total:,} physical cores"
    base = f"({base}{minus})" if minus else base
    shared = then.capacity - pinned
    formula = f"{base} × {fmt.ratio(then.over_commit_ratio)} = {shared:,} virtual cores"
    if pinned:
        formula += f", + {pinned} pinned = {then.capacity:,}"
    used = then.allocated + then.other
    return _effect(formula, count, used, then.free, now.free, then, preview, "cores")


def memory_preview(preview: SettingsPreview) -> dict[str, Any]:
    """ "128 GiB × 5.5 = 704 GiB" (general memory), and what it does to the VMs there."""
    then = views.resources(preview.then).memory
    now = views.resources(preview.now).memory
    count = views.vm_count(preview.then).total
    base = fmt.mib(then.general_mib)
    if then.reserved_mib:
        base = f"({base} − {fmt.mib(then.reserved_mib)} reserved)"
    formula = f"{base} × {fmt.ratio(then.over_commit_ratio)} = {fmt.mib(then.capacity_mib)}"
    if then.hugepages_mib:
        formula += f" (general memory: {fmt.mib(then.hugepages_mib)} are hugepages)"
    used = then.allocated_mib + then.other_mib
    return _effect(formula, count, used, then.free_mib, now.free_mib, then, preview, "memory")


def _effect(
    formula: str,
    count: int,
    used: int,
    free: int,
    free_now: int,
    then: views.CoreResources | views.MemoryResources,
    preview: SettingsPreview,
    kind: str,
) -> dict[str, Any]:
    def amount(x: int) -> str:
        return f"{x:,} cores" if kind == "cores" else fmt.mib(x)

    ratio = fmt.ratio(then.over_commit_ratio)
    lowest = preview.min_cpu_ratio if kind == "cores" else preview.min_memory_ratio
    if count == 0 or used == 0:
        effect = f"Nothing uses them yet: {amount(free)} free to compose."
    elif free < 0:
        effect = (
            f"{_vms(count)} use {amount(used)}: at {ratio} this host would be over-committed "
            f"by {amount(-free)} and take no new VM"
        )
        effect += (
            f" (the lowest ratio that holds them is {fmt.ratio(lowest)})."
            if lowest is not None
            else "."
        )
    else:
        effect = f"{_vms(count)} use {amount(used)}: {amount(free)} free to compose"
        effect += f" (now {amount(free_now)})." if free != free_now else "."
    return {"formula": formula, "effect": effect, "over": free < 0}


def preview_for(svc: Services, host_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """Both previews for typed values (the service checks them)."""
    preview = svc.previews.settings(
        host_id,
        values["cpu_over_commit_ratio"],
        values["memory_over_commit_ratio"],
        values["reserved_cores"],
        values["reserved_memory_mib"],
    )
    return {"cores": cores_preview(preview), "memory": memory_preview(preview)}


def _typed(form: Form) -> dict[str, Any]:
    """The preview's inputs from the form, each problem under its field."""
    return {
        "cpu_over_commit_ratio": form.ratio("cpu_over_commit_ratio", "CPU over-commit"),
        "memory_over_commit_ratio": form.ratio("memory_over_commit_ratio", "Memory over-commit"),
        "reserved_cores": form.integer("reserved_cores", "Reserved cores", default=0),
        "reserved_memory_mib": form.integer("reserved_memory_mib", "Reserved memory", default=0),
    }


def _safe_preview(svc: Services, host: HostInfo, form: Form) -> dict[str, Any] | None:
    values = _typed(form)
    if not form.ok:
        return None
    try:
        return preview_for(svc, host.id, values)
    except model.InvalidInputError as exc:
        form.take(exc)
        return None


def _page(
    request: fastapi.Request,
    session: Session,
    svc: Services,
    host: HostInfo,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    form = Form(values)
    preview = _safe_preview(svc, host, form)
    if preview is None:  # show the saved host's preview next to the refused values
        preview = _safe_preview(svc, host, Form(host.settings))
    return render.page(
        request,
        session,
        "host_settings.html",
        status,
        host=host,
        tab="settings",
        tabs=tabs(host),
        values=values,
        errors={**form.errors, **errors},
        preview=preview,
        **placement_choices(svc),
        storage_pools=[p.name for p in host.storage_pools],
        ratio_fields=RATIO_FIELDS,
    )


@router.get("/hosts/{key}/settings")
def settings_form(request: fastapi.Request, key: str) -> Response:
    """The settings form, filled with the host's settings."""
    session = current(request)
    svc = services(request)
    host = load(svc, key)
    return _page(request, session, svc, host, dict(host.settings), {})


@router.get("/hosts/{key}/settings/preview")
def settings_preview(request: fastapi.Request, key: str) -> Response:
    """The live preview for the values being typed (JSON for the page's script)."""
    current(request)
    svc = services(request)
    host_id = host_key(key)
    form = Form(dict(request.query_params))
    values = _typed(form)
    if form.ok:
        try:
            return JSONResponse({"errors": {}, **preview_for(svc, host_id, values)})
        except model.InvalidInputError as exc:
            form.take(exc)
    return JSONResponse({"errors": form.errors}, status_code=400)


def changes_from(form: Form, host: HostInfo) -> dict[str, Any]:
    """The service's changes from the submitted form (problems noted in ``form``)."""
    changes: dict[str, Any] = {
        "name": form.required("name", "The name"),
        "address": form.required("address", "The address"),
        "zone": form.required("zone", "The zone"),
        "pool": form.required("pool", "The resource pool"),
        "tags": form.tags("tags"),
        "default_storage_pool": form.optional("default_storage_pool"),
        **_typed(form),
    }
    if host.is_lxd:
        changes["project"] = form.required("project", "The project")
    if form.text("password"):
        changes["password"] = form.raw("password")
    return changes


CERTIFICATE_ACTIONS = {"keep": "", "generate": "", "import": ""}


def certificate_changes(svc: Services, form: Form, host: HostInfo) -> dict[str, str]:
    """A new client certificate for an LXD host: generated, or imported (checked here)."""
    if not host.is_lxd:
        return {}
    action = form.choice("certificate_action", CERTIFICATE_ACTIONS, "Certificate", "keep")
    if action == "generate":
        return lxd_credentials(svc.certificates.pair_for(host.name, "", ""))
    if action == "import":
        cert, key = form.text("certificate"), form.text("key")
        if not cert or not key:
            form.fail(
                "certificate" if not cert else "key", "Paste both the certificate and its key"
            )
            return {}
        return imported_credentials(svc, form, cert, key)
    return {}


@router.post("/hosts/{key}/settings")
def save_settings(
    request: fastapi.Request, key: str, data: FormData = fastapi.Depends(form_data)
) -> Response:
    """Save; bad input changes nothing and comes back with its messages next to the fields."""
    form = Form(data)
    session = writer(request, form)
    svc = services(request)
    host = load(svc, key)
    changes = changes_from(form, host)
    changes.update(certificate_changes(svc, form, host))
    if form.ok:
        try:
            detail = svc.hosts.update(host.id, model.HostChanges(**changes))
        except model.InvalidInputError as exc:
            form.take(exc)
        except model.ConflictError as exc:
            form.fail("name", exc.message)
    if not form.ok:
        return _page(request, session, svc, host, form.values(), form.errors, 400)
    message = f"Saved the settings of {changes['name']}."
    if changes["address"] != host.address or {"password", "client_cert_pem"} & changes.keys():
        message += f" vmhost checked the host again: {detail.host.status.value}."
    if "client_cert_pem" in changes and detail.host.status is model.HostStatus.UNTRUSTED:
        return render.redirect(request, f"/hosts/{host.id}/trust", message)
    return render.redirect(request, f"/hosts/{host.id}/settings", message)


@router.get("/hosts/{key}/delete")
def delete_form(request: fastapi.Request, key: str) -> Response:
    """Ask before removing the host (and maybe its VMs)."""
    session = current(request)
    svc = services(request)
    host = load(svc, key)
    composed = [v for v in svc.vms.list(host_id=host.id) if v.origin is model.VmOrigin.COMPOSED]
    return render.page(request, session, "host_delete.html", host=host, composed=composed)


@router.post("/hosts/{key}/delete")
def delete(request: fastapi.Request, key: str, form: Form = ChangeForm) -> Response:
    """Remove the host; with ``decompose`` its composed VMs are deleted from it first."""
    svc = services(request)
    host = load(svc, key)
    decompose = form.checked("decompose")

    def work() -> ops.Done:
        problems = svc.hosts.delete(host.id, decompose)
        message = f"Removed the VM host {host.name}."
        if problems:
            message += " Some VMs could not be deleted: " + "; ".join(problems)
        return ops.Done(message=message, redirect="/")

    return ops.run(request, "delete-host", f"/hosts/{host.id}", work)
