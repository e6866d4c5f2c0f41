"""Domain objects to wire models (the numbers come from ``service.views``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vmhost import model, schemas
from vmhost.schemas import API_PREFIX
from vmhost.service import HostDetail
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


def compose_request(body: schemas.ComposeBody, host_id: int | None) -> model.ComposeRequest:
    """The domain request (the service applies MAAS's pool-tag rule)."""
    disks = tuple(
        model.DiskRequest(spec.size_bytes, pool=spec.pool, tags=tuple(spec.tags), label=spec.label)
        for spec in body.disk_specs()
    )
    interfaces = tuple(_interface(i) for i in body.interface_specs())
    kwargs: dict[str, Any] = {"disks": disks} if disks else {}
    return model.ComposeRequest(
        cores=body.cores,
        memory_mib=body.memory_mib,
        interfaces=interfaces,
        no_interfaces=body.no_interfaces,
        pinned_cores=tuple(body.pinned_cores),
        pin_cores=body.pin_cores,
        numa_affinity=body.numa_affinity,
        hugepages_backed=body.hugepages_backed,
        hugepage_size_kib=body.hugepage_size_kib,
        architecture=body.architecture,
        instance_type=model.InstanceType(body.instance_type),
        hostname=body.hostname,
        zone=body.zone,
        zones=tuple(body.zones),
        pool=body.pool,
        tags=tuple(body.tags),
        not_tags=tuple(body.not_tags),
        not_spaces=tuple(body.excluded_spaces()),
        host_id=host_id,
        user_data=body.user_data,
        owner=body.owner or "",
        **kwargs,
    )


def _interface(spec: schemas.InterfaceSpec) -> model.InterfaceRequest:
    spaces, networks = spec.spaces(), spec.networks()
    return model.InterfaceRequest(
        name=spec.name,
        network=networks[0] if networks else None,
        space=spaces[0] if spaces else None,
        kind=model.NetworkKind(spec.kind) if spec.kind else None,
        or_spaces=spaces[1:],
        or_networks=networks[1:],
    )


def tags(value: list[str] | str | None) -> tuple[str, ...] | None:
    """Tags as a list, or MAAS's comma-separated string."""
    if value is None:
        return None
    if isinstance(value, str):
        return tuple(t.strip() for t in value.split(",") if t.strip())
    return tuple(value)
