"""Token authentication: default deny for everything under ``/api/``.

A pure ASGI middleware authenticates every ``/api/`` request except the public ones (health,
and the OpenAPI document and its viewer) before anything else runs, so that even a malformed
request without a valid token gets 401, never a hint about the endpoint. Routes then state
the role they need (``Depends(reader)`` / ``Depends(admin)``), which also puts the bearer
scheme in the OpenAPI document. Tokens never reach a log.

A token this process verified since the last revocation (``TokensService.cached``) is accepted
in the event loop, without a database read or a hop to a worker thread; any other goes to the
database in a worker thread. ``reader``/``admin`` are coroutines, so FastAPI does not run them
in a thread either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

import anyio.to_thread
import fastapi
import fastapi.security
from starlette.types import ASGIApp, Receive, Scope, Send

from vmhost.service import AuthenticationError, Identity, Services

from . import errors

DOCS_URL = "/api/docs"
DOCS_ASSETS = "/api/docs/assets"
REDOC_URL = "/api/redoc"
OPENAPI_URL = "/api/openapi.json"
# One rule: health and the documentation (the OpenAPI document and both of its viewers, with
# their assets) are public; everything else under /api/ needs a token.
PUBLIC_PATHS = frozenset(
    {"/api/v1/health", OPENAPI_URL, DOCS_URL, f"{DOCS_URL}/oauth2-redirect", REDOC_URL}
)
PUBLIC_PREFIXES = (f"{DOCS_ASSETS}/",)

bearer = fastapi.security.HTTPBearer(
    auto_error=False,
    description="An API token: `vmhost-server token create NAME --role admin|readonly`.",
)


def _token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            text: str = bytes(value).decode("latin-1")
            scheme, _, credentials = text.partition(" ")
            if scheme.lower() == "bearer" and credentials.strip():
                return credentials.strip()
            return None
    return None


class AuthMiddleware:
    """Authenticate ``/api/`` requests; put the Identity in ``request.state.identity``."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or not path.startswith("/api/")
            or path in PUBLIC_PATHS
            or path.startswith(PUBLIC_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        token = _token(scope)
        try:
            identity = self.services.tokens.cached(token) or await anyio.to_thread.run_sync(
                self.services.tokens.authenticate, token
            )
        except AuthenticationError as exc:
            await errors.response(errors.UnauthorizedError(str(exc)))(scope, receive, send)
            return
        except Exception as exc:  # the database is down: answer, do not crash
            await errors.response(exc)(scope, receive, send)
            return
        scope.setdefault("state", {})["identity"] = identity
        await self.app(scope, receive, send)


def _identity(request: fastapi.Request) -> Identity:
    identity: Identity | None = getattr(request.state, "identity", None)
    if identity is None:
        raise errors.UnauthorizedError("authentication required")
    return identity


async def reader(
    request: fastapi.Request, _credentials: Any = fastapi.Security(bearer)
) -> Identity:
    """Any valid token."""
    return _identity(request)


async def admin(
    request: fastapi.Request, _credentials: Any = fastapi.Security(bearer)
) -> Identity:
    """An admin token (read-only tokens get 403)."""
    identity = _identity(request)
    if not identity.is_admin:
        raise errors.ForbiddenError(errors.ADMIN_ONLY)
    return identity


class RouteAccess(TypedDict):
    """A route's ``dependencies`` and ``responses`` (``@router.get(path, **access)``): the
    role it needs, and the error answers it documents, those of the role's check included."""

    dependencies: list[Any]
    responses: dict[int | str, dict[str, Any]]


def reader_route(*codes: int) -> RouteAccess:
    """A route any valid token may call: it documents 401 and ``codes``."""
    return _access(reader, (401, *codes), operation=False)


def admin_route(*codes: int, operation: bool = False) -> RouteAccess:
    """A route only an admin token may call: it documents 401, 403 and ``codes``; an
    ``operation`` (``?async=true`` answers 202 with it, ``deps.Run``) documents its 202."""
    return _access(admin, (401, 403, *codes), operation=operation)


def _access(role: Callable[..., Any], codes: tuple[int, ...], *, operation: bool) -> RouteAccess:
    answers = errors.async_responses if operation else errors.responses
    return {"dependencies": [fastapi.Depends(role)], "responses": answers(*sorted(set(codes)))}
