"""Juju's constraint language: parse, print and inspect constraint values.

A faithful port of ``core/constraints/constraints.go`` from juju/juju (3.x line). It is pure:
no I/O, no logging, no globals that change.

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

Keys, Go's number and quoting rules and the parsing of single values are in
:mod:`vmhost_provider.constraint_values` (with the two deliberate deviations from Juju).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from vmhost_provider.constraint_values import (
    _ALREADY_SET,
    _LIST_KEYS,
    _SIZE_KEYS,
    ALIASES,
    ALLOCATE_PUBLIC_IP,
    ARCH,
    CONTAINER,
    CONTAINER_NONE,
    CONTAINER_TYPES,
    CORES,
    CPU_CORES,
    CPU_POWER,
    DEFAULT_ARCHITECTURE,
    IMAGE_ID,
    INSTANCE_ROLE,
    INSTANCE_TYPE,
    KEYS,
    MEM,
    ROOT_DISK,
    ROOT_DISK_SOURCE,
    SPACES,
    SUPPORTED_ARCHES,
    TAGS,
    VIRT_TYPE,
    ZONES,
    ConstraintsError,
    ConstraintValue,
    _BadValueError,
    _go_trim_space,
    _parse_value,
    checked,
    extract_items,
    go_quote,
    is_valid_space_name,
)

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


def _attr(key: str) -> str:
    """The :class:`Constraints` field name of a canonical key."""
    return key.replace("-", "_")


def resolve_alias(key: str) -> str:
    """The canonical name of ``key`` (``cpu-cores`` -> ``cores``); other keys unchanged."""
    return ALIASES.get(key, key)


# --------------------------------------------------------------------------------------
# The value object
# --------------------------------------------------------------------------------------


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
            fields[_attr(key)] = checked(key, value)
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
        return extract_items(self.spaces, included=True)

    def exclude_spaces(self) -> list[str]:
        """The spaces the machine must not be in (``^`` items, ``^`` removed)."""
        return extract_items(self.spaces, included=False)

    def include_tags(self) -> list[str]:
        """The tags a host must have, as Juju's MAAS provider reads them.

        MAAS's ``parseDelimitedValues`` skips empty items and a bare ``^``; so does this
        (``tags`` is not validated when parsed, so ``tags=a,,^`` is possible).
        """
        return [tag for tag in extract_items(self.tags, included=True) if tag]

    def exclude_tags(self) -> list[str]:
        """The tags a host must not have (``^`` items, ``^`` removed; empty ones skipped)."""
        return [tag for tag in extract_items(self.tags, included=False) if tag]

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
