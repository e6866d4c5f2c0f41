"""Zones, resource pools, network spaces and API tokens."""

from __future__ import annotations

from typing import Literal

import pydantic

from .common import Request, Response

Role = Literal["admin", "readonly"]


class NamedCreate(Request):
    """A new zone or resource pool."""

    name: str
    description: str = pydantic.Field(default="", max_length=1000)


class NamedUpdate(Request):
    """Rename or re-describe a zone or resource pool."""

    name: str | None = None
    description: str | None = pydantic.Field(default=None, max_length=1000)


class Zone(Response):
    """An availability zone."""

    id: int
    name: str
    description: str
    hosts: int = pydantic.Field(description="VM hosts in the zone")
    resource_uri: str


class ResourcePool(Response):
    """A resource pool."""

    id: int
    name: str
    description: str
    hosts: int = pydantic.Field(description="VM hosts in the pool")
    resource_uri: str


class SpaceSet(Request):
    """Map a host network to a space, on every host or on one (id or name)."""

    space: str
    network: str
    host: int | str | None = None


class Space(Response):
    """One network-to-space mapping."""

    id: int
    space: str
    network: str
    host_id: int | None = None
    host: str | None = pydantic.Field(default=None, description="host name; null = all hosts")


class Unset(Response):
    """How many mappings were removed."""

    removed: int


class TokenCreate(Request):
    """A new API token."""

    name: str
    role: Role = "readonly"
    expires_in_days: float | None = pydantic.Field(
        default=None, gt=0, le=36500, allow_inf_nan=False
    )


class Token(Response):
    """A token's record (never the token)."""

    id: int
    name: str
    role: Role
    prefix: str = pydantic.Field(description="first characters, to recognise it")
    created_at: float
    expires_at: float | None = None
    expired: bool = False


class TokenCreated(Token):
    """A new token: ``token`` is shown this once and never again."""

    token: str
