"""How numbers read on the pages: units, ratios, core ranges, and the resource meters.

Nothing here computes an account: every number comes from ``vmhost.service.views`` (the same
functions the API and the CLI show); this module only lays them out (widths of bar segments,
"12 of 16 cores", "8 × 2.0").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence

from vmhost.service import views

KIB = 1024


def count(n: int) -> str:
    """1,234."""
    return f"{n:,}"


def sentence(text: str) -> str:
    """A message as a sentence: capital first letter, final full stop."""
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else f"{text}."


def plural(n: int, word: str, words: str = "") -> str:
    """``1 host`` / ``2 hosts``."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


def ratio(value: float) -> str:
    """An over-commit ratio as typed: 2.0, 1.5, 0.25."""
    text = f"{value:g}"
    return text if "." in text or "e" in text else f"{text}.0"


def pairs(values: Iterable[str]) -> list[tuple[str, str]]:
    """Options whose value is their text."""
    return [(v, v) for v in values]


def is_ratio(text: str) -> bool:
    """Whether ``text`` is a ratio a slider can show (0 to 10)."""
    try:
        return 0 <= float(text) <= 10
    except ValueError:
        return False


def mib(value: int) -> str:
    """Memory in binary units: 512 MiB, 8 GiB, 1.5 TiB."""
    sign = "−" if value < 0 else ""
    value = abs(value)
    for unit, size in (("TiB", KIB * KIB), ("GiB", KIB)):
        if value >= size:
            return f"{sign}{_trim(value / size)} {unit}"
    return f"{sign}{value:,} MiB"


def page_size(kib: int) -> str:
    """A hugepage size: 2 MiB, 1 GiB."""
    return mib(kib // KIB) if kib >= KIB else f"{kib} KiB"


def size(value: int) -> str:
    """Storage in decimal units, as disk sizes are asked for: 8 GB, 1.2 TB."""
    sign = "−" if value < 0 else ""
    value = abs(value)
    for unit, scale in (("TB", 1000**4), ("GB", 1000**3), ("MB", 1000**2), ("kB", 1000)):
        if value >= scale:
            return f"{sign}{_trim(value / scale)} {unit}"
    return f"{sign}{value} B"


def _trim(x: float) -> str:
    text = f"{x:.1f}" if x < 100 else f"{x:.0f}"
    return text.removesuffix(".0")


def core_ranges(cores: Iterable[int]) -> str:
    """``0-3, 8, 10-11``."""
    ordered = sorted(set(cores))
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ", ".join(parts)


@dataclasses.dataclass(frozen=True, slots=True)
class Segment:
    """A part of a meter: its kind (CSS class), amount, share of the bar and its words."""

    kind: str
    amount: int
    percent: float
    text: str


@dataclasses.dataclass(frozen=True, slots=True)
class Meter:
    """A resource bar with its numbers in words (the colours are never the only cue)."""

    label: str
    headline: str  # "12 of 16 cores"
    detail: str  # "8 × 2.0"
    segments: tuple[Segment, ...]
    over: bool  # more in use than the capacity (over-committed after a ratio change)

    @property
    def words(self) -> str:
        """Everything the bar shows, as one sentence for screen readers and tooltips."""
        parts = ", ".join(s.text for s in self.segments if s.amount or s.kind == "free")
        extra = f" ({self.detail})" if self.detail else ""
        over = "; over-committed" if self.over else ""
        return f"{self.label}: {self.headline}{extra}: {parts}{over}"


def _segments(parts: list[tuple[str, int, str]], capacity: int) -> tuple[Segment, ...]:
    scale = max(capacity, sum(max(a, 0) for k, a, _ in parts if k != "free"), 1)
    return tuple(Segment(k, a, round(100 * max(a, 0) / scale, 2), t) for k, a, t in parts)


def _scaled(total: str, value: float, reserved: str = "", pinned: int = 0) -> str:
    """``8 × 2.0``, ``(16 − 2 reserved − 2 pinned) × 2.0 + 2 pinned``."""
    minus = f" − {reserved} reserved" if reserved else ""
    if pinned:
        minus += f" − {pinned} pinned"
    base = f"({total}{minus})" if minus else total
    return f"{base} × {ratio(value)}" + (f" + {pinned} pinned" if pinned else "")


def _meter(
    label: str,
    detail: str,
    capacity: int,
    amount: Callable[[int], str],
    parts: Sequence[tuple[str, int, str]],
    free: int,
    unit: str = "",
) -> Meter:
    """A used/free bar: ``parts`` (kind, amount, word) then what is free, over ``capacity``;
    over-committed when free is below zero. ``amount`` writes a number in the meter's unit."""
    used = sum(value for _, value, _ in parts)
    segments = [(kind, value, f"{amount(value)} {word}") for kind, value, word in parts]
    segments.append(("free", max(free, 0), f"{amount(free)} free"))
    headline = f"{amount(used)} of {amount(capacity)}{unit}"
    return Meter(label, headline, detail, _segments(segments, capacity), free < 0)


def _count(value: int) -> str:
    return f"{value:,}"


def cores_meter(resources: views.Resources) -> Meter:
    """Cores: allocated / other / free after over-commit; "8 × 2.0" when a ratio applies."""
    c = resources.cores
    detail = ""
    if c.over_commit_ratio != 1 or c.reserved:
        reserved = str(c.reserved) if c.reserved else ""
        pinned = c.pinned_allocated + c.pinned_other
        detail = _scaled(str(c.total), c.over_commit_ratio, reserved, pinned)
    parts = [("allocated", c.allocated, "allocated"), ("other", c.other, "other")]
    return _meter("CPU", detail, c.capacity, _count, parts, c.free, " cores")


def memory_meter(resources: views.Resources) -> Meter:
    """General memory: allocated / other / free after over-commit (hugepages apart)."""
    m = resources.memory
    detail = ""
    if m.over_commit_ratio != 1 or m.reserved_mib:
        reserved = mib(m.reserved_mib) if m.reserved_mib else ""
        detail = _scaled(mib(m.general_mib), m.over_commit_ratio, reserved)
    parts = [("allocated", m.allocated_mib, "allocated"), ("other", m.other_mib, "other")]
    return _meter("RAM", detail, m.capacity_mib, mib, parts, m.free_mib)


def hugepages_meter(resources: views.Resources) -> Meter | None:
    """Hugepage memory (never over-committed), when the host has any."""
    h = resources.hugepages
    if not h.total_mib:
        return None
    sizes = ", ".join(f"{page_size(p.page_size_kib)} pages" for p in h.page_sizes)
    parts = [("allocated", h.allocated_mib, "allocated"), ("other", h.other_mib, "other")]
    return _meter("Hugepages", sizes, h.total_mib, mib, parts, h.free_mib)


def storage_meter(
    total: int, allocated: int, other: int, external: int, free: int, label: str = "Storage"
) -> Meter:
    """Storage: ours (allocated) / other VMs / outside use / free; never over-committed (the
    host's ``resources.storage``, or one pool of ``views.storage_pools``)."""
    parts = [
        ("allocated", allocated, "ours"),
        ("other", other, "other VMs"),
        ("external", external, "outside use"),
    ]
    return _meter(label, "", total, size, parts, free)


def pool_meter(pool: views.StoragePoolUse) -> Meter:
    """One storage pool's meter."""
    return storage_meter(
        pool.total,
        pool.allocated_bytes,
        pool.other_bytes,
        pool.external_bytes,
        pool.free_bytes,
        pool.name,
    )


def meters(resources: views.Resources) -> dict[str, Meter | None]:
    """Every meter of a host, from its ``views.resources``."""
    s = resources.storage
    return {
        "cores": cores_meter(resources),
        "memory": memory_meter(resources),
        "hugepages": hugepages_meter(resources),
        "storage": storage_meter(
            s.total_bytes, s.allocated_bytes, s.other_bytes, s.external_bytes, s.free_bytes
        ),
    }
