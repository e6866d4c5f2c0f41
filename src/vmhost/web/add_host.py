"""Adding a VM host, and trusting vmhost's certificate on an LXD host until it is ready.

LXD: vmhost generates the host's key and certificate (or imports a pair; a passphrase key is
refused inline), or uses a trust token once, or, not recommended, the trust password. A host
that answers but does not trust vmhost yet is kept, and its trust page shows the certificate,
its fingerprint, the ``lxc config trust add`` command and the URL it fetches the PEM from, and
checks again until the host is trusted; then it lists the host's projects. libvirt: a URI with
an SSH key file on this server or a password. An address that does not answer adds nothing.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

import fastapi
from fastapi.responses import JSONResponse, Response

from vmhost import model
from vmhost.service import Services

from . import format as fmt
from . import ops, render
from .forms import Form
from .host_pages import ChangeForm, host_key, imported_credentials, load, placement_choices
from .hostinfo import HostInfo, host_info
from .session import current, services

router = render.router()

TYPES = {"lxd": "LXD", "libvirt": "libvirt", "fake": "Fake (demo)"}
AUTH = {
    "generate": "Generate a certificate",
    "import": "Import a key and certificate",
    "token": "Trust token",
    "password": "Trust password",
}
DEFAULT_ADDRESS = {"lxd": "", "libvirt": "qemu:///system", "fake": "fake://small"}


def fetch_url(request: fastapi.Request, name: str) -> str:
    """The URL the host's certificate PEM is served at without a login (for ``curl``)."""
    base = str(request.base_url).rstrip("/")
    return f"{base}/vmhost-certificate/{urllib.parse.quote(name, safe='')}"


def _page(
    request: fastapi.Request,
    svc: Services,
    kind: str,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    return render.page(
        request,
        current(request),
        "add_host.html",
        status,
        kind=kind,
        types=TYPES,
        auth_choices=AUTH,
        values=values,
        errors=errors,
        **placement_choices(svc),
        profiles="small, numa",
    )


@router.get("/hosts/add")
def add_form(request: fastapi.Request, type: str = "lxd") -> Response:  # noqa: A002
    """The add-host form for one kind of host."""
    current(request)
    kind = type if type in TYPES else "lxd"
    values = {
        "address": DEFAULT_ADDRESS[kind],
        "zone": "default",
        "pool": "default",
        "project": "default",
        "auth": "generate",
    }
    return _page(request, services(request), kind, values, {})


def _settings(form: Form, kind: str) -> model.HostSettings | None:
    name = form.required("name", "The name")
    address = form.required("address", "The address")
    if not form.ok:
        return None
    try:
        return model.HostSettings(
            name=name,
            type=model.HostType(kind),
            address=address,
            zone=form.text("zone") or model.DEFAULT_ZONE,
            pool=form.text("pool") or model.DEFAULT_POOL,
            tags=form.tags("tags"),
            project=form.text("project") or ("default" if kind == "lxd" else ""),
        )
    except model.InvalidInputError as exc:
        form.take(exc)
        return None


def _credentials(form: Form, kind: str, svc: Services) -> dict[str, Any]:
    """The add call's credential arguments for the chosen way to authenticate."""
    if kind == "libvirt":
        keyfile = form.text("keyfile")
        return {
            "password": form.raw("password"),
            "options": {"keyfile": keyfile} if keyfile else {},
        }
    if kind != "lxd":
        return {}
    auth = form.choice("auth", AUTH, "Authentication", "generate")
    if auth == "import":
        cert, key = form.text("certificate"), form.text("key")
        if not cert:
            form.fail("certificate", "Paste the certificate (PEM) to import")
        if not key:
            form.fail("key", "Paste its private key (PEM, without a passphrase)")
        if not form.ok:
            return {}
        return imported_credentials(svc, form, cert, key)
    if auth == "token":
        token = form.text("trust_token")
        if not token:
            form.fail("trust_token", "Paste the token that `lxc config trust add` printed")
        return {"trust_token": token}
    if auth == "password":
        password = form.raw("trust_password")
        if not password:
            form.fail("trust_password", "Type the host's core.trust_password")
        return {"password": password}
    return {}


def _place(form: Form, exc: model.VmHostError, auth: str) -> None:
    """A refusal of the add next to the field it is about."""
    message = fmt.sentence(exc.message)
    if isinstance(exc, model.InvalidInputError):
        form.take(exc)
    elif isinstance(exc, model.ConflictError):
        form.fail("address" if "already has type" in exc.message else "name", message)
    elif "trusted" in exc.message and auth in ("token", "password"):
        form.fail("trust_token" if auth == "token" else "trust_password", message)
    else:  # the host does not answer at that address
        form.fail("address", f"{message} Nothing was added.")


@router.post("/hosts/add")
def add(request: fastapi.Request, form: Form = ChangeForm) -> Response:
    """Add the host; bad input comes back inline with what was typed, and adds nothing."""
    svc = services(request)
    kind = form.choice("type", TYPES, "Type", "lxd")
    settings = _settings(form, kind)
    credentials = _credentials(form, kind, svc)
    detail = None
    if settings is not None and form.ok:
        try:
            detail = svc.hosts.add(settings, **credentials)
        except model.VmHostError as exc:
            _place(form, exc, form.text("auth"))
    if detail is None or not form.ok:
        return _page(request, svc, kind, form.values(), form.errors, 400)
    info = host_info(detail)
    if info.note.ready:
        return render.redirect(request, f"/hosts/{info.id}/vms", _discovered(info))
    return render.redirect(
        request,
        f"/hosts/{info.id}/trust",
        f"Added {info.name}. It answers but does not trust vmhost yet: trust the certificate "
        "below.",
    )


def _discovered(info: HostInfo) -> str:
    r = info.resources
    return (
        f"Added {info.name}: {r.cores.total} cores, {fmt.mib(r.memory.total_mib)}, "
        f"{fmt.plural(len(info.storage_pools), 'storage pool')}, "
        f"{fmt.plural(info.vm_count.total, 'VM')} found."
    )


def _trust_state(svc: Services, info: HostInfo) -> dict[str, Any]:
    state: dict[str, Any] = {
        "status": info.note.status,
        "label": info.note.label,
        "ready": info.note.ready,
        "problem": info.note.problem,
        "next": info.note.next_step,
        "summary": _discovered(info).replace("Added ", "", 1) if info.note.ready else "",
        "projects": [],
        "projects_error": "",
    }
    if info.note.ready and info.is_lxd:
        try:
            state["projects"] = [
                {"name": p.name, "instances": p.instances, "description": p.description}
                for p in svc.hosts.projects(info.id)
            ]
        except model.HostProblemError as exc:
            state["projects_error"] = exc.message
    return state


@router.get("/hosts/{key}/trust")
def trust_page(request: fastapi.Request, key: str) -> Response:
    """The certificate, the command that trusts it, and where the host stands."""
    session = current(request)
    svc = services(request)
    info = load(svc, key)
    certificate = None
    if info.is_lxd:
        certificate = svc.certificates.certificate(info.id, fetch_url(request, info.name))
    return render.page(
        request,
        session,
        "trust.html",
        host=info,
        certificate=certificate,
        state=_trust_state(svc, info),
    )


@router.post("/hosts/{key}/recheck")
def recheck(request: fastapi.Request, key: str, _form: Form = ChangeForm) -> Response:
    """Try the host again (a refresh): the trust page asks until the host is ready."""
    svc = services(request)
    info = host_info(svc.hosts.refresh(host_key(key), raise_errors=False))
    if render.wants_json(request):
        return JSONResponse(_trust_state(svc, info))
    return render.redirect(request, f"/hosts/{info.id}/trust")


@router.post("/hosts/{key}/project")
def choose_project(request: fastapi.Request, key: str, form: Form = ChangeForm) -> Response:
    """Compose in this LXD project (created by vmhost when it does not exist yet)."""
    svc = services(request)
    host_id = host_key(key)
    project = form.text("new_project") or form.text("project")

    def work() -> ops.Done:
        svc.hosts.update(host_id, model.HostChanges(project=project))
        info = host_info(svc.hosts.refresh(host_id, raise_errors=False))
        return ops.Done(
            message=f"{info.name} composes in project {project}: {info.note.label.lower()}.",
            redirect=f"/hosts/{host_id}/vms",
        )

    if not project:
        return render.redirect(request, f"/hosts/{host_id}/trust", "Choose a project.")
    try:
        model.validate_name("project", project)
    except model.InvalidInputError as exc:
        return render.redirect(request, f"/hosts/{host_id}/trust", fmt.sentence(exc.message))
    return ops.run(request, "project", f"/hosts/{host_id}", work)
