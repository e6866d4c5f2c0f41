"""``client.zones``, ``client.pools``, ``client.spaces``, ``client.tokens``,
``client.operations``."""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import pydantic

from vmhost import schemas

from .base import Manager, P, seg
from .errors import ClientError, error_from

if TYPE_CHECKING:
    from . import VmHostClient

T = TypeVar("T", bound=pydantic.BaseModel)


class NamedManager(Manager):
    """Zones (``/api/v1/zones``) or resource pools (``/api/v1/pools``): MAAS's named
    groupings of hosts."""

    def __init__(self, transport: VmHostClient, collection: str) -> None:
        super().__init__(transport)
        self.collection = collection

    def list(self) -> builtins.list[schemas.Zone]:
        """Every one."""
        return self._list(f"{P}/{self.collection}", schemas.Zone)

    def get(self, key: int | str) -> schemas.Zone:
        """One, by id or name."""
        return self._get(f"{P}/{self.collection}/{seg(key)}", schemas.Zone)

    def create(self, body: schemas.NamedCreate) -> schemas.Zone:
        """A new one."""
        return self._send("POST", f"{P}/{self.collection}", schemas.Zone, body)

    def update(self, key: int | str, body: schemas.NamedUpdate) -> schemas.Zone:
        """Rename or re-describe one."""
        return self._send("PUT", f"{P}/{self.collection}/{seg(key)}", schemas.Zone, body)

    def delete(self, key: int | str) -> schemas.Deleted:
        """Delete an empty one."""
        return self._send("DELETE", f"{P}/{self.collection}/{seg(key)}", schemas.Deleted)


class SpacesManager(Manager):
    """``/api/v1/spaces``: host networks mapped to (Juju's, MAAS's) spaces."""

    def list(self) -> builtins.list[schemas.Space]:
        """Every network-to-space mapping."""
        return self._list(f"{P}/spaces", schemas.Space)

    def set(self, body: schemas.SpaceSet) -> schemas.Space:
        """Map a network (on every host, or on one) to a space."""
        return self._send("POST", f"{P}/spaces", schemas.Space, body)

    def unset(self, space: str, network: str | None = None) -> schemas.Unset:
        """Remove a space's mappings (all, or one network's)."""
        return self._send("DELETE", f"{P}/spaces/{seg(space)}", schemas.Unset, network=network)


class TokensManager(Manager):
    """``/api/v1/tokens`` (admin)."""

    def list(self) -> builtins.list[schemas.Token]:
        """Every token's record."""
        return self._list(f"{P}/tokens", schemas.Token)

    def create(self, body: schemas.TokenCreate) -> schemas.TokenCreated:
        """A new token; the answer holds it, once."""
        return self._send("POST", f"{P}/tokens", schemas.TokenCreated, body)

    def revoke(self, key: int | str) -> schemas.Deleted:
        """Revoke a token by id or name."""
        return self._send("DELETE", f"{P}/tokens/{seg(key)}", schemas.Deleted)


class OperationsManager(Manager):
    """``/api/v1/operations``: long operations run in the background."""

    def list(self) -> builtins.list[schemas.Operation]:
        """Recent operations, newest first."""
        return self._get(f"{P}/operations", schemas.OperationList).items

    def get(self, op_id: str) -> schemas.Operation:
        """One operation."""
        return self._get(f"{P}/operations/{seg(op_id)}", schemas.Operation)

    def wait(
        self,
        op: schemas.Operation,
        model: type[T],
        *,
        timeout_s: float = 3600,
        poll_s: float = 0.2,
        on_update: Callable[[schemas.Operation], None] | None = None,
    ) -> T:
        """Follow an operation to its end: its result as ``model``, or its error raised."""
        deadline = time.monotonic() + timeout_s
        delay = min(poll_s, 0.05)
        while op.status not in ("succeeded", "failed"):
            if on_update:
                on_update(op)
            if time.monotonic() > deadline:
                raise ClientError(f"operation {op.id} ({op.kind}) still {op.status}: gave up")
            time.sleep(delay)
            delay = min(delay * 2, poll_s)
            op = self.get(op.id)
        if on_update:
            on_update(op)
        if op.status == "failed":
            error = op.error.model_dump() if op.error else {"message": "operation failed"}
            raise error_from(op.status_code or 500, error)
        return model.model_validate(op.result or {})
