"""``/api/v1/vm-hosts``: MAAS's vm-host operations, as resources."""

from __future__ import annotations

import re
import secrets
import urllib.parse
from typing import Any, TypeVar

import fastapi
import orjson

from vmhost import model, pki, schemas
from vmhost.model import host_options
from vmhost.service import HostDetail, Services, host_json

from . import auth, convert, deps, errors, host_details

router = fastapi.APIRouter(
    prefix=f"{schemas.API_PREFIX}/vm-hosts", tags=["vm-hosts"], route_class=errors.ErrorRoute
)

Reader = fastapi.Depends(auth.reader)
Admin = fastapi.Depends(auth.admin)
HostKey = fastapi.Path(description="VM host id or name", min_length=1, max_length=255)

T = TypeVar("T")
_NOT_NAME = re.compile(r"[^a-zA-Z0-9._-]+")
MAX_PAGE = 1000  # hosts in one page of the list (?limit=)
MAX_OFFSET = 2**31 - 1  # ?offset= (any larger skips every host anyway)


def _one(detail: HostDetail) -> schemas.VmHost:
    return convert.host(detail)


def _default_name(address: str) -> str:
    try:
        parsed = urllib.parse.urlsplit(address if "://" in address else f"//{address}")
    except ValueError:  # not a URL: the service refuses the address, naming the field
        return f"vmhost-{secrets.token_hex(3)}"
    base = _NOT_NAME.sub("-", parsed.hostname or parsed.path or "").strip("-._")[:50]
    return base or f"vmhost-{secrets.token_hex(3)}"


def _server_certificate(host_type: model.HostType, pem: str | None) -> str:
    """An LXD server certificate given to pin: checked to be one PEM certificate."""
    if not pem:
        return ""
    if host_type is not model.HostType.LXD:
        raise model.InvalidInputError.for_field(
            "server_certificate", "only LXD hosts have a server certificate to pin"
        )
    try:
        pki.fingerprint(pem)
    except (pki.PkiError, ValueError):
        raise model.InvalidInputError.for_field(
            "server_certificate", "not a PEM certificate (-----BEGIN CERTIFICATE-----)"
        ) from None
    return pem


def _or_default(ratio: float | None, default: float) -> float:
    """A new host's over-commit ratio: the one given, else the server's default (settings)."""
    return default if ratio is None else ratio


def _host_json(detail: HostDetail) -> bytes:
    """One vm-host's JSON (``schemas.VmHost``), as the list and read routes send it."""
    return orjson.dumps(host_json.host_data(detail))


def _json_array(items: list[bytes]) -> fastapi.responses.Response:
    body = b"[" + b",".join(items) + b"]"
    return fastapi.responses.Response(body, media_type="application/json")


@router.get(
    "",
    response_model=list[schemas.VmHost],
    dependencies=[Reader],
    responses=errors.responses(401, 422),
    summary="List VM hosts (MAAS: vm-hosts read)",
)
def list_hosts(
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
    svc: Services = fastapi.Depends(deps.services),
) -> fastapi.responses.Response:
    """Every VM host, by id; or one page of them: ``?limit=100&offset=200`` is the hosts
    201 to 300 in id order, and costs what 100 hosts cost. A page past the end is ``[]``."""
    bodies = svc.host_list.rendered(_host_json, limit=limit, offset=offset)
    return _json_array(bodies)


@router.post(
    "",
    status_code=201,
    response_model=schemas.VmHost,
    dependencies=[Admin],
    responses=errors.async_responses(400, 401, 403, 409, 422, 503),
    summary="Add a VM host (MAAS: vm-hosts create)",
)
def create_host(
    body: schemas.VmHostCreate,
    request: fastapi.Request,
    run_async: bool = deps.AsyncQuery,
    svc: Services = fastapi.Depends(deps.services),
) -> Any:
    """Register a host and discover it. A host that cannot be reached (down, wrong address,
    connection refused) is refused with 503 and nothing is kept. An LXD host that answers but
    does not trust vmhost's certificate yet is added with status ``untrusted``: trust the
    certificate (see ``/certificate``), then refresh. An LXD host must answer at its address
    once, to pin its server certificate."""
    host_type = model.HostType(schemas.DRIVER_FOR_TYPE[body.type])
    address = body.the_address
    name = body.name if body.name is not None else _default_name(address)
    tags = convert.tags(body.tags) or ()
    settings = model.HostSettings(
        name=name,
        type=host_type,
        address=address,
        zone=body.zone or model.DEFAULT_ZONE,
        pool=body.pool or model.DEFAULT_POOL,
        tags=tags,
        cpu_over_commit_ratio=_or_default(
            body.cpu_over_commit_ratio, svc.ctx.settings.default_cpu_over_commit_ratio
        ),
        memory_over_commit_ratio=_or_default(
            body.memory_over_commit_ratio, svc.ctx.settings.default_memory_over_commit_ratio
        ),
        reserved_cores=body.reserved_cores,
        reserved_memory_mib=body.reserved_memory_mib,
        default_storage_pool=body.default_storage_pool,
        default_macvlan_mode=body.default_macvlan_mode,
        project=body.project
        if body.project is not None
        else ("default" if host_type is model.HostType.LXD else ""),
    )
    if body.password and body.power_pass and body.password != body.power_pass:
        raise model.InvalidInputError.for_field(
            "power_pass", "give the password once, as password (LXD) or power_pass (virsh)"
        )

    host_options.parse(host_type, body.options or {})  # before an operation is started
    creds = svc.certificates.client_credentials(host_type, body.certificate or "", body.key or "")
    server_pem = _server_certificate(host_type, body.server_certificate)

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

    answer = deps.maybe_async(request, run_async, "create-host", f"vm-host {name}", work)
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
    dependencies=[Reader],
    responses=errors.responses(401, 404),
    summary="Read a VM host (MAAS: vm-host read)",
)
def read_host(
    host: str = HostKey, svc: Services = fastapi.Depends(deps.services)
) -> fastapi.responses.Response:
    """One VM host, by id or name."""
    host_id = deps.host_id(svc, host)
    body = svc.host_list.rendered(_host_json, host_ids=(host_id,))
    if not body:
        raise model.NotFoundError("VM host", host_id)
    return fastapi.responses.Response(body[0], media_type="application/json")


def _given(value: T | None) -> T | model.Unset:
    """A key of the body: None (not given) keeps the host's value."""
    return model.UNSET if value is None else value


@router.put(
    "/{host}",
    dependencies=[Admin],
    responses=errors.responses(400, 401, 403, 404, 409, 422),
    summary="Change a VM host (MAAS: vm-host update)",
)
def update_host(
    body: schemas.VmHostUpdate,
    host: str = HostKey,
    svc: Services = fastapi.Depends(deps.services),
) -> schemas.VmHost:
    """Keys not given keep their values. Bad input changes nothing. A new address, password
    or certificate is tried at once (refresh); the host keeps the change either way."""
    host_id = deps.host_id(svc, host)
    current = svc.hosts.get(host_id)
    password = body.password if body.password is not None else body.power_pass
    creds = None
    if body.certificate is not None or body.key is not None:
        creds = svc.certificates.client_credentials(
            current.host.type, body.certificate or "", body.key or ""
        )
    changes = model.HostChanges(
        type=_given(model.HostType(schemas.DRIVER_FOR_TYPE[body.type]) if body.type else None),
        name=_given(body.name),
        address=_given(body.power_address or body.address),
        zone=_given(body.zone),
        pool=_given(body.pool),
        tags=_given(convert.tags(body.tags)),
        cpu_over_commit_ratio=_given(body.cpu_over_commit_ratio),
        memory_over_commit_ratio=_given(body.memory_over_commit_ratio),
        reserved_cores=_given(body.reserved_cores),
        reserved_memory_mib=_given(body.reserved_memory_mib),
        default_storage_pool=_given(body.default_storage_pool),
        default_macvlan_mode=body.default_macvlan_mode
        if "default_macvlan_mode" in body.model_fields_set
        else model.UNSET,
        project=_given(body.project),
        password=_given(password),
        client_cert_pem=creds.certificate_pem if creds else model.UNSET,
        client_key_pem=creds.key_pem if creds else model.UNSET,
        options=model.UNSET if body.options is None else dict(body.options),
    )
    detail = svc.hosts.update(host_id, changes)
    return _one(detail)


@router.delete(
    "/{host}",
    response_model=schemas.Deleted,
    dependencies=[Admin],
    responses=errors.async_responses(400, 401, 403, 404),
    summary="Delete a VM host (MAAS: vm-host delete)",
)
def delete_host(
    request: fastapi.Request,
    host: str = HostKey,
    decompose: bool | None = fastapi.Query(
        None,
        description="with VMs composed by vmhost: true deletes them from the hypervisor, "
        "false leaves them there; required when there are some",
    ),
    run_async: bool = deps.AsyncQuery,
    svc: Services = fastapi.Depends(deps.services),
) -> Any:
    """Remove a host and vmhost's records of its VMs."""
    host_id = deps.host_id(svc, host)
    name = svc.hosts.get(host_id).host.name

    def work() -> schemas.Deleted:
        problems = svc.hosts.delete(host_id, decompose)
        return schemas.Deleted(id=host_id, name=name, errors=problems)

    return deps.maybe_async(request, run_async, "delete-host", host_json.host_uri(host_id), work)


@router.post(
    "/{host}/refresh",
    response_model=schemas.VmHost,
    dependencies=[Admin],
    responses=errors.async_responses(401, 403, 404, 503),
    summary="Rediscover a VM host (MAAS: vm-host refresh)",
)
def refresh_host(
    request: fastapi.Request,
    host: str = HostKey,
    run_async: bool = deps.AsyncQuery,
    svc: Services = fastapi.Depends(deps.services),
) -> Any:
    """Discover the host again and bring records and accounts in line with what it has.
    A host that cannot be reached answers 503 (its status says why)."""
    host_id = deps.host_id(svc, host)
    svc.hosts.get(host_id)

    def work() -> schemas.VmHost:
        return _one(svc.hosts.refresh(host_id))

    return deps.maybe_async(request, run_async, "refresh", host_json.host_uri(host_id), work)


@router.post(
    "/{host}/compose",
    response_model=schemas.ComposeResult,
    dependencies=[Admin],
    responses=errors.async_responses(400, 401, 403, 404, 409, 422, 503),
    summary="Compose a VM on this host (MAAS: vm-host compose)",
)
def compose_on_host(
    body: schemas.ComposeBody,
    request: fastapi.Request,
    host: str = HostKey,
    run_async: bool = deps.AsyncQuery,
    svc: Services = fastapi.Depends(deps.services),
) -> Any:
    """Compose a VM here. No room answers 409 with the reasons per check."""
    host_id = deps.host_id(svc, host)
    svc.hosts.get(host_id)
    return compose(request, svc, body, host_id, run_async)


def compose(
    request: fastapi.Request,
    svc: Services,
    body: schemas.ComposeBody,
    host_id: int | None,
    run_async: bool,
) -> Any:
    """Compose (on one host or the best one), now or in the background."""
    compose_request = convert.compose_request(body, host_id)

    def work() -> schemas.ComposeResult:
        result = svc.vms.compose(compose_request)
        return schemas.ComposeResult.model_validate(
            {
                "system_id": str(result.vm.id),
                "resource_uri": convert.vm_uri(result.vm.id),
                "host": convert.host_ref(result.host_id, result.host_name),
                "vm": convert.vm(result.vm, result.host_name),
                "attempts": result.attempts,
            }
        )

    target = host_json.host_uri(host_id) if host_id is not None else f"{schemas.API_PREFIX}/vms"
    return deps.maybe_async(request, run_async, "compose", target, work)


@router.get(
    "/{host}/parameters",
    dependencies=[Admin],
    responses=errors.responses(401, 403, 404),
    summary="Connection parameters, secrets included (admin; MAAS: vm-host parameters)",
)
def host_parameters(
    host: str = HostKey, svc: Services = fastapi.Depends(deps.services)
) -> schemas.Parameters:
    """Every connection parameter of the host, with its secrets (admin tokens only)."""
    params = svc.hosts.parameters(deps.host_id(svc, host))
    return schemas.Parameters.model_validate({**params, "type": schemas.MAAS_TYPE[params["type"]]})


def _tag_route(add: bool) -> Any:
    def change_tag(
        body: schemas.TagRequest,
        host: str = HostKey,
        svc: Services = fastapi.Depends(deps.services),
    ) -> schemas.VmHost:
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
    return change_tag


router.add_api_route(
    "/{host}/add-tag",
    _tag_route(add=True),
    methods=["POST"],
    dependencies=[Admin],
    responses=errors.responses(400, 401, 403, 404, 422),
    summary="Add a tag (MAAS: vm-host add-tag)",
    name="add_tag",
)
router.add_api_route(
    "/{host}/remove-tag",
    _tag_route(add=False),
    methods=["POST"],
    dependencies=[Admin],
    responses=errors.responses(400, 401, 403, 404, 422),
    summary="Remove a tag (MAAS: vm-host remove-tag)",
    name="remove_tag",
)


# the per-host details (certificate, projects, resources) live in host_details.py
router.include_router(host_details.router)
public = host_details.public
