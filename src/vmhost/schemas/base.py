"""The two bases of every wire model."""

from __future__ import annotations

import pydantic


class Request(pydantic.BaseModel):
    """Base of request bodies: strict types (no "2" for 2), unknown keys refused."""

    model_config = pydantic.ConfigDict(extra="forbid", strict=True)


class Response(pydantic.BaseModel):
    """Base of response bodies: tolerant of keys added by newer servers (client side)."""

    model_config = pydantic.ConfigDict(extra="ignore", populate_by_name=True)
