"""Why a host cannot take a request, as data: the check, its subject and its figures.

Every refusal the scheduler makes is a :class:`Failure`: which :class:`Check` failed, what it
failed on (a NUMA node, a storage pool, a network, a NIC: the :class:`Subject`) and, for a
resource, the :class:`Figures` (requested, free, and how free was reached: total, set aside,
reserved, ratio, capacity, used). A host is refused with every failure found, not only the
first; hosts refused alike are grouped into one :class:`Reason`. Surfaces print the words and
send the data, so no client has to parse English.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from typing import NamedTuple, TypeVar

_T = TypeVar("_T")


class Check(enum.StrEnum):
    """The policy filters and the exact-fit checks, by the name each reports under."""

    HOST = "host"  # the request names another host
    STATUS = "status"  # the host is not ready
    ZONE = "zone"
    POOL = "pool"  # resource pool
    TAGS = "tags"
    ARCHITECTURE = "architecture"
    INSTANCE_TYPE = "instance-type"
    SPACES = "spaces"  # excluded spaces
    PINNING = "pinning"
    CORES = "cores"
    NUMA = "numa"
    MEMORY = "memory"
    HUGEPAGES = "hugepages"
    STORAGE = "storage"
    NETWORK = "network"
    SRIOV = "sriov"
    DRIVER = "driver"  # the host's hypervisor failed to compose

    @property
    def about_host_state(self) -> bool:
        """Whether the check is about the host's state or the request's choice of host, not
        about what the request asks a host to have (no constraint can be relaxed for it)."""
        return self in _HOST_STATE


_HOST_STATE = frozenset({Check.HOST, Check.STATUS, Check.DRIVER})


class Unit(enum.StrEnum):
    """The unit of a failure's figures."""

    CORES = "cores"
    MIB = "MiB"
    BYTES = "bytes"
    VFS = "virtual functions"


class Subject(NamedTuple):
    """What on the host a failure is about (None = the host as a whole)."""

    numa_node: int | None = None
    storage_pool: str | None = None
    network: str | None = None
    space: str | None = None
    nic: str | None = None  # the requested NIC's name
    hugepage_size_kib: int | None = None


class Figures(NamedTuple):
    """The numbers behind a resource failure; None where a figure does not apply.

    ``free = capacity - used`` and ``capacity = floor((total - set_aside - reserved) * ratio)``.
    ``set_aside`` is what the total holds that this kind of use cannot have: cores pinned to
    VMs (for shared vCPUs), memory set aside as hugepages (for general memory), space used on a
    storage pool by files outside vmhost's VMs. ``limit`` is the most one VM may have here,
    whatever the over-commit ratio.
    """

    unit: Unit
    requested: int
    free: int | None = None
    total: int | None = None
    set_aside: int | None = None
    reserved: int | None = None
    ratio: float | None = None
    capacity: int | None = None
    used: int | None = None
    limit: int | None = None

    def common(self, other: Figures) -> Figures:
        """The figures both share (others None): what a group of hosts has in common."""
        if other == self:
            return self
        o = other
        return Figures(
            self.unit,
            self.requested,
            _same(self.free, o.free),
            _same(self.total, o.total),
            _same(self.set_aside, o.set_aside),
            _same(self.reserved, o.reserved),
            _same(self.ratio, o.ratio),
            _same(self.capacity, o.capacity),
            _same(self.used, o.used),
            _same(self.limit, o.limit),
        )


def _same(a: _T | None, b: _T | None) -> _T | None:
    return a if a == b else None


class Failure(NamedTuple):
    """One check a host failed: ``text`` in words shared by hosts failing alike ("lack 16384
    MiB of memory"), the subject, and the figures of this host."""

    check: Check
    text: str
    subject: Subject = Subject()
    figures: Figures | None = None

    @property
    def key(self) -> tuple[Check, str, Subject]:
        """Failures with equal keys group together (all but the figures)."""
        return (self.check, self.text, self.subject)

    def with_figures(self, figures: Figures | None) -> Failure:
        """The same failure with other figures."""
        return Failure(self.check, self.text, self.subject, figures)

    @property
    def detail(self) -> str:
        """The failure with its figures: ``3 cores requested, 2 free (8 cores × 1.0, 6 used)``."""
        f = self.figures
        if f is None or (f.free is None and f.limit is None):
            return self.text
        requested = f"{_amount(f.unit, f.requested, self.subject)}{_where(self.subject)} requested"
        if f.limit is not None and f.requested > f.limit:
            return (
                f"{requested}, at most {_number(f.unit, f.limit)} for one VM "
                f"({_how(f, with_ratio=False, with_used=False)}; no VM is larger than its "
                "host, whatever the over-commit ratio)"
            )
        free = f"{_number(f.unit, f.free or 0)} free"
        if f.total is None:
            return f"{self.text} ({_number(f.unit, f.requested)} requested, {free})"
        return f"{requested}, {free} ({_how(f, with_ratio=True, with_used=True)})"


def _number(unit: Unit, n: int) -> str:
    if unit is Unit.BYTES:
        return f"{n / 1000**3:g} GB"
    return str(n)


def _amount(unit: Unit, n: int, subject: Subject) -> str:
    if unit is Unit.CORES:
        return f"{n} core" if n == 1 else f"{n} cores"
    if unit is Unit.MIB and subject.hugepage_size_kib is not None:
        return f"{n} MiB of {subject.hugepage_size_kib} KiB hugepages"
    if unit is Unit.MIB:
        return f"{n} MiB of memory"
    if unit is Unit.BYTES:
        return f"{n / 1000**3:g} GB"
    return f"{n} SR-IOV virtual function{'' if n == 1 else 's'}"


def _where(subject: Subject) -> str:
    parts = []
    if subject.storage_pool is not None:
        parts.append(f" in storage pool {subject.storage_pool!r}")
    if subject.network is not None:
        parts.append(f" on {subject.network!r}")
    if subject.numa_node is not None:
        parts.append(f" on NUMA node {subject.numa_node}")
    return "".join(parts)


_SET_ASIDE = {
    Unit.CORES: "pinned",
    Unit.MIB: "hugepages",
    Unit.BYTES: "used outside vmhost",
    Unit.VFS: "",
}


def _how(f: Figures, with_ratio: bool, with_used: bool) -> str:
    """``8 cores × 1.0, 6 used``; ``(16384 MiB - 2048 hugepages - 1024 reserved) × 1.5, ...``."""
    if f.total is None:
        return ""
    unit = {Unit.CORES: " cores", Unit.MIB: " MiB", Unit.BYTES: "", Unit.VFS: " in all"}[f.unit]
    base = f"{_number(f.unit, f.total)}{unit}"
    minus = [
        f"{_number(f.unit, n)} {label}"
        for n, label in ((f.set_aside, _SET_ASIDE[f.unit]), (f.reserved, "reserved"))
        if n
    ]
    if minus:
        base = " - ".join([base, *minus])
    parts = []
    if with_ratio and f.ratio is not None:
        parts.append(f"({base}) × {f.ratio}" if minus else f"{base} × {f.ratio}")
        if f.capacity is not None and (minus or f.ratio != 1):
            parts[-1] += f" = {_number(f.unit, f.capacity)}"
    else:
        parts.append(base)
    if with_used and f.used is not None:
        parts.append(f"{_number(f.unit, f.used)} used")
    return ", ".join(parts)


def join_texts(texts: Sequence[str]) -> str:
    """``lack 4 free cores and 8192 MiB of memory``: one verb for failures that share it."""
    if len(texts) == 1:
        return texts[0]
    verb = texts[0].split(" ", 1)[0]
    if all(t.startswith(verb + " ") for t in texts):
        rest = [t[len(verb) + 1 :] for t in texts]
        return f"{verb} {', '.join(rest[:-1])} and {rest[-1]}"
    return f"{', '.join(texts[:-1])} and {texts[-1]}"


class FailureSummary:
    """``check`` and ``reason`` of a record's ``failures`` (a host's, or a group's alike)."""

    __slots__ = ()
    failures: tuple[Failure, ...]

    @property
    def check(self) -> Check:
        """The first check failed."""
        return self.failures[0].check

    @property
    def reason(self) -> str:
        """Every failure, in words shared by hosts failing alike."""
        return join_texts([f.text for f in self.failures])


@dataclasses.dataclass(frozen=True, slots=True)
class Reason(FailureSummary):
    """Hosts refused alike: how many, the failures they share, and the host when it is one.

    ``check`` is the first failure's check; ``reason`` all failures in words ("lack 16384 MiB
    of memory"). With several hosts the figures keep only what every host in the group shares.
    """

    hosts: int
    failures: tuple[Failure, ...]
    host_id: int | None = None
    host_name: str | None = None

    @property
    def detail(self) -> str:
        """Every failure with its figures."""
        return "; ".join(f.detail for f in self.failures)

    @classmethod
    def of(cls, check: Check, hosts: int, text: str) -> Reason:
        """A reason with one failure and no figures."""
        return cls(hosts, (Failure(check, text),))
