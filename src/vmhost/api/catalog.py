"""Zones, resource pools, network spaces, tokens, operations and who-am-I."""

from __future__ import annotations

import dataclasses
import types
from typing import Annotated, Any

import fastapi

from vmhost import model, schemas
from vmhost.service import Identity, NamedService

from . import auth, convert, deps, errors

router = fastapi.APIRouter(prefix=schemas.API_PREFIX, route_class=errors.ErrorRoute)
Key = Annotated[str, fastapi.Path(min_length=1, max_length=255, description="id or name")]


def _named_routes(collection: str, kind: str, wire: type[Any], what: str) -> None:
    def service(request: fastapi.Request) -> NamedService:
        svc = deps.services_of(request)
        return svc.zones if kind == "zone" else svc.pools

    def out(item: dict[str, Any]) -> Any:
        return wire.model_validate(convert.named(item, collection))

    def list_items(named: NamedService = fastapi.Depends(service)) -> list[Any]:
        return [out(i) for i in named.list()]

    def create_item(
        body: schemas.NamedCreate, named: NamedService = fastapi.Depends(service)
    ) -> Any:
        return out(named.create(body.name, body.description))

    def read_item(key: Key, named: NamedService = fastapi.Depends(service)) -> Any:
        return out(named.get(deps.named_key(key, what)))

    def update_item(
        body: schemas.NamedUpdate, key: Key, named: NamedService = fastapi.Depends(service)
    ) -> Any:
        return out(named.update(deps.named_key(key, what), body.model_dump(exclude_none=True)))

    def delete_item(key: Key, named: NamedService = fastapi.Depends(service)) -> Any:
        item = named.delete(deps.named_key(key, what))
        return schemas.Deleted(id=item["id"], name=item["name"])

    tags: list[str | Any] = [collection]
    one = f"/{collection}/{{key}}"
    # path, endpoint, method, answer, access, name, summary
    routes: list[tuple[str, Any, str, Any, auth.RouteAccess, str, str]] = [
        (f"/{collection}", list_items, "GET", types.GenericAlias(list, (wire,)),
         auth.reader_route(), f"list_{collection}", f"List {what}s"),
        (f"/{collection}", create_item, "POST", wire, auth.admin_route(400, 409, 422),
         f"create_{kind}", f"Create a {what}"),
        (one, read_item, "GET", wire, auth.reader_route(404), f"read_{kind}", f"Read a {what}"),
        (one, update_item, "PUT", wire, auth.admin_route(400, 404, 409, 422),
         f"update_{kind}", f"Rename or re-describe a {what}"),
        (one, delete_item, "DELETE", schemas.Deleted, auth.admin_route(404, 409),
         f"delete_{kind}", f"Delete an empty {what} (not the default)"),
    ]  # fmt: skip
    for path, endpoint, method, answer, access, name, summary in routes:
        router.add_api_route(
            path,
            endpoint,
            methods=[method],
            status_code=201 if method == "POST" else None,
            response_model=answer,  # list[wire] for the list: wire is a value
            **access,
            tags=tags,
            name=name,
            summary=summary,
        )


_named_routes("zones", "zone", schemas.Zone, "zone")
_named_routes("pools", "pool", schemas.ResourcePool, "resource pool")


# --- spaces ---------------------------------------------------------------------------------


@router.get("/spaces", **auth.reader_route(), tags=["spaces"])
def list_spaces(svc: deps.Svc) -> list[schemas.Space]:
    """Every network-to-space mapping."""
    return [schemas.Space.model_validate(m) for m in svc.spaces.list()]


@router.post("/spaces", status_code=201, **auth.admin_route(400, 404, 422), tags=["spaces"])
def set_space(body: schemas.SpaceSet, svc: deps.Svc) -> schemas.Space:
    """Map a host network to a space, on every host (no ``host``) or on one host. A compose
    asking for a NIC in the space lands on that network."""
    host_id = deps.optional_host_id(svc, body.host)
    if host_id is not None:
        svc.hosts.get(host_id)
    return schemas.Space.model_validate(svc.spaces.set(body.space, body.network, host_id))


@router.delete("/spaces/{space}", **auth.admin_route(404), tags=["spaces"])
def unset_space(
    space: Annotated[str, fastapi.Path(min_length=1, max_length=255)],
    svc: deps.Svc,
    network: str | None = fastapi.Query(None, description="only this network's mapping"),
) -> schemas.Unset:
    """Remove a space's mappings (all, or one network's)."""
    return schemas.Unset(removed=svc.spaces.unset(space, network))


# --- tokens ---------------------------------------------------------------------------------


@router.get("/tokens", **auth.admin_route(), tags=["tokens"])
def list_tokens(svc: deps.Svc) -> list[schemas.Token]:
    """Every token's record (never a token)."""
    return [schemas.Token.model_validate(dataclasses.asdict(t)) for t in svc.tokens.list()]


@router.post("/tokens", status_code=201, **auth.admin_route(400, 409, 422), tags=["tokens"])
def create_token(body: schemas.TokenCreate, svc: deps.Svc) -> schemas.TokenCreated:
    """A new token. The answer holds the token: it is shown this once, only its hash is
    kept."""
    expires = body.expires_in_days * 86400 if body.expires_in_days is not None else None
    record, token = svc.tokens.create(body.name, body.role, expires)
    return schemas.TokenCreated.model_validate({**dataclasses.asdict(record), "token": token})


@router.delete("/tokens/{key}", **auth.admin_route(404), tags=["tokens"])
def revoke_token(key: Key, svc: deps.Svc) -> schemas.Deleted:
    """Revoke a token by id or name; it stops working at once."""
    target = deps.named_key(key, "token")
    record = next((t for t in svc.tokens.list() if target in (t.id, t.name)), None)
    if record is None:
        raise model.NotFoundError("token", key)
    svc.tokens.revoke(record.id)
    return schemas.Deleted(id=record.id, name=record.name)


@router.get("/whoami", tags=["tokens"], responses=errors.responses(401))
def whoami(identity: Identity = fastapi.Depends(auth.reader)) -> schemas.WhoAmI:
    """The name and role of the token used."""
    return schemas.WhoAmI(name=identity.name, role=identity.role.value, id=identity.token_id)


# --- operations -----------------------------------------------------------------------------


@router.get("/operations", **auth.reader_route(), tags=["operations"])
def list_operations(request: fastapi.Request) -> schemas.OperationList:
    """Recent background operations, newest first."""
    return schemas.OperationList(items=deps.operations(request).list())


@router.get("/operations/{op_id}", **auth.reader_route(404), tags=["operations"])
def read_operation(
    request: fastapi.Request, op_id: str = fastapi.Path(min_length=1, max_length=64)
) -> schemas.Operation:
    """One background operation: status, stage, and its result or error when done."""
    op = deps.operations(request).get(op_id)
    if op is None:
        raise model.NotFoundError("operation", op_id)
    return op
