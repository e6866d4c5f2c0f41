"""Allocate-or-compose: give Juju a machine for its constraints, as MAAS's ``allocate`` did.

Through :mod:`vmhost.client` only (``/work/shared/reference/maas-vm-hosts.md`` §8, and
``juju-constraints.md`` §4 for how Juju's MAAS provider allocates and releases):

1. The constraints are parsed (Juju's grammar and messages), validated (unsupported keys are
   returned as warnings, never fatal) and translated into a :class:`vmhost.model.ComposeRequest`.
2. With the **warm pool** on, an *idle* VM (composed earlier, ready, no owner) that satisfies
   the request is allocated to ``owner``: at least the cores, memory and root disk asked for
   (extra disks likewise, in order, on the named pools), the same instance type, a host with
   the architecture, in the zone(s) and resource pool, with every required tag and no excluded
   one, and a NIC for every space (or network) asked for and none in an excluded space. The
   server offers the idle VMs that pass those checks (``POST /api/v1/vms/idle``, cheapest
   first: MAAS's cost, cores + memory in GiB); each is checked again here against its host
   (:func:`mismatch`) before it is allocated. Allocation is atomic on the server, so a VM
   another allocator took in the meantime is skipped.
3. Otherwise a VM is **composed** with ``owner`` set in the same transaction as its record: the
   server picks the best host. When no host can take it, :class:`NoCapacity` says which
   constraint could not be met (the server's per-check ``reasons`` mapped to Juju's names, e.g.
   ``lack 16384 MiB of memory`` -> ``mem``), and nothing was composed.

:func:`release` gives a machine back: the VM is decomposed, or with the warm pool on kept,
idle, for the next allocation (its owner cleared). MAAS deleted dynamically composed machines
on release; the warm pool is vmhost's opt-in alternative.

A reused VM keeps what it was composed with: its cloud-init user data (only the first boot
reads it), its name and its disks' contents. Requests naming a hostname never reuse a VM.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any, Final, Protocol

from vmhost import client as vmclient
from vmhost import schemas
from vmhost.model import ComposeRequest, DiskRequest, InterfaceRequest
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
    "compose_body",
    "mismatch",
    "no_capacity",
    "prepare",
    "release",
]

#: The server's no-capacity checks (``reasons[].check``) and the Juju constraint each one
#: tests. ``storage`` and ``network`` depend on the request (see :func:`_constraint_for`);
#: checks that are not about the request (``status``, ``host``, ``driver``) map to nothing.
CHECK_CONSTRAINTS: Final = {
    "cores": CORES,
    "pinning": CORES,
    "numa": CORES,
    "memory": MEM,
    "hugepages": MEM,
    "storage": ROOT_DISK,
    "network": SPACES,
    "spaces": SPACES,
    "sriov": "interfaces",
    "zone": ZONES,
    "tags": TAGS,
    "architecture": ARCH,
    "instance-type": VIRT_TYPE,
}
_NO_HOST_PREFIX: Final = "No VM host can take this request"
#: How many idle VMs to ask the server for (it filters and ranks them; they are checked again
#: here, with their hosts, before one is allocated).
IDLE_LIMIT: Final = 5


class AllocationClient(Protocol):
    """The few :class:`vmhost.client.VmHostClient` methods allocation uses."""

    def list_spaces(self) -> list[schemas.Space]: ...

    def idle_vms(self, limit: int = 100, **request: Any) -> list[schemas.Vm]: ...

    def get_host(self, key: int | str) -> schemas.VmHost: ...

    def allocate_vm(self, vm_id: int, owner: str) -> schemas.Vm: ...

    def release_vm(self, vm_id: int) -> schemas.Vm: ...

    def delete_vm(self, vm_id: int) -> schemas.Deleted: ...

    def compose(
        self, key: int | str | None = None, /, **request: Any
    ) -> schemas.ComposeResult: ...


@dataclasses.dataclass(frozen=True, slots=True)
class Allocation:
    """A machine for Juju: the VM, whether it came from the warm pool, what was asked."""

    vm: schemas.Vm
    reused: bool
    request: ComposeRequest
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
    per-check reasons, and ``str()`` names both.
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
# The request on the wire
# --------------------------------------------------------------------------------------


def _disk_json(disk: DiskRequest) -> dict[str, Any]:
    data: dict[str, Any] = {"size_bytes": disk.size_bytes, "tags": list(disk.tags)}
    if disk.pool is not None:
        data["pool"] = disk.pool
    if disk.label:
        data["label"] = disk.label
    return data


def _nic_json(nic: InterfaceRequest) -> dict[str, Any]:
    data: dict[str, Any] = {"name": nic.name}
    if nic.network is not None:
        data["network"] = list(nic.networks) if nic.or_networks else nic.network
    if nic.space is not None:
        data["space"] = list(nic.spaces) if nic.or_spaces else nic.space
    if nic.kind is not None:
        data["kind"] = nic.kind.value
    return data


def compose_body(request: ComposeRequest, owner: str | None = None) -> dict[str, Any]:
    """The ``POST /api/v1/vms`` body (``schemas.HostComposeBody``) for a compose request."""
    body: dict[str, Any] = {
        "cores": request.cores,
        "memory_mib": request.memory_mib,
        "disks": [_disk_json(d) for d in request.disks],
        "interfaces": [_nic_json(n) for n in request.interfaces],
        "instance_type": request.instance_type.value,
        "tags": list(request.tags),
        "not_tags": list(request.not_tags),
        "not_spaces": list(request.not_spaces),
        "zones": list(request.zones),
        "architecture": request.architecture,
        "zone": request.zone,
        "pool": request.pool,
        "hostname": request.hostname,
        "user_data": request.user_data,
        "host": request.host_id,
        "owner": owner or request.owner or None,
    }
    if request.pinned_cores:
        body["pinned_cores"] = list(request.pinned_cores)
    if request.pin_cores:
        body["pin_cores"] = True
    if request.numa_affinity:
        body["numa_affinity"] = True
    if request.hugepages_backed:
        body["hugepages_backed"] = True
        body["hugepage_size_kib"] = request.hugepage_size_kib
    return {k: v for k, v in body.items() if v is not None}


# --------------------------------------------------------------------------------------
# Matching an idle VM
# --------------------------------------------------------------------------------------


def _vm_mismatch(vm: schemas.Vm, request: ComposeRequest) -> str | None:
    """What the VM itself lacks for the request (host-independent checks), or None."""
    if vm.instance_type != request.instance_type.value:
        return f"is a {vm.instance_type}, not a {request.instance_type.value}"
    if vm.cores < request.cores:
        return f"has {vm.cores} cores, fewer than {request.cores}"
    if vm.memory_mib < request.memory_mib:
        return f"has {vm.memory_mib} MiB of memory, less than {request.memory_mib}"
    if len(vm.disks) < len(request.disks):
        return f"has {len(vm.disks)} disks, fewer than {len(request.disks)}"
    for index, (have, want) in enumerate(zip(vm.disks, request.disks, strict=False)):
        what = "root disk" if index == 0 else f"disk {index + 1}"
        if have.size_bytes < want.size_bytes:
            return f"{what} has {have.size_bytes} bytes, fewer than {want.size_bytes}"
        if want.pool is not None and have.pool != want.pool:
            return f"{what} is in storage pool {have.pool!r}, not {want.pool!r}"
        if want.tags and have.pool not in want.tags:
            # the wire shows no pool tags; only a pool named among the tags is known to match
            return f"{what} is in storage pool {have.pool!r}, not one tagged {','.join(want.tags)}"
    return None


def _host_mismatch(host: schemas.VmHost, request: ComposeRequest) -> str | None:
    """What the VM's host lacks for the request (architecture, zones, pool, tags), or None."""
    if request.architecture is not None:
        names = {a for a in host.architectures} | {a.split("/")[0] for a in host.architectures}
        if request.architecture not in names:
            return f"is on a host that is not {request.architecture}"
    if request.zone is not None and host.zone.name != request.zone:
        return f"is in zone {host.zone.name!r}, not {request.zone!r}"
    if request.zones and host.zone.name not in request.zones:
        return f"is in zone {host.zone.name!r}, not one of {','.join(request.zones)}"
    if request.pool is not None and host.pool.name != request.pool:
        return f"is in resource pool {host.pool.name!r}, not {request.pool!r}"
    missing = [t for t in request.tags if t not in host.tags]
    if missing:
        return f"is on a host without tags {','.join(missing)}"
    excluded = [t for t in request.not_tags if t in host.tags]
    if excluded:
        return f"is on a host with excluded tags {','.join(excluded)}"
    return None


def _nic_spaces(nic: schemas.VmInterface, host: schemas.VmHost) -> set[str]:
    spaces = {s for n in host.networks if n.name == nic.network for s in n.spaces}
    if nic.space:
        spaces.add(nic.space)
    return spaces


def _nics_mismatch(vm: schemas.Vm, host: schemas.VmHost, request: ComposeRequest) -> str | None:
    """A NIC per requested space/network (each VM NIC serves one), none in an excluded space."""
    if request.not_spaces:
        for nic in vm.interfaces:
            bad = sorted(_nic_spaces(nic, host) & set(request.not_spaces))
            if bad:
                return f"has NIC {nic.name} in excluded space {bad[0]!r}"
    free = list(vm.interfaces)
    for want in request.interfaces:
        found = next(
            (
                nic
                for nic in free
                if (want.space is None or want.space in _nic_spaces(nic, host))
                and (want.network is None or nic.network == want.network)
                and (want.kind is None or nic.kind == want.kind.value)
            ),
            None,
        )
        if found is None:
            target = f"space {want.space!r}" if want.space else f"network {want.network!r}"
            return f"has no NIC on {target}" if want.space or want.network else "has no NIC"
        free.remove(found)
    return None


def mismatch(vm: schemas.Vm, host: schemas.VmHost, request: ComposeRequest) -> str | None:
    """Why the idle ``vm`` on ``host`` does not satisfy ``request`` ("has 2 cores, fewer than
    4"), or None when it does."""
    if request.hostname is not None and vm.hostname != request.hostname:
        return f"is named {vm.hostname!r}, not {request.hostname!r}"
    if request.host_id is not None and vm.host.id != request.host_id:
        return f"is on host {vm.host.id}, not {request.host_id}"
    return (
        _vm_mismatch(vm, request)
        or _host_mismatch(host, request)
        or _nics_mismatch(vm, host, request)
    )


def _cost(vm: schemas.Vm) -> tuple[float, int, int]:
    """MAAS's allocation order: cores + memory in GiB, then disk, then age."""
    return (vm.cores + vm.memory_mib / 1024, sum(d.size_bytes for d in vm.disks), vm.id)


def _reuse(client: AllocationClient, request: ComposeRequest, owner: str) -> schemas.Vm | None:
    """Allocate the cheapest idle VM that satisfies the request, or None."""
    if request.hostname is not None:
        return None
    offered = client.idle_vms(limit=IDLE_LIMIT, **compose_body(request))
    idle = sorted((vm for vm in offered if _vm_mismatch(vm, request) is None), key=_cost)
    hosts: dict[int, schemas.VmHost | None] = {}
    for vm in idle:
        if vm.host.id not in hosts:
            try:
                hosts[vm.host.id] = client.get_host(vm.host.id)
            except vmclient.NotFoundError:
                hosts[vm.host.id] = None  # deleted meanwhile
        host = hosts[vm.host.id]
        if host is None or mismatch(vm, host, request) is not None:
            continue
        try:
            return client.allocate_vm(vm.id, owner)
        except (vmclient.ConflictError, vmclient.NotFoundError):
            continue  # another allocator took it (or it went away): the next one
    return None


# --------------------------------------------------------------------------------------
# No capacity: the server's reasons in Juju's words
# --------------------------------------------------------------------------------------


def _constraint_for(
    reason: schemas.Reason, cons: Constraints, storage: str | None, interfaces: str | None
) -> str | None:
    """The Juju constraint (or MAAS-grammar extra) a no-capacity reason is about."""
    key = CHECK_CONSTRAINTS.get(reason.check)
    if key == ROOT_DISK:
        source = cons.root_disk_source
        if source and f"storage pool '{source}'" in reason.reason:
            return ROOT_DISK_SOURCE
        return "storage" if storage and cons.root_disk is None else ROOT_DISK
    if key == SPACES and reason.check == "network" and interfaces:
        named = [s for s in cons.include_spaces() if f"'{s}'" in reason.reason]
        return SPACES if named else "interfaces"
    return key


def _label(key: str, cons: Constraints, request: ComposeRequest, extras: dict[str, str]) -> str:
    """``mem=16384M`` for a set key; the default for an unset one; the extra's text."""
    if key in extras:
        return f"{key}={extras[key]!r}"
    if key in KEYS and cons.get(key) is not None:
        return str(cons.without(*(k for k in KEYS if k != key))) or f"{key}="
    defaults = {
        CORES: f"{request.cores}",
        MEM: f"{request.memory_mib}M",
        ROOT_DISK: f"{request.disks[0].size_bytes // 1024**2}M",
        VIRT_TYPE: request.instance_type.value,
    }
    if key in defaults:
        return f"{key} (not set: vmhost's default {key}={defaults[key]})"
    return key


def no_capacity(
    error: vmclient.ConflictError,
    cons: Constraints,
    request: ComposeRequest,
    storage: str | None = None,
    interfaces: str | None = None,
) -> NoCapacity:
    """The :class:`NoCapacity` for the server's 409, naming the constraints not met."""
    extras = {k: v for k, v in (("storage", storage), ("interfaces", interfaces)) if v}
    grouped: dict[str, list[str]] = {}
    other: list[str] = []
    for reason in error.reasons:
        text = f"{reason.hosts} host{'' if reason.hosts == 1 else 's'} {reason.reason}"
        key = _constraint_for(reason, cons, storage, interfaces)
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
) -> tuple[Constraints, ComposeRequest, tuple[str, ...]]:
    """Parse, validate and translate: (constraints, request, unsupported keys).

    Raises ``ConstraintsError`` (Juju's messages) or ``TranslationError``. ``known_spaces`` is
    called only when spaces or interfaces are given.
    """
    cons = parse(constraints) if isinstance(constraints, str) else constraints
    unsupported = tuple(vmhost_validator(arches).validate(cons))
    spaces = known_spaces() if known_spaces is not None and (cons.spaces or interfaces) else None
    request = translate(
        cons, storage=storage, interfaces=interfaces, defaults=defaults, known_spaces=spaces
    )
    return cons, request, unsupported


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
        known_spaces=lambda: {s.space for s in client.list_spaces()},
        defaults=defaults,
    )
    if user_data is not None:
        request = dataclasses.replace(request, user_data=user_data)
    if warm_pool:
        vm = _reuse(client, request, owner)
        if vm is not None:
            return Allocation(vm, True, request, cons, unsupported)
    try:
        result = client.compose(None, **compose_body(request, owner))
    except vmclient.ConflictError as exc:
        if _is_no_capacity(exc):
            raise no_capacity(exc, cons, request, storage, interfaces) from None
        raise
    return Allocation(result.vm, False, request, cons, unsupported)


def release(client: AllocationClient, vm_id: int, *, warm_pool: bool = False) -> bool:
    """Give a machine back: decompose the VM, or with ``warm_pool`` keep it idle (its owner
    cleared) for the next allocation. True when the VM was kept."""
    if warm_pool:
        client.release_vm(vm_id)
        return True
    client.delete_vm(vm_id)
    return False
