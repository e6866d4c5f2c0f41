"""The FastAPI application factory: routers, token authentication, errors, metrics."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import fastapi

from vmhost import __version__, schemas, web
from vmhost.service import Services

from . import auth, catalog, errors, hosts, metrics, vms
from .operations import Operations

DESCRIPTION = """\
VM-host manager for LXD and libvirt hosts.

Every endpoint under `/api/` needs `Authorization: Bearer <token>` except health (and this
document). Tokens are admin or read-only; read-only tokens get 403 on changes. Create the first
admin token on the server: `vmhost-server token create NAME --role admin`.

The vm-host JSON has MAAS's keys and meaning (`total`, `used`, `available`, `storage_pools`
...); vmhost adds its own under new keys (`resources` with the allocated/other/free split and
over-commit, `status`, `vm_count` ...). `type` is MAAS's (`lxd`, `virsh`), `driver` is ours.

Errors are JSON `{"message", "fields", "reasons"}`: 400/422 bad input (nothing changed), 401,
403, 404 (naming the id), 409 conflict or no capacity (with `reasons` per check), 503 host
problem. Long operations take `?async=true` and answer 202 with an operation to follow.
"""


def create_app(services: Services, *, operation_workers: int = 8) -> fastapi.FastAPI:
    """The API over ``services``."""
    operations = Operations(workers=operation_workers)

    @contextlib.asynccontextmanager
    async def lifespan(_app: fastapi.FastAPI) -> AsyncIterator[None]:
        yield
        operations.shutdown()

    app = fastapi.FastAPI(
        title="vmhost",
        version=__version__,
        description=DESCRIPTION,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.operations = operations
    app.state.metrics = metrics.Metrics(services)
    errors.install(app)

    health_router = fastapi.APIRouter(route_class=errors.ErrorRoute)

    @health_router.get(f"{schemas.API_PREFIX}/health", tags=["health"])
    def health() -> schemas.Health:
        """Liveness: answers without a token."""
        return schemas.Health(status="ok", version=__version__)

    app.include_router(health_router)
    app.include_router(hosts.router)
    app.include_router(hosts.public)
    app.include_router(vms.router)
    app.include_router(catalog.router)
    app.include_router(metrics.router)
    web.install(app)
    # Added last = runs first: metrics see every request, auth guards everything under /api/.
    app.add_middleware(auth.AuthMiddleware, services=services)
    app.add_middleware(metrics.MetricsMiddleware, metrics=app.state.metrics)
    return app
