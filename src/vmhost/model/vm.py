"""Compose requests and VM records.

A ComposeRequest is what the operator (or Juju) asks for; a Vm is what vmhost knows is on a host,
either composed here (``origin=composed``) or found there (``origin=adopted``, counted as
"other" use).
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Sequence
from typing import Protocol

from .errors import InvalidInputError
from .inventory import NetworkKind, VmDisk

DEFAULT_CORES = 1
DEFAULT_MEMORY_MIB = 2048
DEFAULT_ROOT_DISK_BYTES = 8 * 1000**3  # MAAS composed 8 GB (decimal) root disks
MIN_MEMORY_MIB = 64
MAX_OWNER_LENGTH = 255
_HOSTNAME_RE = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")


class InstanceType(enum.StrEnum):
    """What the hypervisor runs."""

    VIRTUAL_MACHINE = "virtual-machine"
    CONTAINER = "container"


class VmOrigin(enum.StrEnum):
    """Whether vmhost composed a VM or found it on the host."""

    COMPOSED = "composed"
    ADOPTED = "adopted"


class VmState(enum.StrEnum):
    """Life cycle of a VM record; a claim is a record in ``claimed``.

    claimed -> ready (driver done) | released (driver failed, claim given back);
    ready -> releasing -> deleted. A crash leaves ``claimed`` or ``releasing`` rows, which
    reconciliation at the next start settles from what the host really has.
    reserved: a MAAS machine allocated or composed but not deployed (``model/machine.py``): it
    holds its resources and has nothing on the host; reconciliation keeps it as it is.
    """

    CLAIMED = "claimed"
    RESERVED = "reserved"
    READY = "ready"
    RELEASING = "releasing"
    MISSING = "missing"  # the record exists but the host no longer has the VM


@dataclasses.dataclass(frozen=True, slots=True)
class DiskRequest:
    """One disk; the first disk of a request is the root disk."""

    size_bytes: int
    pool: str | None = None  # storage pool name; None = the host's default pool
    tags: tuple[str, ...] = ()  # storage pool tags to match when no pool is named
    label: str = ""

    def __post_init__(self) -> None:
        if self.size_bytes <= 0:
            raise InvalidInputError.for_field(
                "disks", f"disk size must be positive, not {self.size_bytes}"
            )


@dataclasses.dataclass(frozen=True, slots=True)
class InterfaceRequest:
    """One NIC: on a named network, or on the network mapped to a space."""

    name: str = ""
    network: str | None = None
    space: str | None = None
    kind: NetworkKind | None = None  # bridge, macvlan, sriov; None = what the network is
    # MAAS ORs a repeated key (``space=a,space=b``): further spaces/networks that also do
    or_spaces: tuple[str, ...] = ()
    or_networks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.or_spaces and self.space is None:
            raise InvalidInputError.for_field("interfaces", "or_spaces without a space")
        if self.or_networks and self.network is None:
            raise InvalidInputError.for_field("interfaces", "or_networks without a network")

    @property
    def spaces(self) -> tuple[str, ...]:
        """The spaces any one of which the NIC may be in (none: no space asked for)."""
        return (self.space, *self.or_spaces) if self.space is not None else ()

    @property
    def networks(self) -> tuple[str, ...]:
        """The host networks any one of which the NIC may be on (none: not asked for)."""
        return (self.network, *self.or_networks) if self.network is not None else ()


@dataclasses.dataclass(frozen=True, slots=True)
class ComposeRequest:
    """Everything needed to choose a host and compose a VM there."""

    cores: int = DEFAULT_CORES
    memory_mib: int = DEFAULT_MEMORY_MIB
    disks: tuple[DiskRequest, ...] = (DiskRequest(DEFAULT_ROOT_DISK_BYTES),)
    interfaces: tuple[InterfaceRequest, ...] = ()  # () = one NIC on the host's default network
    no_interfaces: bool = False  # compose with no NIC at all (interfaces must be empty)
    pinned_cores: tuple[int, ...] = ()  # explicit host cores to pin to
    pin_cores: bool = False  # pin ``cores`` NUMA-local cores chosen by vmhost
    numa_affinity: bool = False  # keep vCPUs and memory within one NUMA node
    hugepages_backed: bool = False
    hugepage_size_kib: int | None = None
    architecture: str | None = None
    instance_type: InstanceType = InstanceType.VIRTUAL_MACHINE
    hostname: str | None = None
    zone: str | None = None
    pool: str | None = None  # resource pool
    tags: tuple[str, ...] = ()  # host must have all
    not_tags: tuple[str, ...] = ()  # host must have none
    not_spaces: tuple[str, ...] = ()
    host_id: int | None = None  # compose on this host only
    user_data: str | None = None  # cloud-init
    zones: tuple[str, ...] = ()  # host in one of these (Juju's zones); () = any
    owner: str = ""  # allocated to this owner from the start ("" = idle once composed)

    def __post_init__(self) -> None:
        errors: dict[str, list[str]] = {}
        if isinstance(self.cores, bool) or not isinstance(self.cores, int) or self.cores < 1:
            errors["cores"] = [f"must be a positive integer, not {self.cores!r}"]
        if (
            isinstance(self.memory_mib, bool)
            or not isinstance(self.memory_mib, int)
            or self.memory_mib < MIN_MEMORY_MIB
        ):
            errors["memory_mib"] = [f"must be an integer of at least {MIN_MEMORY_MIB} MiB"]
        if not self.disks:
            errors["disks"] = ["at least a root disk is needed"]
        if self.pinned_cores:
            if len(set(self.pinned_cores)) != len(self.pinned_cores):
                errors["pinned_cores"] = ["a core is listed twice"]
            elif any(c < 0 for c in self.pinned_cores):
                errors["pinned_cores"] = ["core numbers are non-negative"]
            elif len(self.pinned_cores) != self.cores:
                errors["pinned_cores"] = [
                    f"{len(self.pinned_cores)} cores listed but cores is {self.cores}"
                ]
        if self.hostname is not None and not _HOSTNAME_RE.match(self.hostname):
            errors["hostname"] = [
                f"{self.hostname!r} is not a valid hostname (lower-case letters, digits, '-')"
            ]
        errors.update(self._option_errors())
        if self.owner and (len(self.owner) > MAX_OWNER_LENGTH or not self.owner.isprintable()):
            errors["owner"] = [f"must be 1 to {MAX_OWNER_LENGTH} printable characters"]
        if errors:
            first = next(iter(errors.items()))
            raise InvalidInputError(f"{first[0]}: {first[1][0]}", errors)

    def _option_errors(self) -> dict[str, list[str]]:
        """Options that only go with others."""
        errors: dict[str, list[str]] = {}
        if self.no_interfaces and self.interfaces:
            errors["no_interfaces"] = ["give interfaces or no_interfaces, not both"]
        if self.hugepage_size_kib is not None and not self.hugepages_backed:
            errors["hugepage_size_kib"] = ["only with hugepages_backed"]
        return errors

    @property
    def pinned(self) -> bool:
        """Whether the VM gets dedicated host cores."""
        return bool(self.pinned_cores) or self.pin_cores

    @property
    def sriov_interfaces(self) -> int:
        """How many SR-IOV virtual functions the request needs."""
        return sum(1 for i in self.interfaces if i.kind is NetworkKind.SRIOV)

    @property
    def total_disk_bytes(self) -> int:
        """All disks together."""
        return sum(d.size_bytes for d in self.disks)


@dataclasses.dataclass(frozen=True, slots=True)
class VmInterface:
    """A NIC of a VM."""

    name: str
    network: str
    kind: NetworkKind
    mac_address: str = ""
    space: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Vm:
    """A VM vmhost knows about, with the resources it holds."""

    id: int
    host_id: int
    name: str
    origin: VmOrigin
    state: VmState
    cores: int
    memory_mib: int
    pinned_cores: tuple[int, ...] = ()
    hugepages_backed: bool = False
    hugepage_size_kib: int | None = None
    numa_node: int | None = None
    # memory per NUMA node (MiB) when pinned or NUMA-affine; {} when floating
    numa_memory_mib: tuple[tuple[int, int], ...] = ()
    disks: tuple[VmDisk, ...] = ()
    interfaces: tuple[VmInterface, ...] = ()
    instance_type: InstanceType = InstanceType.VIRTUAL_MACHINE
    power_state: str = "unknown"
    project: str = ""
    hostname: str = ""
    uuid: str = ""
    error: str = ""
    created_at: float = 0.0
    owner: str = ""  # who the VM is allocated to; "" = idle (composed VMs only)
    addresses: tuple[str, ...] = ()  # as last seen on the host

    @property
    def used_cores(self) -> int:
        """Cores held: pinned ones when pinned, else vCPUs."""
        return len(self.pinned_cores) if self.pinned_cores else self.cores


def sole_numa_node(nodes: Sequence[int]) -> int | None:
    """The NUMA node a VM is bound to when its nodes are exactly one, else None (a VM over
    several nodes, or over none, is bound to no one node)."""
    return nodes[0] if len(nodes) == 1 else None


class FoundVm(Protocol):
    """The size and UUID of a VM as its host has it (a driver's parse of it, or its record)."""

    @property
    def name(self) -> str: ...
    @property
    def cores(self) -> int: ...
    @property
    def memory_mib(self) -> int: ...
    @property
    def pinned_cores(self) -> tuple[int, ...]: ...
    @property
    def hugepages_backed(self) -> bool: ...
    @property
    def uuid(self) -> str: ...


@dataclasses.dataclass(frozen=True, slots=True)
class ComposedVm:
    """What a driver really obtained (asked vs got)."""

    name: str
    cores: int
    memory_mib: int
    pinned_cores: tuple[int, ...] = ()
    hugepages_backed: bool = False
    disks: tuple[VmDisk, ...] = ()
    interfaces: tuple[VmInterface, ...] = ()
    instance_type: InstanceType = InstanceType.VIRTUAL_MACHINE
    power_state: str = "running"
    uuid: str = ""
    addresses: tuple[str, ...] = ()

    @classmethod
    def as_found(
        cls,
        vm: FoundVm,
        *,
        disks: tuple[VmDisk, ...],
        interfaces: tuple[VmInterface, ...],
        instance_type: InstanceType,
        power_state: str,
    ) -> ComposedVm:
        """What was obtained: ``vm`` (read back from the host after the compose) gives the
        name, size and UUID; the plan gives the disks and interfaces."""
        return cls(
            name=vm.name,
            cores=vm.cores,
            memory_mib=vm.memory_mib,
            pinned_cores=vm.pinned_cores,
            hugepages_backed=vm.hugepages_backed,
            disks=disks,
            interfaces=interfaces,
            instance_type=instance_type,
            power_state=power_state,
            uuid=vm.uuid,
        )
