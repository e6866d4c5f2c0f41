"""``version/`` and ``describe/`` (anonymous), ``users/?op=whoami``, ``boot-resources/``,
``zones/``, ``domains/``, ``spaces/`` and ``subnets/``: what Juju reads before it allocates.

The data comes from ``service.maas_catalog`` (zones that hold a host; spaces with stable ids
and their subnets; series × architectures), the JSON from ``catalog_json``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import fastapi

from vmhost import model
from vmhost.service import Services

from . import auth, catalog_json, describe, forms
from .auth import Token
from .errors import MaasRouter, unknown_op

router = MaasRouter()


def services(request: fastapi.Request) -> Services:
    """The process's services."""
    svc: Services = request.app.state.services
    return svc


def restful(request: fastapi.Request) -> None:
    """Refuse an ``op`` a restful read does not have."""
    op = forms.op_of(request)
    if op:
        raise unknown_op(request, op)


def number(key: str, what: str) -> int:
    """A numeric path key (``-1`` included), or a 404 naming it."""
    try:
        return int(key)
    except ValueError:
        raise model.NotFoundError(what, key) from None


def one(items: list[Any], match: Callable[[Any], bool], what: str, key: str) -> Any:
    """The item ``match`` selects, or NotFoundError naming it."""
    for item in items:
        if match(item):
            return item
    raise model.NotFoundError(what, key)


@router.get("/version/")
def read_version(request: fastapi.Request) -> Any:
    """Anonymous: the capabilities, version and subversion (Juju's ``Ping`` and every
    controller open)."""
    restful(request)
    return catalog_json.version()


@router.get("/describe/")
def read_describe(request: fastapi.Request) -> Any:
    """Anonymous: the handlers, with URIs on the scheme and host the client used."""
    base = describe.base_uri(request.url.scheme, request.headers.get("host"), request.url.netloc)
    return describe.describe(base)


@router.get("/users/")
def read_users(request: fastapi.Request, principal: auth.MaasPrincipal = Token) -> Any:
    """``op=whoami``: the token as a MAAS user; without ``op``, the list of that one user."""
    op = forms.op_of(request)
    me = catalog_json.user(principal.username, principal.is_admin)
    if op == "whoami":
        return me
    if op:
        raise unknown_op(request, op)
    return [me]


@router.get("/boot-resources/", dependencies=[Token])
def list_boot_resources(request: fastapi.Request) -> Any:
    """One per series the hosts have an image for and architecture they run."""
    restful(request)
    found = services(request).maas_catalog.boot_resources()
    return [catalog_json.boot_resource(r) for r in found]


@router.get("/boot-resources/{key}/", dependencies=[Token])
def read_boot_resource(request: fastapi.Request, key: str) -> Any:
    """One boot resource by id."""
    restful(request)
    wanted = number(key, "boot resource")
    found = services(request).maas_catalog.boot_resources()
    return catalog_json.boot_resource(one(found, lambda r: r.id == wanted, "boot resource", key))


@router.get("/zones/", dependencies=[Token])
def list_zones(request: fastapi.Request) -> Any:
    """The zones that hold a VM host (Juju tries each; an empty one would only fail)."""
    restful(request)
    return [catalog_json.zone(z) for z in services(request).maas_catalog.zones()]


@router.get("/zones/{name}/", dependencies=[Token])
def read_zone(request: fastapi.Request, name: str) -> Any:
    """One zone by name (MAAS's key) or id."""
    restful(request)
    zones = services(request).maas_catalog.zones()
    return catalog_json.zone(one(zones, lambda z: name in (z.name, str(z.id)), "zone", name))


@router.get("/domains/", dependencies=[Token])
def list_domains(request: fastapi.Request) -> Any:
    """The one domain of the machines' FQDNs."""
    restful(request)
    return [catalog_json.domain()]


@router.get("/domains/{key}/", dependencies=[Token])
def read_domain(request: fastapi.Request, key: str) -> Any:
    """The domain by id or name."""
    restful(request)
    if key not in (str(catalog_json.DOMAIN_ID), catalog_json.DOMAIN_NAME):
        raise model.NotFoundError("domain", key)
    return catalog_json.domain()


@router.get("/spaces/", dependencies=[Token])
def list_spaces(request: fastapi.Request) -> Any:
    """The spaces with their subnets, and ``undefined`` (id -1) for networks in none."""
    restful(request)
    return [catalog_json.space(s) for s in services(request).maas_catalog.spaces()]


@router.get("/spaces/{key}/", dependencies=[Token])
def read_space(request: fastapi.Request, key: str) -> Any:
    """One space by id (or name)."""
    restful(request)
    return catalog_json.space(services(request).maas_catalog.space(key))


@router.get("/subnets/", dependencies=[Token])
def list_subnets(request: fastapi.Request) -> Any:
    """Every subnet: a host network with an IPv4 CIDR."""
    restful(request)
    return [catalog_json.subnet(s) for s in services(request).maas_catalog.subnets()]


@router.get("/subnets/{key}/", dependencies=[Token])
def read_subnet(request: fastapi.Request, key: str) -> Any:
    """One subnet by id."""
    restful(request)
    return catalog_json.subnet(services(request).maas_catalog.subnet(number(key, "subnet")))
