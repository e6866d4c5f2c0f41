"""One domain and its volumes on an open connection: look up, wait for running, stop, undefine,
and remove with every volume it owns (decompose).

Decompose removes the volumes listed by the service, those the domain's vmhost metadata
records, and those the designer would have named for the listed disks; what is absent is fine.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import xml.etree.ElementTree as ET

import libvirt

from vmhost import model
from vmhost.drivers import base

from . import api, designer, parse_domain
from . import domain_xml as dx
from .errors import error_code, libvirt_message

LOG = logging.getLogger(__name__)

POLL_S = 0.05


def lookup(conn: api.Connect, name: str) -> api.Domain | None:
    """The domain named ``name``, or None."""
    try:
        return conn.lookupByName(name)
    except libvirt.libvirtError as exc:
        if error_code(exc) == libvirt.VIR_ERR_NO_DOMAIN:
            return None
        raise


def require(conn: api.Connect, name: str) -> api.Domain:
    """The domain named ``name``; DriverNotFoundError when there is none."""
    domain = lookup(conn, name)
    if domain is None:
        raise base.DriverNotFoundError(f"domain {name!r} not found on the host")
    return domain


def wait_running(domain: api.Domain, name: str, timeout_s: float) -> None:
    """Wait (bounded) until the domain runs; raise if it stops or the time is up."""
    deadline = time.monotonic() + timeout_s
    state = domain.state()[0]
    while state != libvirt.VIR_DOMAIN_RUNNING:
        if state in (libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_CRASHED):
            raise base.DriverError(
                f"{name!r} stopped right after starting "
                f"({parse_domain.power_state(state)}, libvirt state {state})"
            )
        if time.monotonic() > deadline:
            raise base.DriverError(
                f"{name!r} did not reach running within {timeout_s:g} s (libvirt state {state})"
            )
        time.sleep(POLL_S)
        state = domain.state()[0]


def destroy_and_undefine(domain: api.Domain, name: str, *, quiet: bool) -> None:
    """Stop the domain hard and undefine it with its NVRAM, managed save and snapshot
    metadata; ``quiet`` logs (instead of raising) an undefine that fails."""
    try:
        if domain.isActive():
            domain.destroy()
    except libvirt.libvirtError as exc:
        if error_code(exc) != libvirt.VIR_ERR_OPERATION_INVALID:  # not running
            LOG.warning("destroying %s: %s", name, libvirt_message(exc))
    flags = libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
    flags |= libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
    flags |= getattr(libvirt, "VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA", 0)
    try:
        try:
            domain.undefineFlags(flags)
        except libvirt.libvirtError as exc:
            code = error_code(exc)
            if code == libvirt.VIR_ERR_NO_DOMAIN:
                return
            if code not in (libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_ERR_INVALID_ARG):
                raise
            domain.undefine()
    except libvirt.libvirtError as exc:
        if error_code(exc) == libvirt.VIR_ERR_NO_DOMAIN:
            return
        if quiet:
            LOG.error("could not undefine %s: %s", name, libvirt_message(exc))
            return
        raise


def remove(conn: api.Connect, name: str, disks: tuple[model.VmDisk, ...]) -> None:
    """Destroy and undefine the domain, delete its volumes (module doc); absent is fine."""
    targets: dict[tuple[str, str], None] = {}
    for disk in disks:
        if disk.volume:
            targets[(disk.pool, disk.volume)] = None
        default = designer.volume_name(name, dataclasses.replace(disk, volume=""))
        targets[(disk.pool, default)] = None
    domain = lookup(conn, name)
    if domain is not None:
        root = ET.fromstring(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))  # noqa: S314
        metadata = dx.VmhostMetadata.from_domain(root)
        if metadata is not None:
            for ref in metadata.volumes:
                targets[(ref.pool, ref.name)] = None
        destroy_and_undefine(domain, name, quiet=False)
    errors = []
    pools: dict[str, api.StoragePool | None] = {}
    for pool_name, volume_name in targets:
        try:
            if pool_name not in pools:
                pools[pool_name] = pool_by_name_or_uuid(conn, pool_name)
            pool = pools[pool_name]
            if pool is None:
                continue
            pool.storageVolLookupByName(volume_name).delete(0)
        except libvirt.libvirtError as exc:
            if error_code(exc) in (
                libvirt.VIR_ERR_NO_STORAGE_VOL,
                libvirt.VIR_ERR_NO_STORAGE_POOL,
            ):
                continue
            errors.append(f"{pool_name}/{volume_name}: {libvirt_message(exc)}")
    if errors:
        raise base.DriverError(
            f"{name!r} was removed but some volumes were not: {'; '.join(errors)}"
        )


def pool_by_name_or_uuid(conn: api.Connect, key: str) -> api.StoragePool | None:
    """A storage pool by name, else by UUID (vmhost's pool id); None when neither exists."""
    try:
        return conn.storagePoolLookupByName(key)
    except libvirt.libvirtError as exc:
        if error_code(exc) != libvirt.VIR_ERR_NO_STORAGE_POOL:
            raise
    try:
        return conn.storagePoolLookupByUUIDString(key)
    except libvirt.libvirtError as exc:
        if error_code(exc) in (libvirt.VIR_ERR_NO_STORAGE_POOL, libvirt.VIR_ERR_INVALID_ARG):
            return None
        raise


def volume_path(volume: api.StorageVol) -> str:
    """A volume's path for messages; ``?`` when libvirt cannot say."""
    try:
        return volume.path()
    except Exception:
        return "?"
