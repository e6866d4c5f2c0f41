"""What every surface (API, CLI, web) shows about a host's resources, computed in one place.

Plain data (dicts and lists of ints/floats/strings) from a ``HostDetail``; the API turns them
into its wire schemas, the web pages render them. The over-commit maths is the scheduler's
(``vmhost.scheduler.capacity``), so what is shown is exactly what compose decides on.

Two accountings, as in MAAS (reference §2.1), both shown:

* MAAS's ``total``/``used``/``available`` {cores, memory (MiB), local_storage (bytes)}: raw
  host totals, the sum of every VM's use (composed here or found on the host) and their
  difference, with no over-commit and no reservation; ``available`` can be negative.
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

from collections.abc import Mapping
from typing import Any

from vmhost import model, scheduler
from vmhost.model.accounting import HostView, Split
from vmhost.scheduler import capacity as cap

from .hosts import HostDetail


def _split(s: Split | None) -> tuple[int, int]:
    return (s.allocated, s.other) if s is not None else (0, 0)


def maas_totals(view: HostView) -> dict[str, dict[str, int]]:
    """MAAS's ``total``, ``used`` and ``available`` (reference §2.1-A)."""
    usage = view.usage
    total = {
        "cores": view.cores,
        "memory": view.memory_mib,
        "local_storage": sum(p.total_bytes for p in view.pools),
    }
    used = {
        "cores": usage.cores.total,
        "memory": usage.memory_mib.total + usage.hugepages_mib.total,
        "local_storage": usage.disk_bytes.total,
    }
    available = {k: total[k] - used[k] for k in total}
    return {"total": total, "used": used, "available": available}


def storage_pools(view: HostView) -> list[dict[str, Any]]:
    """Every pool in MAAS's shape (``used`` = disks of every VM, ``available`` = total - used)
    plus our split: allocated, other, external (host-reported use that is not a VM disk we
    know) and free (what compose can still use)."""
    result = []
    for pool in view.pools:
        allocated, other = _split(view.usage.pools.get(pool.name))
        used = allocated + other
        result.append(
            {
                "id": pool.pool_id or pool.name,
                "name": pool.name,
                "type": pool.type,
                "path": pool.path,
                "total": pool.total_bytes,
                "used": used,
                "available": pool.total_bytes - used,
                "default": pool.name == view.default_pool,
                "tags": list(pool.tags),
                "allocated_bytes": allocated,
                "other_bytes": other,
                "external_bytes": pool.external_bytes,
                "free_bytes": cap.pool_free_bytes(view, pool.name),
            }
        )
    return result


def vm_count(view: HostView) -> dict[str, int]:
    """VMs on the host: composed here, found there, both."""
    vms = view.usage.vms
    return {"allocated": vms.allocated, "other": vms.other, "total": vms.total}


def resources(view: HostView) -> dict[str, Any]:
    """The allocated/other/free split with over-commit applied, per resource (module doc)."""
    usage = view.usage
    pinned_alloc, pinned_other = len(usage.pinned_allocated), len(usage.pinned_other)
    shared_capacity = cap.shared_core_capacity(view)
    core_capacity = shared_capacity + pinned_alloc + pinned_other
    cores_alloc = usage.vcpus.allocated + pinned_alloc
    cores_other = usage.vcpus.other + pinned_other

    general = cap.general_memory_mib(view)
    memory_capacity = cap.memory_capacity_mib(view)

    page_sizes: dict[int, int] = {}
    for node in view.numa:
        for h in node.hugepages:
            page_sizes[h.page_size_kib] = page_sizes.get(h.page_size_kib, 0) + h.total_mib
    used_by_size: dict[int, int] = {}
    for (_node, size), mib in usage.node_hugepages_mib.items():
        used_by_size[size] = used_by_size.get(size, 0) + mib
    hp_total = view.hugepages_mib

    storage_total = sum(p.total_bytes for p in view.pools)
    storage_external = sum(p.external_bytes for p in view.pools)
    return {
        "cores": {
            "total": view.cores,
            "reserved": view.reserved_cores,
            "over_commit_ratio": view.cpu_over_commit_ratio,
            "capacity": core_capacity,
            "allocated": cores_alloc,
            "other": cores_other,
            "free": core_capacity - cores_alloc - cores_other,
            "pinned_allocated": pinned_alloc,
            "pinned_other": pinned_other,
        },
        "memory": {
            "total_mib": view.memory_mib,
            "hugepages_mib": hp_total,
            "general_mib": general,
            "reserved_mib": view.reserved_memory_mib,
            "over_commit_ratio": view.memory_over_commit_ratio,
            "capacity_mib": memory_capacity,
            "allocated_mib": usage.memory_mib.allocated,
            "other_mib": usage.memory_mib.other,
            "free_mib": memory_capacity - usage.memory_mib.total,
        },
        "hugepages": {
            "total_mib": hp_total,
            "allocated_mib": usage.hugepages_mib.allocated,
            "other_mib": usage.hugepages_mib.other,
            "free_mib": hp_total - usage.hugepages_mib.total,
            "page_sizes": [
                {
                    "page_size_kib": size,
                    "total_mib": total,
                    "used_mib": used_by_size.get(size, 0),
                    "free_mib": total - used_by_size.get(size, 0),
                }
                for size, total in sorted(page_sizes.items())
            ],
        },
        "storage": {
            "total_bytes": storage_total,
            "allocated_bytes": usage.disk_bytes.allocated,
            "other_bytes": usage.disk_bytes.other,
            "external_bytes": storage_external,
            "free_bytes": sum(cap.pool_free_bytes(view, p.name) for p in view.pools),
        },
    }


def _sriov(view: HostView) -> list[dict[str, Any]]:
    result = []
    for nic in view.sriov:
        allocated, other = _split(view.usage.sriov.get(nic.name))
        result.append(
            {
                "nic": nic.name,
                "numa_node": nic.numa_node,
                "network": nic.network,
                "total_vfs": nic.total_vfs,
                "allocated": allocated,
                "other": other,
                "free": nic.total_vfs - allocated - other,
            }
        )
    return result


def numa_resources(view: HostView) -> dict[str, Any]:
    """Per NUMA node: cores (reserved, pinned by whom, free to pin), shared vCPUs bound to the
    node, general memory, hugepages per size and SR-IOV virtual functions per NIC.

    vCPUs and memory of VMs that float across nodes are not attributed to any node (they
    count in the host totals only), as in MAAS.
    """
    usage = view.usage
    pinnable = set(cap.pinnable_cores(view))
    sriov = _sriov(view)
    nodes = []
    for node in view.numa:
        vcpu_capacity = cap.node_core_capacity(view, node)
        vcpu_used = usage.node_vcpus.get(node.index, 0)
        mem_capacity = cap.node_memory_capacity_mib(view, node)
        mem_used = usage.node_memory_mib.get(node.index, 0)
        nodes.append(
            {
                "index": node.index,
                "cores": {
                    "all": list(node.cores),
                    "reserved": [c for c in node.cores if c not in pinnable],
                    "pinned_allocated": sorted(
                        c for c in node.cores if c in usage.pinned_allocated
                    ),
                    "pinned_other": sorted(c for c in node.cores if c in usage.pinned_other),
                    "free": [c for c in node.cores if c in pinnable and c not in usage.pinned],
                    "vcpus_capacity": vcpu_capacity,
                    "vcpus_used": vcpu_used,
                    "vcpus_free": vcpu_capacity - vcpu_used,
                },
                "memory": {
                    "total_mib": node.memory_mib,
                    "general_mib": max(node.memory_mib - node.hugepages_mib, 0),
                    "capacity_mib": mem_capacity,
                    "used_mib": mem_used,
                    "free_mib": mem_capacity - mem_used,
                },
                "hugepages": [
                    {
                        "page_size_kib": h.page_size_kib,
                        "total_mib": h.total_mib,
                        "used_mib": usage.node_hugepages_mib.get((node.index, h.page_size_kib), 0),
                        "free_mib": cap.free_hugepages_mib(view, node, h.page_size_kib),
                    }
                    for h in node.hugepages
                ],
                "sriov": [s for s in sriov if s["numa_node"] == node.index],
            }
        )
    return {"host_id": view.id, "numa": nodes, "sriov": sriov}


def host_summary(detail: HostDetail) -> dict[str, Any]:
    """Everything the vm-host JSON needs beyond the stored row, computed once."""
    view = detail.view
    return {
        **maas_totals(view),
        "storage_pools": storage_pools(view),
        "resources": resources(view),
        "vm_count": vm_count(view),
    }


def networks(view: HostView) -> list[dict[str, Any]]:
    """The host's networks and the spaces mapped to each."""
    by_network: dict[str, list[str]] = {}
    spaces: Mapping[str, tuple[str, ...]] = view.spaces
    for space, nets in spaces.items():
        for net in nets:
            by_network.setdefault(net, []).append(space)
    return [
        {"name": name, "kind": kind.value, "spaces": sorted(by_network.get(name, []))}
        for name, kind in view.networks
    ]


def candidates(ranked: scheduler.Schedule, why_not: model.NoCapacityError) -> dict[str, Any]:
    """Ranked candidates of a compose request (``ranked``) and, over the hosts the request may
    go to (every host, or the one it names), per check how many hosts it removes and why
    (``why_not``: ``ClaimsService.explain``)."""
    return {
        "considered": why_not.considered,
        "candidates": [
            {
                "host": {"id": c.view.id, "name": c.view.name},
                "weight": c.weight,
                "numa_nodes": list(c.placement.numa_nodes),
                "disk_pools": list(c.placement.disk_pools),
            }
            for c in ranked.candidates
        ],
        "reasons": list(why_not.reasons),  # model.Reason: the API sends schemas.Reason
        "message": scheduler.describe(why_not.reasons, why_not.considered),
    }
