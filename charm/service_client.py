"""Every call the charm makes to the vmhost service, in one adapter over `vmhost.client`.

No ops import: the charm passes plain values in and gets plain values (action results, the
machines of a `vm-host` request, host names) back. Every failure is a `ServiceError` whose text
is one line for an action failure, a status or a relation answer; no token or key is ever in it.

VMs asked for over the `vm-host` integration are owned (the service's VM `owner`) by
`<app>/vm-host/<relation id>`, so the service itself records which relation each VM belongs
to: the charm keeps no list of its own. LXD hosts registered from the `lxd` integration carry
the tag `LXD_RELATION_TAG`, so hosts whose LXD unit went away can be found the same way.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import results
from vmhost_provider import allocate
from vmhost_provider.constraints import ConstraintsError
from vmhost_provider.translate import TranslationError

from vmhost import client as vmclient
from vmhost import schemas

LXD_RELATION_TAG = "juju-lxd-relation"
#: Long operations (compose, refresh, add) are waited for inside a hook; bounded.
TIMEOUT_S = 600.0


class ServiceError(Exception):
    """The service refused or could not be reached; `str()` is one line."""


class UnauthorizedError(ServiceError):
    """The service does not accept the charm's token (a new database, a revoked token)."""


@dataclasses.dataclass(frozen=True)
class Machine:
    """A VM given to a `vm-host` requirer."""

    id: int
    hostname: str
    addresses: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class MachinesAnswer:
    """The machines a relation holds now, and why it holds fewer than asked (if it does)."""

    machines: tuple[Machine, ...]
    error: str | None = None


@dataclasses.dataclass(frozen=True)
class LxdHost:
    """An LXD server (or cluster) published over the `lxd` integration."""

    name: str
    address: str  # https://HOST:PORT
    server_certificate: str = ""  # PEM to pin; empty: the one shown at first contact


def owner_prefix(app_name: str) -> str:
    """The start of the owner of every VM this application composed for a relation."""
    return f"{app_name}/vm-host/"


def relation_owner(app_name: str, relation_id: int) -> str:
    """The owner of the VMs composed for one `vm-host` relation."""
    return f"{owner_prefix(app_name)}{relation_id}"


def _error(exc: vmclient.ClientError) -> ServiceError:
    if isinstance(exc, vmclient.UnauthorizedError):
        return UnauthorizedError(f"the vmhost service refused the charm's token: {exc}")
    return ServiceError(str(exc))


@contextlib.contextmanager
def _calls() -> Iterator[None]:
    """The service's calls inside: a client failure leaves as a one-line `ServiceError`."""
    try:
        yield
    except vmclient.ClientError as exc:
        raise _error(exc) from None


class ServiceApi:
    """The vmhost service on this unit, through its REST API on loopback."""

    def __init__(
        self, url: str, token: str, *, verify: bool | str = True, timeout: float = 120.0
    ) -> None:
        self._client = vmclient.VmHostClient(url, token, verify=verify, timeout=timeout)

    def close(self) -> None:
        """Release the connection."""
        self._client.close()

    def __enter__(self) -> ServiceApi:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- the service itself ----------------------------------------------------------------

    def version(self) -> str:
        """The service's version (its health endpoint)."""
        with _calls():
            return self._client.health().version

    def check_token(self) -> None:
        """Raise `UnauthorizedError` unless the charm's token is an admin token here."""
        with _calls():
            who = self._client.whoami()
        if who.role != "admin":
            raise UnauthorizedError(f"the charm's token {who.name!r} is not admin")

    def token_accepted(self) -> bool:
        """Whether the service accepts this client's token at all (any role)."""
        try:
            self._client.whoami()
        except vmclient.UnauthorizedError:
            return False
        except vmclient.ClientError as exc:
            raise _error(exc) from None
        return True

    # -- actions -----------------------------------------------------------------------------

    def add_host(self, fields: Mapping[str, Any]) -> dict[str, str]:
        """Register a host (`schemas.VmHostCreate` keys); for an LXD host that does not trust
        the service yet, the certificate to trust and the command that trusts it."""
        with _calls():
            host = self._client.hosts.create(vmclient.build(schemas.VmHostCreate, **fields))
        answer = results.added_host(host)
        if host.type == "lxd" and host.status == "untrusted":
            answer.update(self.certificate(host.id))
        return answer

    def certificate(self, host: int | str) -> dict[str, str]:
        """The client certificate the service presents to an LXD host, and how to trust it."""
        with _calls():
            return results.certificate(self._client.hosts.certificate(host))

    def refresh(self, host: int | str) -> dict[str, str]:
        """Re-discover a host."""
        with _calls():
            return results.refreshed_host(self._client.hosts.refresh(host))

    def compose(
        self,
        *,
        host: str | None,
        constraints: str | None,
        cores: int,
        memory_mib: int,
        storage: str | None,
        interfaces: str | None,
        hostname: str | None,
    ) -> dict[str, str]:
        """Compose a VM from a Juju constraints string, or from cores/memory/storage/NICs."""
        if constraints is not None:
            try:
                cons, request, _ = allocate.prepare(
                    constraints,
                    storage=storage,
                    interfaces=interfaces,
                    known_spaces=self._spaces,
                )
            except (ConstraintsError, TranslationError) as exc:
                raise ServiceError(f"constraints {constraints!r}: {exc}") from None
            fields = request.model_dump(exclude_unset=True)
        else:
            fields = {
                "cores": cores,
                "memory_mib": memory_mib,
                "storage": storage,
                "interfaces": interfaces,
            }
        fields["hostname"] = hostname
        try:
            if host is None:
                result = self._client.vms.compose(
                    vmclient.build(schemas.HostComposeBody, **fields)
                )
            else:
                body = vmclient.build(schemas.ComposeBody, **fields)
                result = self._client.hosts.compose(host, body)
        except vmclient.ConflictError as exc:
            if constraints is not None and exc.reasons:
                raise ServiceError(str(allocate.no_capacity(exc, cons, request))) from None
            raise _error(exc) from None
        except vmclient.ClientError as exc:
            raise _error(exc) from None
        return results.vm_results(result.vm)

    def decompose(self, vm_id: int) -> dict[str, str]:
        """Delete a VM and its disks."""
        with _calls():
            return results.deleted(self._client.vms.delete(vm_id))

    def list_hosts(self) -> dict[str, str]:
        """Every VM host, as JSON."""
        with _calls():
            return results.host_list(self._client.hosts.list())

    def list_vms(self, host: str | None = None) -> dict[str, str]:
        """The VMs (of one host), as JSON."""
        with _calls():
            return results.vm_list(self._client.vms.list(host))

    def create_token(self, name: str, *, read_only: bool) -> tuple[str, dict[str, str]]:
        """A new token (returned once) and its record."""
        role = "readonly" if read_only else "admin"
        with _calls():
            created = self._client.tokens.create(
                vmclient.build(schemas.TokenCreate, name=name, role=role)
            )
        return created.token, results.token_record(created)

    def renew_token(self, name: str, *, read_only: bool) -> str:
        """A new token named `name`, the one before it (if any) revoked; returned once."""
        try:
            self._client.tokens.revoke(name)
        except vmclient.NotFoundError:
            pass
        except vmclient.ClientError as exc:
            raise _error(exc) from None
        return self.create_token(name, read_only=read_only)[0]

    def host_count(self) -> int:
        """How many VM hosts the service knows."""
        return self.hosts_summary()[0]

    def hosts_summary(self) -> tuple[int, int]:
        """How many VM hosts the service knows, and how many of them are not ready."""
        with _calls():
            hosts = self._client.hosts.list()
        return len(hosts), sum(1 for host in hosts if host.status != "ready")

    # -- the lxd integration ---------------------------------------------------------------

    def sync_lxd_hosts(
        self,
        wanted: Iterable[LxdHost],
        keep: Iterable[str],
        *,
        certificate: str,
        key: str,
    ) -> list[str]:
        """Register each `wanted` LXD host with the charm's client pair (or refresh it, with
        its new address when that changed); remove the relation's hosts whose name is in
        neither `wanted` nor `keep`, leaving their VMs on the hypervisor. Returns one line per
        host that failed (the others are done)."""
        with _calls():
            existing = {h.name: h for h in self._client.hosts.list()}
        problems: list[str] = []
        names = set(keep)
        for host in wanted:
            names.add(host.name)
            try:
                self._sync_lxd_host(host, existing.get(host.name), certificate, key)
            except vmclient.ClientError as exc:
                problems.append(f"{host.name} ({host.address}): {exc}")
        for name, found in existing.items():
            if LXD_RELATION_TAG in found.tags and name not in names:
                try:
                    self._client.hosts.delete(found.id, decompose=False)
                except vmclient.ClientError as exc:
                    problems.append(f"removing {name}: {exc}")
        return problems

    def _sync_lxd_host(
        self, host: LxdHost, found: schemas.VmHost | None, certificate: str, key: str
    ) -> None:
        if found is None:
            body = vmclient.build(
                schemas.VmHostCreate,
                type="lxd",
                address=host.address,
                name=host.name,
                tags=[LXD_RELATION_TAG],
                certificate=certificate,
                key=key,
                server_certificate=host.server_certificate or None,
            )
            self._client.hosts.create(body)
            return
        if found.address != host.address:
            self._client.hosts.update(
                found.id, vmclient.build(schemas.VmHostUpdate, address=host.address)
            )
        self._client.hosts.refresh(found.id)

    # -- the vm-host integration ------------------------------------------------------------

    def machines(self, owner: str, constraints: str, count: int) -> MachinesAnswer:
        """Bring `owner`'s VMs to `count`: compose what is missing (allocate-or-compose, so an
        idle VM that fits is reused), decompose the newest extra ones. Constraints apply to
        the VMs composed from now on, as Juju's do; the ones already there are kept. A request
        that cannot be met keeps what was composed and says why."""
        with _calls():
            vms = sorted(self._client.vms.list(owner=owner), key=lambda vm: vm.id)
            for extra in vms[count:]:
                allocate.release(self._client, extra.id)
        vms = vms[:count]
        error: str | None = None
        while len(vms) < count:
            try:
                allocation = allocate.allocate_or_compose(self._client, constraints, owner=owner)
            except allocate.NoCapacity as exc:
                error = str(exc)
                break
            except (ConstraintsError, TranslationError) as exc:
                error = f"constraints {constraints!r}: {exc}"
                break
            except vmclient.ClientError as exc:
                error = str(exc)
                break
            vms.append(allocation.vm)
        machines = tuple(self._machine(vm) for vm in vms)
        return MachinesAnswer(machines, error)

    def _machine(self, vm: schemas.Vm) -> Machine:
        if not vm.addresses:
            with contextlib.suppress(vmclient.ClientError):  # then at a later event
                vm = self._client.vms.refresh(vm.id)
        return Machine(vm.id, vm.hostname, tuple(vm.addresses))

    def owners(self, prefix: str) -> set[str]:
        """The owners starting with `prefix` that hold VMs."""
        with _calls():
            vms = self._client.vms.list()
        return {vm.owner for vm in vms if vm.owner.startswith(prefix)}

    def release_owner(self, owner: str) -> int:
        """Decompose every VM of `owner`; how many there were."""
        with _calls():
            vms = self._client.vms.list(owner=owner)
            for vm in vms:
                allocate.release(self._client, vm.id)
        return len(vms)

    def _spaces(self) -> set[str]:
        return {space.space for space in self._client.spaces.list()}
