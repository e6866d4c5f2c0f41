"""``machines/``, ``machines/{system_id}/`` and ``pods/{id}/?op=compose`` (``vm-hosts/`` too).

Each route authenticates (``auth``), reads its form (``forms``), parses parameters once
(``machines_params``), calls the service in a worker thread and answers MAAS's machine JSON
(``machine_json``); errors go through ``errors``. Deploy answers at once (``Deploying``) and
realises the VM in the API's operations pool.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
import fastapi
import orjson

from vmhost import model
from vmhost.service import Services

from . import catalog_json, machine_json, machines_params
from .auth import Admin, MaasPrincipal, Token
from .catalog import restful, services
from .errors import MaasError, MaasRouter, unknown_op
from .forms import MaasForm, op_of, query_form, read_form

router = MaasRouter()
T = TypeVar("T")
LIST_FILTERS = frozenset(
    {"id", "agent_name", "hostname", "mac_address", "zone", "pool", "tags", "domain"}
)


def _json(data: Any, status_code: int = 200) -> fastapi.Response:
    return fastapi.Response(orjson.dumps(data), status_code, media_type="application/json")


async def _run(work: Callable[[], T]) -> T:
    return await anyio.to_thread.run_sync(work)


def space_resolver(services: Services) -> Callable[[str], str]:
    """Space ids (Juju sends MAAS's numeric ids) or names to names, by the space catalogue
    (an unknown one is a 400 naming it)."""
    return lambda key: services.maas_catalog.space_name(key)


async def _subnets(services: Services, *machines: model.Machine) -> machine_json.Subnets:
    """The subnets of ``subnets/`` by (host id, network), for the machines' links: those of
    the machines' hosts only (the others' inventories are not read)."""
    host_ids = {m.vm.host_id for m in machines}
    found = await _run(lambda: services.maas_catalog.subnets(host_ids))
    return {(s.host_id, s.network): catalog_json.subnet(s) for s in found}


async def _machine(services: Services, machine: model.Machine) -> fastapi.Response:
    """One machine's JSON, its links with the subnets of ``subnets/``."""
    return _json(machine_json.machine_json(machine, await _subnets(services, machine)))


def machine_filter(form: MaasForm) -> model.MachineFilter:
    """``machines/``'s query as the store's filter (an unknown filter is a 400)."""
    for name in form.names():
        if name not in LIST_FILTERS:
            raise MaasError(400, f"{name}: not a machines filter.")
    ids = form.getlist("id")
    vm_ids = tuple(i for i in (model.vm_id_of(s) for s in ids) if i) if ids else None
    domains = [d for d in form.getlist("domain") if d != machine_json.DOMAIN]
    if domains:
        vm_ids = ()
    return model.MachineFilter(
        vm_ids=vm_ids,
        agent_name=form.get("agent_name"),
        hostnames=tuple(
            h.removesuffix(f".{machine_json.DOMAIN}") for h in form.getlist("hostname")
        ),
        mac_addresses=tuple(form.getlist("mac_address")),
        zones=tuple(form.getlist("zone")),
        pools=tuple(form.getlist("pool")),
        host_tags=tuple(t for v in form.getlist("tags") for t in v.split(",") if t),
    )


@router.get("/machines/", dependencies=[Token])
async def list_machines(request: fastapi.Request) -> fastapi.Response:
    """Machines, filtered."""
    restful(request)
    where = machine_filter(query_form(request))
    svc = services(request)
    machines = await _run(lambda: svc.machines.list(where))
    subnets = await _subnets(svc, *machines) if machines else {}
    return _json([machine_json.machine_json(m, subnets) for m in machines])


@router.post("/machines/")
async def machines_op(
    request: fastapi.Request, principal: MaasPrincipal = Admin
) -> fastapi.Response:
    """``op=allocate`` and ``op=release``."""
    op = op_of(request)
    form = await read_form(request)
    svc = services(request)
    if op == "allocate":
        ask = machines_params.allocate_request(form, space_resolver(svc))
        done = await _run(lambda: svc.machines.allocate(ask, principal.username))
        data = machine_json.machine_json(done.machine, await _subnets(svc, done.machine))
        data["constraints_by_type"] = machine_json.constraints_by_type(
            done.machine, done.storage, done.interfaces
        )
        return _json(data)
    if op == "release":
        ids = [s for v in form.getlist("machines") for s in v.split(",") if s.strip()]
        if not ids:
            raise MaasError(400, "machines: give the system ids of the machines to release.")
        released = await _run(lambda: svc.machine_release.release_many(ids, principal.username))
        return _json(released)
    raise unknown_op(request, op)


@router.get("/machines/{system_id}/", dependencies=[Token])
async def read_machine(request: fastapi.Request, system_id: str) -> fastapi.Response:
    """One machine."""
    restful(request)
    svc = services(request)
    machine = await _run(lambda: svc.machines.get(system_id))
    return await _machine(svc, machine)


@router.post("/machines/{system_id}/")
async def machine_op(
    request: fastapi.Request,
    system_id: str,
    principal: MaasPrincipal = Admin,
) -> fastapi.Response:
    """``op=deploy``, ``op=set_owner_data``, ``op=release``."""
    op = op_of(request)
    form = await read_form(request)
    svc = services(request)
    user = principal.username
    if op == "deploy":
        series = form.get("distro_series") or ""
        user_data = form.get("user_data")
        machine, work = await _run(
            lambda: svc.machine_deploy.start(system_id, user, series, user_data)
        )
        request.app.state.operations.submit("maas-deploy", system_id, work)
        return await _machine(svc, machine)
    if op == "set_owner_data":
        changes = {k: v for k, v in form}
        machine = await _run(lambda: svc.machine_release.set_owner_data(system_id, user, changes))
        return await _machine(svc, machine)
    if op == "release":
        after = await _run(lambda: svc.machine_release.release(system_id, user))
        if after is None:  # a dynamic machine: deleted, as MAAS answers it while it goes
            gone = {"system_id": system_id, "status_name": model.MaasStatus.RELEASING.value}
            return _json(gone | {"resource_uri": machine_json.machine_uri(system_id)})
        return await _machine(svc, after)
    raise unknown_op(request, op)


@router.put("/machines/{system_id}/")
async def update_machine(
    request: fastapi.Request,
    system_id: str,
    principal: MaasPrincipal = Admin,
) -> fastapi.Response:
    """PUT: the hostname (other MAAS fields have no meaning here and are refused)."""
    form = await read_form(request)
    for name in form.names():
        if name not in ("hostname", "description"):
            raise MaasError(400, f"{name}: vmhost cannot change this machine field.")
    hostname = form.get("hostname")
    svc = services(request)
    machine = await _run(
        lambda: svc.machine_release.update(system_id, principal.username, hostname)
    )
    return await _machine(svc, machine)


@router.post("/pods/{pod_id}/", dependencies=[Admin])
@router.post("/vm-hosts/{pod_id}/", dependencies=[Admin])  # MAAS's newer name
async def pod_compose(request: fastapi.Request, pod_id: str) -> fastapi.Response:
    """``op=compose``: a Ready machine on this pod (release keeps it)."""
    op = op_of(request)
    if op != "compose":
        raise unknown_op(request, op)
    form = await read_form(request)
    svc = services(request)
    if not (pod_id.isascii() and pod_id.isdigit()):
        raise MaasError(404, "No Pod matches the given query.")
    compose = machines_params.compose_request_of(form, space_resolver(svc))
    machine = await _run(lambda: svc.machines.compose_ready(int(pod_id), compose))
    return _json(
        {
            "system_id": machine.system_id,
            "resource_uri": machine_json.machine_uri(machine.system_id),
        }
    )
