"""A compose body (the wire model, its grammars parsed once by ``schemas.maas_grammar``) as the
domain's ComposeRequest: the one typed compose path of the REST API, the Juju provider and the
MAAS API (the surfaces may not import each other, so it lives here)."""

from __future__ import annotations

from typing import Any

from vmhost import model, schemas


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
