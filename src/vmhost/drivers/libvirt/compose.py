"""Compose on libvirt: the host facts ``designer.design()`` needs, checks libvirt makes only
late (networks active, pools with room, names free), then volumes, define, start, and the
domain read back.

Every step that can fail after something was created undoes what this compose created (its
volumes, its domain) before raising; a volume or domain that existed before is never touched.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid as uuidlib
from collections.abc import Mapping

import libvirt

from vmhost import model
from vmhost.drivers import base

from . import api, designer, domains, parse, parse_domain
from . import domain_xml as dx
from . import scan as scanner
from .errors import error_code, libvirt_message, map_error
from .facts import HostFacts

LOG = logging.getLogger(__name__)


def host_facts(
    conn: api.Connect,
    spec: base.ComposeSpec,
    caps: parse.Capabilities,
    options: Mapping[str, object],
    workers: int,
) -> HostFacts:
    """What ``design()`` needs; the domain pass only when SR-IOV VFs must be chosen."""
    if any(i.kind is model.NetworkKind.SRIOV for i in spec.interfaces):
        found = scanner.scan(conn, refresh_pools=False, caps=caps, workers=workers)
        return with_options(found.facts, options)
    pools = scanner.scan_pools(conn, refresh=False)
    networks = scanner.scan_networks(conn)
    interfaces = scanner.scan_interfaces(conn)
    kinds: dict[str, model.NetworkKind] = {}
    network_bridges = {bridge for _, bridge in networks}
    for network, _bridge in networks:
        kinds[network.name] = network.kind
    for iface in interfaces:
        if iface.type == "bridge" and iface.name not in network_bridges:
            kinds.setdefault(iface.name, model.NetworkKind.BRIDGE)
    sizes = caps.hugepage_sizes_kib
    facts = HostFacts(
        arch=caps.arch,
        guests=caps.guests,
        numa_nodes=caps.numa_nodes,
        pools=tuple(p.facts for p in pools),
        networks=kinds,
        default_hugepage_kib=2048 if 2048 in sizes or not sizes else sizes[0],
    )
    return with_options(facts, options)


def with_options(facts: HostFacts, options: Mapping[str, object]) -> HostFacts:
    """The host's settings that shape domains: CPU mode and flags, macvlan mode."""
    mode = options.get("cpu_mode", "host-model")
    cpu_mode = None if mode in (None, "", "none") else str(mode)
    if cpu_mode is not None and cpu_mode not in dx.CPU_MODES:
        raise base.DriverError(
            f"cpu_mode {cpu_mode!r} is not one of {', '.join(dx.CPU_MODES)} or none"
        )
    disable = options.get("cpu_features_disable", ())
    if isinstance(disable, str):
        features = tuple(f.strip() for f in disable.split(",") if f.strip())
    elif isinstance(disable, list | tuple):
        features = tuple(str(f) for f in disable)
    else:
        features = ()
    macvlan = options.get("default_macvlan_mode") or facts.macvlan_mode
    return dataclasses.replace(
        facts, cpu_mode=cpu_mode, cpu_features_disable=features, macvlan_mode=str(macvlan)
    )


def realise(
    conn: api.Connect,
    spec: base.ComposeSpec,
    facts: HostFacts,
    *,
    running_timeout_s: float,
) -> model.ComposedVm:
    """Design the domain, create its volumes, define and start it; on failure leave nothing.
    The name was checked free (``check_name_free``) before the facts were read."""
    plan = designer.design(spec, facts, str(uuidlib.uuid4()))
    check_networks(conn, plan.domain)
    pools = check_volumes(conn, plan)

    created: list[api.StorageVol] = []
    domain = None
    try:
        for planned in plan.volumes:
            try:
                created.append(pools[planned.pool].createXML(planned.volume.to_xml(), 0))
            except libvirt.libvirtError as exc:
                raise base.DriverError(
                    f"cannot create volume {planned.volume.name!r} in pool "
                    f"{planned.pool!r}: {libvirt_message(exc)}",
                    host_message=libvirt_message(exc),
                ) from exc
        try:
            domain = conn.defineXML(plan.domain.to_xml())
        except libvirt.libvirtError as exc:
            raise base.DriverError(
                f"libvirt refused the definition of {spec.name!r}: {libvirt_message(exc)}",
                host_message=libvirt_message(exc),
            ) from exc
        power = "stopped"
        if spec.start:
            try:
                domain.create()
            except libvirt.libvirtError as exc:
                raise base.DriverError(
                    f"cannot start {spec.name!r}: {libvirt_message(exc)}",
                    host_message=libvirt_message(exc),
                ) from exc
            domains.wait_running(domain, spec.name, running_timeout_s)
            power = "running"
        # what libvirt really has (MACs, the UUID) rather than what was asked
        parsed = parse_domain.parse_domain(domain.XMLDesc(0))
    except BaseException as exc:
        undo(spec.name, domain, created)
        if isinstance(exc, libvirt.libvirtError):
            raise map_error(exc, f"composing {spec.name!r}") from exc
        raise
    macs = [n.mac_address for n in parsed.nics]
    interfaces = tuple(
        dataclasses.replace(nic, mac_address=macs[i] if i < len(macs) else nic.mac_address)
        for i, nic in enumerate(plan.interfaces)
    )
    return model.ComposedVm.as_found(
        parsed,
        disks=plan.disks,
        interfaces=interfaces,
        instance_type=model.InstanceType.VIRTUAL_MACHINE,
        power_state=power,
    )


def check_name_free(conn: api.Connect, name: str) -> None:
    """No domain of that name exists yet."""
    if domains.lookup(conn, name) is not None:
        raise base.DriverError(f"a domain named {name!r} already exists on the host")


def check_networks(conn: api.Connect, domain: dx.Domain) -> None:
    """Every libvirt network named must exist and be active (libvirt says so only at start)."""
    for nic in domain.devices.interfaces:
        if nic.kind != "network":
            continue
        try:
            network = conn.networkLookupByName(nic.source)
        except libvirt.libvirtError as exc:
            if error_code(exc) == libvirt.VIR_ERR_NO_NETWORK:
                raise base.DriverError(
                    f"network {nic.source!r} not found on the host",
                    host_message=libvirt_message(exc),
                ) from exc
            raise
        if not network.isActive():
            raise base.DriverError(f"network {nic.source!r} is not active on the host")


def check_volumes(conn: api.Connect, plan: designer.Design) -> dict[str, api.StoragePool]:
    """Pools exist and are active, have room (never over-committed), names are free."""
    pools: dict[str, api.StoragePool] = {}
    needed: dict[str, int] = {}
    for planned in plan.volumes:
        needed[planned.pool] = needed.get(planned.pool, 0) + planned.volume.capacity_bytes
    for name, need in needed.items():
        try:
            pool = conn.storagePoolLookupByName(name)
        except libvirt.libvirtError as exc:
            if error_code(exc) == libvirt.VIR_ERR_NO_STORAGE_POOL:
                raise base.DriverError(f"storage pool {name!r} not found") from exc
            raise
        if not pool.isActive():
            raise base.DriverError(f"storage pool {name!r} is not active")
        try:
            pool.refresh(0)
        except libvirt.libvirtError as exc:
            LOG.debug("pool %s not refreshed: %s", name, exc)
        available = int(pool.info()[3])
        if need > available:
            raise base.DriverError(
                f"storage pool {name!r} has {available} bytes available; "
                f"the disks need {need} bytes"
            )
        pools[name] = pool
    for planned in plan.volumes:
        try:
            pools[planned.pool].storageVolLookupByName(planned.volume.name)
        except libvirt.libvirtError as exc:
            if error_code(exc) == libvirt.VIR_ERR_NO_STORAGE_VOL:
                continue
            raise
        raise base.DriverError(
            f"volume {planned.volume.name!r} already exists in pool {planned.pool!r}"
        )
    return pools


def undo(name: str, domain: api.Domain | None, volumes: list[api.StorageVol]) -> None:
    """Remove what a failed compose created; log (never raise) what cannot be removed."""
    if domain is not None:
        domains.destroy_and_undefine(domain, name, quiet=True)
    for volume in volumes:
        try:
            volume.delete(0)
        except libvirt.libvirtError as exc:
            LOG.error(
                "compose of %s failed and volume %s could not be removed: %s",
                name,
                domains.volume_path(volume),
                libvirt_message(exc),
            )
