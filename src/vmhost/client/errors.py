"""The client's errors: one class per kind of failure, each with the server's message."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import pydantic

from vmhost import schemas

T = TypeVar("T", bound=pydantic.BaseModel)


class ClientError(Exception):
    """Anything that went wrong talking to vmhost; ``str()`` is one readable line."""

    status: int | None = None

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        fields: Mapping[str, list[str]] | None = None,
        reasons: list[schemas.Reason] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.fields = dict(fields or {})
        self.reasons = list(reasons or [])

    def __str__(self) -> str:
        return self.message


class ConnectionFailedError(ClientError):
    """The server could not be reached (or TLS failed)."""


class ApiError(ClientError):
    """The server answered with an error."""


class InvalidInputError(ApiError):
    """400 or 422 (or a body this client refused before sending it): ``fields`` says which."""


class UnauthorizedError(ApiError):
    """401: no token, or a wrong, revoked or expired one."""


class ForbiddenError(ApiError):
    """403: a read-only token tried to change something."""


class NotFoundError(ApiError):
    """404."""


class ConflictError(ApiError):
    """409: a duplicate or a state conflict."""


class NoCapacityError(ConflictError):
    """409 with ``reasons``: no host can take the request."""


class HostProblemError(ApiError):
    """503: the VM host refused or could not be reached."""


class ServerError(ApiError):
    """Another 5xx."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: InvalidInputError,
    422: InvalidInputError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    503: HostProblemError,
}


def _error_class(status: int, reasons: list[Any]) -> type[ApiError]:
    if status == 409:
        return NoCapacityError if reasons else ConflictError
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return ServerError if status >= 500 else ApiError


def error_from(status: int, body: Any) -> ApiError:
    """The exception for an error status and its JSON body."""
    try:
        err = schemas.ErrorResponse.model_validate(body)
    except pydantic.ValidationError:
        err = schemas.ErrorResponse(message=f"HTTP {status}")
    return _error_class(status, err.reasons)(
        err.message, status=status, fields=err.fields, reasons=err.reasons
    )


def build(model: type[T], /, **fields: Any) -> T:
    """A request body from keyword values (None = not given), checked by the server's rules
    before anything is sent; :class:`InvalidInputError` names the field, as the server would.
    """
    try:
        return model.model_validate(
            {k: v for k, v in fields.items() if v is not None}, strict=False
        )
    except pydantic.ValidationError as exc:
        found: dict[str, list[str]] = {}
        for error in exc.errors():
            name = ".".join(str(p) for p in error["loc"]) or "body"
            found.setdefault(name, []).append(str(error["msg"]).removeprefix("Value error, "))
        name, messages = next(iter(found.items()))
        raise InvalidInputError(f"{name}: {messages[0]}", fields=found) from None
