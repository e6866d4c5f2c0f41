"""A host's resources split into allocated / other / free, over-commit applied, and an LXD
project's use: the records.

One definition serves both sides: ``service/views.py`` computes them (``views.resources``), the
API sends them as they are (``orjson`` writes dataclasses) and ``schemas/hosts.py`` declares
them as the wire model (pydantic validates and documents stdlib dataclasses; a field's
``metadata`` becomes its OpenAPI description), so the client reads the same records back.
"""

from __future__ import annotations

import dataclasses


def _described(text: str) -> dict[str, str]:
    return {"description": text}


@dataclasses.dataclass(frozen=True, slots=True)
class CoreResources:
    """Cores: capacity = pinned + floor((total - reserved - pinned) x ratio)."""

    total: int
    reserved: int
    over_commit_ratio: float
    capacity: int
    allocated: int = dataclasses.field(metadata=_described("used by VMs composed by vmhost"))
    other: int = dataclasses.field(metadata=_described("used by VMs found on the host"))
    free: int = dataclasses.field(
        metadata=_described("capacity - allocated - other (may be negative)")
    )
    pinned_allocated: int
    pinned_other: int


@dataclasses.dataclass(frozen=True, slots=True)
class MemoryResources:
    """General memory (host memory minus hugepages): capacity = floor((general - reserved) x
    ratio)."""

    total_mib: int
    hugepages_mib: int
    general_mib: int
    reserved_mib: int
    over_commit_ratio: float
    capacity_mib: int
    allocated_mib: int
    other_mib: int
    free_mib: int


@dataclasses.dataclass(frozen=True, slots=True)
class PageSizeResources:
    """Hugepages of one size, all NUMA nodes."""

    page_size_kib: int
    total_mib: int
    used_mib: int
    free_mib: int


@dataclasses.dataclass(frozen=True, slots=True)
class HugepageResources:
    """Hugepages: never over-committed."""

    total_mib: int
    allocated_mib: int
    other_mib: int
    free_mib: int
    page_sizes: tuple[PageSizeResources, ...] = dataclasses.field(default_factory=tuple)


@dataclasses.dataclass(frozen=True, slots=True)
class StorageResources:
    """Storage over every pool: never over-committed."""

    total_bytes: int
    allocated_bytes: int
    other_bytes: int
    external_bytes: int
    free_bytes: int


@dataclasses.dataclass(frozen=True, slots=True)
class HostResources:
    """vmhost's allocated / other / free split, over-commit applied."""

    cores: CoreResources
    memory: MemoryResources
    hugepages: HugepageResources
    storage: StorageResources


@dataclasses.dataclass(frozen=True, slots=True)
class Project:
    """An LXD project on the host, with what its instances use (drivers report it, the API
    sends it as it is)."""

    name: str
    description: str = ""
    instances: int = 0
    cores: int = 0
    memory_mib: int = 0
    disk_bytes: int = 0
