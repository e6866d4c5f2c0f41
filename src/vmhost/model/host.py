"""VM hosts, zones and resource pools, and the validation of their settable fields."""

from __future__ import annotations

import dataclasses
import enum
import math
import re

from .errors import InvalidInputError

RATIO_MIN = 0.0
RATIO_MAX = 10.0
DEFAULT_ZONE = "default"
DEFAULT_POOL = "default"
_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$")
_TAG_RE = re.compile(r"^[^\s,]{1,64}$")


class HostType(enum.StrEnum):
    """The kind of hypervisor behind a VM host."""

    LXD = "lxd"
    LIBVIRT = "libvirt"
    FAKE = "fake"


class HostStatus(enum.StrEnum):
    """Where a host stands; ``last_error`` says why when it is not ready."""

    NEW = "new"
    READY = "ready"
    REFRESHING = "refreshing"
    UNREACHABLE = "unreachable"
    UNTRUSTED = "untrusted"
    ERROR = "error"


class PlacementPolicy(enum.StrEnum):
    """How the scheduler ranks hosts that fit."""

    PACK = "pack"
    SPREAD = "spread"
    LEAST_LOADED = "least-loaded"


@dataclasses.dataclass(frozen=True, slots=True)
class Zone:
    """An availability zone; hosts belong to exactly one."""

    id: int
    name: str
    description: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class ResourcePool:
    """A resource pool; hosts belong to exactly one."""

    id: int
    name: str
    description: str = ""


def validate_ratio(field: str, value: object) -> float:
    """Return an over-commit ratio as a float in [0, 10], or raise naming the field.

    Booleans, strings, NaN and infinities are refused: operators trust these numbers.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInputError.for_field(field, f"must be a number from 0 to 10, not {value!r}")
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        raise InvalidInputError.for_field(field, f"must be a number from 0 to 10, not {value!r}")
    if not RATIO_MIN <= number <= RATIO_MAX:
        raise InvalidInputError.for_field(field, f"must be from 0 to 10, got {number:g}")
    return number


def validate_name(field: str, value: str) -> str:
    """Names of hosts, zones and pools: 1-63 characters, letters, digits, ``.``, ``_``, ``-``."""
    if not _NAME_RE.match(value):
        raise InvalidInputError.for_field(
            field,
            f"{value!r} is not a valid name (1-63 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit)",
        )
    return value


def validate_tag(value: str) -> str:
    """A tag: no comma (as MAAS), no whitespace, at most 64 characters."""
    if "," in value:
        raise InvalidInputError.for_field("tag", 'Tag may not contain a ",".')
    if not _TAG_RE.match(value):
        raise InvalidInputError.for_field("tag", f"{value!r} is not a valid tag")
    return value


def validate_non_negative(field: str, value: object) -> int:
    """A count or size that must be a non-negative integer."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInputError.for_field(field, f"must be a non-negative integer, not {value!r}")
    return value


@dataclasses.dataclass(frozen=True, slots=True)
class HostSettings:
    """What an operator sets on a host (validated)."""

    name: str
    type: HostType
    address: str
    zone: str = DEFAULT_ZONE
    pool: str = DEFAULT_POOL
    tags: tuple[str, ...] = ()
    cpu_over_commit_ratio: float = 1.0
    memory_over_commit_ratio: float = 1.0
    reserved_cores: int = 0
    reserved_memory_mib: int = 0
    default_storage_pool: str | None = None
    default_macvlan_mode: str | None = None
    project: str = ""

    def __post_init__(self) -> None:
        validate_name("name", self.name)
        validate_ratio("cpu_over_commit_ratio", self.cpu_over_commit_ratio)
        validate_ratio("memory_over_commit_ratio", self.memory_over_commit_ratio)
        validate_non_negative("reserved_cores", self.reserved_cores)
        validate_non_negative("reserved_memory_mib", self.reserved_memory_mib)
        for tag in self.tags:
            validate_tag(tag)
        if self.default_macvlan_mode not in (None, "bridge", "passthru", "private", "vepa"):
            raise InvalidInputError.for_field(
                "default_macvlan_mode",
                f"{self.default_macvlan_mode!r} is not one of bridge, passthru, private, vepa",
            )
