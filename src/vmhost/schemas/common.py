"""Wire models shared by every resource: errors, operations, small answers."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

import pydantic

from .base import Request as Request
from .base import Response as Response
from .errors import ErrorResponse as ErrorResponse

API_PREFIX = "/api/v1"

#: The one bound on lists in request bodies (tags, zones, cores, NICs...): every request
#: model's list field is ``Items[...]`` (or a tighter ``max_length``), so no request can make
#: the server validate, store or echo an unbounded list. The comma-separated string forms of
#: such lists (MAAS's ``tags="a,b"``) are ``ItemsText``.
MAX_ITEMS = 1024
MAX_ITEMS_TEXT = 64 * 1024

_T = TypeVar("_T")
Items = Annotated[list[_T], pydantic.Field(max_length=MAX_ITEMS)]
ItemsText = Annotated[str, pydantic.Field(max_length=MAX_ITEMS_TEXT)]


class Health(Response):
    """Liveness."""

    status: str
    version: str


class WhoAmI(Response):
    """The token's holder."""

    name: str
    role: Literal["admin", "readonly"]
    id: int | None = pydantic.Field(
        default=None, description="the token's id (with the name and the token: a MAAS key)"
    )


class Deleted(Response):
    """What a delete removed, and what went wrong on the way (VMs that could not be
    decomposed are listed; they may be left on the hypervisor)."""

    id: int
    name: str
    errors: list[str] = pydantic.Field(default_factory=list)


OperationStatus = Literal["pending", "running", "succeeded", "failed"]


class Operation(Response):
    """A long operation run in the background (``?async=true``); follow it at
    ``resource_uri``. Operations live in the server's memory: a restart forgets them (the
    service itself recovers half-done composes at start)."""

    id: str
    kind: str = pydantic.Field(description="compose, refresh, delete-host, decompose")
    status: OperationStatus
    target: str = pydantic.Field(description="resource the operation acts on")
    stage: str = ""
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    result: dict[str, Any] | None = None
    error: ErrorResponse | None = None
    status_code: int | None = pydantic.Field(
        default=None, description="the HTTP status the synchronous call would have answered"
    )
    resource_uri: str


class OperationList(Response):
    """Recent operations, newest first."""

    items: list[Operation]


def error_example(message: str, **fields: list[str]) -> dict[str, Any]:
    """An example error body for the OpenAPI document."""
    return {"message": message, "fields": fields, "reasons": []}
