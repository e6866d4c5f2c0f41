"""The vm-host JSON (MAAS's keys, then vmhost's) as data, for every surface that answers it:
``GET /api/v1/vm-hosts`` (``api/convert.py``) and the MAAS API's ``pods/`` (``maas/pods.py``)."""

from __future__ import annotations

from typing import Any

from vmhost import model, schemas
from vmhost.schemas import API_PREFIX

from . import views
from .hosts import HostDetail

_MAAS_POOL_KEYS = ("id", "name", "type", "path", "total", "used", "available", "default")
CAPABILITIES = ["composable", "dynamic_local_storage", "over_commit", "storage_pools"]


def host_uri(host_id: int) -> str:
    """A host's resource URI."""
    return f"{API_PREFIX}/vm-hosts/{host_id}"


def named_ref(item: model.Zone | model.ResourcePool, collection: str) -> dict[str, Any]:
    """A zone or pool embedded in the vm-host JSON: exactly MAAS's keys."""
    return {
        "name": item.name,
        "description": item.description,
        "id": item.id,
        "resource_uri": f"{API_PREFIX}/{collection}/{item.id}",
    }


def host_data(detail: HostDetail) -> dict[str, Any]:
    """The vm-host JSON (``schemas.VmHost``) as data for ``deps.json_response`` (the views'
    records serialise as their fields): MAAS's keys, then ours. Never a secret. The read and
    list routes send this as is (validating 1,000 hosts again would be most of the list's
    time); the tests check it against the model."""
    h = detail.host
    summary = views.host_summary(detail.view)
    data = {
        "id": h.id,
        "name": h.name,
        "tags": list(h.tags),
        "type": schemas.MAAS_TYPE[h.type.value],
        "architectures": list(h.architectures),
        "capabilities": CAPABILITIES,
        "total": summary.totals.total,
        "used": summary.totals.used,
        "available": summary.totals.available,
        "zone": named_ref(h.zone, "zones"),
        "pool": named_ref(h.pool, "pools"),
        "cpu_over_commit_ratio": h.cpu_over_commit_ratio,
        "memory_over_commit_ratio": h.memory_over_commit_ratio,
        "storage_pools": [
            {k: getattr(p, k) for k in _MAAS_POOL_KEYS} for p in summary.storage_pools
        ],
        "host": {"system_id": None, "__incomplete__": True},
        "default_macvlan_mode": h.default_macvlan_mode,
        "version": h.version,
        "resource_uri": host_uri(h.id),
        "driver": h.type.value,
        "address": h.address,
        "project": h.project,
        "status": h.status.value,
        "last_error": h.last_error,
        "reserved_cores": h.reserved_cores,
        "reserved_memory_mib": h.reserved_memory_mib,
        "default_storage_pool": h.default_storage_pool,
        "vm_count": summary.vm_count,
        "resources": summary.resources,
        "networks": summary.networks,
        "can_run_vms": h.can_run_vms,
        "can_run_containers": h.can_run_containers,
    }
    return data
