"""Allocate-or-compose: give Juju a machine for its constraints, as MAAS's ``allocate`` did.

Through :mod:`vmhost.client` only (the whole flow: ``docs/provider.md``):

1. The constraints are parsed (Juju's grammar and messages), validated (unsupported keys are
   returned as warnings, never fatal) and translated into the compose wire model.
2. With the **warm pool** on, one request (``POST /api/v1/vms/allocate`` with ``compose``)
   allocates to ``owner`` the cheapest idle VM (composed earlier, ready, no owner) that
   satisfies the request (the server applies every check: sizes, instance type, the host's
   architecture, zones, pool and tags, a NIC per space or network asked for), atomically, so a
   VM another allocator takes meanwhile is never given twice; on a miss the same request
   composes one.
3. Otherwise a VM is **composed** with ``owner`` set in the same transaction as its record: the
   server picks the best host. When no host can take it (either way), :class:`NoCapacity`
   names the Juju constraints that could not be met, mapped from the server's structured
   reasons (a ``vmhost.model.Check`` and what each failure is about), and nothing was
   composed.

:func:`release` gives a machine back: the VM is decomposed, or with the warm pool on kept,
idle, for the next allocation (its owner cleared). MAAS deleted dynamically composed machines
on release; the warm pool is vmhost's opt-in alternative.

A reused VM keeps what it was composed with: its cloud-init user data (only the first boot
reads it), its name and its disks' contents.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Final, Protocol

from vmhost import client as vmclient
from vmhost import schemas
from vmhost.model import Check
from vmhost.schemas.errors import Subject
from vmhost_provider.constraints import (
    ARCH,
    CORES,
    KEYS,
    MEM,
    ROOT_DISK,
    ROOT_DISK_SOURCE,
    SPACES,
    TAGS,
    VIRT_TYPE,
    ZONES,
    Constraints,
    parse,
)
from vmhost_provider.translate import DEFAULTS, Defaults, translate
from vmhost_provider.validation import vmhost_validator

__all__ = [
    "CHECK_CONSTRAINTS",
    "Allocation",
    "AllocationClient",
    "NoCapacity",
    "allocate_or_compose",
    "no_capacity",
    "prepare",
    "release",
]

#: The server's checks (``vmhost.model.Check``) and the Juju constraint each one tests.
#: ``storage`` and ``network`` also depend on what the failure is about (see
#: :func:`_constraint_for`); checks about the host's state or the choice of host, and the
#: resource pool (Juju has no constraint for it), map to nothing.
CHECK_CONSTRAINTS: Final[Mapping[Check, str]] = {
    Check.CORES: CORES,
    Check.PINNING: CORES,
    Check.NUMA: CORES,
    Check.MEMORY: MEM,
    Check.HUGEPAGES: MEM,
    Check.STORAGE: ROOT_DISK,
    Check.NETWORK: SPACES,
    Check.SPACES: SPACES,
    Check.SRIOV: "interfaces",
    Check.ZONE: ZONES,
    Check.TAGS: TAGS,
    Check.ARCHITECTURE: ARCH,
    Check.INSTANCE_TYPE: VIRT_TYPE,
}
#: The start of the server's message when no host at all could be considered (no reasons).
_NO_HOST_PREFIX: Final = "No VM host can take this request"


class VmsApi(Protocol):
    """The part of ``client.vms`` allocation uses."""

    def idle(self, body: schemas.HostComposeBody, limit: int = 100) -> list[schemas.Vm]: ...

    def allocate(self, vm_id: int, owner: str) -> schemas.Vm: ...

    def allocate_matching(
        self, body: schemas.HostComposeBody, owner: str, *, compose: bool = False
    ) -> schemas.AllocateResult: ...

    def release(self, vm_id: int) -> schemas.Vm: ...

    def delete(self, vm_id: int) -> schemas.Deleted: ...

    def compose(self, body: schemas.HostComposeBody) -> schemas.ComposeResult: ...


class SpacesApi(Protocol):
    """The part of ``client.spaces`` allocation uses."""

    def list(self) -> list[schemas.Space]: ...


class AllocationClient(Protocol):
    """What allocation needs of a :class:`vmhost.client.VmHostClient`."""

    @property
    def vms(self) -> VmsApi: ...

    @property
    def spaces(self) -> SpacesApi: ...


@dataclasses.dataclass(frozen=True, slots=True)
class Allocation:
    """A machine for Juju: the VM, whether it came from the warm pool, what was asked."""

    vm: schemas.Vm
    reused: bool
    request: schemas.HostComposeBody
    constraints: Constraints
    unsupported: tuple[str, ...] = ()  # constraint keys set but ignored (warnings)

    @property
    def vm_id(self) -> int:
        """The VM's id in vmhost."""
        return self.vm.id

    @property
    def host(self) -> str:
        """The name of the VM host it is on."""
        return self.vm.host.name


class NoCapacity(Exception):  # noqa: N818 (the name the provider's callers know it by)
    """No VM host can satisfy the constraints; nothing was composed or allocated.

    ``constraints`` holds the Juju constraint names that could not be met (most hosts first;
    ``storage``/``interfaces`` for the MAAS-grammar extras), ``reasons`` the server's
    structured reasons, and ``str()`` names both.
    """

    def __init__(
        self, message: str, constraints: Sequence[str], reasons: Sequence[schemas.Reason]
    ) -> None:
        super().__init__(message)
        self.message = message
        self.constraints = tuple(constraints)
        self.reasons = tuple(reasons)

    def __str__(self) -> str:
        return self.message


# --------------------------------------------------------------------------------------
# No capacity: the server's reasons in Juju's words
# --------------------------------------------------------------------------------------


def _constraint_for(
    check: Check | str,
    subject: Subject,
    cons: Constraints,
    storage: str | None,
    interfaces: str | None,
) -> str | None:
    """The Juju constraint (or MAAS-grammar extra) a failure is about."""
    key = CHECK_CONSTRAINTS.get(check) if isinstance(check, Check) else None
    if key == ROOT_DISK:
        source = cons.root_disk_source
        if source and subject.storage_pool == source:
            return ROOT_DISK_SOURCE
        return "storage" if storage and cons.root_disk is None else ROOT_DISK
    if check is Check.NETWORK and interfaces:
        return SPACES if subject.space in cons.include_spaces() else "interfaces"
    return key


def _label(
    key: str, cons: Constraints, request: schemas.HostComposeBody, extras: dict[str, str]
) -> str:
    """``mem=16384M`` for a set key; the default for an unset one; the extra's text."""
    if key in extras:
        return f"{key}={extras[key]!r}"
    if key in KEYS and cons.get(key) is not None:
        return str(cons.without(*(k for k in KEYS if k != key))) or f"{key}="
    disks = request.disk_specs()
    defaults = {
        CORES: f"{request.cores}",
        MEM: f"{request.memory_mib}M",
        ROOT_DISK: f"{disks[0].size_bytes // 1024**2}M" if disks else "",
        VIRT_TYPE: request.instance_type,
    }
    if defaults.get(key):
        return f"{key} (not set: vmhost's default {key}={defaults[key]})"
    return key


def _failures(
    reason: schemas.Reason,
) -> list[tuple[Check | str, str, Subject]]:
    """(check, words, subject) of every check the reason's hosts failed."""
    if not reason.failures:
        return [(reason.check, reason.reason, Subject())]
    return [(f.check, f.reason, f.subject) for f in reason.failures]


def no_capacity(
    error: vmclient.ConflictError,
    cons: Constraints,
    request: schemas.HostComposeBody,
    storage: str | None = None,
    interfaces: str | None = None,
) -> NoCapacity:
    """The :class:`NoCapacity` for the server's 409, naming the constraints not met."""
    extras = {k: v for k, v in (("storage", storage), ("interfaces", interfaces)) if v}
    grouped: dict[str, list[str]] = {}
    other: list[str] = []
    for reason in error.reasons:
        hosts = f"{reason.hosts} host{'' if reason.hosts == 1 else 's'}"
        for check, words, subject in _failures(reason):
            key = _constraint_for(check, subject, cons, storage, interfaces)
            text = f"{hosts} {words}"
            if key is None:
                other.append(text)
            else:
                grouped.setdefault(key, []).append(text)
    parts = [
        f"{_label(key, cons, request, extras)} ({'; '.join(texts)})"
        for key, texts in grouped.items()
    ]
    if parts:
        noun = "constraint" if len(parts) == 1 else "constraints"
        message = f"no VM host can satisfy {noun} " + ", ".join(parts)
        if other:
            message += f"; also {'; '.join(other)}"
    else:
        detail = error.message.removeprefix(_NO_HOST_PREFIX).lstrip(";:, ")
        message = f"no VM host can take this machine: {detail or 'no reason given'}"
    return NoCapacity(message, tuple(grouped), error.reasons)


def _is_no_capacity(error: vmclient.ConflictError) -> bool:
    # a 409 with reasons; with none, only when no host at all could be considered
    return isinstance(error, vmclient.NoCapacityError) or error.message.startswith(_NO_HOST_PREFIX)


# --------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------


def prepare(
    constraints: str | Constraints,
    *,
    storage: str | None = None,
    interfaces: str | None = None,
    known_spaces: Callable[[], Collection[str]] | None = None,
    defaults: Defaults = DEFAULTS,
    arches: Iterable[str] | None = None,
) -> tuple[Constraints, schemas.HostComposeBody, tuple[str, ...]]:
    """Parse, validate and translate: (constraints, compose body, unsupported keys).

    Raises ``ConstraintsError`` (Juju's messages) or ``TranslationError``. ``known_spaces`` is
    called only when spaces or interfaces are given.
    """
    cons = parse(constraints) if isinstance(constraints, str) else constraints
    unsupported = tuple(vmhost_validator(arches).validate(cons))
    spaces = known_spaces() if known_spaces is not None and (cons.spaces or interfaces) else None
    body = translate(
        cons, storage=storage, interfaces=interfaces, defaults=defaults, known_spaces=spaces
    )
    return cons, body, unsupported


def with_fields(body: schemas.HostComposeBody, **fields: object) -> schemas.HostComposeBody:
    """``body`` with more keys set (None: left out), checked as the server checks them."""
    data = body.model_dump(exclude_unset=True)
    return vmclient.build(schemas.HostComposeBody, **{**data, **fields})


def allocate_or_compose(
    client: AllocationClient,
    constraints: str | Constraints,
    *,
    owner: str,
    storage: str | None = None,
    interfaces: str | None = None,
    warm_pool: bool = False,
    user_data: str | None = None,
    defaults: Defaults = DEFAULTS,
) -> Allocation:
    """A machine for ``constraints``, allocated to ``owner`` (see the module docstring).

    Raises ``ConstraintsError``/``TranslationError`` for bad constraints, :class:`NoCapacity`
    when no host can satisfy them (nothing composed), and ``vmhost.client.ClientError`` for
    anything else the server refuses.
    """
    cons, request, unsupported = prepare(
        constraints,
        storage=storage,
        interfaces=interfaces,
        known_spaces=lambda: {s.space for s in client.spaces.list()},
        defaults=defaults,
    )
    if user_data is not None:
        request = with_fields(request, user_data=user_data)
    try:
        if warm_pool:  # reuse or compose: one request either way
            got = client.vms.allocate_matching(request, owner, compose=True)
            return Allocation(got.vm, got.reused, request, cons, unsupported)
        result = client.vms.compose(with_fields(request, owner=owner))
    except vmclient.ConflictError as exc:
        if _is_no_capacity(exc):
            raise no_capacity(exc, cons, request, storage, interfaces) from None
        raise
    return Allocation(result.vm, False, request, cons, unsupported)


def release(client: AllocationClient, vm_id: int, *, warm_pool: bool = False) -> bool:
    """Give a machine back: decompose the VM, or with ``warm_pool`` keep it idle (its owner
    cleared) for the next allocation. True when the VM was kept."""
    if warm_pool:
        client.vms.release(vm_id)
        return True
    client.vms.delete(vm_id)
    return False
