"""Wire models shared by every resource: errors, operations, small answers."""

from __future__ import annotations

from typing import Any, Literal

import pydantic

API_PREFIX = "/api/v1"


class Request(pydantic.BaseModel):
    """Base of request bodies: strict types (no "2" for 2), unknown keys refused."""

    model_config = pydantic.ConfigDict(extra="forbid", strict=True)


class Response(pydantic.BaseModel):
    """Base of response bodies: tolerant of keys added by newer servers (client side)."""

    model_config = pydantic.ConfigDict(extra="ignore", populate_by_name=True)


class Reason(Response):
    """Why hosts were removed from the candidates by one check."""

    check: str = pydantic.Field(description="the filter or fit check (zone, memory, ...)")
    hosts: int = pydantic.Field(description="how many hosts it removed")
    reason: str = pydantic.Field(description="why, e.g. 'lack 16384 MiB of memory'")


class ErrorResponse(Response):
    """Every error: one message, plus per-field messages for bad input, plus per-check reasons
    when no host can take a compose request."""

    message: str
    fields: dict[str, list[str]] = pydantic.Field(default_factory=dict)
    reasons: list[Reason] = pydantic.Field(default_factory=list)


class Health(Response):
    """Liveness."""

    status: str
    version: str


class WhoAmI(Response):
    """The token's holder."""

    name: str
    role: Literal["admin", "readonly"]


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
