"""Juju constraints (plus MAAS's storage and interfaces grammars) -> a vmhost ComposeRequest.

Pure: no I/O, no logging, nothing global that changes. :func:`translate` takes a parsed
:class:`~vmhost_provider.constraints.Constraints` (validate it first with
:func:`~vmhost_provider.validation.vmhost_validator`, which warns about the keys ignored here)
and returns a :class:`vmhost.model.ComposeRequest`, or raises :class:`TranslationError` (a
``ValueError``) whose ``constraint`` attribute names the offending input.

Rules (Juju's MAAS and LXD providers' readings of each constraint):

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

**Storage and interfaces** are MAAS's grammars, parsed by :mod:`vmhost.schemas.maas_grammar`
(the same parser as the API's, with MAAS's messages). The first storage item is the root disk;
the others follow in the order written, their tags kept as pool tags (the server makes a tag
naming a storage pool select it). Each interfaces label is one NIC named as MAAS names it; a
repeated key is an OR (``space=a,space=b``); ``not_space`` adds to the request's
``not_spaces``. Juju's positive spaces that no labelled NIC is on (alone) get a NIC each after
the labelled ones, named ``ethN`` with the lowest free ``N``.

**root-disk vs storage.** Juju's MAAS provider *builds* ``storage`` from ``root-disk``: its
first item is ``root:<root-disk in GiB>``, or ``root:0`` when only extra volumes are asked for.
So ``storage`` is the finer, lower-level statement and wins for the root disk: a non-zero size
of its first item beats ``root-disk``, and tags on it beat ``root-disk-source``. A zero size
(Juju's ``root:0``) means "not said": ``root-disk``, else the default, gives the size; no tags
mean ``root-disk-source``, else the host's default pool, gives the pool.

**Spaces.** With ``known_spaces`` (the spaces that have a network mapped to them), any space
named positively or negatively that is not known is refused, naming them all (the service
checks again when it composes). A space both required and excluded is Juju's error
``negative space "X" from constraints clashes with required spaces for instance NICs``; a tag
both required and excluded is refused likewise.

**Defaults** (:class:`Defaults`, the ``defaults`` argument) fill unset keys: by default
vmhost's compose defaults, 1 core, 2048 MiB and an 8 GB (decimal) root disk, and a virtual
machine, as MAAS composes.

**Limits.** Values that would overflow what vmhost stores, or that no host could ever have,
are refused naming the constraint: more than :data:`MAX_CORES` cores, memory below the compose
minimum (1024 MiB, MAAS's and the API's) or above :data:`MAX_MEMORY_MIB`, a disk above
:data:`MAX_DISK_BYTES`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Final, TypeVar

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
from vmhost.schemas import maas_grammar
from vmhost.schemas.vms import MAX_CORES, MAX_MEMORY_MIB, MIN_MEMORY_MIB
from vmhost_provider.constraints import Constraints, go_quote

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
GB: Final = 1000**3
#: 1 EiB: sums of a few such disks still fit a signed 64-bit integer.
MAX_DISK_BYTES: Final = maas_grammar.MAX_DISK_BYTES

T = TypeVar("T")
_KINDS: Final[Mapping[str, NetworkKind]] = {k.value: k for k in NetworkKind}
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


def _disks(cons: Constraints, storage: str | None, defaults: Defaults) -> tuple[DiskRequest, ...]:
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
        return (DiskRequest(size, pool),)
    root, *others = specs
    if root.tags:
        pool = None
    return (
        DiskRequest(root.size_bytes or size, pool, root.tags, root.label),
        *(DiskRequest(spec.size_bytes, None, spec.tags, spec.label) for spec in others),
    )


def _nic(nic: maas_grammar.NicSpec) -> InterfaceRequest:
    return InterfaceRequest(
        name=nic.name,
        network=nic.networks[0] if nic.networks else None,
        space=nic.spaces[0] if nic.spaces else None,
        kind=_KINDS[nic.kind] if nic.kind else None,
        or_spaces=nic.spaces[1:],
        or_networks=nic.networks[1:],
    )


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
) -> tuple[tuple[InterfaceRequest, ...], tuple[str, ...]]:
    """NICs (labelled ones, then one per uncovered Juju space) and the excluded spaces."""
    if not cons.spaces and not interfaces:
        return (), ()
    wanted = _unique(cons.include_spaces())
    unwanted = _unique(cons.exclude_spaces())
    _check_known("spaces", (*wanted, *unwanted), known_spaces)
    parsed = _grammar(maas_grammar.interfaces, interfaces or "")
    named = [space for nic in parsed.nics for space in nic.spaces]
    _check_known("interfaces", (*named, *parsed.not_spaces), known_spaces)
    for space in unwanted:
        if space in wanted:
            raise _clash("spaces", space)
    nics: list[InterfaceRequest] = []
    for labelled in parsed.nics:
        # an excluded space is no alternative; a NIC left with none clashes
        spaces = tuple(space for space in labelled.spaces if space not in unwanted)
        if labelled.spaces and not spaces:
            raise _clash("spaces", labelled.spaces[0])
        nics.append(_nic(dataclasses.replace(labelled, spaces=spaces)))
    for space in parsed.not_spaces:
        if space in wanted:
            raise _clash("interfaces", space)
    names = {nic.name for nic in nics}
    covered = {nic.space for nic in nics if not nic.or_spaces}
    index = 0
    for space in wanted:
        if space in covered:
            continue
        while f"eth{index}" in names:
            index += 1
        names.add(f"eth{index}")
        nics.append(InterfaceRequest(name=f"eth{index}", space=space))
    return tuple(nics), _unique((*unwanted, *parsed.not_spaces))


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
) -> ComposeRequest:
    """The compose request for Juju constraints ``cons`` (see the module docstring).

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
