"""Every error the MAAS API answers, mapped in this one place, as plain text worded as MAAS's.

| raised                                   | status | body                                    |
| ---------------------------------------- | ------ | --------------------------------------- |
| ``MaasError`` (auth, forms, unknown op)  | its    | its text                                |
| ``model.InvalidInputError``              | 400    | the message                             |
| ``model.MachineForbiddenError``          | 403    | the message                             |
| request validation                       | 400    | the field and message                   |
| ``model.NotFoundError``                  | 404    | the message                             |
| ``model.NoCapacityError``                | 409    | "No available machine matches           |
|                                          |        | constraints: " + what was lacking       |
| ``model.ConflictError``                  | 409    | the message                             |
| ``model.HostProblemError``               | 503    | the host's words                        |
| unknown path / method                    | 404/405| "Unknown API endpoint: ..."             |
| anything else                            | 500    | a reference; the traceback is logged    |

Never a ``Retry-After``: gomaasapi retries a 409 that has one, and a no-match 409 must reach Juju
at once (it then tries the next zone).

Routes of the MAAS API are made by :class:`MaasRouter`: each path answers with and without its
trailing slash (MAAS's clients always send it, people with curl often do not), and each route's
exceptions go through :func:`describe`.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Coroutine
from typing import Any

import fastapi
import fastapi.exceptions
import fastapi.routing
from starlette.exceptions import HTTPException as StarletteHTTPException

from vmhost import model

log = logging.getLogger("vmhost.maas")

NO_MATCH = "No available machine matches constraints"
ADMIN_ONLY = "This method is reserved for admin users."


class MaasError(Exception):
    """An error answered as ``status_code`` with ``text`` (plain text)."""

    def __init__(self, status_code: int, text: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(text)
        self.status_code = status_code
        self.text = text
        self.headers = headers or {}


def lacking(exc: model.NoCapacityError) -> str:
    """What was lacking, from the structured reasons (one clause per check)."""
    parts = [
        f"{r.check.value} ({r.host_name or f'{r.hosts} host' + ('s' if r.hosts != 1 else '')}: "
        f"{r.reason})"
        for r in exc.reasons
        if r.failures
    ]
    return "; ".join(parts) if parts else exc.message


def describe(exc: BaseException) -> tuple[int, str, dict[str, str]]:
    """The status, text and headers for any exception (the single mapping)."""
    if isinstance(exc, MaasError):
        return exc.status_code, exc.text, exc.headers
    if isinstance(exc, fastapi.exceptions.RequestValidationError):
        first = next(iter(exc.errors()), {"loc": ("request",), "msg": "invalid"})
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
        return 400, f"{where}: {first.get('msg', 'invalid')}", {}
    if isinstance(exc, model.InvalidInputError):
        return 400, exc.message, {}
    if isinstance(exc, model.MachineForbiddenError):
        return 403, str(exc), {}
    if isinstance(exc, model.NotFoundError):
        return 404, exc.message, {}
    if isinstance(exc, model.NoCapacityError):
        return 409, f"{NO_MATCH}: {lacking(exc)}", {}
    if isinstance(exc, model.ConflictError):
        return 409, exc.message, {}
    if isinstance(exc, model.HostProblemError):
        return 503, exc.message, {}
    if isinstance(exc, StarletteHTTPException):
        text = exc.detail if isinstance(exc.detail, str) else "request refused"
        if exc.status_code in (404, 405):
            text = f"Unknown API endpoint: {text}"
        headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() != "retry-after"}
        return exc.status_code, text, headers
    reference = secrets.token_hex(4)
    log.error("internal error %s", reference, exc_info=exc)
    return 500, f"Internal server error (reference {reference}; see the server log)", {}


def response(exc: BaseException) -> fastapi.responses.PlainTextResponse:
    """The plain-text response for an exception."""
    status, text, headers = describe(exc)
    return fastapi.responses.PlainTextResponse(text, status_code=status, headers=headers or None)


class MaasRoute(fastapi.routing.APIRoute):
    """A route whose every exception becomes MAAS's plain-text error."""

    def get_route_handler(self) -> Callable[[fastapi.Request], Coroutine[Any, Any, Any]]:
        handler = super().get_route_handler()

        async def guarded(request: fastapi.Request) -> Any:
            try:
                return await handler(request)
            except Exception as exc:  # this IS the one place MAAS errors are mapped
                return response(exc)

        return guarded


class MaasRouter(fastapi.APIRouter):
    """An APIRouter of MAAS routes: each path also answers without its trailing slash."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("route_class", MaasRoute)
        kwargs.setdefault("include_in_schema", False)
        super().__init__(**kwargs)

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().add_api_route(path, endpoint, **kwargs)
        if path.endswith("/") and len(path) > 1:
            super().add_api_route(path.rstrip("/"), endpoint, **kwargs)


def unknown_op(request: fastapi.Request, op: str) -> MaasError:
    """MAAS's answer to an ``op`` a handler does not have."""
    return MaasError(400, f"Unrecognised signature: method={request.method} op={op or 'None'}")
