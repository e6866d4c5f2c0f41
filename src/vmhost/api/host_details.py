"""``/api/v1/vm-hosts/{host}/...``: what vmhost shows of one host beyond its vm-host JSON (the
LXD client certificate, projects, NUMA resources, storage pools), and the unauthenticated
certificate URL. Included by ``hosts.router``."""

from __future__ import annotations

import dataclasses
import urllib.parse
from typing import Annotated

import fastapi

from vmhost import schemas
from vmhost.service import views

from . import auth, deps, errors

router = fastapi.APIRouter(route_class=errors.ErrorRoute)
public = fastapi.APIRouter(tags=["vm-hosts"], route_class=errors.ErrorRoute)


def fetch_url(request: fastapi.Request, name: str) -> str:
    """Where the PEM of a host's certificate is served without authentication."""
    base = str(request.base_url).rstrip("/")
    return f"{base}/vmhost-certificate/{urllib.parse.quote(name, safe='')}"


@router.get(
    "/{host}/certificate",
    **auth.reader_route(404),
    summary="The LXD client certificate and the command to trust it",
)
def host_certificate(
    request: fastapi.Request, host: deps.HostKey, svc: deps.Svc
) -> schemas.Certificate:
    """PEM, fingerprint, validity, and the ``lxc config trust add`` command to run on the LXD
    host (fetching the PEM from the unauthenticated URL)."""
    host_id = deps.host_id(svc, host)
    name = svc.hosts.get(host_id).host.name
    info = svc.certificates.certificate(host_id, fetch_url(request, name))
    return schemas.Certificate.model_validate(dataclasses.asdict(info))


@public.get(
    "/vmhost-certificate/{name}",
    response_model=None,
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "The PEM certificate",
        },
        404: {"model": schemas.ErrorResponse, "description": "No such host or no certificate"},
        422: {"model": schemas.ErrorResponse, "description": "Malformed name"},
    },
    summary="The PEM of an LXD host's client certificate (no authentication)",
)
def certificate_pem(
    name: Annotated[str, fastapi.Path(min_length=1, max_length=255)], svc: deps.Svc
) -> fastapi.responses.PlainTextResponse:
    """Exactly the PEM, for ``curl URL | lxc config trust add -`` (as MAAS's
    ``/MAAS/vmhost-certificate/<name>``). A certificate is public; its key never leaves."""
    return fastapi.responses.PlainTextResponse(svc.certificates.certificate_pem(name))


@router.get(
    "/{host}/projects",
    **auth.reader_route(404, 503),
    summary="The host's LXD projects with their use",
)
def host_projects(host: deps.HostKey, svc: deps.Svc) -> list[schemas.Project]:
    """Asks the host (LXD); hosts without projects answer []."""
    return svc.hosts.projects(deps.host_id(svc, host))


@router.get(
    "/{host}/resources",
    **auth.reader_route(404),
    summary="Per NUMA node: cores pinned and free, memory, hugepages, VFs per NIC",
)
def host_resources(host: deps.HostKey, svc: deps.Svc) -> schemas.NumaResources:
    """The NUMA view of the host's accounts."""
    detail = svc.hosts.get(deps.host_id(svc, host))
    return schemas.NumaResources.model_validate(
        views.numa_resources(detail.view), from_attributes=True
    )


@router.get(
    "/{host}/storage-pools",
    **auth.reader_route(404),
    summary="Storage pools with the allocated/other/external/free split",
)
def host_storage_pools(host: deps.HostKey, svc: deps.Svc) -> list[schemas.StoragePoolDetail]:
    """MAAS's pool entries plus vmhost's split (bytes)."""
    detail = svc.hosts.get(deps.host_id(svc, host))
    return [
        schemas.StoragePoolDetail.model_validate(p, from_attributes=True)
        for p in views.storage_pools(detail.view)
    ]
