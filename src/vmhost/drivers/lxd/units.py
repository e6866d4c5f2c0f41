"""LXD's textual limits and sizes, both ways. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKMGTPE]i?B?|B)?\s*$")
_DECIMAL = {"k": 1000, "K": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4, "P": 1000**5}
_DECIMAL["E"] = 1000**6
_BINARY = {"K": 1024, "k": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4, "P": 1024**5}
_BINARY["E"] = 1024**6

DEBIAN_TO_KERNEL = {
    "amd64": "x86_64",
    "arm64": "aarch64",
    "armhf": "armv7l",
    "i386": "i686",
    "ppc64el": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}
KERNEL_TO_DEBIAN = {v: k for k, v in DEBIAN_TO_KERNEL.items()}


def parse_size(value: str | int | None) -> int | None:
    """LXD size (``10GiB``, ``8GB``, ``1073741824``, ``512MB``) in bytes; None if unparsable.

    As LXD: ``kB``/``MB``/``GB`` are powers of 1000, ``KiB``/``MiB``/``GiB`` of 1024, a bare
    number is bytes.
    """
    if value is None:
        return None
    if isinstance(value, int):
        return value
    match = _SIZE_RE.match(value)
    if not match:
        return None
    number, unit = float(match.group(1)), match.group(2) or ""
    if unit in ("", "B"):
        return int(number)
    prefix = unit[0]
    table = _BINARY if "i" in unit else _DECIMAL
    return int(number * table[prefix])


def format_cpu_set(cores: Iterable[int]) -> str:
    """Host cores as LXD's pinning syntax: ``0-3,6``; one core is ``n-n`` (``n`` is a count)."""
    ordered = sorted(set(cores))
    if not ordered:
        raise ValueError("no cores to pin")
    if len(ordered) == 1:
        return f"{ordered[0]}-{ordered[0]}"
    parts: list[str] = []
    start = prev = ordered[0]
    for core in [*ordered[1:], None]:
        if core is not None and core == prev + 1:
            prev = core
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if core is not None:
            start = prev = core
    return ",".join(parts)


def parse_cpu_limit(value: str | None) -> tuple[int | None, tuple[int, ...]]:
    """``limits.cpu`` as (count, pinned cores): ``"4"`` → (4, ()), ``"0,2-3"`` → (3, (0, 2, 3)).

    None or empty → (None, ()): no limit set. Unparsable → (None, ()).
    """
    if value is None or not value.strip():
        return None, ()
    text = value.strip()
    if text.isdigit():
        return int(text), ()
    pinned: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        low, sep, high = part.partition("-")
        if not low.isdigit() or (sep and not high.isdigit()):
            return None, ()
        first, last = int(low), int(high) if sep else int(low)
        if last < first:
            return None, ()
        pinned.update(range(first, last + 1))
    cores = tuple(sorted(pinned))
    return len(cores), cores


def parse_bool(value: object) -> bool:
    """LXD booleans: ``true``/``1``/``yes``/``on`` (any case)."""
    return str(value).strip().lower() in ("true", "1", "yes", "on")


def kernel_architecture(arch: str | None) -> str | None:
    """``amd64`` or ``amd64/generic`` → ``x86_64``; kernel names pass through."""
    if not arch:
        return None
    base = arch.split("/", 1)[0]
    return DEBIAN_TO_KERNEL.get(base, base)


def debian_architecture(arch: str) -> str:
    """``x86_64`` → ``amd64/generic`` (MAAS's architecture names)."""
    return f"{KERNEL_TO_DEBIAN.get(arch, arch)}/generic"
