"""A typed HTTP client for the vmhost API (used by the CLI, the Juju provider and the charm).

One manager per collection, in the pylxd style, taking and returning the wire models of
``vmhost.schemas``; every failure raises a :class:`ClientError` carrying the server's message
(and its field errors and per-check reasons), never an httpx exception::

    with VmHostClient("https://vmhost:5240", token) as api:
        host = api.hosts.create(
            build(schemas.VmHostCreate, type="lxd", power_address="https://10.0.0.5:8443")
        )
        print(api.hosts.certificate(host.id).trust_command)
        body = build(schemas.ComposeBody, cores=2, memory_mib=4096, storage="root:20")
        vm = api.hosts.compose(host.id, body).vm

Managers: ``hosts``, ``vms``, ``zones``, ``pools``, ``spaces``, ``tokens``, ``operations``.
Long operations (compose, refresh, delete with decompose) also have ``start_*`` variants that
return an ``Operation`` at once; ``operations.wait`` follows it (with a callback for progress)
and returns the result or raises the operation's error. :func:`build` makes a request body
from keyword values and refuses a bad one before anything is sent, naming the field.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import Any

import httpx

from vmhost import schemas

from .base import P
from .catalog import NamedManager, OperationsManager, SpacesManager, TokensManager
from .errors import (
    ApiError,
    ClientError,
    ConflictError,
    ConnectionFailedError,
    ForbiddenError,
    HostProblemError,
    InvalidInputError,
    NoCapacityError,
    NotFoundError,
    ServerError,
    UnauthorizedError,
    build,
    error_from,
)
from .hosts import HostsManager
from .vms import VmsManager

__all__ = [
    "ApiError",
    "ClientError",
    "ConflictError",
    "ConnectionFailedError",
    "ForbiddenError",
    "HostProblemError",
    "HostsManager",
    "InvalidInputError",
    "NamedManager",
    "NoCapacityError",
    "NotFoundError",
    "OperationsManager",
    "ServerError",
    "SpacesManager",
    "TokensManager",
    "UnauthorizedError",
    "VmHostClient",
    "VmsManager",
    "build",
    "error_from",
]


def _tls(verify: bool | str) -> bool | ssl.SSLContext:
    """``verify`` as httpx takes it: a CA file's path becomes a context (a path is deprecated)."""
    return ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify


class VmHostClient:
    """The vmhost API over HTTP(S)."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        verify: bool | str = True,
        timeout: float = 120.0,
        http: httpx.Client | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        headers = {"Accept": "application/json", "User-Agent": "vmhost-client"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if http is not None:
            http.headers.update(headers)
            self.http = http
        else:
            self.http = httpx.Client(
                base_url=self.url, headers=headers, verify=_tls(verify), timeout=timeout
            )
        self.hosts = HostsManager(self)
        self.vms = VmsManager(self)
        self.zones = NamedManager(self, "zones")
        self.pools = NamedManager(self, "pools")
        self.spaces = SpacesManager(self)
        self.tokens = TokensManager(self)
        self.operations = OperationsManager(self)

    def close(self) -> None:
        """Release connections."""
        self.http.close()

    def __enter__(self) -> VmHostClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        """One call; errors become ClientError subclasses."""
        query = {
            k: ("true" if v is True else "false" if v is False else v)
            for k, v in (params or {}).items()
            if v is not None
        }
        try:
            response = self.http.request(method, path, json=json, params=query or None)
        except httpx.TimeoutException as exc:
            raise ConnectionFailedError(
                f"{self.url}: timed out ({exc.__class__.__name__})"
            ) from exc
        except httpx.HTTPError as exc:
            raise ConnectionFailedError(f"cannot reach {self.url}: {exc}") from exc
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"message": f"HTTP {response.status_code}: {response.text[:200]}"}
            raise error_from(response.status_code, body)
        return response

    def health(self) -> schemas.Health:
        """Liveness (no token needed)."""
        return schemas.Health.model_validate(self.request("GET", f"{P}/health").json())

    def whoami(self) -> schemas.WhoAmI:
        """The token's name and role."""
        return schemas.WhoAmI.model_validate(self.request("GET", f"{P}/whoami").json())

    def metrics(self) -> str:
        """Prometheus text."""
        return self.request("GET", f"{P}/metrics").text
