"""What every surface (API, CLI, web) shows about a host's resources, computed in one place.

Typed records (frozen dataclasses whose field names are the wire keys) from a ``HostView``; the
API serialises them into its wire schemas, the web pages render them (the resource split's
records are ``model/resources.py``'s, which the wire schemas use as they are). The
over-commit maths is the scheduler's (``vmhost.scheduler.capacity``), so what is shown is
exactly what compose decides on.

Two accountings, as in MAAS, both shown:

* MAAS's ``total``/``used``/``available`` {cores, memory (MiB), local_storage (bytes)}: raw
  host totals, the sum of every VM's use (composed here or found on the host) and their
  difference, with no over-commit and no reservation; ``available`` can be negative. MAAS's
  ``local_storage`` counts VM disks only, so ``available.local_storage`` does not see files
  outside any VM; ``available.local_storage_free_bytes`` (ours) does: it is
  ``resources.storage.free_bytes``, what compose can still use, the same figure the table,
  the web page and each pool's ``free_bytes`` add up to. Storage is computed once, per pool
  (:func:`storage_pools`), and every total is a sum of those pools (:func:`storage_totals`).
* Ours, under ``resources``: per resource the *allocated* (composed by vmhost), *other* (VMs
  found on the host) and *free* split, where free is what compose can still use:
  ``capacity - allocated - other`` with ``capacity`` after reservation and over-commit.
  For cores, pinned cores are dedicated (counted once, never over-committed) and the rest is
  over-committed: ``capacity = pinned + floor((cores - reserved - pinned) * cpu_ratio)``, so
  ``free`` is exactly the shared vCPUs a compose can still get. Memory is general memory
  (host memory minus what is set aside as hugepages); hugepages and storage are never
  over-committed.
"""

from __future__ import annotations

import dataclasses

from vmhost.model.accounting import HostView, Split
from vmhost.model.resources import (
    CoreResources,
    HugepageResources,
    MemoryResources,
    PageSizeResources,
    StorageResources,
)
from vmhost.model.resources import HostResources as Resources
from vmhost.scheduler import capacity as cap

from .views_candidates import CandidateHost, Candidates, HostRef, candidates
from .views_numa import (
    NumaCores,
    NumaHugepages,
    NumaMemory,
    NumaNodeResources,
    NumaResources,
    SriovFunctions,
    numa_resources,
)


def _split(s: Split | None) -> tuple[int, int]:
    return (s.allocated, s.other) if s is not None else (0, 0)


# --- MAAS's figures ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Totals:
    """MAAS's resource triple: cores, memory (MiB), local_storage (bytes)."""

    cores: int
    memory: int
    local_storage: int


@dataclasses.dataclass(frozen=True, slots=True)
class Available(Totals):
    """MAAS's ``available``, plus what compose can still use of the storage (module doc)."""

    local_storage_free_bytes: int


@dataclasses.dataclass(frozen=True, slots=True)
class MaasTotals:
    """MAAS's ``total``, ``used`` and ``available``."""

    total: Totals
    used: Totals
    available: Available


def maas_totals(view: HostView, storage: StorageResources | None = None) -> MaasTotals:
    """MAAS's ``total``, ``used`` and ``available`` (module doc); ``storage`` is the host's
    :func:`storage_totals` when the caller has them."""
    usage = view.usage
    storage = storage or storage_totals(storage_pools(view))
    total = Totals(view.cores, view.memory_mib, storage.total_bytes)
    used = Totals(
        usage.cores.total,
        usage.memory_mib.total + usage.hugepages_mib.total,
        storage.allocated_bytes + storage.other_bytes,
    )
    available = Available(
        total.cores - used.cores,
        total.memory - used.memory,
        total.local_storage - used.local_storage,
        storage.free_bytes,
    )
    return MaasTotals(total, used, available)


@dataclasses.dataclass(frozen=True, slots=True)
class StoragePoolUse:
    """A pool in MAAS's shape (``used`` = disks of every VM, ``available`` = total - used) plus
    our split: allocated, other, external (host-reported use that is not a VM disk we know) and
    free (what compose can still use)."""

    id: str
    name: str
    type: str
    path: str
    total: int
    used: int
    available: int
    default: bool
    tags: tuple[str, ...]
    allocated_bytes: int
    other_bytes: int
    external_bytes: int
    free_bytes: int


def storage_pools(view: HostView) -> list[StoragePoolUse]:
    """Every pool of the host (:class:`StoragePoolUse`)."""
    result = []
    for pool in view.pools:
        allocated, other = _split(view.usage.pools.get(pool.name))
        used = allocated + other
        result.append(
            StoragePoolUse(
                id=pool.pool_id or pool.name,
                name=pool.name,
                type=pool.type,
                path=pool.path,
                total=pool.total_bytes,
                used=used,
                available=pool.total_bytes - used,
                default=pool.name == view.default_pool,
                tags=pool.tags,
                allocated_bytes=allocated,
                other_bytes=other,
                external_bytes=pool.external_bytes,
                free_bytes=cap.pool_free_bytes(view, pool.name),
            )
        )
    return result


def storage_totals(pools: list[StoragePoolUse]) -> StorageResources:
    """The host's storage: the sums of its pools' figures (so every total agrees with them)."""
    return StorageResources(
        total_bytes=sum(p.total for p in pools),
        allocated_bytes=sum(p.allocated_bytes for p in pools),
        other_bytes=sum(p.other_bytes for p in pools),
        external_bytes=sum(p.external_bytes for p in pools),
        free_bytes=sum(p.free_bytes for p in pools),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class VmCount:
    """VMs on the host: composed here, found there, both."""

    allocated: int
    other: int
    total: int


def vm_count(view: HostView) -> VmCount:
    """VMs on the host: composed here, found there, both."""
    vms = view.usage.vms
    return VmCount(vms.allocated, vms.other, vms.total)


# --- our split --------------------------------------------------------------------------------


def resources(view: HostView, storage: StorageResources | None = None) -> Resources:
    """The allocated/other/free split with over-commit applied, per resource (module doc);
    ``storage`` is the host's :func:`storage_totals` when the caller has them."""
    usage = view.usage
    pinned_alloc, pinned_other = len(usage.pinned_allocated), len(usage.pinned_other)
    core_capacity = cap.shared_core_capacity(view) + pinned_alloc + pinned_other
    cores_alloc = usage.vcpus.allocated + pinned_alloc
    cores_other = usage.vcpus.other + pinned_other
    memory_capacity = cap.memory_capacity_mib(view)

    page_sizes: dict[int, int] = {}
    for node in view.numa:
        for h in node.hugepages:
            page_sizes[h.page_size_kib] = page_sizes.get(h.page_size_kib, 0) + h.total_mib
    used_by_size: dict[int, int] = {}
    for (_node, size), mib in usage.node_hugepages_mib.items():
        used_by_size[size] = used_by_size.get(size, 0) + mib
    hp_total = view.hugepages_mib
    return Resources(
        cores=CoreResources(
            total=view.cores,
            reserved=view.reserved_cores,
            over_commit_ratio=view.cpu_over_commit_ratio,
            capacity=core_capacity,
            allocated=cores_alloc,
            other=cores_other,
            free=core_capacity - cores_alloc - cores_other,
            pinned_allocated=pinned_alloc,
            pinned_other=pinned_other,
        ),
        memory=MemoryResources(
            total_mib=view.memory_mib,
            hugepages_mib=hp_total,
            general_mib=cap.general_memory_mib(view),
            reserved_mib=view.reserved_memory_mib,
            over_commit_ratio=view.memory_over_commit_ratio,
            capacity_mib=memory_capacity,
            allocated_mib=usage.memory_mib.allocated,
            other_mib=usage.memory_mib.other,
            free_mib=cap.free_memory_mib(view),
        ),
        hugepages=HugepageResources(
            total_mib=hp_total,
            allocated_mib=usage.hugepages_mib.allocated,
            other_mib=usage.hugepages_mib.other,
            free_mib=hp_total - usage.hugepages_mib.total,
            page_sizes=tuple(
                PageSizeResources(
                    size, total, used_by_size.get(size, 0), total - used_by_size.get(size, 0)
                )
                for size, total in sorted(page_sizes.items())
            ),
        ),
        storage=storage or storage_totals(storage_pools(view)),
    )


# --- a host as a whole --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class HostNetwork:
    """A network or bridge on the host and the spaces mapped to it."""

    name: str
    kind: str
    spaces: tuple[str, ...]


def networks(view: HostView) -> list[HostNetwork]:
    """The host's networks and the spaces mapped to each."""
    by_network: dict[str, list[str]] = {}
    for space, nets in view.spaces.items():
        for net in nets:
            by_network.setdefault(net, []).append(space)
    return [
        HostNetwork(name, kind.value, tuple(sorted(by_network.get(name, []))))
        for name, kind in view.networks
    ]


@dataclasses.dataclass(frozen=True, slots=True)
class HostSummary:
    """Everything the vm-host JSON shows beyond the host's record, computed once."""

    totals: MaasTotals
    storage_pools: list[StoragePoolUse]
    resources: Resources
    vm_count: VmCount
    networks: list[HostNetwork]


def host_summary(view: HostView) -> HostSummary:
    """Everything the vm-host JSON needs beyond the host's record (:class:`HostSummary`)."""
    pools = storage_pools(view)
    storage = storage_totals(pools)
    return HostSummary(
        totals=maas_totals(view, storage),
        storage_pools=pools,
        resources=resources(view, storage),
        vm_count=vm_count(view),
        networks=networks(view),
    )


__all__ = [
    "Available",
    "CandidateHost",
    "Candidates",
    "CoreResources",
    "HostNetwork",
    "HostRef",
    "HostSummary",
    "HugepageResources",
    "MaasTotals",
    "MemoryResources",
    "NumaCores",
    "NumaHugepages",
    "NumaMemory",
    "NumaNodeResources",
    "NumaResources",
    "PageSizeResources",
    "Resources",
    "SriovFunctions",
    "StoragePoolUse",
    "StorageResources",
    "Totals",
    "VmCount",
    "candidates",
    "host_summary",
    "maas_totals",
    "networks",
    "numa_resources",
    "resources",
    "storage_pools",
    "storage_totals",
    "vm_count",
]
