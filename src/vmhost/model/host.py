"""VM hosts, zones and resource pools, and the validation of their settable fields."""

from __future__ import annotations

import dataclasses
import enum
import math
import re
from collections.abc import Mapping
from typing import TypeVar

from .errors import ConflictError, InvalidInputError

T = TypeVar("T")
RATIO_MIN = 0.0
RATIO_MAX = 10.0
DEFAULT_ZONE = "default"
DEFAULT_POOL = "default"
_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$")
#: MAAS's tag names: letters, digits, "-" and "_" (here at most 64 of them).
MAX_TAG_LENGTH = 64
_TAG_RE = re.compile(rf"[a-zA-Z0-9_-]{{1,{MAX_TAG_LENGTH}}}")


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
class _HostGroup:
    """A named group of hosts; every host belongs to exactly one group of each kind."""

    id: int
    name: str
    description: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Zone(_HostGroup):
    """An availability zone."""


@dataclasses.dataclass(frozen=True, slots=True)
class ResourcePool(_HostGroup):
    """A resource pool."""


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


def duplicate_name(message: str, name: str, existing: str, field: str = "name") -> ConflictError:
    """The refusal of ``name`` when ``existing`` holds it, exactly or in another case (names of
    hosts, zones, pools and spaces are unique regardless of case): ``message`` says what
    exists, naming the field."""
    if existing != name:
        message = f"{message} as {existing!r}: names are unique regardless of case"
    return ConflictError.for_field(field, message)


def validate_tag(value: str) -> str:
    """A tag, by MAAS's rule: letters, digits, ``-`` and ``_``, 1 to 64 of them (no comma,
    space, control character, markup or right-to-left override reaches a page or a terminal).
    """
    if "," in value:
        raise InvalidInputError.for_field("tag", 'Tag may not contain a ",".')
    if not _TAG_RE.fullmatch(value):
        shown = value if len(value) <= MAX_TAG_LENGTH else f"{value[:20]}..."
        raise InvalidInputError.for_field(
            "tag",
            f"{shown!r} is not a valid tag: use letters, digits, '-' and '_' "
            f"(1 to {MAX_TAG_LENGTH} characters)",
        )
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


@dataclasses.dataclass(frozen=True, slots=True)
class Host:
    """A VM host as stored: its settings, where it stands and what its last discovery said.

    Never a secret (credentials are stored apart). Its resources and their accounts are in
    the host's ``HostView`` (``vmhost.model.accounting``).
    """

    id: int
    name: str
    type: HostType
    address: str
    project: str
    zone: Zone
    pool: ResourcePool
    tags: tuple[str, ...]
    cpu_over_commit_ratio: float
    memory_over_commit_ratio: float
    reserved_cores: int
    reserved_memory_mib: int
    default_storage_pool: str | None
    default_macvlan_mode: str | None
    status: HostStatus
    last_error: str
    # what the last discovery found
    version: str
    architectures: tuple[str, ...]
    cores: int
    memory_mib: int
    cpu_speed_mhz: int
    can_run_vms: bool
    can_run_containers: bool
    vm_unsupported_reason: str
    generation: int
    created_at: float
    refreshed_at: float

    def settings(self) -> HostSettings:
        """What an operator set on the host."""
        return HostSettings(
            name=self.name,
            type=self.type,
            address=self.address,
            zone=self.zone.name,
            pool=self.pool.name,
            tags=self.tags,
            cpu_over_commit_ratio=self.cpu_over_commit_ratio,
            memory_over_commit_ratio=self.memory_over_commit_ratio,
            reserved_cores=self.reserved_cores,
            reserved_memory_mib=self.reserved_memory_mib,
            default_storage_pool=self.default_storage_pool,
            default_macvlan_mode=self.default_macvlan_mode,
            project=self.project,
        )


class Unset(enum.Enum):
    """The type of :data:`UNSET`: a field of a change that is not given."""

    UNSET = "unset"

    def __repr__(self) -> str:
        return "UNSET"


UNSET = Unset.UNSET

CREDENTIAL_FIELDS = ("password", "client_cert_pem", "client_key_pem", "server_cert_pem")
# a change of any of these is tried at once (the host is refreshed after the update)
RECONNECT_FIELDS = ("address", "password", "client_cert_pem")
_TEXT = ("name", "address", "zone", "pool", "project", *CREDENTIAL_FIELDS)
_OPTIONAL_TEXT = ("default_storage_pool", "default_macvlan_mode")
_RATIOS = ("cpu_over_commit_ratio", "memory_over_commit_ratio")
_COUNTS = ("reserved_cores", "reserved_memory_mib")


@dataclasses.dataclass(frozen=True, slots=True)
class HostChanges:
    """A change to a host's settings or credentials: a field left :data:`UNSET` keeps its value
    (``default_storage_pool=None`` sets it to none). Wrong types are refused at construction,
    naming the field; values are checked against the host when the change is applied."""

    name: str | Unset = UNSET
    address: str | Unset = UNSET
    zone: str | Unset = UNSET
    pool: str | Unset = UNSET
    tags: tuple[str, ...] | Unset = UNSET
    cpu_over_commit_ratio: float | Unset = UNSET
    memory_over_commit_ratio: float | Unset = UNSET
    reserved_cores: int | Unset = UNSET
    reserved_memory_mib: int | Unset = UNSET
    default_storage_pool: str | Unset | None = UNSET
    default_macvlan_mode: str | Unset | None = UNSET
    project: str | Unset = UNSET
    # a host's type cannot change: given, it must be the host's own
    type: HostType | Unset = UNSET
    password: str | Unset = dataclasses.field(default=UNSET, repr=False)
    client_cert_pem: str | Unset = UNSET
    client_key_pem: str | Unset = dataclasses.field(default=UNSET, repr=False)
    server_cert_pem: str | Unset = UNSET
    options: dict[str, object] | Unset = UNSET

    def __post_init__(self) -> None:
        given = self.given()
        _check_types(given)
        tags = given.get("tags")
        if isinstance(tags, list):
            object.__setattr__(self, "tags", tuple(tags))
        if "type" in given and not isinstance(given["type"], HostType):
            try:
                object.__setattr__(self, "type", HostType(str(given["type"])))
            except ValueError:
                raise InvalidInputError.for_field(
                    "type", f"{given['type']!r} is not one of lxd, libvirt, fake"
                ) from None

    @classmethod
    def parse(cls, changes: Mapping[str, object]) -> HostChanges:
        """A change from untyped input (keys as the fields); unknown keys are refused."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise InvalidInputError(
                f"unknown field(s): {', '.join(unknown)}", {k: ["unknown field"] for k in unknown}
            )
        return cls(**changes)  # type: ignore[arg-type]  # types are checked in __post_init__

    def given(self) -> dict[str, object]:
        """{field: value} of the fields that are set."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) is not UNSET
        }

    def applied_to(self, current: HostSettings) -> HostSettings:
        """The settings after this change (validated: InvalidInputError naming the field)."""
        return HostSettings(
            name=_pick(self.name, current.name),
            type=current.type,
            address=_pick(self.address, current.address),
            zone=_pick(self.zone, current.zone),
            pool=_pick(self.pool, current.pool),
            tags=_pick(self.tags, current.tags),
            cpu_over_commit_ratio=_pick(self.cpu_over_commit_ratio, current.cpu_over_commit_ratio),
            memory_over_commit_ratio=_pick(
                self.memory_over_commit_ratio, current.memory_over_commit_ratio
            ),
            reserved_cores=_pick(self.reserved_cores, current.reserved_cores),
            reserved_memory_mib=_pick(self.reserved_memory_mib, current.reserved_memory_mib),
            default_storage_pool=_pick(self.default_storage_pool, current.default_storage_pool),
            default_macvlan_mode=_pick(self.default_macvlan_mode, current.default_macvlan_mode),
            project=_pick(self.project, current.project),
        )

    @property
    def reconnects(self) -> bool:
        """Whether the change is of how vmhost reaches the host (tried at once)."""
        return any(getattr(self, k) is not UNSET for k in RECONNECT_FIELDS)


def _pick(value: T | Unset, current: T) -> T:
    return current if isinstance(value, Unset) else value


def _check_types(given: Mapping[str, object]) -> None:
    """Wrong types are input errors naming the field."""
    for key in _TEXT:
        if key in given and not isinstance(given[key], str):
            raise InvalidInputError.for_field(key, f"must be text, not {given[key]!r}")
    for key in _OPTIONAL_TEXT:
        if key in given and not isinstance(given[key], str | None):
            raise InvalidInputError.for_field(key, f"must be text or null, not {given[key]!r}")
    tags = given.get("tags", ())
    if not isinstance(tags, list | tuple) or not all(isinstance(x, str) for x in tags):
        raise InvalidInputError.for_field("tags", f"must be a list of tags, not {tags!r}")
    for key in _RATIOS:
        if key in given:
            validate_ratio(key, given[key])
    for key in _COUNTS:
        if key in given:
            validate_non_negative(key, given[key])
    if "options" in given and not isinstance(given["options"], dict):
        raise InvalidInputError.for_field("options", "must be a mapping")
