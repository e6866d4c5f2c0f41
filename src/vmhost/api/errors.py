"""Every error the API answers, mapped in this one place.

| raised                                  | status | body                                   |
| --------------------------------------- | ------ | -------------------------------------- |
| ``model.InvalidInputError`` (pki too)   | 400    | message + fields                       |
| request validation (pydantic, bad JSON) | 422    | message + fields                       |
| missing / wrong / expired token         | 401    | message                                |
| read-only token on a change             | 403    | message                                |
| ``model.NotFoundError``, unknown route  | 404    | message naming the id                  |
| ``model.ConflictError`` (duplicates...) | 409    | message (+ fields: the duplicate's)    |
| ``model.NoCapacityError``               | 409    | message + structured ``reasons``       |
| ``model.HostProblemError``              | 503    | message (the host's own words)         |
| anything else                           | 500    | generic message with a reference; the  |
|                                         |        | traceback goes to the log only         |

No capacity is a 409, not a 503: nothing is wrong with the server or a host, the request
conflicts with what is free now (as MAAS's "409 CONFLICT: No available machine matches
constraints"); 503 is kept for hosts that refuse or cannot be reached.

Every body has the same shape, ``schemas.ErrorResponse``: ``{"message", "fields", "reasons"}``;
a no-capacity ``reasons`` entry is ``schemas.Reason``: the check, how many hosts, the words, the
host when it is one, and every failure with its subject and figures (``vmhost.schemas.errors``).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import fastapi
import fastapi.exceptions
import fastapi.routing
from starlette.exceptions import HTTPException as StarletteHTTPException

from vmhost import model
from vmhost.schemas import ErrorResponse, Operation, Reason

log = logging.getLogger("vmhost.api")

ADMIN_ONLY = "This method is reserved for admin users."


class ApiError(Exception):
    """An error raised by the API layer itself (auth, routing)."""

    status_code = 500

    def __init__(self, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class UnauthorizedError(ApiError):
    """No token, or one that is unknown, revoked or expired."""

    status_code = 401

    def __init__(self, message: str) -> None:
        super().__init__(message, {"WWW-Authenticate": "Bearer"})


class ForbiddenError(ApiError):
    """A read-only token tried to change something."""

    status_code = 403


def _field_name(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:] or parts
    return ".".join(parts) or "body"


def _pydantic_message(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if error.get("type") == "json_invalid":
        ctx = error.get("ctx") or {}
        return f"the body is not valid JSON: {ctx.get('error', 'malformed')}"
    return message


def validation_fields(errors: Sequence[Any]) -> dict[str, list[str]]:
    """Pydantic/FastAPI errors as ``{field: [messages]}``."""
    fields: dict[str, list[str]] = {}
    # ``?async`` (how a long operation runs) is read by the deps.Run dependency, which FastAPI
    # validates before the route's own parameters: it is named after them, as it is declared
    ordered = sorted(errors, key=lambda error: tuple(error.get("loc", ())) == ("query", "async"))
    for error in ordered:
        name = "body" if error.get("type") == "json_invalid" else _field_name(error["loc"])
        fields.setdefault(name, []).append(_pydantic_message(error))
    return fields


def describe(exc: BaseException) -> tuple[int, ErrorResponse, dict[str, str]]:
    """The status, body and headers for any exception (the single mapping)."""
    if isinstance(exc, ApiError):
        return exc.status_code, ErrorResponse(message=exc.message), exc.headers
    if isinstance(exc, fastapi.exceptions.RequestValidationError):
        fields = validation_fields(exc.errors())
        name, messages = next(iter(fields.items()), ("body", ["invalid request"]))
        return 422, ErrorResponse(message=f"{name}: {messages[0]}", fields=fields), {}
    if isinstance(exc, model.InvalidInputError):
        return 400, ErrorResponse(message=exc.message, fields=exc.fields), {}
    if isinstance(exc, model.NotFoundError):
        return 404, ErrorResponse(message=exc.message), {}
    if isinstance(exc, model.NoCapacityError):
        reasons = [Reason.of(r) for r in exc.reasons]
        return 409, ErrorResponse(message=exc.message, reasons=reasons), {}
    if isinstance(exc, model.ConflictError):
        return 409, ErrorResponse(message=exc.message, fields=exc.fields), {}
    if isinstance(exc, model.HostProblemError):
        return 503, ErrorResponse(message=exc.message), {}
    if isinstance(exc, StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else "request refused"
        if exc.status_code == 404 and message == "Not Found":
            message = "no such API endpoint"
        return exc.status_code, ErrorResponse(message=message), dict(exc.headers or {})
    reference = secrets.token_hex(4)
    log.error("internal error %s", reference, exc_info=exc)
    return (
        500,
        ErrorResponse(
            message=f"internal server error (reference {reference}; details are in the server log)"
        ),
        {},
    )


def response(exc: BaseException) -> fastapi.responses.JSONResponse:
    """The JSON response for an exception."""
    status, body, headers = describe(exc)
    return fastapi.responses.JSONResponse(
        body.model_dump(mode="json"), status_code=status, headers=headers or None
    )


class ErrorRoute(fastapi.routing.APIRoute):
    """A route whose every exception (validation, auth, domain, bug) becomes a JSON error."""

    def get_route_handler(self) -> Callable[[fastapi.Request], Coroutine[Any, Any, Any]]:
        handler = super().get_route_handler()

        async def guarded(request: fastapi.Request) -> Any:
            try:
                return await handler(request)
            except Exception as exc:  # this IS the one place errors are mapped
                return response(exc)

        return guarded


def install(app: fastapi.FastAPI) -> None:
    """Map errors raised outside routes (unknown paths, methods) the same way."""

    async def handle(_request: fastapi.Request, exc: Exception) -> fastapi.responses.Response:
        return response(exc)

    app.add_exception_handler(StarletteHTTPException, handle)
    app.add_exception_handler(fastapi.exceptions.RequestValidationError, handle)
    app.add_exception_handler(model.VmHostError, handle)
    app.add_exception_handler(ApiError, handle)
    app.add_exception_handler(Exception, handle)


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the error codes a route may answer."""
    text = {
        400: "Bad input (message and field errors); nothing was changed",
        401: "Missing, unknown or expired token",
        403: "Read-only token",
        404: "Unknown id or name",
        409: "Conflict (duplicate, busy, or no host can take the request: see reasons)",
        422: "Malformed request (message and field errors); nothing was changed",
        503: "The VM host refused or could not be reached",
    }
    return {c: {"model": ErrorResponse, "description": text[c]} for c in codes}


def async_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses`` of a long operation: its error codes, and 202 with the operation to follow
    when called with ``?async=true``."""
    return {**responses(*codes), 202: {"model": Operation, "description": "Started (?async=true)"}}
