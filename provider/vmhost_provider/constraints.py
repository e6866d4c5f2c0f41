"""Juju's constraint language: parse, print and inspect constraint values.

A faithful port of ``core/constraints/constraints.go`` from juju/juju (3.x line; see
``/work/shared/reference/juju-constraints.md``). It is pure: no I/O, no logging, no globals
that change.

* :func:`parse` behaves like Juju's ``Parse(args...)``: same tokenising (split on the ASCII
  space only, ``\\ `` escapes a space), same keys and alias (``cpu-cores`` -> ``cores``), same
  value rules and the same error text, e.g. ``malformed constraint "cheese"`` or
  ``bad "mem" constraint: must be a non-negative float with optional M/G/T/P suffix``.
* :class:`Constraints` is an immutable value in which ``None`` means *unset*. Unset is not
  the same as zero or empty: ``mem=`` parses to ``mem=0`` (set, but :meth:`~Constraints.has_mem`
  is false), and a set-but-empty value overrides a fallback when constraints are merged.
* ``str(c)`` is Juju's canonical ``String()``: a fixed key order, sizes as ``<MiB>M``, spaces
  in values escaped as ``\\ ``. ``parse(str(c)) == c`` for every value :func:`parse` returns,
  with one exception inherited from Juju: the language cannot write a value that ends in a
  backslash unless it is the last one printed (the backslash and the separating space read
  back as an escaped space).

Deliberate deviations from Juju (both recommended by the reference notes):

* sizes that are ``inf``/``NaN`` or do not fit in a ``uint64`` are rejected with the usual
  size error. Go accepts them and, on amd64, stores ``9223372036854775808`` by accident of
  its float-to-integer conversion;
* nothing else: Go's other float syntax (``1_0``, hex floats such as ``0x1p4``) is accepted
  exactly as ``strconv.ParseFloat`` accepts it.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from typing import Any, Final, TypeAlias

__all__ = [
    "ALIASES",
    "ALLOCATE_PUBLIC_IP",
    "ARCH",
    "CONTAINER",
    "CONTAINER_NONE",
    "CONTAINER_TYPES",
    "CORES",
    "CPU_CORES",
    "CPU_POWER",
    "DEFAULT_ARCHITECTURE",
    "IMAGE_ID",
    "INSTANCE_ROLE",
    "INSTANCE_TYPE",
    "KEYS",
    "MEM",
    "ROOT_DISK",
    "ROOT_DISK_SOURCE",
    "SPACES",
    "SUPPORTED_ARCHES",
    "TAGS",
    "VIRT_TYPE",
    "ZONES",
    "ConstraintValue",
    "Constraints",
    "ConstraintsError",
    "is_valid_space_name",
    "merge",
    "parse",
    "parse_with_aliases",
    "resolve_alias",
]

# Constraint keys, spelt as in Juju.
ARCH: Final = "arch"
CONTAINER: Final = "container"
CORES: Final = "cores"
CPU_CORES: Final = "cpu-cores"  # alias of "cores"
CPU_POWER: Final = "cpu-power"
MEM: Final = "mem"
ROOT_DISK: Final = "root-disk"
ROOT_DISK_SOURCE: Final = "root-disk-source"
TAGS: Final = "tags"
SPACES: Final = "spaces"
INSTANCE_ROLE: Final = "instance-role"
INSTANCE_TYPE: Final = "instance-type"
VIRT_TYPE: Final = "virt-type"
ZONES: Final = "zones"
ALLOCATE_PUBLIC_IP: Final = "allocate-public-ip"
IMAGE_ID: Final = "image-id"

#: Every canonical key, in the order Juju's ``String()`` prints them.
KEYS: Final[tuple[str, ...]] = (
    ARCH,
    CONTAINER,
    CORES,
    CPU_POWER,
    INSTANCE_ROLE,
    INSTANCE_TYPE,
    MEM,
    ROOT_DISK,
    ROOT_DISK_SOURCE,
    TAGS,
    SPACES,
    VIRT_TYPE,
    ZONES,
    ALLOCATE_PUBLIC_IP,
    IMAGE_ID,
)

#: The only alias Juju has.
ALIASES: Final[Mapping[str, str]] = {CPU_CORES: CORES}

#: ``core/arch.AllSupportedArches``; ``arch`` must be one of these (or empty).
SUPPORTED_ARCHES: Final[tuple[str, ...]] = ("amd64", "arm64", "ppc64el", "s390x", "riscv64")
#: ``core/arch.DefaultArchitecture``, used by :meth:`Constraints.arch_or_default`.
DEFAULT_ARCHITECTURE: Final = "amd64"
#: ``core/instance.ContainerTypes`` (main has only LXD).
CONTAINER_TYPES: Final[tuple[str, ...]] = ("lxd",)
#: ``core/instance.NONE``: explicitly "not in a container".
CONTAINER_NONE: Final = "none"

_INT_KEYS: Final = frozenset({CORES, CPU_POWER})
_SIZE_KEYS: Final = frozenset({MEM, ROOT_DISK})
_LIST_KEYS: Final = frozenset({TAGS, SPACES, ZONES})
_BOOL_KEYS: Final = frozenset({ALLOCATE_PUBLIC_IP})

#: A value in the JSON-like view of :meth:`Constraints.to_dict`.
ConstraintValue: TypeAlias = str | int | bool | list[str]

_UINT64_LIMIT: Final = 1 << 64
_SIZE_SUFFIXES: Final[Mapping[str, float]] = {
    "M": 1.0,
    "G": 1024.0,
    "T": 1024.0 * 1024.0,
    "P": 1024.0 * 1024.0 * 1024.0,
}
_SIZE_ERROR: Final = "must be a non-negative float with optional M/G/T/P suffix"
_UINT_ERROR: Final = "must be a non-negative integer"
_BOOL_ERROR: Final = "must be 'true' or 'false'"
_ALREADY_SET: Final = "already set"
# strconv.ParseBool.
_GO_BOOLS: Final[Mapping[str, bool]] = {
    **dict.fromkeys(("1", "t", "T", "TRUE", "true", "True"), True),
    **dict.fromkeys(("0", "f", "F", "FALSE", "false", "False"), False),
}
# names.IsValidSpace (names/v5).
_SPACE_NAME: Final = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_DIGITS: Final = re.compile(r"[0-9]+")
# The shapes strconv.ParseFloat accepts (bar inf/NaN); underscores are checked separately.
_DEC_FLOAT: Final = re.compile(
    r"[+-]?(?P<mant>[0-9_]+(?:\.[0-9_]*)?|\.[0-9_]+)(?:[eE][+-]?[0-9][0-9_]*)?"
)
_HEX_FLOAT: Final = re.compile(
    r"[+-]?0[xX](?P<mant>[0-9a-fA-F_]+(?:\.[0-9a-fA-F_]*)?|\.[0-9a-fA-F_]+)[pP][+-]?[0-9][0-9_]*"
)
# unicode.IsSpace: ASCII/Latin-1 whitespace plus the White_Space property above U+00FF.
_GO_SPACES: Final = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
)


class ConstraintsError(ValueError):
    """A constraint string or value is invalid; ``str()`` is Juju's exact message."""


class _BadValueError(Exception):
    """Raised by the value parsers; :func:`parse_with_aliases` wraps it as Juju does."""


# --------------------------------------------------------------------------------------
# Go compatibility helpers
# --------------------------------------------------------------------------------------


def _go_trim_space(text: str) -> str:
    """``strings.TrimSpace``: strip Go's notion of white space (not Python's)."""
    start, end = 0, len(text)
    while start < end and text[start] in _GO_SPACES:
        start += 1
    while end > start and text[end - 1] in _GO_SPACES:
        end -= 1
    return text[start:end]


_GO_ESCAPES: Final[Mapping[str, str]] = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    '"': '\\"',
    "\\": "\\\\",
}


def go_quote(text: str) -> str:
    """``strconv.Quote`` (the ``%q`` verb) for a string of valid code points."""
    out = ['"']
    for char in text:
        code = ord(char)
        if char in _GO_ESCAPES:
            out.append(_GO_ESCAPES[char])
        elif char.isprintable():  # Go's IsPrint: L, M, N, P, S and U+0020.
            out.append(char)
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def _underscore_ok(text: str) -> bool:
    """``strconv.underscoreOK``: underscores only between digits (or after a base prefix)."""
    saw = "^"
    if text[:1] in ("+", "-"):
        text = text[1:]
    hexadecimal = text[:2] in ("0x", "0X")
    index = 2 if hexadecimal else 0
    if hexadecimal:
        saw = "0"
    for char in text[index:]:
        if char in "0123456789" or (hexadecimal and char in "abcdefABCDEF"):
            saw = "0"
        elif char == "_":
            if saw != "0":
                return False
            saw = "_"
        elif saw == "_":
            return False
        else:
            saw = "!"
    return saw != "_"


def _parse_go_float(text: str) -> float | None:
    """``strconv.ParseFloat(text, 64)``, returning None where Go returns an error.

    Go also accepts ``inf``, ``infinity`` and ``nan``; those are deliberately not recognised
    here (see the module docstring). Overflow gives ``inf``, which callers reject.
    """
    hex_match = _HEX_FLOAT.fullmatch(text)
    match = hex_match or _DEC_FLOAT.fullmatch(text)
    if match is None or match["mant"].strip("_.") == "":
        return None
    if "_" in text:
        if not _underscore_ok(text):
            return None
        text = text.replace("_", "")
    if hex_match is None:
        return float(text)
    try:
        return float.fromhex(text)
    except OverflowError:
        return None


def _parse_uint(text: str) -> int:
    """``strconv.ParseUint(text, 10, 64)``: ASCII digits only, leading zeros allowed."""
    if not _DIGITS.fullmatch(text) or len(text.lstrip("0")) > 20:
        raise _BadValueError(_UINT_ERROR)
    value = int(text)
    if value >= _UINT64_LIMIT:
        raise _BadValueError(_UINT_ERROR)
    return value


def _parse_size(text: str) -> int:
    """Juju's ``parseSize``: a float with optional M/G/T/P suffix, rounded up to whole MiB."""
    multiplier = _SIZE_SUFFIXES.get(text[-1:])
    if multiplier is not None:
        text = text[:-1]
    else:
        multiplier = 1.0
    value = _parse_go_float(text)
    if value is None or value < 0:
        raise _BadValueError(_SIZE_ERROR)
    value *= multiplier
    # Deviation: Go turns inf/NaN/>= 2**64 into an arbitrary uint64; reject them instead.
    if not math.isfinite(value) or math.ceil(value) >= _UINT64_LIMIT:
        raise _BadValueError(_SIZE_ERROR)
    return math.ceil(value)


def is_valid_space_name(name: str) -> bool:
    """``names.IsValidSpace`` (names/v5): lower-case letters and digits joined by ``-``."""
    return _SPACE_NAME.fullmatch(name) is not None


# --------------------------------------------------------------------------------------
# Value parsers, one per kind of key
# --------------------------------------------------------------------------------------


def _split_commas(text: str) -> tuple[str, ...]:
    """``parseCommaDelimited``: empty text is an empty list; no trimming, no validation."""
    return tuple(text.split(",")) if text else ()


def _parse_arch(text: str) -> str:
    if text and text not in SUPPORTED_ARCHES:
        raise _BadValueError(f"{go_quote(text)} not recognized")
    return text


def _parse_container(text: str) -> str:
    if text and text != CONTAINER_NONE and text not in CONTAINER_TYPES:
        raise _BadValueError(f"invalid container type {go_quote(text)}")
    return text


def _parse_spaces(text: str) -> tuple[str, ...]:
    spaces = _split_commas(text)
    for name in spaces:
        space = name.removeprefix("^")
        if not is_valid_space_name(space):
            raise _BadValueError(f"{go_quote(space)} is not a valid space name")
    return spaces


def _parse_bool(text: str) -> bool:
    try:
        return _GO_BOOLS[text]
    except KeyError:
        raise _BadValueError(_BOOL_ERROR) from None


def _parse_value(key: str, text: str) -> str | int | bool | tuple[str, ...]:
    """Parse the value of canonical ``key``; ``text`` is non-empty for allocate-public-ip."""
    if key == ARCH:
        return _parse_arch(text)
    if key == CONTAINER:
        return _parse_container(text)
    if key in _INT_KEYS:
        return _parse_uint(text) if text else 0
    if key in _SIZE_KEYS:
        return _parse_size(text) if text else 0
    if key == SPACES:
        return _parse_spaces(text)
    if key in _LIST_KEYS:
        return _split_commas(text)
    if key in _BOOL_KEYS:
        return _parse_bool(text)
    return text


def _attr(key: str) -> str:
    """The :class:`Constraints` field name of a canonical key."""
    return key.replace("-", "_")


def resolve_alias(key: str) -> str:
    """The canonical name of ``key`` (``cpu-cores`` -> ``cores``); other keys unchanged."""
    return ALIASES.get(key, key)


# --------------------------------------------------------------------------------------
# The value object
# --------------------------------------------------------------------------------------


def _extract_items(items: tuple[str, ...] | None, *, included: bool) -> list[str]:
    """Juju's ``extractItems``: the plain items, or the ``^``-items with one ``^`` removed."""
    if items is None:
        return []
    if included:
        return [item for item in items if not item.startswith("^")]
    return [item[1:] for item in items if item.startswith("^")]


@dataclasses.dataclass(frozen=True, slots=True)
class Constraints:
    """Juju's ``constraints.Value``. Every field is ``None`` when unset.

    Sizes (``mem``, ``root_disk``) are whole MiB. Lists are tuples; an empty tuple is a list
    that was set to empty (``tags=``), which overrides a fallback when merging. Lists given as
    any other sequence are converted to tuples. No other checking happens here: build values
    with :func:`parse` to get Juju's validation.
    """

    arch: str | None = None
    container: str | None = None
    cores: int | None = None
    cpu_power: int | None = None
    mem: int | None = None
    root_disk: int | None = None
    root_disk_source: str | None = None
    tags: tuple[str, ...] | None = None
    spaces: tuple[str, ...] | None = None
    instance_role: str | None = None
    instance_type: str | None = None
    virt_type: str | None = None
    zones: tuple[str, ...] | None = None
    allocate_public_ip: bool | None = None
    image_id: str | None = None

    def __post_init__(self) -> None:
        for key in _LIST_KEYS:
            value = getattr(self, _attr(key))
            if value is not None and not isinstance(value, tuple):
                object.__setattr__(self, _attr(key), tuple(value))

    # -- views -------------------------------------------------------------------------

    def get(self, key: str) -> str | int | bool | tuple[str, ...] | None:
        """The value of constraint ``key`` (Juju spelling; aliases allowed), None if unset."""
        canonical = resolve_alias(key)
        if canonical not in KEYS:
            raise ConstraintsError(f"unknown constraint {go_quote(key)}")
        value: str | int | bool | tuple[str, ...] | None = getattr(self, _attr(canonical))
        return value

    def set_keys(self) -> list[str]:
        """The canonical keys that are set (not None), in :data:`KEYS` order."""
        return [key for key in KEYS if getattr(self, _attr(key)) is not None]

    def to_dict(self) -> dict[str, ConstraintValue]:
        """The set constraints keyed as in Juju: sizes in MiB, lists as lists.

        This is the view Juju's validator works on (its JSON form): a set-but-empty value is
        present (``{"mem": 0}``, ``{"tags": []}``), an unset one is absent.
        """
        result: dict[str, ConstraintValue] = {}
        for key in self.set_keys():
            value = getattr(self, _attr(key))
            result[key] = list(value) if isinstance(value, tuple) else value
        return result

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Constraints:
        """The inverse of :meth:`to_dict` (``cpu-cores`` accepted as ``cores``).

        Types are checked; values are not validated the way :func:`parse` validates them
        (like Juju's JSON decoding). Raises :class:`ConstraintsError`.
        """
        fields: dict[str, Any] = {}
        for raw_key, value in data.items():
            key = resolve_alias(raw_key)
            if key not in KEYS:
                raise ConstraintsError(f"unknown constraint {go_quote(raw_key)}")
            if _attr(key) in fields:
                raise ConstraintsError(
                    f"constraint {go_quote(raw_key)} duplicates constraint {go_quote(key)}"
                )
            fields[_attr(key)] = _checked(key, value)
        return cls(**fields)

    def __str__(self) -> str:
        """Juju's canonical ``String()``."""
        parts = [f"{key}={self._format(key)}".replace(" ", "\\ ") for key in self.set_keys()]
        return " ".join(parts)

    def _format(self, key: str) -> str:
        value = getattr(self, _attr(key))
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            if value == 0:
                return ""
            return f"{value}M" if key in _SIZE_KEYS else str(value)
        if isinstance(value, tuple):
            return ",".join(value)
        return str(value)

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{_attr(key)}={getattr(self, _attr(key))!r}" for key in self.set_keys()
        )
        return f"Constraints({fields})"

    # -- predicates (Juju's Has* methods and IsEmpty) -------------------------------------

    def is_empty(self) -> bool:
        """``IsEmpty``: nothing is set (set-but-empty values count as set)."""
        return str(self) == ""

    def has_arch(self) -> bool:
        """An architecture is named."""
        return bool(self.arch)

    def has_container(self) -> bool:
        """A container type other than ``""``/``none`` is named."""
        return bool(self.container) and self.container != CONTAINER_NONE

    def has_cores(self) -> bool:
        """``HasCpuCores``: a core count above zero."""
        return bool(self.cores)

    def has_cpu_power(self) -> bool:
        """A CPU power above zero."""
        return bool(self.cpu_power)

    def has_mem(self) -> bool:
        """A memory size above zero."""
        return bool(self.mem)

    def has_root_disk(self) -> bool:
        """A root-disk size above zero."""
        return bool(self.root_disk)

    def has_root_disk_source(self) -> bool:
        """A root-disk source is named."""
        return bool(self.root_disk_source)

    def has_instance_role(self) -> bool:
        """An instance role is named."""
        return bool(self.instance_role)

    def has_instance_type(self) -> bool:
        """An instance type is named."""
        return bool(self.instance_type)

    def has_virt_type(self) -> bool:
        """A virtualisation type is named."""
        return bool(self.virt_type)

    def has_spaces(self) -> bool:
        """At least one space (positive or negative)."""
        return bool(self.spaces)

    def has_tags(self) -> bool:
        """At least one tag (vmhost addition; Juju's providers test ``len(tags) > 0``)."""
        return bool(self.tags)

    def has_zones(self) -> bool:
        """At least one zone."""
        return bool(self.zones)

    def has_allocate_public_ip(self) -> bool:
        """allocate-public-ip is set (true or false)."""
        return self.allocate_public_ip is not None

    def has_image_id(self) -> bool:
        """An image id is named."""
        return bool(self.image_id)

    # -- list helpers --------------------------------------------------------------------

    def include_spaces(self) -> list[str]:
        """The spaces the machine must be in (items without ``^``)."""
        return _extract_items(self.spaces, included=True)

    def exclude_spaces(self) -> list[str]:
        """The spaces the machine must not be in (``^`` items, ``^`` removed)."""
        return _extract_items(self.spaces, included=False)

    def include_tags(self) -> list[str]:
        """The tags a host must have, as Juju's MAAS provider reads them.

        MAAS's ``parseDelimitedValues`` skips empty items and a bare ``^``; so does this
        (``tags`` is not validated when parsed, so ``tags=a,,^`` is possible).
        """
        return [tag for tag in _extract_items(self.tags, included=True) if tag]

    def exclude_tags(self) -> list[str]:
        """The tags a host must not have (``^`` items, ``^`` removed; empty ones skipped)."""
        return [tag for tag in _extract_items(self.tags, included=False) if tag]

    # -- derived values --------------------------------------------------------------------

    def has_any(self, *keys: str) -> list[str]:
        """Juju's ``HasAny``: those of ``keys`` (as given; aliases allowed) that are set.

        Names that are not constraints are never set (no error, as in Juju).
        """
        set_keys = set(self.set_keys())
        return [key for key in keys if resolve_alias(key) in set_keys]

    def without(self, *keys: str) -> Constraints:
        """Juju's ``Without``: a copy with ``keys`` (aliases allowed) unset.

        Names that are not constraints are ignored, as in Juju.
        """
        changes = {_attr(key): None for key in map(resolve_alias, keys) if key in KEYS}
        return dataclasses.replace(self, **changes)

    def with_fallback(self, fallback: Constraints) -> Constraints:
        """Juju's ``withFallbacks``: a copy whose unset keys are taken from ``fallback``."""
        fields: dict[str, Any] = {
            name: fallback_value if value is None else value
            for name, value, fallback_value in (
                (field.name, getattr(self, field.name), getattr(fallback, field.name))
                for field in dataclasses.fields(self)
            )
        }
        return Constraints(**fields)

    def add_space(self, space: str, *, exclude: bool = False) -> Constraints:
        """Juju's ``AddSpace``: a copy with ``space`` (``^space`` if excluded) appended."""
        item = f"^{space}" if exclude else space
        return dataclasses.replace(self, spaces=(*(self.spaces or ()), item))

    def arch_or_default(self, default: Constraints | None = None) -> str:
        """Juju's ``ArchOrDefault``: this arch, else ``default``'s, else amd64."""
        if self.arch:
            return self.arch
        if default is not None and default.arch:
            return default.arch
        return DEFAULT_ARCHITECTURE


def _checked(key: str, value: object) -> object:
    """Type-check a :meth:`Constraints.from_dict` value; lists become tuples."""
    if key in _LIST_KEYS:
        if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
            return tuple(value)
    elif key in _BOOL_KEYS:
        if isinstance(value, bool):
            return value
    elif key in _INT_KEYS or key in _SIZE_KEYS:
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < _UINT64_LIMIT:
            return value
    elif isinstance(value, str):
        return value
    raise ConstraintsError(f"bad {go_quote(key)} constraint: unexpected value {value!r}")


# --------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------


def parse_with_aliases(*args: str) -> tuple[Constraints, dict[str, str]]:
    """Juju's ``ParseWithAliases``: :func:`parse`, plus the aliases used -> canonical key."""
    values: dict[str, Any] = {}
    aliases: dict[str, str] = {}
    for arg in args:
        # Protect escaped spaces, then split on the space character only.
        for raw in _go_trim_space(arg.replace("\\ ", "\x00")).split(" "):
            token = _go_trim_space(raw.replace("\x00", " "))
            if not token:
                continue
            name, sep, text = token.partition("=")
            if not sep or not name:
                raise ConstraintsError(f"malformed constraint {go_quote(token)}")
            if name in ALIASES:
                aliases[name] = ALIASES[name]
                name = ALIASES[name]
            if name not in KEYS:
                raise ConstraintsError(f"unknown constraint {go_quote(name)}")
            if name == ALLOCATE_PUBLIC_IP and not text:
                continue  # Juju returns before its "already set" check: stays unset.
            try:
                if name in values:
                    raise _BadValueError(_ALREADY_SET)
                values[name] = _parse_value(name, text)
            except _BadValueError as err:
                raise ConstraintsError(f"bad {go_quote(name)} constraint: {err}") from None
    return Constraints(**{_attr(key): value for key, value in values.items()}), aliases


def parse(*args: str) -> Constraints:
    """Juju's ``Parse(args...)``: each argument holds space-separated ``key=value`` pairs.

    A key may appear once across all arguments. Raises :class:`ConstraintsError` with Juju's
    message for the first bad token.
    """
    return parse_with_aliases(*args)[0]


def merge(*values: Constraints) -> Constraints:
    """Juju's ``constraints.Merge``: a disjoint union (a key set in two values is an error).

    It re-parses the printed values, so it also re-validates them. For the override merge
    used for model/application constraints see ``Validator.merge``.
    """
    return parse(*(str(value) for value in values))
