"""Juju constraints (plus MAAS's storage and interfaces grammars) -> a vmhost ComposeRequest.

Pure: no I/O, no logging, nothing global that changes. :func:`translate` takes a parsed
:class:`~vmhost_provider.constraints.Constraints` (validate it first with
:func:`~vmhost_provider.validation.vmhost_validator`, which warns about the keys ignored here)
and returns a :class:`vmhost.model.ComposeRequest`, or raises :class:`TranslationError` (a
``ValueError``) whose ``constraint`` attribute names the offending input.

Rules (``/work/shared/reference/juju-constraints.md`` §4-§5, ``maas-vm-hosts.md`` §4):

==================== ======================================================================
Juju constraint      ComposeRequest
==================== ======================================================================
``cores``            ``cores``; unset or ``cores=`` (0) -> ``Defaults.cores``
``mem`` (MiB)        ``memory_mib``; unset or 0 -> ``Defaults.memory_mib``
``root-disk`` (MiB)  root disk ``size_bytes`` = MiB x 1024²; unset or 0 ->
                     ``Defaults.root_disk_bytes``
``root-disk-source`` root disk ``pool`` (as Juju's LXD provider); ``""`` -> the host's default
``arch``             ``architecture``; ``""`` -> None (any)
``tags``             ``tags`` / ``not_tags`` (``^x``), read as Juju's MAAS provider reads
                     them: empty items and a bare ``^`` are skipped; duplicates dropped
``zones``            one zone -> ``zone``; several -> ``zones`` (the host must be in one of
                     them: the scheduler's zone filter honours it); empty items skipped
``virt-type``        ``instance_type``: ``virtual-machine`` / ``container``; unset or ``""``
                     -> ``Defaults.instance_type`` (virtual-machine)
``spaces``           each distinct positive space -> one ``InterfaceRequest(space=...)`` named
                     ``eth0``, ``eth1``, ... in order; ``^space`` -> ``not_spaces``
``container``        ignored: ``container=lxd`` asks Juju to put the workload in an LXD
                     container on the machine; Juju's placement acts on it, not the provider
``cpu-power``,       ignored (the validator reports them as unsupported)
``instance-type``,
``instance-role``,
``allocate-public-ip``,
``image-id``
==================== ======================================================================

**Zones.** Juju's ``zones`` means "any one of these" (its provisioner picks one and retries
in the next). vmhost's scheduler can weigh hosts across all of them at once, so a list of
zones becomes ``ComposeRequest.zones`` (added for this; empty = any) instead of one request
per zone. A single zone uses ``zone``, which the store also prefilters on and the service
checks by name.

**Storage** (``storage="root:40(fast),data:100(ssd)"``, MAAS's grammar, §4.2): each item
matches ``(?:(?P<label>[a-zA-Z0-9]+):)?(?P<size>[0-9.]+)(?:\\((?P<tags>[^)]+)\\))?``; the
items, re-rendered and joined with ``,``, must equal the input, else
``Malformed storage constraint, "<value>".`` (also when the size is not a number, such as
``1.2.3``, which MAAS would crash on later). Sizes are decimal GB, truncated to whole bytes
and computed exactly (MAAS's float arithmetic makes ``0.3`` 299999999 bytes; here it is
300000000). The first item is the root disk; the others follow in the order written (MAAS
re-sorts them by tag count to match existing devices greedily; compose creates disks, so
nothing is matched). Labels are kept as ``DiskRequest.label``. Within the parentheses, the
**first** tag names the disk's storage pool if it is one of ``known_pools``; otherwise (or
without ``known_pools``) every tag is a pool tag (the scheduler also accepts a pool whose name
is among the tags). Empty tags (``(a,,b)``) are skipped.

**root-disk vs storage.** Juju's MAAS provider *builds* ``storage`` from ``root-disk``: its
first item is ``root:<root-disk in GiB>``, or ``root:0`` when only extra volumes are asked for
(§4.3). So ``storage`` is the finer, lower-level statement and wins for the root disk: a
non-zero size of its first item beats ``root-disk``, and tags on it beat
``root-disk-source``. A zero size (Juju's ``root:0``) means "not said": ``root-disk``, else the
default, gives the size; no tags mean ``root-disk-source``, else the host's default pool, gives
the pool. A zero-sized extra disk is an error.

**Interfaces** (``interfaces="label:space=db,type=sriov;label2:space=storage"``, MAAS's
labelled constraint map, §4.3): parsed exactly as MAAS parses it, with MAAS's messages
(``Malformed constraint: ...``, ``Constraint label defined more than once: ...``,
``Malformed key/value pair in constraint: ...``, ``Invalid label name: ...``; a value of one
character or none is an empty map). Each label is one NIC named as MAAS names it (``N`` ->
``ethN``; names over 15 bytes -> ``eth-<crc32>-<last 5>``), in the order written. Keys:

* ``space=<s>``: the NIC is on the network mapped to space ``s``;
* ``name=<n>`` (MAAS: the host interface) or ``network=<n>`` (vmhost's spelling): the NIC is on
  host network ``n``;
* ``type=bridge|macvlan|sriov``: how the NIC attaches (``NetworkKind``);
* ``not_space=<s>``: added to the request's ``not_spaces`` (as Juju's own ``^space``, a
  request-level exclusion; vmhost cannot exclude per NIC).

Repeating a key with the same value is harmless; MAAS ORs different values, which a vmhost NIC
cannot express, so that is an error (except ``not_space``, where they simply add up). Any other
key is refused as MAAS refuses unknown keys: ``Unknown interfaces constraint: '<key>``
(MAAS's text, missing quote included), with ``(not supported by vmhost)`` appended for keys
MAAS knows (``fabric``, ``vlan``, ``ip``, ...). Juju's positive spaces that no labelled NIC is
on get a NIC each after the labelled ones, named ``ethN`` with the lowest free ``N``.

**Spaces.** With ``known_spaces`` (the spaces that have a network mapped to them), any space
named positively or negatively that is not known is refused, naming them all (the service
checks again when it composes). A space both required and excluded is Juju's error
``negative space "X" from constraints clashes with required spaces for instance NICs``; a tag
both required and excluded is refused likewise.

**Defaults** (:class:`Defaults`, the ``defaults`` argument) fill unset keys: by default
vmhost's compose defaults, 1 core, 2048 MiB and an 8 GB (decimal) root disk, and a virtual
machine, as MAAS composes.

**Limits.** Values that would overflow what vmhost stores, or that no host could ever have,
are refused naming the constraint: more than :data:`MAX_CORES` cores, memory below vmhost's
minimum (64 MiB) or above :data:`MAX_MEMORY_MIB`, a disk above :data:`MAX_DISK_BYTES`.
"""

from __future__ import annotations

import dataclasses
import re
import zlib
from collections.abc import Collection, Iterable, Mapping
from typing import Final

from vmhost.model import (
    DEFAULT_CORES,
    DEFAULT_MEMORY_MIB,
    DEFAULT_ROOT_DISK_BYTES,
    ComposeRequest,
    DiskRequest,
    InstanceType,
    InterfaceRequest,
    NetworkKind,
)
from vmhost.model.vm import MIN_MEMORY_MIB
from vmhost_provider.constraints import Constraints, go_quote

__all__ = [
    "DEFAULTS",
    "INTERFACE_KEYS",
    "INTERFACE_TYPES",
    "MAAS_INTERFACE_KEYS",
    "MAX_CORES",
    "MAX_DISK_BYTES",
    "MAX_MEMORY_MIB",
    "STORAGE_REGEX",
    "Defaults",
    "StorageSpec",
    "TranslationError",
    "ifname_for_label",
    "parse_interfaces",
    "parse_storage",
    "translate",
]

MIB: Final = 1024**2
GB: Final = 1000**3
#: More vCPUs than any host has; also keeps the count well inside a 32-bit column.
MAX_CORES: Final = 65_536
#: 1 PiB, in MiB.
MAX_MEMORY_MIB: Final = 1024**3
#: 1 EiB: sums of a few such disks still fit a signed 64-bit integer.
MAX_DISK_BYTES: Final = 1024**6

#: MAAS's storage item (``node_constraint_filter_forms.STORAGE_REGEX``).
STORAGE_REGEX: Final = re.compile(
    r"(?:(?P<label>[a-zA-Z0-9]+)\:)?"  # Optional label
    r"(?P<size>[0-9.]+)"  # Mandatory size
    r"(?:\((?P<tags>[^)]+)\))?",  # Optional tag list between parentheses
)
# MAAS uses re.match with "$", which also accepts a trailing newline; fullmatch does not.
_LABEL_RE: Final = re.compile(r"[a-zA-Z0-9]+[a-zA-Z0-9_-]*")

#: MAAS's ``NETWORKING_CONSTRAINT_NAMES``.
MAAS_INTERFACE_KEYS: Final = frozenset(
    {
        "id",
        "not_id",
        "fabric",
        "not_fabric",
        "fabric_class",
        "not_fabric_class",
        "ip",
        "not_ip",
        "mode",
        "name",
        "not_name",
        "hostname",
        "not_hostname",
        "subnet",
        "not_subnet",
        "space",
        "not_space",
        "subnet_cidr",
        "not_subnet_cidr",
        "type",
        "vlan",
        "not_vlan",
        "vid",
        "not_vid",
        "tag",
        "not_tag",
        "link_speed",
    }
)
#: The interfaces keys vmhost honours (``network`` is vmhost's own spelling of ``name``).
INTERFACE_KEYS: Final = ("name", "network", "not_space", "space", "type")
#: ``type=`` values.
INTERFACE_TYPES: Final[Mapping[str, NetworkKind]] = {
    "bridge": NetworkKind.BRIDGE,
    "macvlan": NetworkKind.MACVLAN,
    "sriov": NetworkKind.SRIOV,
}
_VIRT_TYPES: Final[Mapping[str, InstanceType]] = {t.value: t for t in InstanceType}


class TranslationError(ValueError):
    """The constraints cannot become a compose request; ``constraint`` names the input."""

    def __init__(self, constraint: str, message: str) -> None:
        super().__init__(message)
        self.constraint = constraint


def _bad(key: str, message: str) -> TranslationError:
    """Juju's wording for a bad value: ``bad "<key>" constraint: <message>``."""
    return TranslationError(key, f"bad {go_quote(key)} constraint: {message}")


@dataclasses.dataclass(frozen=True, slots=True)
class Defaults:
    """What an unset (or zero) constraint becomes. The defaults are vmhost's (and MAAS's)."""

    cores: int = DEFAULT_CORES
    memory_mib: int = DEFAULT_MEMORY_MIB
    root_disk_bytes: int = DEFAULT_ROOT_DISK_BYTES
    instance_type: InstanceType = InstanceType.VIRTUAL_MACHINE

    def __post_init__(self) -> None:
        if not 1 <= self.cores <= MAX_CORES:
            raise ValueError(f"default cores must be 1 to {MAX_CORES}, not {self.cores}")
        if not MIN_MEMORY_MIB <= self.memory_mib <= MAX_MEMORY_MIB:
            raise ValueError(
                f"default memory must be {MIN_MEMORY_MIB} to {MAX_MEMORY_MIB} MiB, "
                f"not {self.memory_mib}"
            )
        if not 1 <= self.root_disk_bytes <= MAX_DISK_BYTES:
            raise ValueError(
                f"default root disk must be 1 to {MAX_DISK_BYTES} bytes, "
                f"not {self.root_disk_bytes}"
            )


#: vmhost's compose defaults: 1 core, 2048 MiB, an 8 GB root disk, a virtual machine.
DEFAULTS: Final = Defaults()


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    """Items in first-seen order, without empty ones or repeats."""
    return tuple(dict.fromkeys(item for item in items if item))


# --------------------------------------------------------------------------------------
# Storage: MAAS's grammar
# --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class StorageSpec:
    """One item of a storage constraint: ``[label:]size[(tag,...)]``; size in decimal GB."""

    label: str
    size: str  # as written
    size_bytes: int
    tags: tuple[str, ...]  # empty items skipped


def _gb_to_bytes(text: str) -> int | None:
    """Decimal GB (digits and at most one point) -> whole bytes, truncated; None if not a number.

    Exact integer arithmetic; absurdly long numbers give ``MAX_DISK_BYTES + 1`` rather than
    a huge integer (and stay clear of Python's int/str digit limit).
    """
    whole, _, fraction = text.partition(".")
    if "." in fraction or not (whole or fraction):
        return None
    if len(whole.lstrip("0")) > 20:
        return MAX_DISK_BYTES + 1
    return int(whole or "0") * GB + int((fraction[:9] or "0").ljust(9, "0"))


def parse_storage(value: str) -> tuple[StorageSpec, ...]:
    """MAAS's storage constraint (``storage_validator`` + ``get_storage_constraints...``).

    ``""`` is no constraint. Items keep the order written. Raises :class:`TranslationError`
    with ``Malformed storage constraint, "<value>".``
    """
    if value == "":
        return ()
    malformed = TranslationError("storage", f'Malformed storage constraint, "{value}".')
    groups: list[tuple[str, str, str]] = STORAGE_REGEX.findall(value)
    if not groups:
        raise malformed
    rendered = [
        (f"{label}:" if label else "") + size + (f"({tags})" if tags else "")
        for label, size, tags in groups
    ]
    if ",".join(rendered) != value:
        raise malformed
    specs: list[StorageSpec] = []
    for label, size, tags in groups:
        size_bytes = _gb_to_bytes(size)
        if size_bytes is None:
            raise malformed
        specs.append(StorageSpec(label, size, size_bytes, _split_tags(tags)))
    return tuple(specs)


def _split_tags(tags: str) -> tuple[str, ...]:
    return tuple(tag for tag in tags.split(",") if tag) if tags else ()


def _pool_and_tags(
    tags: tuple[str, ...], known_pools: Collection[str] | None
) -> tuple[str | None, tuple[str, ...]]:
    """The first tag is the pool when it is a known pool name; the rest are pool tags."""
    if known_pools is not None and tags and tags[0] in known_pools:
        return tags[0], tags[1:]
    return None, tags


def _disk_name(index: int, spec: StorageSpec) -> str:
    return go_quote(spec.label) if spec.label else f"#{index}"


def _check_disk(index: int, spec: StorageSpec, *, root: bool) -> None:
    if spec.size_bytes > MAX_DISK_BYTES:
        raise _bad(
            "storage",
            f"disk {_disk_name(index, spec)} of {spec.size} GB is more than vmhost's limit "
            f"of {MAX_DISK_BYTES} bytes (1 EiB)",
        )
    if spec.size_bytes == 0 and not root:
        raise _bad("storage", f"disk {_disk_name(index, spec)} has no size ({spec.size} GB)")


def _disks(
    cons: Constraints,
    storage: str | None,
    defaults: Defaults,
    known_pools: Collection[str] | None,
) -> tuple[DiskRequest, ...]:
    size = defaults.root_disk_bytes
    if cons.root_disk:
        if cons.root_disk * MIB > MAX_DISK_BYTES:
            raise _bad(
                "root-disk",
                f"{cons.root_disk} MiB is more than vmhost's limit of "
                f"{MAX_DISK_BYTES // MIB} MiB (1 EiB)",
            )
        size = cons.root_disk * MIB
    pool = cons.root_disk_source or None
    tags: tuple[str, ...] = ()
    label = ""
    specs = parse_storage(storage or "")
    for index, spec in enumerate(specs, start=1):
        _check_disk(index, spec, root=index == 1)
    extra: list[DiskRequest] = []
    if specs:
        root, *others = specs
        size = root.size_bytes or size
        label = root.label
        if root.tags:
            pool, tags = _pool_and_tags(root.tags, known_pools)
        for spec in others:
            spec_pool, spec_tags = _pool_and_tags(spec.tags, known_pools)
            extra.append(DiskRequest(spec.size_bytes, spec_pool, spec_tags, spec.label))
    return (DiskRequest(size, pool, tags, label), *extra)


# --------------------------------------------------------------------------------------
# Interfaces: MAAS's labelled constraint map
# --------------------------------------------------------------------------------------


def parse_interfaces(value: str) -> dict[str, dict[str, list[str]]]:
    """MAAS's ``parse_labeled_constraint_map``: ``label:key=value[,...][;label2:...]``.

    Returns ``{label: {key: [values in order]}}``, labels in order. A value of one character
    or none is an empty map (as in MAAS). Raises :class:`TranslationError` with MAAS's text.
    """
    if len(value) <= 1:
        return {}
    result: dict[str, dict[str, list[str]]] = {}
    for constraint in value.split(";"):
        label, colon, rest = constraint.partition(":")
        if not colon:
            raise TranslationError(
                "interfaces",
                f"Malformed constraint: '{constraint}' (required format: "
                "'<label>:<key>=<value>[,<key2>=<value2>[,...]]')",
            )
        if not _LABEL_RE.fullmatch(label):
            raise TranslationError(
                "interfaces",
                f"Invalid label name: '{label}' (Must begin with an alphanumeric character, "
                "and include only alphanumeric characters, dashes, and underscores.)",
            )
        if label in result:
            raise TranslationError(
                "interfaces", f"Constraint label defined more than once: '{label}'"
            )
        pairs: dict[str, list[str]] = {}
        for kvp in rest.split(","):
            key, equals, item = kvp.partition("=")
            if not equals:
                raise TranslationError(
                    "interfaces", f"Malformed key/value pair in constraint: '{kvp}'"
                )
            pairs.setdefault(key, []).append(item)
        result[label] = pairs
    return result


def ifname_for_label(label: str) -> str:
    """MAAS's ``get_ifname_for_label``: ``N`` -> ``ethN``; over 15 bytes -> hashed."""
    if label.isdecimal():
        label = f"eth{int(label)}"
    raw = label.encode("utf-8")
    if len(raw) > 15:
        digest = f"{zlib.crc32(raw) & 0xFFFFFFFF:05x}"[-5:]
        return f"eth-{digest}-{raw[-5:].decode('utf-8', 'replace')}"
    return label


def _one(label: str, what: str, values: Iterable[str]) -> str | None:
    """The single value of a NIC property, None if absent; several distinct are an error."""
    distinct = _unique(values)
    if len(distinct) > 1:
        listed = ", ".join(f"'{value}'" for value in distinct)
        raise TranslationError(
            "interfaces",
            f"Label '{label}' asks for more than one {what}: {listed} "
            "(a vmhost NIC is on exactly one)",
        )
    return distinct[0] if distinct else None


def _check_interface_keys(label: str, pairs: Mapping[str, list[str]]) -> None:
    for key, values in pairs.items():
        if key not in INTERFACE_KEYS:
            hint = " (not supported by vmhost)" if key in MAAS_INTERFACE_KEYS else ""
            raise TranslationError("interfaces", f"Unknown interfaces constraint: '{key}{hint}")
        if "" in values:
            raise TranslationError(
                "interfaces", f"Empty value for interfaces constraint '{key}' in label '{label}'"
            )


def _interface(label: str, pairs: Mapping[str, list[str]]) -> InterfaceRequest:
    _check_interface_keys(label, pairs)
    kind_name = _one(label, "type", pairs.get("type", ()))
    kind = None
    if kind_name is not None:
        kind = INTERFACE_TYPES.get(kind_name)
        if kind is None:
            raise TranslationError(
                "interfaces",
                f"Invalid interfaces constraint type: '{kind_name}' "
                f"(valid types: {', '.join(INTERFACE_TYPES)})",
            )
    return InterfaceRequest(
        name=ifname_for_label(label),
        network=_one(label, "network", (*pairs.get("name", ()), *pairs.get("network", ()))),
        space=_one(label, "space", pairs.get("space", ())),
        kind=kind,
    )


def _labelled_interfaces(
    interfaces: str | None,
) -> tuple[tuple[InterfaceRequest, ...], tuple[str, ...]]:
    """The NICs of an interfaces constraint, and the spaces its ``not_space`` keys exclude."""
    nics: list[InterfaceRequest] = []
    excluded: list[str] = []
    labels: dict[str, str] = {}
    for label, pairs in parse_interfaces(interfaces or "").items():
        nic = _interface(label, pairs)
        if nic.name in labels:
            raise TranslationError(
                "interfaces",
                f"Labels '{labels[nic.name]}' and '{label}' both name interface '{nic.name}'",
            )
        labels[nic.name] = label
        nics.append(nic)
        excluded.extend(pairs.get("not_space", ()))
    return tuple(nics), _unique(excluded)


def _check_known(key: str, spaces: Iterable[str], known: Collection[str] | None) -> None:
    if known is None:
        return
    unknown = [space for space in _unique(spaces) if space not in known]
    if unknown:
        noun = "space" if len(unknown) == 1 else "spaces"
        names = ", ".join(map(go_quote, unknown))
        raise _bad(key, f"no network is mapped to {noun} {names}")


def _networks(
    cons: Constraints, interfaces: str | None, known_spaces: Collection[str] | None
) -> tuple[tuple[InterfaceRequest, ...], tuple[str, ...]]:
    """NICs (labelled ones, then one per uncovered Juju space) and the excluded spaces."""
    if not cons.spaces and not interfaces:
        return (), ()
    wanted = _unique(cons.include_spaces())
    unwanted = _unique(cons.exclude_spaces())
    _check_known("spaces", (*wanted, *unwanted), known_spaces)
    labelled, not_spaces = _labelled_interfaces(interfaces)
    _check_known("interfaces", (*(nic.space or "" for nic in labelled), *not_spaces), known_spaces)
    required = {*wanted, *(nic.space for nic in labelled if nic.space)}
    for key, excluded in (("spaces", unwanted), ("interfaces", not_spaces)):
        for space in excluded:
            if space in required:
                raise TranslationError(
                    key,
                    f"negative space {go_quote(space)} from constraints clashes with "
                    "required spaces for instance NICs",
                )
    nics = list(labelled)
    names = {nic.name for nic in nics}
    covered = {nic.space for nic in nics}
    index = 0
    for space in wanted:
        if space in covered:
            continue
        while f"eth{index}" in names:
            index += 1
        names.add(f"eth{index}")
        nics.append(InterfaceRequest(name=f"eth{index}", space=space))
    return tuple(nics), _unique((*unwanted, *not_spaces))


# --------------------------------------------------------------------------------------
# Everything else
# --------------------------------------------------------------------------------------


def _cores(cons: Constraints, defaults: Defaults) -> int:
    if not cons.cores:
        return defaults.cores
    if cons.cores > MAX_CORES:
        raise _bad("cores", f"{cons.cores} is more than vmhost's limit of {MAX_CORES}")
    return cons.cores


def _memory(cons: Constraints, defaults: Defaults) -> int:
    if not cons.mem:
        return defaults.memory_mib
    if cons.mem < MIN_MEMORY_MIB:
        raise _bad("mem", f"{cons.mem} MiB is less than vmhost's minimum of {MIN_MEMORY_MIB} MiB")
    if cons.mem > MAX_MEMORY_MIB:
        raise _bad(
            "mem", f"{cons.mem} MiB is more than vmhost's limit of {MAX_MEMORY_MIB} MiB (1 PiB)"
        )
    return cons.mem


def _instance_type(cons: Constraints, defaults: Defaults) -> InstanceType:
    if not cons.virt_type:
        return defaults.instance_type
    instance_type = _VIRT_TYPES.get(cons.virt_type)
    if instance_type is None:
        raise _bad(
            "virt-type",
            f"{go_quote(cons.virt_type)} is not one of {', '.join(sorted(_VIRT_TYPES))}",
        )
    return instance_type


def _tags(cons: Constraints) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if not cons.tags:
        return (), ()
    tags = _unique(cons.include_tags())
    not_tags = _unique(cons.exclude_tags())
    for tag in not_tags:
        if tag in tags:
            raise _bad("tags", f"{go_quote(tag)} is both required and excluded")
    return tags, not_tags


def _zones(cons: Constraints) -> tuple[str | None, tuple[str, ...]]:
    if not cons.zones:
        return None, ()
    zones = _unique(cons.zones)
    if len(zones) == 1:
        return zones[0], ()
    return None, zones


def translate(
    cons: Constraints,
    *,
    storage: str | None = None,
    interfaces: str | None = None,
    defaults: Defaults = DEFAULTS,
    known_spaces: Collection[str] | None = None,
    known_pools: Collection[str] | None = None,
) -> ComposeRequest:
    """The compose request for Juju constraints ``cons`` (see the module docstring).

    ``storage`` and ``interfaces`` are MAAS-grammar extras (``None`` or ``""``: not given).
    ``known_spaces``: the spaces with a network mapped to them (None: not checked here).
    ``known_pools``: storage pool names, to tell a pool from a pool tag in ``storage``.
    Raises :class:`TranslationError`.
    """
    instance_type = _instance_type(cons, defaults)
    cores = _cores(cons, defaults)
    memory_mib = _memory(cons, defaults)
    disks = _disks(cons, storage, defaults, known_pools)
    tags, not_tags = _tags(cons)
    nics, not_spaces = _networks(cons, interfaces, known_spaces)
    zone, zones = _zones(cons)
    return ComposeRequest(
        cores=cores,
        memory_mib=memory_mib,
        disks=disks,
        interfaces=nics,
        architecture=cons.arch or None,
        instance_type=instance_type,
        zone=zone,
        zones=zones,
        tags=tags,
        not_tags=not_tags,
        not_spaces=not_spaces,
    )
