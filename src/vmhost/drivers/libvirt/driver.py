"""``LibvirtDriver``: the HostDriver contract over libvirt-python.

Discovery is ``scan.py`` (calls) over ``parse.py`` / ``parse_domain.py`` (XML); compose is
``compose.py`` (facts -> ``designer.design()`` -> volumes, define, start; undone on failure);
decompose and power act on one domain (``domains.py``). The connection (``connection.py``) is
opened on first use and kept until ``close()`` (the end of a ``with`` block).

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

import libvirt

from vmhost import model
from vmhost.drivers import base
from vmhost.model import resources

from . import api, compose, domains, parse, parse_domain
from . import scan as scanner
from .connection import LibvirtConnection
from .errors import error_code, map_error
from .uri import is_local_uri

RUNNING_TIMEOUT_S = 30.0


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

    def _capabilities(self, conn: api.Connect) -> parse.Capabilities:
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

    def observe(self, name: str) -> base.Observation:
        """The domain's power state in one lookup; no addresses (discovery reads none)."""
        return self.power_query(name), ()

    # --- compose and decompose -------------------------------------------------------------------

    def compose(self, spec: base.ComposeSpec) -> model.ComposedVm:
        """Create the volumes, define and start the domain; on failure leave nothing."""
        conn = self.conn.get()
        try:
            compose.check_name_free(conn, spec.name)
            facts = compose.host_facts(
                conn,
                spec,
                self._capabilities(conn),
                self.connection.options,
                self.discovery_workers,
            )
            return compose.realise(conn, spec, facts, running_timeout_s=self.running_timeout_s)
        except libvirt.libvirtError as exc:
            raise map_error(exc, f"composing {spec.name!r}") from exc

    def decompose(self, name: str, disks: tuple[model.VmDisk, ...]) -> None:
        """Destroy and undefine the domain, delete its volumes; what is absent is fine."""
        self.conn.call("decomposing " + repr(name), lambda c: domains.remove(c, name, disks))

    # --- power ---------------------------------------------------------------------------------

    def power_on(self, name: str) -> None:
        """Start the domain if it is not running."""

        def start(conn: api.Connect) -> None:
            domain = domains.require(conn, name)
            if not domain.isActive():
                domain.create()
            domains.wait_running(domain, name, self.running_timeout_s)

        self.conn.call(f"starting {name!r}", start, retry=False)

    def power_off(self, name: str) -> None:
        """Stop the domain hard (``destroy``), as MAAS did; a stopped one stays stopped."""

        def stop(conn: api.Connect) -> None:
            domain = domains.require(conn, name)
            if domain.isActive():
                try:
                    domain.destroy()
                except libvirt.libvirtError as exc:
                    if error_code(exc) != libvirt.VIR_ERR_OPERATION_INVALID:
                        raise

        self.conn.call(f"stopping {name!r}", stop, retry=False)

    def power_query(self, name: str) -> str:
        """``running``, ``stopped``, or ``unknown`` when the domain does not exist."""

        def query(conn: api.Connect) -> str:
            domain = domains.lookup(conn, name)
            if domain is None:
                return "unknown"
            return parse_domain.power_state(domain.state()[0])

        return self.conn.call(f"querying {name!r}", query)

    # --- the rest ------------------------------------------------------------------------------

    def list_projects(self) -> list[resources.Project]:
        """libvirt has no projects."""
        return []

    def close(self) -> None:
        """Close the libvirt connection."""
        self.conn.close()
