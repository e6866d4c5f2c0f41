"""The values of Juju's constraint language: its keys, Go's number and quoting rules, and the
parsing of one ``key=value`` (a port of ``core/constraints/constraints.go`` from juju/juju,
3.x line). :mod:`vmhost_provider.constraints` builds the value object on these. Pure.

Deliberate deviations from Juju (both recommended by the reference notes):

* sizes that are ``inf``/``NaN`` or do not fit in a ``uint64`` are rejected with the usual
  size error. Go accepts them and, on amd64, stores ``9223372036854775808`` by accident of
  its float-to-integer conversion;
* nothing else: Go's other float syntax (``1_0``, hex floats such as ``0x1p4``) is accepted
  exactly as ``strconv.ParseFloat`` accepts it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Final, TypeAlias

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


def extract_items(items: tuple[str, ...] | None, *, included: bool) -> list[str]:
    """Juju's ``extractItems``: the plain items, or the ``^``-items with one ``^`` removed."""
    if items is None:
        return []
    if included:
        return [item for item in items if not item.startswith("^")]
    return [item[1:] for item in items if item.startswith("^")]


def checked(key: str, value: object) -> object:
    """Type-check a ``Constraints.from_dict`` value; lists become tuples."""
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
