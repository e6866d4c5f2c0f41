"""``LibvirtDriver``: the HostDriver contract over libvirt-python.

Compose: facts from the host -> ``designer.design()`` -> volumes, define, start, wait for
running. Every step that can fail after something was created undoes what this compose
created (its volumes, its domain) before raising; a volume or domain that existed before is
never touched. Decompose: destroy, undefine (NVRAM and managed save too), then delete every
volume listed, every volume the domain's vmhost metadata records, and the volumes the
designer would have named for the listed disks; absent ones are fine.

``HostConnection.options`` understood here (all optional):

* ``keyfile``, ``known_hosts``, ``no_verify``, ``probe_timeout``: see ``connection.py``;
* ``cpu_mode`` (``host-model`` default, ``host-passthrough``, ``maximum``, ``none``) and
  ``cpu_features_disable`` (list or comma-separated CPU flags) for KVM guests;
* ``default_macvlan_mode`` (``bridge`` default, ``vepa``, ``private``, ``passthru``);
* ``running_timeout_s`` (30): how long compose / power_on wait for ``running``;
* ``refresh_pools`` (true): refresh pools before reading their sizes in ``discover()``;
* ``discovery_workers``: per-domain XML reads and per-volume size reads ``discover()`` keeps
  in flight at once on its connection when a host has many domains. Default 4 for a remote
  host (each call costs a round trip: 500 domains over a 1 ms link take 2.7 s one at a time,
  1.1 s four at a time) and 1 for the local socket, where calls are cheap and the threads
  only add contention with the keepalive event loop (see bench/bench_libvirt.py).
"""

from __future__ import annotations

import dataclasses
import logging
import time
import urllib.parse
import uuid as uuidlib
import xml.etree.ElementTree as ET
from typing import Any

import libvirt

from vmhost import model
from vmhost.drivers import base

from . import designer, parse, parse_domain
from . import domain_xml as dx
from . import scan as scanner
from .connection import LibvirtConnection, libvirt_message, map_error

LOG = logging.getLogger(__name__)

RUNNING_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0
_POLL_S = 0.05


class LibvirtDriver(base.HostDriver):
    """A libvirt/KVM host (``qemu:///system``, ``qemu+ssh://``, ``qemu+tls://``)."""

    def __init__(
        self,
        connection: base.HostConnection,
        *,
        running_timeout_s: float = RUNNING_TIMEOUT_S,
    ) -> None:
        self.connection = connection
        self.conn = LibvirtConnection(connection)
        self.running_timeout_s = float(
            str(connection.options.get("running_timeout_s", running_timeout_s))
        )
        self.refresh_pools = bool(connection.options.get("refresh_pools", True))
        workers = connection.options.get("discovery_workers")
        if workers is None:
            workers = 1 if is_local_uri(self.conn.uri) else scanner.FETCH_WORKERS
        self.discovery_workers = max(1, int(str(workers)))
        self._caps: parse.Capabilities | None = None

    # --- discovery -----------------------------------------------------------------------------

    def _capabilities(self, conn: Any) -> parse.Capabilities:
        if self._caps is None:
            self._caps = parse.parse_capabilities(conn.getCapabilities())
        return self._caps

    def scan(self) -> scanner.Scan:
        """Inventory and design facts in one pass."""
        return self.conn.call(
            "discovering the host",
            lambda c: scanner.scan(
                c,
                refresh_pools=self.refresh_pools,
                caps=self._capabilities(c),
                workers=self.discovery_workers,
            ),
        )

    def discover(self) -> model.HostInventory:
        """Cores, memory, NUMA, hugepages, pools, networks, SR-IOV and existing VMs."""
        return self.scan().inventory

    def _facts(self, conn: Any, spec: base.ComposeSpec) -> designer.HostFacts:
        """What ``design()`` needs; the domain pass only when SR-IOV VFs must be chosen."""
        caps = self._capabilities(conn)
        if any(i.kind is model.NetworkKind.SRIOV for i in spec.interfaces):
            found = scanner.scan(
                conn, refresh_pools=False, caps=caps, workers=self.discovery_workers
            )
            return self._with_options(found.facts)
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
        return self._with_options(
            designer.HostFacts(
                arch=caps.arch,
                guests=caps.guests,
                numa_nodes=caps.numa_nodes,
                pools=tuple(p.facts for p in pools),
                networks=kinds,
                default_hugepage_kib=2048 if 2048 in sizes or not sizes else sizes[0],
            )
        )

    def _with_options(self, facts: designer.HostFacts) -> designer.HostFacts:
        """The host's settings that shape domains: CPU mode and flags, macvlan mode."""
        options = self.connection.options
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
            facts,
            cpu_mode=cpu_mode,
            cpu_features_disable=features,
            macvlan_mode=str(macvlan),
        )

    # --- compose -------------------------------------------------------------------------------

    def compose(self, spec: base.ComposeSpec) -> model.ComposedVm:
        """Create the volumes, define and start the domain; on failure leave nothing."""
        conn = self.conn.get()
        try:
            return self._compose(conn, spec)
        except libvirt.libvirtError as exc:
            raise map_error(exc, f"composing {spec.name!r}") from exc

    def _compose(self, conn: Any, spec: base.ComposeSpec) -> model.ComposedVm:
        self._check_name_free(conn, spec.name)
        facts = self._facts(conn, spec)
        domain_uuid = str(uuidlib.uuid4())
        plan = designer.design(spec, facts, domain_uuid)
        self._check_networks(conn, plan.domain)
        pools = self._check_volumes(conn, plan)

        created: list[Any] = []
        domain = None
        try:
            for planned in plan.volumes:
                pool = pools[planned.pool]
                try:
                    created.append(pool.createXML(planned.volume.to_xml(), 0))
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
                self._wait_running(domain, spec.name)
                power = "running"
            # what libvirt really has (MACs, the UUID) rather than what was asked
            parsed = parse_domain.parse_domain(domain.XMLDesc(0))
        except BaseException as exc:
            self._undo(conn, spec.name, domain, created)
            if isinstance(exc, libvirt.libvirtError):
                raise map_error(exc, f"composing {spec.name!r}") from exc
            raise
        macs = [n.mac_address for n in parsed.nics]
        interfaces = tuple(
            dataclasses.replace(nic, mac_address=macs[i] if i < len(macs) else nic.mac_address)
            for i, nic in enumerate(plan.interfaces)
        )
        return model.ComposedVm(
            name=spec.name,
            cores=parsed.cores,
            memory_mib=parsed.memory_mib,
            pinned_cores=parsed.pinned_cores,
            hugepages_backed=parsed.hugepages_backed,
            disks=plan.disks,
            interfaces=interfaces,
            instance_type=model.InstanceType.VIRTUAL_MACHINE,
            power_state=power,
            uuid=parsed.uuid,
        )

    def _check_name_free(self, conn: Any, name: str) -> None:
        try:
            conn.lookupByName(name)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return
            raise
        raise base.DriverError(f"a domain named {name!r} already exists on the host")

    def _check_networks(self, conn: Any, domain: dx.Domain) -> None:
        """Every libvirt network named must exist and be active (libvirt says so only at start)."""
        for nic in domain.devices.interfaces:
            if nic.kind != "network":
                continue
            try:
                network = conn.networkLookupByName(nic.source)
            except libvirt.libvirtError as exc:
                if exc.get_error_code() == libvirt.VIR_ERR_NO_NETWORK:
                    raise base.DriverError(
                        f"network {nic.source!r} not found on the host",
                        host_message=libvirt_message(exc),
                    ) from exc
                raise
            if not network.isActive():
                raise base.DriverError(f"network {nic.source!r} is not active on the host")

    def _check_volumes(self, conn: Any, plan: designer.Design) -> dict[str, Any]:
        """Pools exist and are active, have room (never over-committed), names are free."""
        pools: dict[str, Any] = {}
        needed: dict[str, int] = {}
        for planned in plan.volumes:
            needed[planned.pool] = needed.get(planned.pool, 0) + planned.volume.capacity_bytes
        for name, need in needed.items():
            try:
                pool = conn.storagePoolLookupByName(name)
            except libvirt.libvirtError as exc:
                if exc.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_POOL:
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
                if exc.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_VOL:
                    continue
                raise
            raise base.DriverError(
                f"volume {planned.volume.name!r} already exists in pool {planned.pool!r}"
            )
        return pools

    def _wait_running(self, domain: Any, name: str) -> None:
        deadline = time.monotonic() + self.running_timeout_s
        state = domain.state()[0]
        while state != libvirt.VIR_DOMAIN_RUNNING:
            if state in (libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_CRASHED):
                raise base.DriverError(
                    f"{name!r} stopped right after starting "
                    f"({parse_domain.power_state(state)}, libvirt state {state})"
                )
            if time.monotonic() > deadline:
                raise base.DriverError(
                    f"{name!r} did not reach running within {self.running_timeout_s:g} s "
                    f"(libvirt state {state})"
                )
            time.sleep(_POLL_S)
            state = domain.state()[0]

    def _undo(self, conn: Any, name: str, domain: Any, volumes: list[Any]) -> None:
        """Remove what a failed compose created; log (never raise) what cannot be removed."""
        if domain is not None:
            self._destroy_and_undefine(domain, name, quiet=True)
        for volume in volumes:
            try:
                volume.delete(0)
            except libvirt.libvirtError as exc:
                LOG.error(
                    "compose of %s failed and volume %s could not be removed: %s",
                    name,
                    _safe_name(volume),
                    libvirt_message(exc),
                )

    # --- decompose -----------------------------------------------------------------------------

    def decompose(self, name: str, disks: tuple[model.VmDisk, ...]) -> None:
        """Destroy and undefine the domain, delete its volumes; what is absent is fine."""
        self.conn.call("decomposing " + repr(name), lambda c: self._decompose(c, name, disks))

    def _decompose(self, conn: Any, name: str, disks: tuple[model.VmDisk, ...]) -> None:
        targets: dict[tuple[str, str], None] = {}
        for disk in disks:
            if disk.volume:
                targets[(disk.pool, disk.volume)] = None
            default = designer.volume_name(name, dataclasses.replace(disk, volume=""))
            targets[(disk.pool, default)] = None
        domain = self._lookup(conn, name)
        if domain is not None:
            root = ET.fromstring(domain.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))  # noqa: S314
            metadata = dx.VmhostMetadata.from_domain(root)
            if metadata is not None:
                for ref in metadata.volumes:
                    targets[(ref.pool, ref.name)] = None
            self._destroy_and_undefine(domain, name, quiet=False)
        errors = []
        pools: dict[str, Any] = {}
        for pool_name, volume_name in targets:
            try:
                if pool_name not in pools:
                    pools[pool_name] = _pool_by_name_or_uuid(conn, pool_name)
                pool = pools[pool_name]
                if pool is None:
                    continue
                pool.storageVolLookupByName(volume_name).delete(0)
            except libvirt.libvirtError as exc:
                if exc.get_error_code() in (
                    libvirt.VIR_ERR_NO_STORAGE_VOL,
                    libvirt.VIR_ERR_NO_STORAGE_POOL,
                ):
                    continue
                errors.append(f"{pool_name}/{volume_name}: {libvirt_message(exc)}")
        if errors:
            raise base.DriverError(
                f"{name!r} was removed but some volumes were not: {'; '.join(errors)}"
            )

    def _lookup(self, conn: Any, name: str) -> Any:
        try:
            return conn.lookupByName(name)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            raise

    def _destroy_and_undefine(self, domain: Any, name: str, *, quiet: bool) -> None:
        try:
            if domain.isActive():
                domain.destroy()
        except libvirt.libvirtError as exc:
            if exc.get_error_code() != libvirt.VIR_ERR_OPERATION_INVALID:  # not running
                LOG.warning("destroying %s: %s", name, libvirt_message(exc))
        flags = libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
        flags |= libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
        flags |= getattr(libvirt, "VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA", 0)
        try:
            try:
                domain.undefineFlags(flags)
            except libvirt.libvirtError as exc:
                code = exc.get_error_code()
                if code == libvirt.VIR_ERR_NO_DOMAIN:
                    return
                if code not in (libvirt.VIR_ERR_NO_SUPPORT, libvirt.VIR_ERR_INVALID_ARG):
                    raise
                domain.undefine()
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return
            if quiet:
                LOG.error("could not undefine %s: %s", name, libvirt_message(exc))
                return
            raise

    # --- power ---------------------------------------------------------------------------------

    def _domain(self, conn: Any, name: str) -> Any:
        domain = self._lookup(conn, name)
        if domain is None:
            raise base.DriverNotFoundError(f"domain {name!r} not found on the host")
        return domain

    def power_on(self, name: str) -> None:
        """Start the domain if it is not running."""

        def start(conn: Any) -> None:
            domain = self._domain(conn, name)
            if not domain.isActive():
                domain.create()
            self._wait_running(domain, name)

        self.conn.call(f"starting {name!r}", start, retry=False)

    def power_off(self, name: str) -> None:
        """Stop the domain hard (``destroy``), as MAAS did; a stopped one stays stopped."""

        def stop(conn: Any) -> None:
            domain = self._domain(conn, name)
            if domain.isActive():
                try:
                    domain.destroy()
                except libvirt.libvirtError as exc:
                    if exc.get_error_code() != libvirt.VIR_ERR_OPERATION_INVALID:
                        raise

        self.conn.call(f"stopping {name!r}", stop, retry=False)

    def power_query(self, name: str) -> str:
        """``running``, ``stopped``, or ``unknown`` when the domain does not exist."""

        def query(conn: Any) -> str:
            domain = self._lookup(conn, name)
            if domain is None:
                return "unknown"
            return parse_domain.power_state(domain.state()[0])

        return self.conn.call(f"querying {name!r}", query)

    def observe(self, name: str) -> base.Observation:
        """The domain's power state in one lookup; no addresses (discovery reads none)."""
        return self.power_query(name), ()

    # --- the rest ------------------------------------------------------------------------------

    def list_projects(self) -> list[base.ProjectInfo]:
        """libvirt has no projects."""
        return []

    def close(self) -> None:
        """Close the libvirt connection."""
        self.conn.close()


def is_local_uri(uri: str) -> bool:
    """A URI to this machine's libvirtd over its UNIX socket (``qemu:///system``,
    ``qemu+unix:///system?socket=...``), not over a network transport."""
    parts = urllib.parse.urlsplit(uri)
    transport = parts.scheme.partition("+")[2]
    return not parts.netloc and transport in ("", "unix")


def _pool_by_name_or_uuid(conn: Any, key: str) -> Any:
    try:
        return conn.storagePoolLookupByName(key)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() != libvirt.VIR_ERR_NO_STORAGE_POOL:
            raise
    try:
        return conn.storagePoolLookupByUUIDString(key)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() in (libvirt.VIR_ERR_NO_STORAGE_POOL, libvirt.VIR_ERR_INVALID_ARG):
            return None
        raise


def _safe_name(volume: Any) -> str:
    try:
        return str(volume.path())
    except Exception:
        return "?"
