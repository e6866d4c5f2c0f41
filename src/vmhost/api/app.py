"""The FastAPI application factory: routers, token authentication, errors, metrics."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import fastapi
import fastapi_offline

from vmhost import __version__, maas, schemas, web
from vmhost.service import Services

from . import access_log, auth, catalog, errors, hosts, limits, metrics, vms
from .operations import Operations

DESCRIPTION = """\
VM-host manager for LXD and libvirt hosts.

Every endpoint under `/api/` needs `Authorization: Bearer <token>` except health and the
documentation (`/api/openapi.json` and this page, `/api/docs`, served by vmhost itself with no
CDN; `/api/redoc` leads here). A token in the query string is refused. Tokens are admin or
read-only; read-only tokens get 403 on changes. Create the first admin token on the server:
`vmhost-server token create NAME --role admin`.

The vm-host JSON has MAAS's keys and meaning (`total`, `used`, `available`, `storage_pools`
...); vmhost adds its own under new keys (`resources` with the allocated/other/free split and
over-commit, `status`, `vm_count` ...). `type` is MAAS's (`lxd`, `virsh`), `driver` is ours.

Errors are JSON `{"message", "fields", "reasons"}`: 400/422 bad input (nothing changed), 401,
403, 404 (naming the id), 409 conflict or no capacity (with `reasons` per check), 503 host
problem. Long operations take `?async=true` and answer 202 with an operation to follow.

Request bodies are JSON (`Content-Type: application/json`; anything else is a 422 saying so),
at most 2 MiB (413), and lists in them hold at most 1024 items.
"""


def create_app(services: Services, *, operation_workers: int = 8) -> fastapi.FastAPI:
    """The API over ``services``."""
    operations = Operations(workers=operation_workers)

    @contextlib.asynccontextmanager
    async def lifespan(_app: fastapi.FastAPI) -> AsyncIterator[None]:
        yield
        operations.shutdown()

    # Swagger UI with its assets from the fastapi-offline package (it works offline); its URLs
    # are the public ones of auth.PUBLIC_PATHS / PUBLIC_PREFIXES. ReDoc is not served: its page
    # loads a logo from the internet; /api/redoc leads to /api/docs.
    app = fastapi_offline.FastAPIOffline(
        title="vmhost",
        version=__version__,
        description=DESCRIPTION,
        docs_url=auth.DOCS_URL,
        redoc_url=None,
        static_url=auth.DOCS_ASSETS,
        openapi_url=auth.OPENAPI_URL,
        swagger_ui_oauth2_redirect_url=f"{auth.DOCS_URL}/oauth2-redirect",
        swagger_ui_parameters={"validatorUrl": None},
        lifespan=lifespan,
    )
    access_log.install()
    openapi = app.openapi

    def documented() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = limits.document(openapi())
        return app.openapi_schema

    # FastAPI's documented way to post-process its schema is to replace the method
    app.openapi = documented  # type: ignore[method-assign]
    app.state.services = services
    app.state.operations = operations
    app.state.metrics = metrics.Metrics(services)
    errors.install(app)

    health_router = fastapi.APIRouter(route_class=errors.ErrorRoute)

    @health_router.get(f"{schemas.API_PREFIX}/health", tags=["health"])
    def health() -> schemas.Health:
        """Liveness: answers without a token."""
        return schemas.Health(status="ok", version=__version__)

    @health_router.get(auth.REDOC_URL, include_in_schema=False)
    def redoc() -> fastapi.responses.RedirectResponse:
        return fastapi.responses.RedirectResponse(auth.DOCS_URL, status_code=308)

    app.include_router(health_router)
    app.include_router(hosts.router)
    app.include_router(hosts.public)
    app.include_router(vms.router)
    app.include_router(catalog.router)
    app.include_router(metrics.router)
    # the MAAS API (its own OAuth and plain-text errors; outside /api/, so not AuthMiddleware's)
    app.include_router(maas.router)
    app.include_router(maas.unknown)
    web.install(app)
    # Added last = runs first: metrics see every request, auth guards everything under /api/,
    # then bodies are bounded (and JSON under /api/).
    app.add_middleware(limits.BodyLimits)
    app.add_middleware(auth.AuthMiddleware, services=services)
    app.add_middleware(metrics.MetricsMiddleware, metrics=app.state.metrics)
    return app
