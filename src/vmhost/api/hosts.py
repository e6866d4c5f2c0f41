"""``/api/v1/vm-hosts``: MAAS's vm-host operations, as resources."""

from __future__ import annotations

from typing import Any

import fastapi
import orjson

from vmhost import model, schemas
from vmhost.model import host_options
from vmhost.service import HostDetail, host_json

from . import auth, composing, convert, deps, errors, host_details, host_input

router = fastapi.APIRouter(
    prefix=f"{schemas.API_PREFIX}/vm-hosts", tags=["vm-hosts"], route_class=errors.ErrorRoute
)


MAX_PAGE = 1000  # hosts in one page of the list (?limit=)
MAX_OFFSET = 2**31 - 1  # ?offset= (any larger skips every host anyway)


def _one(detail: HostDetail) -> schemas.VmHost:
    return convert.host(detail)


def _host_json(detail: HostDetail) -> bytes:
    """One vm-host's JSON (``schemas.VmHost``), as the list and read routes send it."""
    return orjson.dumps(host_json.host_data(detail))


def _json_array(items: list[bytes]) -> fastapi.responses.Response:
    body = b"[" + b",".join(items) + b"]"
    return fastapi.responses.Response(body, media_type="application/json")


@router.get(
    "",
    response_model=list[schemas.VmHost],
    **auth.reader_route(422),
    summary="List VM hosts (MAAS: vm-hosts read)",
)
def list_hosts(
    svc: deps.Svc,
    limit: int | None = fastapi.Query(
        None,
        ge=1,
        le=MAX_PAGE,
        description=f"at most this many hosts (1 to {MAX_PAGE}; absent: every host)",
    ),
    offset: int = fastapi.Query(
        0,
        ge=0,
        le=MAX_OFFSET,
        description="skip this many hosts first, in id order (with or without limit)",
    ),
) -> fastapi.responses.Response:
    """Every VM host, by id; or one page of them: ``?limit=100&offset=200`` is the hosts
    201 to 300 in id order, and costs what 100 hosts cost. A page past the end is ``[]``."""
    bodies = svc.host_list.rendered(_host_json, limit=limit, offset=offset)
    return _json_array(bodies)


@router.post(
    "",
    status_code=201,
    response_model=schemas.VmHost,
    **auth.admin_route(400, 409, 422, 503, operation=True),
    summary="Add a VM host (MAAS: vm-hosts create)",
)
def create_host(body: schemas.VmHostCreate, svc: deps.Svc, run: deps.Run) -> Any:
    """Register a host and discover it. A host that cannot be reached (down, wrong address,
    connection refused) is refused with 503 and nothing is kept. An LXD host that answers but
    does not trust vmhost's certificate yet is added with status ``untrusted``: trust the
    certificate (see ``/certificate``), then refresh. An LXD host must answer at its address
    once, to pin its server certificate."""
    settings = host_input.settings(body, svc)
    host_type, name = settings.type, settings.name
    host_options.parse(host_type, body.options or {})  # before an operation is started
    creds = svc.certificates.client_credentials(host_type, body.certificate or "", body.key or "")
    server_pem = host_input.server_certificate(host_type, body.server_certificate)

    def work() -> schemas.VmHost:
        detail = svc.hosts.add(
            settings,
            client_cert_pem=creds.certificate_pem,
            client_key_pem=creds.key_pem,
            password=body.password or body.power_pass or "",
            trust_token=body.trust_token or "",
            server_cert_pem=server_pem,
            options=body.options,
        )
        return _one(detail)

    answer = run("create-host", f"vm-host {name}", work)
    if isinstance(answer, schemas.VmHost):
        return fastapi.responses.JSONResponse(
            answer.model_dump(mode="json", by_alias=True),
            status_code=201,
            headers={"Location": answer.resource_uri},
        )
    return answer


@router.get(
    "/{host}",
    response_model=schemas.VmHost,
    **auth.reader_route(404),
    summary="Read a VM host (MAAS: vm-host read)",
)
async def read_host(host: deps.HostKey, svc: deps.Svc) -> fastapi.responses.Response:
    """One VM host, by id or name."""

    def read() -> bytes:
        host_id = deps.host_id(svc, host)
        body = svc.host_list.rendered(_host_json, host_ids=(host_id,))
        if not body:
            raise model.NotFoundError("VM host", host_id)
        return body[0]

    return fastapi.responses.Response(
        await deps.short_read(svc, read), media_type="application/json"
    )


@router.put(
    "/{host}",
    **auth.admin_route(400, 404, 409, 422),
    summary="Change a VM host (MAAS: vm-host update)",
)
def update_host(body: schemas.VmHostUpdate, host: deps.HostKey, svc: deps.Svc) -> schemas.VmHost:
    """Keys not given keep their values. Bad input changes nothing. A new address, password
    or certificate is tried at once (refresh); the host keeps the change either way."""
    host_id = deps.host_id(svc, host)
    changes = host_input.changes(body, svc.hosts.get(host_id).host, svc)
    detail = svc.hosts.update(host_id, changes)
    return _one(detail)


@router.delete(
    "/{host}",
    response_model=schemas.Deleted,
    **auth.admin_route(400, 404, operation=True),
    summary="Delete a VM host (MAAS: vm-host delete)",
)
def delete_host(
    host: deps.HostKey,
    svc: deps.Svc,
    run: deps.Run,
    decompose: bool | None = fastapi.Query(
        None,
        description="with VMs composed by vmhost: true deletes them from the hypervisor, "
        "false leaves them there; required when there are some",
    ),
) -> Any:
    """Remove a host and vmhost's records of its VMs."""
    host_id = deps.host_id(svc, host)
    name = svc.hosts.get(host_id).host.name

    def work() -> schemas.Deleted:
        problems = svc.hosts.delete(host_id, decompose)
        return schemas.Deleted(id=host_id, name=name, errors=problems)

    return run("delete-host", host_json.host_uri(host_id), work)


@router.post(
    "/{host}/refresh",
    response_model=schemas.VmHost,
    **auth.admin_route(404, 503, operation=True),
    summary="Rediscover a VM host (MAAS: vm-host refresh)",
)
def refresh_host(host: deps.HostKey, svc: deps.Svc, run: deps.Run) -> Any:
    """Discover the host again and bring records and accounts in line with what it has.
    A host that cannot be reached answers 503 (its status says why)."""
    host_id = deps.host_id(svc, host)
    svc.hosts.get(host_id)

    def work() -> schemas.VmHost:
        return _one(svc.hosts.refresh(host_id))

    return run("refresh", host_json.host_uri(host_id), work)


@router.post(
    "/{host}/compose",
    response_model=schemas.ComposeResult,
    **auth.admin_route(400, 404, 409, 422, 503, operation=True),
    summary="Compose a VM on this host (MAAS: vm-host compose)",
)
def compose_on_host(
    body: schemas.ComposeBody, host: deps.HostKey, svc: deps.Svc, run: deps.Run
) -> Any:
    """Compose a VM here. No room answers 409 with the reasons per check."""
    host_id = deps.host_id(svc, host)
    svc.hosts.get(host_id)
    return composing.compose(run, svc, body, host_id)


@router.get(
    "/{host}/parameters",
    **auth.admin_route(404),
    summary="Connection parameters, secrets included (admin; MAAS: vm-host parameters)",
)
def host_parameters(host: deps.HostKey, svc: deps.Svc) -> schemas.Parameters:
    """Every connection parameter of the host, with its secrets (admin tokens only)."""
    params = svc.hosts.parameters(deps.host_id(svc, host))
    return schemas.Parameters.model_validate({**params, "type": schemas.MAAS_TYPE[params["type"]]})


def _tag_route(add: bool) -> None:
    """``POST /{host}/add-tag`` or ``/{host}/remove-tag``."""
    verb = "add" if add else "remove"

    def change_tag(body: schemas.TagRequest, host: deps.HostKey, svc: deps.Svc) -> schemas.VmHost:
        host_id = deps.host_id(svc, host)
        if add:
            detail = svc.hosts.add_tag(host_id, body.tag)
        else:
            detail = svc.hosts.remove_tag(host_id, body.tag)
        return _one(detail)

    change_tag.__doc__ = (
        'Add a tag (no-op when present): letters, digits, "-" and "_", at most 64.'
        if add
        else "Remove a tag (no-op when absent)."
    )
    router.add_api_route(
        f"/{{host}}/{verb}-tag",
        change_tag,
        methods=["POST"],
        **auth.admin_route(400, 404, 422),
        summary=f"{verb.capitalize()} a tag (MAAS: vm-host {verb}-tag)",
        name=f"{verb}_tag",
    )


_tag_route(add=True)
_tag_route(add=False)


# the per-host details (certificate, projects, resources) live in host_details.py
router.include_router(host_details.router)
public = host_details.public
