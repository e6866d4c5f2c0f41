"""Juju constraints (plus MAAS's storage and interfaces grammars) -> the compose wire model.

Pure: no I/O, no logging, nothing global that changes. :func:`translate` takes a parsed
:class:`~vmhost_provider.constraints.Constraints` and returns the body of ``POST
/api/v1/vms`` (:class:`vmhost.schemas.HostComposeBody`), built as the wire model so that
whatever the server would refuse is refused here, or raises :class:`TranslationError` (a
``ValueError``) whose ``constraint`` attribute names the offending input. The rules,
constraint by constraint, are in ``docs/provider.md``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any, Final, TypeVar

import pydantic

from vmhost import schemas
from vmhost.model import DEFAULT_CORES, DEFAULT_MEMORY_MIB, DEFAULT_ROOT_DISK_BYTES, InstanceType
from vmhost.schemas import maas_grammar
from vmhost.schemas.maas_grammar import MAX_DISK_BYTES
from vmhost.schemas.vms import MAX_CORES, MAX_MEMORY_MIB, MIN_MEMORY_MIB, disks_from_storage
from vmhost_provider.constraint_values import go_quote
from vmhost_provider.constraints import Constraints

__all__ = [
    "DEFAULTS",
    "MAX_CORES",
    "MAX_DISK_BYTES",
    "MAX_MEMORY_MIB",
    "Defaults",
    "TranslationError",
    "translate",
]

MIB: Final = 1024**2

T = TypeVar("T")
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
# Storage and interfaces: MAAS's grammars
# --------------------------------------------------------------------------------------


def _grammar(parse: Callable[[str], T], value: str) -> T:
    """``parse(value)``, its errors as TranslationError."""
    try:
        return parse(value)
    except maas_grammar.GrammarError as exc:
        raise TranslationError(exc.field, exc.message) from None


def _disks(cons: Constraints, storage: str | None, defaults: Defaults) -> list[schemas.DiskSpec]:
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
    specs = _grammar(maas_grammar.storage, storage or "")
    if not specs:
        root = schemas.DiskSpec(size_bytes=size)
        return [root.model_copy(update={"pool": pool}) if pool else root]
    disks = disks_from_storage(specs, size)
    if not specs[0].tags:
        disks[0] = disks[0].model_copy(update={"pool": pool})
    return disks


def _check_known(key: str, spaces: Iterable[str], known: Collection[str] | None) -> None:
    if known is None:
        return
    unknown = [space for space in _unique(spaces) if space not in known]
    if unknown:
        noun = "space" if len(unknown) == 1 else "spaces"
        names = ", ".join(map(go_quote, unknown))
        raise _bad(key, f"no network is mapped to {noun} {names}")


def _clash(key: str, space: str) -> TranslationError:
    return TranslationError(
        key,
        f"negative space {go_quote(space)} from constraints clashes with "
        "required spaces for instance NICs",
    )


def _networks(
    cons: Constraints, interfaces: str | None, known_spaces: Collection[str] | None
) -> tuple[list[schemas.InterfaceSpec], tuple[str, ...]]:
    """NICs (labelled ones, then one per uncovered Juju space) and the excluded spaces."""
    if not cons.spaces and not interfaces:
        return [], ()
    wanted = _unique(cons.include_spaces())
    unwanted = _unique(cons.exclude_spaces())
    _check_known("spaces", (*wanted, *unwanted), known_spaces)
    parsed = _grammar(maas_grammar.interfaces, interfaces or "")
    named = [space for nic in parsed.nics for space in nic.spaces]
    _check_known("interfaces", (*named, *parsed.not_spaces), known_spaces)
    for space in unwanted:
        if space in wanted:
            raise _clash("spaces", space)
    nics: list[schemas.InterfaceSpec] = []
    for labelled in parsed.nics:
        # an excluded space is no alternative; a NIC left with none clashes
        spaces = tuple(space for space in labelled.spaces if space not in unwanted)
        if labelled.spaces and not spaces:
            raise _clash("spaces", labelled.spaces[0])
        nics.append(
            schemas.InterfaceSpec.from_grammar(dataclasses.replace(labelled, spaces=spaces))
        )
    for space in parsed.not_spaces:
        if space in wanted:
            raise _clash("interfaces", space)
    names = {nic.name for nic in nics}
    covered = {nic.space for nic in nics if isinstance(nic.space, str)}
    index = 0
    for space in wanted:
        if space in covered:
            continue
        while f"eth{index}" in names:
            index += 1
        names.add(f"eth{index}")
        nics.append(schemas.InterfaceSpec(name=f"eth{index}", space=space))
    return nics, _unique((*unwanted, *parsed.not_spaces))


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


#: The body's fields and the constraint each comes from (for the server's own checks).
_FIELD_CONSTRAINTS: Final[Mapping[str, str]] = {
    "cores": "cores",
    "memory_mib": "mem",
    "disks": "storage",
    "interfaces": "interfaces",
    "architecture": "arch",
    "zone": "zones",
    "zones": "zones",
    "tags": "tags",
    "not_tags": "tags",
    "not_spaces": "spaces",
}


def _body(data: Mapping[str, Any]) -> schemas.HostComposeBody:
    """The wire model; the server's rules refuse in Juju's words, naming the constraint."""
    try:
        return schemas.HostComposeBody.model_validate(data)
    except pydantic.ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else ""
        message = str(error["msg"]).removeprefix("Value error, ")
        raise _bad(_FIELD_CONSTRAINTS.get(field, field or "constraints"), message) from None


def translate(
    cons: Constraints,
    *,
    storage: str | None = None,
    interfaces: str | None = None,
    defaults: Defaults = DEFAULTS,
    known_spaces: Collection[str] | None = None,
) -> schemas.HostComposeBody:
    """The compose body for Juju constraints ``cons`` (rules: ``docs/provider.md``).

    ``storage`` and ``interfaces`` are MAAS-grammar extras (``None`` or ``""``: not given).
    ``known_spaces``: the spaces with a network mapped to them (None: not checked here).
    Raises :class:`TranslationError`.
    """
    instance_type = _instance_type(cons, defaults)
    cores = _cores(cons, defaults)
    memory_mib = _memory(cons, defaults)
    disks = _disks(cons, storage, defaults)
    tags, not_tags = _tags(cons)
    nics, not_spaces = _networks(cons, interfaces, known_spaces)
    zone, zones = _zones(cons)
    return _body(
        {
            "cores": cores,
            "memory_mib": memory_mib,
            "disks": disks,
            "interfaces": nics,
            "architecture": cons.arch or None,
            "instance_type": instance_type.value,
            "zone": zone,
            "zones": list(zones),
            "tags": list(tags),
            "not_tags": list(not_tags),
            "not_spaces": list(not_spaces),
        }
    )
