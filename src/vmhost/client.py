"""A typed HTTP client for the vmhost API (used by the CLI, the Juju provider and the charm).

One method per endpoint; answers are the wire models of ``vmhost.schemas``. Every failure
raises a ``ClientError`` carrying the server's message (and its field errors and per-check
reasons), never an httpx exception or a traceback-worthy surprise::

    with VmHostClient("https://vmhost:5240", token) as api:
        host = api.create_host(type="lxd", power_address="https://10.0.0.5:8443")
        print(api.certificate(host.id).trust_command)
        vm = api.compose(host.id, cores=2, memory_mib=4096, storage="root:20").vm

Long operations (compose, refresh, delete with decompose) also have ``start_*`` variants that
return an ``Operation`` at once; ``wait`` follows it (with a callback for progress) and returns
the result or raises the operation's error.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx
import pydantic

from vmhost import schemas

T = TypeVar("T", bound=pydantic.BaseModel)
P = schemas.API_PREFIX


# --- errors ---------------------------------------------------------------------------------


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
    """400 or 422: bad input; ``fields`` says which."""


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


def _error_class(status: int, reasons: list[Any]) -> type[ApiError]:
    if status in (400, 422):
        return InvalidInputError
    if status == 409:
        return NoCapacityError if reasons else ConflictError
    mapping: dict[int, type[ApiError]] = {
        401: UnauthorizedError,
        403: ForbiddenError,
        404: NotFoundError,
        503: HostProblemError,
    }
    if status in mapping:
        return mapping[status]
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


def _validated(model: type[T], fields: Mapping[str, Any]) -> T:
    """Check a request body before sending it (the same rules as the server)."""
    try:
        return model.model_validate(_body(fields), strict=False)
    except pydantic.ValidationError as exc:
        found: dict[str, list[str]] = {}
        for error in exc.errors():
            name = ".".join(str(p) for p in error["loc"]) or "body"
            found.setdefault(name, []).append(str(error["msg"]).removeprefix("Value error, "))
        name, messages = next(iter(found.items()))
        raise InvalidInputError(f"{name}: {messages[0]}", fields=found) from None


def _seg(value: int | str) -> str:
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


def _body(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


# --- the client -----------------------------------------------------------------------------


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
                base_url=self.url, headers=headers, verify=verify, timeout=timeout
            )

    def close(self) -> None:
        """Release connections."""
        self.http.close()

    def __enter__(self) -> VmHostClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- plumbing ------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        """One call; errors become ClientError subclasses."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        query = {
            k: ("true" if v is True else "false" if v is False else v) for k, v in query.items()
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

    def _get(self, path: str, model: type[T], **params: Any) -> T:
        return model.model_validate(self.request("GET", path, params=params).json())

    def _list(self, path: str, model: type[T], **params: Any) -> list[T]:
        return [model.model_validate(x) for x in self.request("GET", path, params=params).json()]

    def _send(self, method: str, path: str, model: type[T], body: Any = None, **params: Any) -> T:
        return model.model_validate(self.request(method, path, json=body, params=params).json())

    def _start(self, method: str, path: str, body: Any = None, **params: Any) -> schemas.Operation:
        response = self.request(method, path, json=body, params={**params, "async": True})
        return schemas.Operation.model_validate(response.json())

    # -- operations ----------------------------------------------------------------------------

    def operation(self, op_id: str) -> schemas.Operation:
        """One background operation."""
        return self._get(f"{P}/operations/{_seg(op_id)}", schemas.Operation)

    def operations(self) -> list[schemas.Operation]:
        """Recent background operations."""
        return self._get(f"{P}/operations", schemas.OperationList).items

    def wait(
        self,
        op: schemas.Operation,
        model: type[T],
        *,
        timeout_s: float = 3600,
        poll_s: float = 0.2,
        on_update: Callable[[schemas.Operation], None] | None = None,
    ) -> T:
        """Follow an operation to its end: its result, or its error raised."""
        deadline = time.monotonic() + timeout_s
        delay = min(poll_s, 0.05)
        while op.status not in ("succeeded", "failed"):
            if on_update:
                on_update(op)
            if time.monotonic() > deadline:
                raise ClientError(f"operation {op.id} ({op.kind}) still {op.status}: gave up")
            time.sleep(delay)
            delay = min(delay * 2, poll_s)
            op = self.operation(op.id)
        if on_update:
            on_update(op)
        if op.status == "failed":
            error = op.error.model_dump() if op.error else {"message": "operation failed"}
            raise error_from(op.status_code or 500, error)
        return model.model_validate(op.result or {})

    # -- misc ------------------------------------------------------------------------------------

    def health(self) -> schemas.Health:
        """Liveness (no token needed)."""
        return self._get(f"{P}/health", schemas.Health)

    def whoami(self) -> schemas.WhoAmI:
        """The token's name and role."""
        return self._get(f"{P}/whoami", schemas.WhoAmI)

    def metrics(self) -> str:
        """Prometheus text."""
        return self.request("GET", f"{P}/metrics").text

    # -- vm-hosts ---------------------------------------------------------------------------------

    def list_hosts(self) -> list[schemas.VmHost]:
        """Every VM host."""
        return self._list(f"{P}/vm-hosts", schemas.VmHost)

    def create_host(self, **fields: Any) -> schemas.VmHost:
        """Add a host (``schemas.VmHostCreate`` keys) and discover it."""
        body = _validated(schemas.VmHostCreate, fields)
        return self._send(
            "POST", f"{P}/vm-hosts", schemas.VmHost, body.model_dump(exclude_unset=True)
        )

    def start_create_host(self, **fields: Any) -> schemas.Operation:
        """Add a host in the background."""
        body = _validated(schemas.VmHostCreate, fields)
        return self._start("POST", f"{P}/vm-hosts", body.model_dump(exclude_unset=True))

    def get_host(self, key: int | str) -> schemas.VmHost:
        """One host by id or name."""
        return self._get(f"{P}/vm-hosts/{_seg(key)}", schemas.VmHost)

    def update_host(self, host: int | str, /, **changes: Any) -> schemas.VmHost:
        """Change a host (``schemas.VmHostUpdate`` keys; None = unchanged)."""
        body = _validated(schemas.VmHostUpdate, changes).model_dump(exclude_unset=True)
        return self._send("PUT", f"{P}/vm-hosts/{_seg(host)}", schemas.VmHost, body)

    def delete_host(self, key: int | str, decompose: bool | None = None) -> schemas.Deleted:
        """Remove a host (``decompose`` when it has VMs composed by vmhost)."""
        return self._send(
            "DELETE", f"{P}/vm-hosts/{_seg(key)}", schemas.Deleted, decompose=decompose
        )

    def start_delete_host(
        self, key: int | str, decompose: bool | None = None
    ) -> schemas.Operation:
        """Remove a host in the background."""
        return self._start("DELETE", f"{P}/vm-hosts/{_seg(key)}", decompose=decompose)

    def refresh_host(self, key: int | str) -> schemas.VmHost:
        """Rediscover a host."""
        return self._send("POST", f"{P}/vm-hosts/{_seg(key)}/refresh", schemas.VmHost)

    def start_refresh_host(self, key: int | str) -> schemas.Operation:
        """Rediscover a host in the background."""
        return self._start("POST", f"{P}/vm-hosts/{_seg(key)}/refresh")

    def compose(self, key: int | str | None = None, /, **request: Any) -> schemas.ComposeResult:
        """Compose a VM on host ``key`` (or on the best host when None)."""
        method, path, body = self._compose_call(key, request)
        return self._send(method, path, schemas.ComposeResult, body)

    def start_compose(self, key: int | str | None = None, /, **request: Any) -> schemas.Operation:
        """Compose in the background."""
        method, path, body = self._compose_call(key, request)
        return self._start(method, path, body)

    @staticmethod
    def _compose_call(key: int | str | None, request: Mapping[str, Any]) -> tuple[str, str, Any]:
        body = _body(request)
        if key is None:
            return "POST", f"{P}/vms", body
        return "POST", f"{P}/vm-hosts/{_seg(key)}/compose", body

    def candidates(self, limit: int = 10, **request: Any) -> schemas.Candidates:
        """Where a compose request would go (nothing claimed)."""
        return self._send(
            "POST", f"{P}/vms/candidates", schemas.Candidates, _body(request), limit=limit
        )

    def parameters(self, key: int | str) -> schemas.Parameters:
        """Connection parameters with secrets (admin)."""
        return self._get(f"{P}/vm-hosts/{_seg(key)}/parameters", schemas.Parameters)

    def add_tag(self, key: int | str, tag: str) -> schemas.VmHost:
        """Add a tag."""
        return self._send(
            "POST", f"{P}/vm-hosts/{_seg(key)}/add-tag", schemas.VmHost, {"tag": tag}
        )

    def remove_tag(self, key: int | str, tag: str) -> schemas.VmHost:
        """Remove a tag."""
        return self._send(
            "POST", f"{P}/vm-hosts/{_seg(key)}/remove-tag", schemas.VmHost, {"tag": tag}
        )

    def certificate(self, key: int | str) -> schemas.Certificate:
        """An LXD host's client certificate and trust command."""
        return self._get(f"{P}/vm-hosts/{_seg(key)}/certificate", schemas.Certificate)

    def certificate_pem(self, name: str) -> str:
        """The PEM from the unauthenticated URL."""
        return self.request("GET", f"/vmhost-certificate/{_seg(name)}").text

    def projects(self, key: int | str) -> list[schemas.Project]:
        """The host's LXD projects."""
        return self._list(f"{P}/vm-hosts/{_seg(key)}/projects", schemas.Project)

    def resources(self, key: int | str) -> schemas.NumaResources:
        """Per-NUMA resources."""
        return self._get(f"{P}/vm-hosts/{_seg(key)}/resources", schemas.NumaResources)

    def storage_pools(self, key: int | str) -> list[schemas.StoragePoolDetail]:
        """Storage pools with the split."""
        return self._list(f"{P}/vm-hosts/{_seg(key)}/storage-pools", schemas.StoragePoolDetail)

    # -- vms ----------------------------------------------------------------------------------

    def list_vms(
        self,
        host: int | str | None = None,
        origin: str | None = None,
        state: str | None = None,
        *,
        owner: str | None = None,
        idle: bool | None = None,
    ) -> list[schemas.Vm]:
        """VMs, filtered (``idle=True``: the warm pool; ``owner``: one owner's VMs)."""
        return self._list(
            f"{P}/vms", schemas.Vm, host=host, origin=origin, state=state, owner=owner, idle=idle
        )

    def idle_vms(self, limit: int = 100, **request: Any) -> list[schemas.Vm]:
        """Idle VMs that would satisfy a compose request, cheapest first (none allocated)."""
        response = self.request(
            "POST", f"{P}/vms/idle", json=_body(request), params={"limit": limit}
        )
        return [schemas.Vm.model_validate(x) for x in response.json()]

    def allocate_vm(self, vm_id: int, owner: str) -> schemas.Vm:
        """Allocate an idle VM to ``owner`` (ConflictError when it is not idle)."""
        body = _validated(schemas.AllocateBody, {"owner": owner}).model_dump()
        return self._send("POST", f"{P}/vms/{_seg(vm_id)}/allocate", schemas.Vm, body)

    def release_vm(self, vm_id: int) -> schemas.Vm:
        """Clear a VM's owner: it stays, idle (in the warm pool)."""
        return self._send("POST", f"{P}/vms/{_seg(vm_id)}/release", schemas.Vm)

    def refresh_vm(self, vm_id: int) -> schemas.Vm:
        """Re-read a VM's power state and addresses from its host."""
        return self._send("POST", f"{P}/vms/{_seg(vm_id)}/refresh", schemas.Vm)

    def get_vm(self, vm_id: int) -> schemas.Vm:
        """One VM."""
        return self._get(f"{P}/vms/{_seg(vm_id)}", schemas.Vm)

    def power_on(self, vm_id: int) -> schemas.Vm:
        """Start a VM."""
        return self._send("POST", f"{P}/vms/{_seg(vm_id)}/power-on", schemas.Vm)

    def power_off(self, vm_id: int) -> schemas.Vm:
        """Stop a VM."""
        return self._send("POST", f"{P}/vms/{_seg(vm_id)}/power-off", schemas.Vm)

    def delete_vm(self, vm_id: int) -> schemas.Deleted:
        """Decompose a VM."""
        return self._send("DELETE", f"{P}/vms/{_seg(vm_id)}", schemas.Deleted)

    def start_delete_vm(self, vm_id: int) -> schemas.Operation:
        """Decompose a VM in the background."""
        return self._start("DELETE", f"{P}/vms/{_seg(vm_id)}")

    # -- zones and pools -------------------------------------------------------------------------

    def list_named(self, collection: str) -> list[schemas.Zone]:
        """``zones`` or ``pools``."""
        return self._list(f"{P}/{collection}", schemas.Zone)

    def get_named(self, collection: str, key: int | str) -> schemas.Zone:
        """One zone or pool."""
        return self._get(f"{P}/{collection}/{_seg(key)}", schemas.Zone)

    def create_named(self, collection: str, name: str, description: str = "") -> schemas.Zone:
        """A new zone or pool."""
        return self._send(
            "POST", f"{P}/{collection}", schemas.Zone, {"name": name, "description": description}
        )

    def update_named(
        self,
        collection: str,
        key: int | str,
        name: str | None = None,
        description: str | None = None,
    ) -> schemas.Zone:
        """Rename or re-describe a zone or pool."""
        body = _body({"name": name, "description": description})
        return self._send("PUT", f"{P}/{collection}/{_seg(key)}", schemas.Zone, body)

    def delete_named(self, collection: str, key: int | str) -> schemas.Deleted:
        """Delete an empty zone or pool."""
        return self._send("DELETE", f"{P}/{collection}/{_seg(key)}", schemas.Deleted)

    def list_zones(self) -> list[schemas.Zone]:
        """Every zone."""
        return self.list_named("zones")

    def create_zone(self, name: str, description: str = "") -> schemas.Zone:
        """A new zone."""
        return self.create_named("zones", name, description)

    def list_pools(self) -> list[schemas.Zone]:
        """Every resource pool."""
        return self.list_named("pools")

    def create_pool(self, name: str, description: str = "") -> schemas.Zone:
        """A new resource pool."""
        return self.create_named("pools", name, description)

    # -- spaces ------------------------------------------------------------------------------

    def list_spaces(self) -> list[schemas.Space]:
        """Every network-to-space mapping."""
        return self._list(f"{P}/spaces", schemas.Space)

    def set_space(self, space: str, network: str, host: int | str | None = None) -> schemas.Space:
        """Map a network (on every host, or on one) to a space."""
        body = _body({"space": space, "network": network, "host": host})
        return self._send("POST", f"{P}/spaces", schemas.Space, body)

    def unset_space(self, space: str, network: str | None = None) -> schemas.Unset:
        """Remove a space's mappings."""
        return self._send("DELETE", f"{P}/spaces/{_seg(space)}", schemas.Unset, network=network)

    # -- tokens -------------------------------------------------------------------------------

    def list_tokens(self) -> list[schemas.Token]:
        """Every token's record (admin)."""
        return self._list(f"{P}/tokens", schemas.Token)

    def create_token(
        self, name: str, role: str = "readonly", expires_in_days: float | None = None
    ) -> schemas.TokenCreated:
        """A new token (admin); the answer holds it, once."""
        body = _body({"name": name, "role": role, "expires_in_days": expires_in_days})
        return self._send("POST", f"{P}/tokens", schemas.TokenCreated, body)

    def revoke_token(self, key: int | str) -> schemas.Deleted:
        """Revoke a token by id or name (admin)."""
        return self._send("DELETE", f"{P}/tokens/{_seg(key)}", schemas.Deleted)
