"""A MAAS 2.0 API for unmodified Juju and python-libmaas, mounted at ``/MAAS/api/2.0``.

It sits outside ``/api/``: the REST API's bearer-token middleware and its JSON-only rule do not
apply (``api/auth.py``, ``api/limits.py``; the 2 MiB body limit does). Each route states its own
authentication (``auth.require_maas_token`` / ``require_maas_admin``: OAuth 1.0 PLAINTEXT),
reads forms with ``forms.read_form`` and answers errors through ``errors`` (plain text, as
MAAS). Routes are made by ``errors.MaasRouter`` (with and without the trailing slash) and
included here; ``unknown`` comes last and answers every other path under the prefix.
"""

from __future__ import annotations

import fastapi

from . import catalog, files, machines, pods
from .errors import MaasError, MaasRouter

PREFIX = "/MAAS/api/2.0"

router = MaasRouter(prefix=PREFIX)
router.include_router(machines.router)
router.include_router(catalog.router)
router.include_router(files.router)
router.include_router(pods.router)

unknown = MaasRouter(prefix=PREFIX)


@unknown.api_route(
    "/{path:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
)
async def unknown_endpoint(request: fastapi.Request, path: str) -> None:
    """Any other path: MAAS's plain-text 404."""
    raise MaasError(404, f"Unknown API endpoint: {request.url.path}")


__all__ = ["PREFIX", "router", "unknown"]
