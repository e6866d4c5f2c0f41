"""The service's answers as action results: flat maps with kebab-case keys and string values
(what `juju run` prints), lists as JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
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


def _host_results(host: schemas.VmHost) -> dict[str, str]:
    return {
        "id": str(host.id),
        "name": host.name,
        "status": host.status,
        "cores": str(host.total.cores),
        "memory-mib": str(host.total.memory),
    }


def added_host(host: schemas.VmHost) -> dict[str, str]:
    """A host just registered; why it is not ready, when it is not."""
    results = _host_results(host)
    if host.status != "ready":
        results["last-error"] = host.last_error
    return results


def refreshed_host(host: schemas.VmHost) -> dict[str, str]:
    """A host just re-discovered, with its VM count; its last error, if any."""
    results = {**_host_results(host), "vms": str(host.vm_count.total)}
    if host.last_error:
        results["last-error"] = host.last_error
    return results


def certificate(cert: schemas.Certificate) -> dict[str, str]:
    """The client certificate the service presents to an LXD host, and how to trust it."""
    return {
        "certificate": cert.certificate,
        "fingerprint": cert.fingerprint,
        "trust-command": cert.trust_command,
        "not-after": cert.not_after,
        "fetch-url": cert.fetch_url,
    }


def deleted(deleted: schemas.Deleted) -> dict[str, str]:
    """A VM (or host) deleted, and what could not be cleaned up."""
    results = {"id": str(deleted.id), "name": deleted.name}
    if deleted.errors:
        results["errors"] = "; ".join(deleted.errors)
    return results


def host_list(hosts: Sequence[schemas.VmHost]) -> dict[str, str]:
    """Every host, as a count and a JSON list."""
    return {"count": str(len(hosts)), "hosts": json.dumps([host_summary(h) for h in hosts])}


def vm_list(vms: Sequence[schemas.Vm]) -> dict[str, str]:
    """VMs, as a count and a JSON list."""
    return {"count": str(len(vms)), "vms": json.dumps([vm_summary(v) for v in vms])}


def token_record(token: schemas.TokenCreated) -> dict[str, str]:
    """A token's record (never the token)."""
    return {"id": str(token.id), "name": token.name, "role": token.role}
