"""A VM record seen as a MAAS machine (the MAAS API, ``src/vmhost/maas/``).

MAAS composes a machine at allocate but learns its OS and cloud-init only at deploy, while a
VM reads cloud-init at its first boot. So an allocated machine is a *reservation*: a VM record
in ``VmState.RESERVED`` that holds its resources (claimed by compare-and-swap like any compose)
with its MACs chosen, but nothing on the host yet; deploy creates and starts it there.

``system_id`` is MAAS's stable six-character id: a bijection of the record's id (which is never
reused), so a system id is never reused either and decodes back to the record.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping

from .errors import InvalidInputError, NotFoundError, VmHostError
from .vm import Vm

SYSTEM_ID_LENGTH = 6
_MODULUS = 36**SYSTEM_ID_LENGTH
_MULTIPLIER = 1_046_527  # coprime with 36, so the map is a bijection of 0 .. 36**6 - 1
_INVERSE = pow(_MULTIPLIER, -1, _MODULUS)
_OFFSET = 60_466_176  # 36**5: ids start with a letter or digit other than 0
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
MAX_OWNER_DATA_KEYS = 256
MAX_OWNER_DATA_LENGTH = 4096


class MachineNotFoundError(NotFoundError):
    """No machine has the system id (MAAS's words)."""

    def __init__(self, system_id: str) -> None:
        super().__init__("machine", system_id)
        self.message = "No Machine matches the given query."
        self.args = (self.message,)


class MachineForbiddenError(VmHostError):
    """The machine is someone else's (HTTP 403)."""


class MaasStatus(enum.StrEnum):
    """MAAS's node status names (its ``status_name``); ``number`` is its ``status``."""

    READY = "Ready"
    ALLOCATED = "Allocated"
    DEPLOYING = "Deploying"
    DEPLOYED = "Deployed"
    FAILED_DEPLOYMENT = "Failed deployment"
    RELEASING = "Releasing"
    FAILED_RELEASING = "Releasing failed"

    @property
    def number(self) -> int:
        """MAAS's number for the status (``src/maascommon/node.py`` in MAAS)."""
        return _NUMBERS[self]


_NUMBERS = {
    MaasStatus.READY: 4,
    MaasStatus.ALLOCATED: 10,
    MaasStatus.DEPLOYING: 9,
    MaasStatus.DEPLOYED: 6,
    MaasStatus.FAILED_DEPLOYMENT: 11,
    MaasStatus.RELEASING: 12,
    MaasStatus.FAILED_RELEASING: 13,
}


@dataclasses.dataclass(frozen=True, slots=True)
class MachineFilter:
    """``machines/``'s filters (each list is "any of"; empty = no filter)."""

    vm_ids: tuple[int, ...] | None = None  # None = any; () = none
    agent_name: str | None = None
    hostnames: tuple[str, ...] = ()
    mac_addresses: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    pools: tuple[str, ...] = ()
    host_tags: tuple[str, ...] = ()  # all of them
    host_ids: tuple[int, ...] = ()
    status: MaasStatus | None = None
    owner: str | None = None


def system_id_of(vm_id: int) -> str:
    """The system id of VM record ``vm_id``."""
    if not 0 < vm_id < _MODULUS:
        raise ValueError(f"no system id for record {vm_id}")
    value = (vm_id * _MULTIPLIER + _OFFSET) % _MODULUS
    out = []
    for _ in range(SYSTEM_ID_LENGTH):
        value, digit = divmod(value, 36)
        out.append(_DIGITS[digit])
    return "".join(reversed(out))


def vm_id_of(system_id: str) -> int | None:
    """The record id of a system id; None when it is not one."""
    text = system_id.strip().lower()
    if len(text) != SYSTEM_ID_LENGTH or any(c not in _DIGITS for c in text):
        return None
    value = int(text, 36)
    vm_id = ((value - _OFFSET) * _INVERSE) % _MODULUS
    return vm_id if vm_id > 0 else None


@dataclasses.dataclass(frozen=True, slots=True)
class MachineFields:
    """The MAAS side of a VM record."""

    status: MaasStatus
    agent_name: str = ""
    owner_data: tuple[tuple[str, str], ...] = ()
    dynamic: bool = False
    distro_series: str = ""
    osystem: str = ""
    status_message: str = ""
    user_data: str = ""

    @property
    def owner_data_map(self) -> dict[str, str]:
        """``owner_data`` as a mapping."""
        return dict(self.owner_data)


@dataclasses.dataclass(frozen=True, slots=True)
class Machine:
    """A VM record and its MAAS fields (what the machine JSON is built from)."""

    vm: Vm
    fields: MachineFields
    host_name: str
    zone: str
    pool: str
    host_tags: tuple[str, ...] = ()
    architecture: str = "amd64"
    host_type: str = "lxd"

    @property
    def system_id(self) -> str:
        """MAAS's id of the machine ("" for a dry run's preview, which has no record)."""
        return system_id_of(self.vm.id) if self.vm.id else ""


#: The image of each Ubuntu series on a host whose ``series_images`` option does not say
#: (LXD's remote ``ubuntu:``); a series in neither is used as an image alias as it is (Juju's
#: ``image-id`` constraint arrives as ``distro_series``).
DEFAULT_SERIES_IMAGES: Mapping[str, str] = {
    "bionic": "ubuntu:18.04",
    "focal": "ubuntu:20.04",
    "jammy": "ubuntu:22.04",
    "noble": "ubuntu:24.04",
    "oracular": "ubuntu:24.10",
    "plucky": "ubuntu:25.04",
}
DEFAULT_SERIES = "noble"
SERIES_IMAGES_OPTION = "series_images"


def series_images(options: Mapping[str, object]) -> dict[str, str]:
    """A host's series -> image map: the defaults with its ``series_images`` option over them."""
    merged = dict(DEFAULT_SERIES_IMAGES)
    own = options.get(SERIES_IMAGES_OPTION)
    if isinstance(own, Mapping):
        merged.update({str(k): str(v) for k, v in own.items() if str(k) and str(v)})
    return merged


def image_for_series(options: Mapping[str, object], series: str) -> tuple[str, str]:
    """The series (the default for "") and the image it deploys on a host with ``options``."""
    series = series.strip() or DEFAULT_SERIES
    return series, series_images(options).get(series, series)


def merged_owner_data(
    current: Mapping[str, str], changes: Mapping[str, str]
) -> tuple[tuple[str, str], ...]:
    """``current`` with ``changes`` applied: an empty value deletes its key (MAAS's rule)."""
    merged = dict(current)
    for key, value in changes.items():
        if not key or len(key) > MAX_OWNER_DATA_LENGTH or len(value) > MAX_OWNER_DATA_LENGTH:
            raise InvalidInputError.for_field(
                key or "owner_data", f"keys and values are 1 to {MAX_OWNER_DATA_LENGTH} characters"
            )
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > MAX_OWNER_DATA_KEYS:
        raise InvalidInputError.for_field(
            "owner_data", f"at most {MAX_OWNER_DATA_KEYS} keys per machine"
        )
    return tuple(sorted(merged.items()))
