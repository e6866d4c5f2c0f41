"""Domain objects to wire models (the numbers come from ``service.views``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vmhost import model, schemas
from vmhost.schemas import API_PREFIX
from vmhost.service import HostDetail

# the typed compose path, re-exported for the API's routes
from vmhost.service.compose_request import compose_request as compose_request
from vmhost.service.host_json import host_data, host_uri


def vm_uri(vm_id: int) -> str:
    """A VM's resource URI."""
    return f"{API_PREFIX}/vms/{vm_id}"


def named(item: Mapping[str, Any], collection: str) -> dict[str, Any]:
    """A zone or pool as MAAS embeds it (and as our zone/pool endpoints answer)."""
    return {
        "id": item["id"],
        "name": item["name"],
        "description": item.get("description", ""),
        "hosts": item.get("hosts", 0),
        "resource_uri": f"{API_PREFIX}/{collection}/{item['id']}",
    }


def host(detail: HostDetail) -> schemas.VmHost:
    """The vm-host JSON as its wire model."""
    return schemas.VmHost.model_validate(host_data(detail), from_attributes=True)


def host_ref(host_id: int, name: str) -> dict[str, Any]:
    """A host, briefly."""
    return {"id": host_id, "name": name, "resource_uri": host_uri(host_id)}


def vm(vm: model.Vm, host_name: str) -> schemas.Vm:
    """A VM record."""
    return schemas.Vm.model_validate(
        {
            "id": vm.id,
            "name": vm.name,
            "hostname": vm.hostname,
            "host": host_ref(vm.host_id, host_name),
            "origin": vm.origin.value,
            "state": vm.state.value,
            "power_state": vm.power_state,
            "cores": vm.cores,
            "memory_mib": vm.memory_mib,
            "pinned_cores": list(vm.pinned_cores),
            "hugepages_backed": vm.hugepages_backed,
            "hugepage_size_kib": vm.hugepage_size_kib,
            "numa_node": vm.numa_node,
            "disks": [
                {"name": d.name, "size_bytes": d.size_bytes, "pool": d.pool, "volume": d.volume}
                for d in vm.disks
            ],
            "interfaces": [
                {
                    "name": i.name,
                    "network": i.network,
                    "kind": i.kind.value,
                    "mac_address": i.mac_address,
                    "space": i.space,
                }
                for i in vm.interfaces
            ],
            "instance_type": vm.instance_type.value,
            "project": vm.project,
            "uuid": vm.uuid,
            "error": vm.error,
            "resource_uri": vm_uri(vm.id),
            "owner": vm.owner,
            "addresses": list(vm.addresses),
        }
    )


def tags(value: list[str] | str | None) -> tuple[str, ...] | None:
    """Tags as a list, or MAAS's comma-separated string."""
    if value is None:
        return None
    if isinstance(value, str):
        return tuple(t.strip() for t in value.split(",") if t.strip())
    return tuple(value)
