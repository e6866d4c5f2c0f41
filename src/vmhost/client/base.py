"""What every manager shares: paths, one request, answers as wire models."""

from __future__ import annotations

import urllib.parse
from typing import TYPE_CHECKING, Any, TypeVar

import pydantic

from vmhost import schemas

from .errors import InvalidInputError

if TYPE_CHECKING:
    from . import VmHostClient

T = TypeVar("T", bound=pydantic.BaseModel)
R = TypeVar("R")
P = schemas.API_PREFIX


def seg(value: int | str) -> str:
    """One path segment from an id or a name: every character outside RFC 3986's unreserved
    set is percent-encoded (``/``, ``?``, ``#``, ``%``, spaces...), and so are the dots of a
    ``.`` or ``..`` segment, which HTTP clients and proxies would otherwise resolve away
    (``vm-host read .`` must not become ``GET /vm-hosts``). Every path built by this client
    goes through here."""
    text = urllib.parse.quote(str(value), safe="")
    if not text:
        raise InvalidInputError("a name or id cannot be empty")
    if text.strip(".") == "":
        return text.replace(".", "%2E")
    return text


def dump(body: pydantic.BaseModel) -> dict[str, Any]:
    """A request body as JSON: the keys it was given (defaults are the server's too)."""
    return body.model_dump(mode="json", exclude_unset=True)


class Manager:
    """One collection of the API (``client.hosts``, ``client.vms`` ...)."""

    def __init__(self, transport: VmHostClient) -> None:
        self._transport = transport

    def _get(self, path: str, model: type[T], **params: Any) -> T:
        return model.model_validate(self._transport.request("GET", path, params=params).json())

    def _list(self, path: str, model: type[R], **params: Any) -> list[R]:
        answer = self._transport.request("GET", path, params=params).json()
        # a list of pydantic models or of the stdlib dataclasses ``model/resources.py`` shares
        # with the API
        return pydantic.TypeAdapter(list[model]).validate_python(answer)  # type: ignore[valid-type]

    def _send(
        self,
        method: str,
        path: str,
        model: type[T],
        body: pydantic.BaseModel | dict[str, Any] | None = None,
        **params: Any,
    ) -> T:
        json = dump(body) if isinstance(body, pydantic.BaseModel) else body
        answer = self._transport.request(method, path, json=json, params=params).json()
        return model.model_validate(answer)

    def _send_list(
        self, method: str, path: str, model: type[T], body: pydantic.BaseModel, **params: Any
    ) -> list[T]:
        answer = self._transport.request(method, path, json=dump(body), params=params).json()
        return [model.model_validate(item) for item in answer]

    def _start(
        self, method: str, path: str, body: pydantic.BaseModel | None = None, **params: Any
    ) -> schemas.Operation:
        json = dump(body) if body is not None else None
        response = self._transport.request(
            method, path, json=json, params={**params, "async": True}
        )
        return schemas.Operation.model_validate(response.json())
