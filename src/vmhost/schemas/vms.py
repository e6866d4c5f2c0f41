"""VM and compose wire models, with MAAS's storage and interfaces grammars.

``storage`` (MAAS, reference §4.2): ``label:sizeGB(tag,...)`` items separated by commas, sizes
in decimal GB (``1.5`` is 1 500 000 000 bytes); the first item is the root disk. A tag that
names a storage pool selects that pool; other tags must all be tags of the chosen pool.
Disk order is kept as given (MAAS re-sorted all but the first by tag count).

``interfaces`` (MAAS, reference §4.3): ``label:key=value[,key=value];label2:...``. vmhost
understands ``space``, ``network`` (``name`` is taken as a synonym: the host network or
bridge) and ``type`` (``bridge``, ``macvlan``, ``sriov``). A numeric label ``N`` names the
NIC ``ethN``. MAAS keys vmhost does not implement are refused by name, never ignored.
"""

from __future__ import annotations

import re
from typing import Literal

import pydantic

from .common import Reason, Request, Response

NicKind = Literal["bridge", "macvlan", "sriov"]
InstanceType = Literal["virtual-machine", "container"]
GB = 1000**3

_STORAGE_ITEM = re.compile(
    r"(?:(?P<label>[a-zA-Z0-9]+):)?(?P<size>[0-9.]+)(?:\((?P<tags>[^)]+)\))?"
)
_LABEL = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$")
#: An owner: 1 to 255 characters, no control characters.
OWNER_PATTERN = r"^[^\x00-\x1f\x7f]{1,255}$"
_MAAS_INTERFACE_KEYS = {
    "id",
    "not_id",
    "fabric",
    "not_fabric",
    "fabric_class",
    "not_fabric_class",
    "ip",
    "not_ip",
    "mode",
    "not_name",
    "hostname",
    "not_hostname",
    "subnet",
    "not_subnet",
    "not_space",
    "subnet_cidr",
    "not_subnet_cidr",
    "vlan",
    "not_vlan",
    "vid",
    "not_vid",
    "tag",
    "not_tag",
    "link_speed",
}


class DiskSpec(Request):
    """One disk; the first is the root disk."""

    size_bytes: int = pydantic.Field(gt=0, le=2**60)
    pool: str | None = pydantic.Field(default=None, description="storage pool name")
    tags: list[str] = pydantic.Field(
        default_factory=list, description="storage pool tags (or a pool's name)"
    )
    label: str = ""


class InterfaceSpec(Request):
    """One NIC: on a named host network, or on the network mapped to a space."""

    name: str = ""
    network: str | None = None
    space: str | None = None
    kind: NicKind | None = None


def parse_storage(text: str) -> list[DiskSpec]:
    """MAAS's storage grammar to disks (ValueError with MAAS's message when malformed)."""
    matches = list(_STORAGE_ITEM.finditer(text))
    rendered = ",".join(m.group(0) for m in matches)
    if not text or not matches or rendered != text:
        raise ValueError(f'Malformed storage constraint, "{text}".')
    disks = []
    for m in matches:
        try:
            size = float(m.group("size"))
        except ValueError:
            raise ValueError(f'Malformed storage constraint, "{text}".') from None
        size_bytes = int(size * GB)
        if size_bytes <= 0:
            raise ValueError(f"disk {m.group(0)!r}: the size must be more than 0 GB")
        tags = [t for t in (m.group("tags") or "").split(",") if t]
        disks.append(DiskSpec(size_bytes=size_bytes, tags=tags, label=m.group("label") or ""))
    return disks


def _ifname(label: str) -> str:
    return f"eth{label}" if label.isdigit() else label


def _interface_values(label: str, body: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in body.split(","):
        key, eq, value = pair.partition("=")
        if not eq or not key or not value:
            raise ValueError(f"Malformed key/value pair in constraint: {pair!r}")
        if key in values:
            raise ValueError(f"{label}: {key!r} is given twice (vmhost takes one value)")
        values[key] = value
    return values


def _interface(label: str, values: dict[str, str]) -> InterfaceSpec:
    spec: dict[str, str | None] = {"name": _ifname(label)}
    for key, value in values.items():
        if key == "space":
            spec["space"] = value
        elif key in ("network", "name"):
            spec["network"] = value
        elif key == "type":
            if value not in ("bridge", "macvlan", "sriov"):
                raise ValueError(f"{label}: type {value!r} is not one of bridge, macvlan, sriov")
            spec["kind"] = value
        elif key in _MAAS_INTERFACE_KEYS:
            raise ValueError(
                f"{label}: the interfaces constraint {key!r} is not supported by vmhost "
                "(use space, network or type)"
            )
        else:
            raise ValueError(f"Unknown interfaces constraint: {key!r}")
    return InterfaceSpec.model_validate(spec)


def parse_interfaces(text: str) -> list[InterfaceSpec]:
    """MAAS's interfaces grammar to NICs (ValueError with MAAS's messages when malformed)."""
    result: list[InterfaceSpec] = []
    labels: set[str] = set()
    for constraint in text.split(";"):
        label, sep, body = constraint.partition(":")
        if not sep or not body:
            raise ValueError(
                f"Malformed constraint: {constraint!r} (required format: "
                "'<label>:<key>=<value>[,<key2>=<value2>[,...]]')"
            )
        if not _LABEL.match(label):
            raise ValueError(
                f"Invalid label name: {label!r} (Must begin with an alphanumeric character, "
                "and include only alphanumeric characters, dashes, and underscores.)"
            )
        if label in labels:
            raise ValueError(f"Constraint label defined more than once: {label!r}")
        labels.add(label)
        result.append(_interface(label, _interface_values(label, body)))
    return result


class ComposeBody(Request):
    """What to compose. Sizes carry their units; ``storage`` and ``interfaces`` also take
    MAAS's grammars as strings."""

    cores: int = pydantic.Field(default=1, ge=1, le=4096)
    memory_mib: int = pydantic.Field(default=2048, ge=64, le=2**40)
    hugepages_backed: bool = False
    hugepage_size_kib: int | None = pydantic.Field(default=None, gt=0, le=2**30)
    pinned_cores: list[int] = pydantic.Field(
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
    tags: list[str] = pydantic.Field(default_factory=list, description="host must have all")
    not_tags: list[str] = pydantic.Field(default_factory=list, description="host must have none")
    not_spaces: list[str] = pydantic.Field(default_factory=list)
    storage: str | None = pydantic.Field(
        default=None, description="MAAS grammar, e.g. 'root:40(ssd),data:100'", max_length=4096
    )
    disks: list[DiskSpec] | None = pydantic.Field(default=None, max_length=64)
    interfaces: str | list[InterfaceSpec] | None = pydantic.Field(
        default=None, description="a list, or MAAS grammar 'eth0:space=db;eth1:network=br0'"
    )
    user_data: str | None = pydantic.Field(default=None, max_length=1_000_000)
    owner: str | None = pydantic.Field(
        default=None,
        min_length=1,
        max_length=255,
        pattern=OWNER_PATTERN,
        description="allocate the new VM to this owner at once (none: it is idle)",
    )

    @pydantic.field_validator("pinned_cores")
    @classmethod
    def _pinned(cls, value: list[int]) -> list[int]:
        if any(c < 0 or c > 1_000_000 for c in value):
            raise ValueError("core numbers are from 0 to 1000000")
        return value

    @pydantic.field_validator("storage")
    @classmethod
    def _storage_grammar(cls, value: str | None) -> str | None:
        if value is not None:
            parse_storage(value)
        return value

    @pydantic.field_validator("interfaces")
    @classmethod
    def _interfaces_grammar(
        cls, value: str | list[InterfaceSpec] | None
    ) -> str | list[InterfaceSpec] | None:
        if isinstance(value, str) and value:
            parse_interfaces(value)
        return value

    @pydantic.model_validator(mode="after")
    def _storage_xor_disks(self) -> ComposeBody:
        if self.storage is not None and self.disks is not None:
            raise ValueError("give storage (MAAS grammar) or disks, not both")
        return self

    def disk_specs(self) -> list[DiskSpec]:
        """The disks asked for, whichever way (none: the default root disk)."""
        if self.disks is not None:
            return list(self.disks)
        if self.storage is not None:
            return parse_storage(self.storage)
        return []

    def interface_specs(self) -> list[InterfaceSpec]:
        """The NICs asked for, whichever way."""
        if self.interfaces is None:
            return []
        if isinstance(self.interfaces, str):
            return parse_interfaces(self.interfaces) if self.interfaces else []
        return list(self.interfaces)


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
    state: Literal["claimed", "ready", "releasing", "missing"]
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
