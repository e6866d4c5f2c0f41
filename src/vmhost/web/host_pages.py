"""A host's pages: VMs and project, NUMA resources, storage; refresh, power, decompose."""

from __future__ import annotations

import dataclasses
from typing import Any

import fastapi
from fastapi.responses import Response
from starlette.datastructures import FormData

from vmhost import model
from vmhost.service import ClientCredentials, Services, views

from . import format as fmt
from . import ops, render
from .forms import Form, form_data
from .hostinfo import HostInfo, host_info
from .session import Session, check_admin, check_csrf, current, services

router = render.router()

TABS = (("vms", "Virtual machines"), ("resources", "Resources"), ("storage", "Storage"))


def host_key(key: str) -> int:
    """A host id from the URL (NotFoundError otherwise)."""
    if key.isascii() and key.isdigit() and len(key) < 19:
        return int(key)
    raise model.NotFoundError("VM host", key)


def load(svc: Services, key: str) -> HostInfo:
    """The host of a page."""
    return host_info(svc.hosts.get(host_key(key)))


def writer(request: fastapi.Request, form: Form) -> Session:
    """The session of a change: CSRF checked, admin required."""
    session = current(request)
    check_csrf(request, session, form.text("csrf_token"))
    check_admin(session)
    return session


def change_form(request: fastapi.Request, data: FormData = fastapi.Depends(form_data)) -> Form:
    """The form of a change, as the route's dependency: CSRF checked and admin required
    (``writer``) before the route runs."""
    form = Form(data)
    writer(request, form)
    return form


#: A POST route's form, checked (``change_form``).
ChangeForm = fastapi.Depends(change_form)


def placement_choices(svc: Services) -> dict[str, list[str]]:
    """The zone and pool names a host or compose form offers (``zones``, ``pools``)."""
    return {
        "zones": [z["name"] for z in svc.zones.list()],
        "pools": [p["name"] for p in svc.pools.list()],
    }


def lxd_credentials(pair: ClientCredentials) -> dict[str, str]:
    """An LXD client pair as the arguments of a host's add or update."""
    return {"client_cert_pem": pair.certificate_pem, "client_key_pem": pair.key_pem}


def imported_credentials(svc: Services, form: Form, cert: str, key: str) -> dict[str, str]:
    """``lxd_credentials`` of a pasted LXD certificate and key, as the service checks them;
    {} when it refuses them, with its problems under their fields."""
    try:
        pair = svc.certificates.client_credentials(model.HostType.LXD, cert, key)
    except model.InvalidInputError as exc:
        form.take(exc)
        return {}
    return lxd_credentials(pair)


def tabs(host: HostInfo) -> list[tuple[str, str]]:
    """The host's tabs (path, label)."""
    return [(f"/hosts/{host.id}/{t}", label) for t, label in (*TABS, ("settings", "Settings"))]


@dataclasses.dataclass(frozen=True, slots=True)
class VmRow:
    """A VM as the tables show it."""

    vm: model.Vm
    cores: str
    memory: str
    disks: str
    nics: str
    nodes: tuple[int, ...]


def vm_row(vm: model.Vm, node_of_core: dict[int, int]) -> VmRow:
    """The VM's resources in words, and the NUMA nodes it uses."""
    if vm.pinned_cores:
        cores = f"{len(vm.pinned_cores)} pinned: {fmt.core_ranges(vm.pinned_cores)}"
    else:
        cores = f"any {vm.cores}"
    memory = fmt.mib(vm.memory_mib) + (" hugepages" if vm.hugepages_backed else "")
    disks = ", ".join(f"{d.name} {fmt.size(d.size_bytes)} ({d.pool})" for d in vm.disks)
    nics = ", ".join(f"{n.name or 'nic'} → {n.network} ({n.kind.value})" for n in vm.interfaces)
    nodes = {node_of_core[c] for c in vm.pinned_cores if c in node_of_core}
    if vm.numa_node is not None:
        nodes.add(vm.numa_node)
    nodes.update(n for n, _ in vm.numa_memory_mib)
    return VmRow(vm, cores, memory, disks or "—", nics or "—", tuple(sorted(nodes)))


def _node_of_core(numa: views.NumaResources) -> dict[int, int]:
    return {c: n.index for n in numa.numa for c in n.cores.all}


def _page(
    request: fastapi.Request, session: Session, host: HostInfo, tab: str, **context: Any
) -> Response:
    return render.page(
        request,
        session,
        f"host_{tab}.html",
        host=host,
        tab=tab,
        tabs=tabs(host),
        **context,
    )


@router.get("/hosts/{key}")
def host_home(request: fastapi.Request, key: str) -> Response:
    """A host opens on its VMs."""
    current(request)
    return render.redirect(request, f"/hosts/{host_key(key)}/vms")


def _vm_rows(svc: Services, host: HostInfo) -> tuple[views.NumaResources, list[VmRow]]:
    """The host's NUMA view and its VMs as table rows (with the nodes their cores are on)."""
    numa = views.numa_resources(host.detail.view)
    node_of_core = _node_of_core(numa)
    return numa, [vm_row(vm, node_of_core) for vm in svc.vms.list(host_id=host.id)]


@router.get("/hosts/{key}/vms")
def host_vms(request: fastapi.Request, key: str) -> Response:
    """The VMs tab: summary, the VM table, and for LXD the project and the host's others."""
    session = current(request)
    svc = services(request)
    host = load(svc, key)
    _numa, vms = _vm_rows(svc, host)
    projects: list[Any] = []
    projects_error = ""
    if host.is_lxd and host.note.ready:
        try:
            projects = svc.hosts.projects(host.id)
        except model.HostProblemError as exc:
            projects_error = exc.message
    return _page(
        request, session, host, "vms", vms=vms, projects=projects, projects_error=projects_error
    )


@router.get("/hosts/{key}/resources")
def host_resources(request: fastapi.Request, key: str, vms: str = "") -> Response:
    """Per NUMA node: cores pinned by us / by others / free, memory, hugepages, VFs."""
    session = current(request)
    svc = services(request)
    host = load(svc, key)
    numa, rows = _vm_rows(svc, host)
    pinned_by = {c: r.vm.name for r in rows for c in r.vm.pinned_cores}
    on_node: dict[int, list[VmRow]] = {}
    for r in rows:
        for n in r.nodes:
            on_node.setdefault(n, []).append(r)
    return _page(
        request,
        session,
        host,
        "resources",
        numa=numa,
        pinned_by=pinned_by,
        on_node=on_node,
        floating=[r for r in rows if not r.nodes],
        show_vms=vms == "1",
    )


@router.get("/hosts/{key}/storage")
def host_storage(request: fastapi.Request, key: str) -> Response:
    """The storage pools with their use split: ours, other VMs, outside use, free."""
    session = current(request)
    host = load(services(request), key)
    pools = [(p, fmt.pool_meter(p)) for p in host.storage_pools]
    return _page(request, session, host, "storage", pools=pools)


@router.post("/hosts/{key}/refresh")
def refresh(request: fastapi.Request, key: str, _form: Form = ChangeForm) -> Response:
    """Discover the host again (in the background for the page's script)."""
    svc = services(request)
    host_id = host_key(key)
    name = svc.hosts.get(host_id).host.name

    def work() -> ops.Done:
        info = host_info(svc.hosts.refresh(host_id, raise_errors=False))
        if info.note.ready:
            message = f"Refreshed {name}: {fmt.plural(info.vm_count.total, 'VM')} found."
        else:
            message = f"{name} is {info.note.label.lower()}: {info.note.problem}"
        return ops.Done(message=message, redirect=f"/hosts/{host_id}/vms")

    return ops.run(request, "refresh", f"/hosts/{host_id}", work)


def _vm(svc: Services, key: str) -> model.Vm:
    if not (key.isascii() and key.isdigit() and len(key) < 19):
        raise model.NotFoundError("VM", key)
    return svc.vms.get(int(key))


@router.post("/vms/{key}/power")
def power(request: fastapi.Request, key: str, form: Form = ChangeForm) -> Response:
    """Start or stop a VM."""
    svc = services(request)
    vm = _vm(svc, key)
    on = form.choice("power", {"start": "", "stop": ""}, "power", "start") == "start"

    def work() -> ops.Done:
        done = svc.vms.power(vm.id, on)
        return ops.Done(
            message=f"{vm.name} is {done.power_state}.", redirect=f"/hosts/{vm.host_id}/vms"
        )

    return ops.run(request, "power", f"/vms/{vm.id}", work)


@router.get("/vms/{key}/decompose")
def decompose_form(request: fastapi.Request, key: str) -> Response:
    """Ask before deleting a VM and its disks."""
    session = current(request)
    svc = services(request)
    vm = _vm(svc, key)
    host = load(svc, str(vm.host_id))
    return render.page(request, session, "vm_decompose.html", vm=vm, host=host)


@router.post("/vms/{key}/decompose")
def decompose(request: fastapi.Request, key: str, _form: Form = ChangeForm) -> Response:
    """Delete the VM from its host with its volumes, then give its resources back."""
    svc = services(request)
    vm = _vm(svc, key)

    def work() -> ops.Done:
        svc.vms.decompose(vm.id)
        return ops.Done(
            message=f"Deleted {vm.name} and its {fmt.plural(len(vm.disks), 'disk')}.",
            redirect=f"/hosts/{vm.host_id}/vms",
        )

    return ops.run(request, "decompose", f"/vms/{vm.id}", work)
