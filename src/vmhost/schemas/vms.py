"""VM and compose wire models.

A compose request gives its disks as ``disks`` (a list) or ``storage`` (MAAS's grammar), and
its NICs as a list or as MAAS's ``interfaces`` grammar; both grammars are parsed once, by
:mod:`vmhost.schemas.maas_grammar`, when the request is validated, and the result is kept
(:meth:`ComposeBody.disk_specs`, :meth:`ComposeBody.interface_specs`). Disk order is kept as
given; the first disk is the root disk. A storage tag that names a storage pool selects that
pool (the service applies the rule: it knows the pools).
"""

from __future__ import annotations

from typing import Literal

import pydantic

from vmhost import model

from . import maas_grammar
from .common import Items, ItemsText, Request, Response
from .errors import Reason

NicKind = Literal["bridge", "macvlan", "sriov"]
InstanceType = Literal["virtual-machine", "container"]
GB = 1000**3
#: An owner: 1 to 255 characters, no control characters.
OWNER_PATTERN = r"^[^\x00-\x1f\x7f]{1,255}$"
#: A disk's size limit (1 EiB), as the grammar's.
MAX_DISK_BYTES = maas_grammar.MAX_DISK_BYTES
#: The least memory a VM can be composed with, in MiB: MAAS's compose minimum (1 GiB). The API,
#: the CLI (through the client) and the Juju provider all check it here.
MIN_MEMORY_MIB = 1024
#: More memory than any host has (1 PiB, in MiB); more vCPUs than any host has.
MAX_MEMORY_MIB = 1024**3
MAX_CORES = 65_536


class DiskSpec(Request):
    """One disk; the first is the root disk."""

    size_bytes: int = pydantic.Field(gt=0, le=MAX_DISK_BYTES)
    pool: str | None = pydantic.Field(default=None, description="storage pool name")
    tags: Items[str] = pydantic.Field(
        default_factory=list, description="storage pool tags (or a pool's name)"
    )
    label: str = ""


def _one_or_more(value: str | list[str] | None) -> str | list[str] | None:
    """A name, or a list of alternatives (MAAS's repeated key): distinct, one is a name."""
    if not isinstance(value, list):
        return value
    if not value:
        raise ValueError("give a name, or a list of one or more names")
    if len(set(value)) != len(value):
        raise ValueError("a name is listed twice")
    return value[0] if len(value) == 1 else value


def _names(value: str | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


class InterfaceSpec(Request):
    """One NIC: on a named host network, or on the network mapped to a space. A list of
    spaces (or networks) means any one of them (MAAS's ``space=a,space=b``)."""

    name: str = ""
    network: str | Items[str] | None = None
    space: str | Items[str] | None = None
    kind: NicKind | None = None

    @pydantic.field_validator("name")
    @classmethod
    def _ifname(cls, value: str) -> str:
        if len(value.encode()) > maas_grammar.MAX_IFNAME_BYTES:
            raise ValueError(
                f"interface name {value!r} is longer than {maas_grammar.MAX_IFNAME_BYTES} "
                "bytes (the kernel's limit)"
            )
        if value in (".", "..") or any(
            c in "/:" or c.isspace() or not c.isprintable() for c in value
        ):
            raise ValueError(f"{value!r} is not an interface name (no '/', ':' or spaces)")
        return value

    @pydantic.field_validator("network", "space")
    @classmethod
    def _alternatives(cls, value: str | list[str] | None) -> str | list[str] | None:
        return _one_or_more(value)

    def spaces(self) -> tuple[str, ...]:
        """The spaces any one of which the NIC may be in (none: not asked for)."""
        return _names(self.space)

    def networks(self) -> tuple[str, ...]:
        """The host networks any one of which the NIC may be on (none: not asked for)."""
        return _names(self.network)

    @classmethod
    def from_grammar(cls, nic: maas_grammar.NicSpec) -> InterfaceSpec:
        """The NIC an ``interfaces`` label asks for."""
        spaces, networks = list(nic.spaces), list(nic.networks)
        return cls.model_validate(
            {
                "name": nic.name,
                "network": networks or None,
                "space": spaces or None,
                "kind": nic.kind,
            }
        )


def _grammar_error(error: maas_grammar.GrammarError, value: str) -> pydantic.ValidationError:
    """A grammar error as the field's validation error (so the API names the field)."""
    return pydantic.ValidationError.from_exception_data(
        "ComposeBody",
        [
            {
                "type": "value_error",
                "loc": (error.field,),
                "input": value,
                "ctx": {"error": ValueError(error.message)},
            }
        ],
    )


def disks_from_storage(
    specs: tuple[maas_grammar.StorageSpec, ...], root_bytes: int
) -> list[DiskSpec]:
    """Disks for parsed storage items; a root of size 0 gets ``root_bytes``."""
    return [
        DiskSpec(
            size_bytes=spec.size_bytes or root_bytes,
            tags=list(spec.tags),
            label=spec.label,
        )
        for spec in specs
    ]


class ComposeBody(Request):
    """What to compose. Sizes carry their units; ``storage`` and ``interfaces`` also take
    MAAS's grammars as strings."""

    cores: int = pydantic.Field(default=1, ge=1, le=MAX_CORES)
    memory_mib: int = pydantic.Field(
        default=2048,
        ge=MIN_MEMORY_MIB,
        le=MAX_MEMORY_MIB,
        description=f"MiB; at least {MIN_MEMORY_MIB} (MAAS's compose minimum)",
    )
    hugepages_backed: bool = False
    hugepage_size_kib: int | None = pydantic.Field(default=None, gt=0, le=2**30)
    pinned_cores: Items[int] = pydantic.Field(
        default_factory=list, description="host cores to pin to"
    )
    pin_cores: bool = pydantic.Field(
        default=False, description="pin to NUMA-local cores vmhost chooses"
    )
    numa_affinity: bool = False
    architecture: str | None = None
    instance_type: InstanceType = "virtual-machine"
    hostname: str | None = None
    zone: str | None = None
    zones: list[str] = pydantic.Field(
        default_factory=list,
        max_length=256,
        description="the host must be in one of these zones (Juju's zones); [] = any",
    )
    pool: str | None = None
    tags: list[str] = pydantic.Field(
        default_factory=list, max_length=256, description="host must have all"
    )
    not_tags: list[str] = pydantic.Field(
        default_factory=list, max_length=256, description="host must have none"
    )
    not_spaces: Items[str] = pydantic.Field(default_factory=list)
    storage: str | None = pydantic.Field(
        default=None, description="MAAS grammar, e.g. 'root:40(ssd),data:100'", max_length=4096
    )
    disks: list[DiskSpec] | None = pydantic.Field(default=None, max_length=64)
    interfaces: ItemsText | Items[InterfaceSpec] | None = pydantic.Field(
        default=None, description="a list, or MAAS grammar 'eth0:space=db;eth1:network=br0'"
    )
    no_interfaces: bool = pydantic.Field(
        default=False,
        description="compose the VM with no NIC (otherwise, with no interfaces given, it gets "
        "one NIC on the host's default network, and a host with none refuses it)",
    )
    user_data: str | None = pydantic.Field(default=None, max_length=1_000_000)
    owner: str | None = pydantic.Field(
        default=None,
        min_length=1,
        max_length=255,
        pattern=OWNER_PATTERN,
        description="allocate the new VM to this owner at once (none: it is idle)",
    )

    @pydantic.field_validator("tags", "not_tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        for tag in value:
            try:
                model.validate_tag(tag)
            except model.InvalidInputError as exc:
                raise ValueError(exc.fields["tag"][0]) from None
        return value

    @pydantic.field_validator("pinned_cores")
    @classmethod
    def _pinned(cls, value: list[int]) -> list[int]:
        if any(c < 0 or c > 1_000_000 for c in value):
            raise ValueError("core numbers are from 0 to 1000000")
        return value

    _disks: list[DiskSpec] | None = pydantic.PrivateAttr(default=None)
    _interfaces: maas_grammar.Interfaces | None = pydantic.PrivateAttr(default=None)

    @pydantic.model_validator(mode="after")
    def _grammars(self) -> ComposeBody:
        if self.storage is not None and self.disks is not None:
            raise ValueError("give storage (MAAS grammar) or disks, not both")
        for field, value in (("storage", self.storage), ("interfaces", self.interfaces)):
            if not isinstance(value, str):
                continue
            try:
                if field == "storage":
                    specs = maas_grammar.storage(value)
                    self._disks = disks_from_storage(specs, maas_grammar.DEFAULT_ROOT_DISK_BYTES)
                else:
                    self._interfaces = maas_grammar.interfaces(value)
            except maas_grammar.GrammarError as exc:
                raise _grammar_error(exc, value) from None
        return self

    def disk_specs(self) -> list[DiskSpec]:
        """The disks asked for, whichever way (none: the default root disk)."""
        if self.disks is not None:
            return list(self.disks)
        return list(self._disks or [])

    def interface_specs(self) -> list[InterfaceSpec]:
        """The NICs asked for, whichever way."""
        if isinstance(self.interfaces, list):
            return list(self.interfaces)
        if self._interfaces is None:
            return []
        return [InterfaceSpec.from_grammar(nic) for nic in self._interfaces.nics]

    def excluded_spaces(self) -> list[str]:
        """``not_spaces``, and the spaces the ``interfaces`` grammar's ``not_space`` keys
        exclude."""
        extra = self._interfaces.not_spaces if self._interfaces is not None else ()
        return list(dict.fromkeys((*self.not_spaces, *extra)))


class HostComposeBody(ComposeBody):
    """Compose on the best host (``host`` pins it to one, by id or name)."""

    host: int | str | None = None


class HostRef(Response):
    """A VM host, briefly."""

    id: int
    name: str
    resource_uri: str


class VmDisk(Response):
    """A disk of a VM."""

    name: str
    size_bytes: int
    pool: str
    volume: str = ""


class VmInterface(Response):
    """A NIC of a VM."""

    name: str
    network: str
    kind: str
    mac_address: str = ""
    space: str | None = None


class Vm(Response):
    """A VM vmhost knows: composed here (``origin=composed``) or found on the host
    (``adopted``, counted as *other* use)."""

    id: int
    name: str
    hostname: str
    host: HostRef
    origin: Literal["composed", "adopted"]
    state: Literal["claimed", "reserved", "ready", "releasing", "missing"]
    power_state: str
    cores: int
    memory_mib: int
    pinned_cores: list[int]
    hugepages_backed: bool
    hugepage_size_kib: int | None = None
    numa_node: int | None = None
    disks: list[VmDisk]
    interfaces: list[VmInterface]
    instance_type: str
    project: str
    uuid: str
    error: str
    resource_uri: str
    owner: str = pydantic.Field(
        default="", description="who the VM is allocated to; '' = idle (composed VMs)"
    )
    addresses: list[str] = pydantic.Field(
        default_factory=list, description="IP addresses as last seen on the host"
    )


class AllocateBody(Request):
    """Allocate an idle VM."""

    owner: str = pydantic.Field(min_length=1, max_length=255, pattern=OWNER_PATTERN)


class ComposeResult(Response):
    """MAAS's compose answer (``system_id``, ``resource_uri``) plus the VM obtained."""

    system_id: str
    resource_uri: str
    host: HostRef
    vm: Vm
    attempts: list[str] = pydantic.Field(
        default_factory=list, description="hosts that failed before the one that worked"
    )


class AllocateMatchingBody(HostComposeBody):
    """A compose request and its owner: the cheapest idle VM that satisfies it is allocated
    to ``owner``; with ``compose``, a miss composes one for ``owner`` instead."""

    owner: str = pydantic.Field(  # required here
        min_length=1,
        max_length=255,
        pattern=OWNER_PATTERN,
        description="who the VM is allocated to",
    )
    compose: bool = pydantic.Field(
        default=False,
        description="when no idle VM matches, compose one for the owner in this request "
        "(409 with the reasons per check when no host can take it); false: 409 on a miss",
    )


class AllocateResult(ComposeResult):
    """The VM allocated: an idle one reused (``reused``), or one composed on a miss."""

    reused: bool = pydantic.Field(description="true: taken from the warm pool; false: composed")


class CandidateHost(Response):
    """A host that could take the request now, best first."""

    host: HostRef
    weight: float
    numa_nodes: list[int]
    disk_pools: list[str]


class Candidates(Response):
    """Where a request would go, and why other hosts would not do."""

    considered: int
    candidates: list[CandidateHost]
    reasons: list[Reason]
    message: str
