"""MAAS's ``storage`` and ``interfaces`` grammars: the one parser (API, CLI, provider, MAAS API).

Pure: no pydantic, no I/O. Every error is a :class:`GrammarError` (a ``ValueError``) whose
``field`` is ``"storage"`` or ``"interfaces"`` and whose text is MAAS's where MAAS has one.

**storage** (MAAS's ``STORAGE_REGEX`` and ``storage_validator``): comma-separated items
``[label:]size[(tag,...)]``; the items, re-rendered and joined with ``,``, must equal the input,
else ``Malformed storage constraint, "<value>".`` (also for a size that is not a number, such
as ``1.2.3``, which MAAS would crash on later). Sizes are decimal GB, computed exactly and
truncated to whole bytes (MAAS's float makes ``0.3`` 299999999 bytes; here it is 300000000).
Empty tags (``(a,,b)``) are skipped. The first item is the root disk; the others keep the
order written (MAAS re-sorts them by tag count to match existing devices; compose creates
disks, so nothing is matched). A root of size 0 (Juju's ``root:0``, "no root size said") takes
the default size; any other disk of size 0 is refused, and so is a disk over
:data:`MAX_DISK_BYTES`. Tags are pool tags; the service makes a tag that names a storage pool
select that pool.

**interfaces** (MAAS's ``parse_labeled_constraint_map``): ``label:key=value[,...][;label2:...]``
with MAAS's messages; a value of one character or none is no constraint. A key repeated within
a label is an OR (``space=a,space=b``: a NIC in space a or b), different keys AND. Each label is
one NIC, named as MAAS names it (:func:`ifname_for_label`: ``N`` -> ``ethN``, names over 15
bytes, the kernel's limit, -> ``eth-<crc32>-<last 5>``). Keys vmhost honours:

* ``space``: the NIC is on a network mapped to (one of) the space(s);
* ``name`` (MAAS: the host interface) or ``network`` (vmhost's spelling): on (one of) these host
  networks;
* ``type``: ``bridge``, ``macvlan`` or ``sriov`` (one value: a NIC attaches one way);
* ``not_space``: the VM has no NIC in that space (a request-level exclusion, as Juju's
  ``^space``: vmhost cannot exclude per NIC).

Other keys are refused as MAAS refuses unknown keys, ``Unknown interfaces constraint: '<key>``
(MAAS's text, missing quote included), with ``(not supported by vmhost)`` for keys MAAS knows.
"""

from __future__ import annotations

import dataclasses
import json
import re
import zlib
from collections.abc import Iterable, Mapping
from typing import Final

__all__ = [
    "DEFAULT_ROOT_DISK_BYTES",
    "INTERFACE_KEYS",
    "INTERFACE_TYPES",
    "MAAS_INTERFACE_KEYS",
    "MAX_DISK_BYTES",
    "MAX_IFNAME_BYTES",
    "STORAGE_REGEX",
    "GrammarError",
    "Interfaces",
    "NicSpec",
    "StorageSpec",
    "ifname_for_label",
    "interfaces",
    "parse_interfaces",
    "parse_storage",
    "storage",
]

GB: Final = 1000**3
#: 1 EiB: sums of a few such disks still fit a signed 64-bit integer.
MAX_DISK_BYTES: Final = 1024**6
#: What a root disk of size 0 becomes: MAAS composed 8 GB (decimal) root disks.
DEFAULT_ROOT_DISK_BYTES: Final = 8 * GB
#: The kernel's limit on an interface name (IFNAMSIZ less the terminating NUL).
MAX_IFNAME_BYTES: Final = 15

#: MAAS's storage item (``node_constraint_filter_forms.STORAGE_REGEX``).
STORAGE_REGEX: Final = re.compile(
    r"(?:(?P<label>[a-zA-Z0-9]+):)?"  # optional label
    r"(?P<size>[0-9.]+)"  # mandatory size
    r"(?:\((?P<tags>[^)]+)\))?"  # optional tags between parentheses
)
# MAAS matches with "$", which also accepts a trailing newline; fullmatch does not.
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
INTERFACE_TYPES: Final = ("bridge", "macvlan", "sriov")


class GrammarError(ValueError):
    """A malformed ``storage`` or ``interfaces`` value; ``field`` names which."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    """Items in first-seen order, without repeats."""
    return tuple(dict.fromkeys(items))


# --------------------------------------------------------------------------------------
# storage
# --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class StorageSpec:
    """One item of a storage value: ``[label:]size[(tag,...)]``; size in decimal GB."""

    label: str
    size: str  # as written
    size_bytes: int
    tags: tuple[str, ...]  # empty items skipped


def _gb_to_bytes(text: str) -> int | None:
    """Decimal GB (digits, at most one point) -> whole bytes, truncated; None if no number.

    Exact integer arithmetic; absurdly long numbers give ``MAX_DISK_BYTES + 1`` rather than a
    huge integer (and stay clear of Python's int/str digit limit).
    """
    whole, _, fraction = text.partition(".")
    if "." in fraction or not (whole or fraction):
        return None
    if len(whole.lstrip("0")) > 20:
        return MAX_DISK_BYTES + 1
    return int(whole or "0") * GB + int((fraction[:9] or "0").ljust(9, "0"))


def parse_storage(value: str) -> tuple[StorageSpec, ...]:
    """The items of a storage value as written (``""``: none); syntax only."""
    if value == "":
        return ()
    malformed = GrammarError("storage", f'Malformed storage constraint, "{value}".')
    groups: list[tuple[str, str, str]] = STORAGE_REGEX.findall(value)
    rendered = [
        (f"{label}:" if label else "") + size + (f"({tags})" if tags else "")
        for label, size, tags in groups
    ]
    if not groups or ",".join(rendered) != value:
        raise malformed
    specs: list[StorageSpec] = []
    for label, size, tags in groups:
        size_bytes = _gb_to_bytes(size)
        if size_bytes is None:
            raise malformed
        specs.append(StorageSpec(label, size, size_bytes, tuple(t for t in tags.split(",") if t)))
    return tuple(specs)


def _disk_name(index: int, spec: StorageSpec) -> str:
    return _quote(spec.label) if spec.label else f"#{index}"


def storage(value: str) -> tuple[StorageSpec, ...]:
    """The disks of a storage value, checked: no disk over :data:`MAX_DISK_BYTES`, no extra
    disk of size 0. A root of size 0 keeps ``size_bytes == 0`` ("not said")."""
    specs = parse_storage(value)
    for index, spec in enumerate(specs, start=1):
        if spec.size_bytes > MAX_DISK_BYTES:
            raise GrammarError(
                "storage",
                f'bad "storage" constraint: disk {_disk_name(index, spec)} of {spec.size} GB '
                f"is more than vmhost's limit of {MAX_DISK_BYTES} bytes (1 EiB)",
            )
        if spec.size_bytes == 0 and index > 1:
            raise GrammarError(
                "storage",
                f'bad "storage" constraint: disk {_disk_name(index, spec)} has no size '
                f"({spec.size} GB)",
            )
    return specs


# --------------------------------------------------------------------------------------
# interfaces
# --------------------------------------------------------------------------------------


def parse_interfaces(value: str) -> dict[str, dict[str, list[str]]]:
    """MAAS's labelled constraint map: ``{label: {key: [values in order]}}``, labels in order.

    A value of one character or none is an empty map (as in MAAS).
    """
    if len(value) <= 1:
        return {}
    result: dict[str, dict[str, list[str]]] = {}
    for constraint in value.split(";"):
        label, colon, rest = constraint.partition(":")
        if not colon:
            raise GrammarError(
                "interfaces",
                f"Malformed constraint: '{constraint}' (required format: "
                "'<label>:<key>=<value>[,<key2>=<value2>[,...]]')",
            )
        if not _LABEL_RE.fullmatch(label):
            raise GrammarError(
                "interfaces",
                f"Invalid label name: '{label}' (Must begin with an alphanumeric character, "
                "and include only alphanumeric characters, dashes, and underscores.)",
            )
        if label in result:
            raise GrammarError("interfaces", f"Constraint label defined more than once: '{label}'")
        pairs: dict[str, list[str]] = {}
        for kvp in rest.split(","):
            key, equals, item = kvp.partition("=")
            if not equals:
                raise GrammarError(
                    "interfaces", f"Malformed key/value pair in constraint: '{kvp}'"
                )
            pairs.setdefault(key, []).append(item)
        result[label] = pairs
    return result


def ifname_for_label(label: str) -> str:
    """MAAS's interface name for a label: ``N`` -> ``ethN``; over 15 bytes -> hashed."""
    if label.isdecimal():
        label = f"eth{int(label)}"
    raw = label.encode("utf-8")
    if len(raw) > MAX_IFNAME_BYTES:
        digest = f"{zlib.crc32(raw) & 0xFFFFFFFF:05x}"[-5:]
        return f"eth-{digest}-{raw[-5:].decode('utf-8', 'replace')}"
    return label


@dataclasses.dataclass(frozen=True, slots=True)
class NicSpec:
    """One labelled NIC: on a network in any of ``spaces`` and/or any of ``networks``."""

    label: str
    name: str
    spaces: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    kind: str | None = None  # one of INTERFACE_TYPES


@dataclasses.dataclass(frozen=True, slots=True)
class Interfaces:
    """An interfaces value: its NICs in order and the spaces its ``not_space`` keys exclude."""

    nics: tuple[NicSpec, ...] = ()
    not_spaces: tuple[str, ...] = ()


def _check_keys(label: str, pairs: Mapping[str, list[str]]) -> None:
    for key, values in pairs.items():
        if key not in INTERFACE_KEYS:
            hint = " (not supported by vmhost)" if key in MAAS_INTERFACE_KEYS else ""
            raise GrammarError("interfaces", f"Unknown interfaces constraint: '{key}{hint}")
        if "" in values:
            raise GrammarError(
                "interfaces", f"Empty value for interfaces constraint '{key}' in label '{label}'"
            )


def _kind(label: str, values: Iterable[str]) -> str | None:
    kinds = _unique(values)
    if len(kinds) > 1:
        listed = ", ".join(f"'{kind}'" for kind in kinds)
        raise GrammarError(
            "interfaces",
            f"Label '{label}' asks for more than one type: {listed} "
            "(a vmhost NIC is on exactly one)",
        )
    if kinds and kinds[0] not in INTERFACE_TYPES:
        raise GrammarError(
            "interfaces",
            f"Invalid interfaces constraint type: '{kinds[0]}' "
            f"(valid types: {', '.join(INTERFACE_TYPES)})",
        )
    return kinds[0] if kinds else None


def interfaces(value: str) -> Interfaces:
    """The NICs of an interfaces value (see the module docstring), checked."""
    nics: list[NicSpec] = []
    excluded: list[str] = []
    labels: dict[str, str] = {}
    for label, pairs in parse_interfaces(value).items():
        _check_keys(label, pairs)
        nic = NicSpec(
            label=label,
            name=ifname_for_label(label),
            spaces=_unique(pairs.get("space", ())),
            networks=_unique((*pairs.get("name", ()), *pairs.get("network", ()))),
            kind=_kind(label, pairs.get("type", ())),
        )
        if nic.name in labels:
            raise GrammarError(
                "interfaces",
                f"Labels '{labels[nic.name]}' and '{label}' both name interface '{nic.name}'",
            )
        labels[nic.name] = label
        nics.append(nic)
        excluded.extend(pairs.get("not_space", ()))
    not_spaces = _unique(excluded)
    kept: list[NicSpec] = []
    for nic in nics:
        # an excluded space is no alternative; a NIC left with none clashes (Juju's words)
        spaces = tuple(space for space in nic.spaces if space not in not_spaces)
        if nic.spaces and not spaces:
            raise GrammarError(
                "interfaces",
                f"negative space {_quote(nic.spaces[0])} from constraints clashes with "
                "required spaces for instance NICs",
            )
        kept.append(dataclasses.replace(nic, spaces=spaces))
    return Interfaces(tuple(kept), not_spaces)
