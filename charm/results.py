"""The service's answers as action results: flat maps with kebab-case keys and string values
(what `juju run` prints), lists as JSON."""

from __future__ import annotations

from typing import Any

from vmhost import schemas


def host_summary(host: schemas.VmHost) -> dict[str, Any]:
    cores, memory = host.resources.cores, host.resources.memory
    return {
        "id": host.id,
        "name": host.name,
        "type": host.type,
        "address": host.address,
        "status": host.status,
        "zone": host.zone.name,
        "pool": host.pool.name,
        "cores": f"{cores.allocated + cores.other}/{cores.capacity}",
        "memory-mib": f"{memory.allocated_mib + memory.other_mib}/{memory.capacity_mib}",
        "vms": host.vm_count.total,
        "last-error": host.last_error,
    }


def vm_summary(vm: schemas.Vm) -> dict[str, Any]:
    return {
        "id": vm.id,
        "hostname": vm.hostname,
        "host": vm.host.name,
        "state": vm.state,
        "power-state": vm.power_state,
        "cores": vm.cores,
        "memory-mib": vm.memory_mib,
        "owner": vm.owner,
        "addresses": list(vm.addresses),
    }


def vm_results(vm: schemas.Vm) -> dict[str, str]:
    return {
        "id": str(vm.id),
        "hostname": vm.hostname,
        "host": vm.host.name,
        "cores": str(vm.cores),
        "memory-mib": str(vm.memory_mib),
        "disks": ",".join(f"{d.name}:{d.size_bytes // 1000**3}G({d.pool})" for d in vm.disks),
        "addresses": ",".join(vm.addresses),
    }
