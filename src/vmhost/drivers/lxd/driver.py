"""The LXD driver: ``HostDriver`` over LXD's REST API (pylxd, HTTPS, pinned certificates).

Connection options (``HostConnection.options``):

* ``image``: the root filesystem of composed instances: a local alias (tests: ``vmhost-test``),
  ``ubuntu:24.04`` / ``images:debian/12`` (a remote, as ``lxc launch``), or ``none``.
* ``certificate_url``: where vmhost serves this host's certificate (used in trust messages).
* ``timeout_s`` (HTTP, 30), ``create_timeout_s`` (300), ``start_timeout_s`` (60),
  ``stop_timeout_s`` (30): every wait is bounded.

The project (``HostConnection.project``, default ``default``) is created when missing with
``features.images=false`` (images stay shared with ``default``: an alias the operator imported
there is usable, and nothing is downloaded twice), ``features.profiles=false`` (vmhost does not
use profiles, ``profiles: []``, so the project keeps ``default``'s for what operators launch by
hand), and ``features.storage.volumes=true`` (vmhost's custom volumes live in the project: their
names cannot clash with other projects' and deleting them cannot touch anyone else's).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from typing import Any

from vmhost import model
from vmhost.drivers import base
from vmhost.model import resources

from . import discovery, instance_spec, instances, scan
from .client import LxdClient

log = logging.getLogger(__name__)

DEFAULT_IMAGE = "ubuntu:24.04"
PROJECT_DESCRIPTION = "Project managed by vmhost"
PROJECT_CONFIG = {
    "features.images": "false",
    "features.profiles": "false",
    "features.storage.volumes": "true",
}
_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9-]{0,62}$")
RUNNING = 103
STOPPED = 102


class LxdDriver(base.HostDriver):
    """One LXD host, one project."""

    def __init__(self, connection: base.HostConnection) -> None:
        self.connection = connection
        self.project = connection.project or "default"
        opts = connection.options
        self.image = instance_spec.ImageSource.parse(str(opts.get("image") or DEFAULT_IMAGE))
        self.timeout = float(str(opts.get("timeout_s") or 30))
        self.create_timeout = float(str(opts.get("create_timeout_s") or 300))
        self.start_timeout = float(str(opts.get("start_timeout_s") or 60))
        self.stop_timeout = float(str(opts.get("stop_timeout_s") or 30))
        self._client: LxdClient | None = None
        self._project_ready = False

    # -- connection ---------------------------------------------------------------------------

    @property
    def client(self) -> LxdClient:
        """The trusted connection, opened on first use."""
        if self._client is None:
            self._client = LxdClient(self.connection, timeout=self.timeout)
        return self._client

    def close(self) -> None:
        """Close the connection and remove the temporary key files."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def ensure_project(self) -> None:
        """Create the configured project if it does not exist (see the module docstring)."""
        if self._project_ready or self.project == "default":
            self._project_ready = True
            return
        client = self.client
        try:
            client.get(scan.path("projects", self.project))
        except base.DriverNotFoundError:
            try:
                client.request(
                    "POST",
                    "/1.0/projects",
                    json={
                        "name": self.project,
                        "description": PROJECT_DESCRIPTION,
                        "config": PROJECT_CONFIG,
                    },
                    what=f"creating project {self.project}",
                )
            except base.DriverError as exc:
                if "already exists" not in exc.host_message:
                    raise
        self._project_ready = True

    # -- discovery ----------------------------------------------------------------------------

    def discover(self) -> model.HostInventory:
        """The host: hardware, pools (with use), networks and every instance."""
        self.ensure_project()
        return discovery.inventory(scan.raw_host(self.client, self.project))

    def capability(self) -> instance_spec.HostCapability:
        """What the host can run (and LXD's reason when it cannot run VMs)."""
        server = self.client.host_info
        return discovery.capability(server, scan.warnings(self.client, server))

    def list_projects(self) -> list[resources.Project]:
        """Projects with the instances, cores, memory and disk each holds."""
        client = self.client
        projects: scan.JsonList = client.get("/1.0/projects", params={"recursion": "1"})
        pools: scan.JsonList = client.get("/1.0/storage-pools", params={"recursion": "1"})
        volumes = scan.volumes(client, self.project, pools)
        memory = int((client.get("/1.0/resources").get("memory") or {}).get("total") or 0)
        vms = [
            instances.discovered_vm(i, host_memory_mib=memory // instances.MIB, volumes=volumes)
            for i in scan.instances(client, self.project)
        ]
        return instances.projects(projects, vms)

    # -- compose / decompose ------------------------------------------------------------------

    def _instance(self, name: str) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = self.client.get(
                scan.path("instances", name), project=self.project
            )
            return data
        except base.DriverNotFoundError:
            return None

    def observe(self, name: str) -> base.Observation:
        """One instance's power state and global addresses now, in one call (its state; the
        discovery listing has no state, so no addresses). ``("unknown", ())`` when absent."""
        if not _NAME_RE.match(name):
            return "unknown", ()
        try:
            state: dict[str, Any] = self.client.get(
                scan.path("instances", name, "state"), project=self.project
            )
        except base.DriverNotFoundError:
            return "unknown", ()
        return instances.power_state(state), instances.addresses({"state": state})

    def compose(self, spec: base.ComposeSpec) -> model.ComposedVm:
        """Create the volumes and the instance, start it, report what was obtained.

        On any failure everything created here is deleted again before the error is raised.
        A VM on a host that cannot run VMs raises DriverUnsupportedError with LXD's reason:
        the service decides whether a container will do.
        """
        if not _NAME_RE.match(spec.name):
            raise base.DriverError(
                f"{spec.name!r} is not a valid LXD instance name "
                "(letters, digits and '-', at most 63, not starting with '-')"
            )
        capability = None
        if spec.instance_type is model.InstanceType.VIRTUAL_MACHINE or spec.hugepages_backed:
            capability = self.capability()
            if spec.hugepage_size_kib:
                size = (self.client.get("/1.0/resources").get("memory") or {}).get(
                    "hugepages_size"
                )
                capability = dataclasses.replace(
                    capability, hugepage_size_kib=int(size) // 1024 if size else None
                )
        image = instance_spec.ImageSource.parse(spec.image) if spec.image else self.image
        plan = instance_spec.plan_instance(
            spec, project=self.project, image=image, capability=capability
        )
        self.ensure_project()
        if self._instance(spec.name) is not None:
            raise base.DriverError(
                f"LXD at {self.client.address}: an instance named {spec.name!r} already "
                f"exists in project {self.project!r}"
            )
        created: list[instance_spec.VolumePlan] = []
        instance_made = False
        try:
            for volume in plan.volumes:
                self.client.call(
                    "POST",
                    scan.path("storage-pools", volume.pool, "volumes", "custom"),
                    project=self.project,
                    json=volume.payload,
                    what=f"creating volume {volume.name} in pool {volume.pool}",
                )
                created.append(volume)
            try:
                self.client.call(
                    "POST",
                    "/1.0/instances",
                    project=self.project,
                    json=plan.instance,
                    timeout=self.create_timeout,
                    what=f"creating instance {spec.name}",
                )
            finally:
                # half-created instances are ours too: it did not exist before
                instance_made = self._instance(spec.name) is not None
            if spec.start:
                self._start(spec.name)
            data = self.client.get(
                scan.path("instances", spec.name), params={"recursion": "1"}, project=self.project
            )
            return instances.composed_vm(spec, plan, data)
        except BaseException as exc:
            leftovers = self._undo(spec.name if instance_made else None, created)
            if leftovers and isinstance(exc, Exception):
                raise base.DriverError(
                    f"{exc}; cleaning up also failed, left behind: {'; '.join(leftovers)}",
                    host_message=getattr(exc, "host_message", ""),
                ) from exc
            if isinstance(exc, base.DriverNotFoundError):
                # a missing pool or image is a failed compose, not a missing instance
                raise base.DriverError(exc.message, host_message=exc.host_message) from exc
            raise

    def _undo(self, name: str | None, volumes: list[instance_spec.VolumePlan]) -> list[str]:
        """Delete what a failed compose created; what could not be deleted, described."""
        left: list[str] = []
        if name is not None:
            try:
                self._delete_instance(name)
            except base.DriverError as exc:
                left.append(f"instance {name} ({exc})")
        for volume in volumes:
            try:
                self._delete_volume(volume.pool, volume.name)
            except base.DriverError as exc:
                left.append(f"volume {volume.name} in pool {volume.pool} ({exc})")
        return left

    def _delete_instance(self, name: str) -> bool:
        data = self._instance(name)
        if data is None:
            return False
        if data.get("status_code") != STOPPED:
            self._change_state(name, {"action": "stop", "force": True}, self.stop_timeout)
        try:
            self.client.call(
                "DELETE",
                scan.path("instances", name),
                project=self.project,
                timeout=self.stop_timeout + self.timeout,
                what=f"deleting instance {name}",
            )
        except base.DriverNotFoundError:
            return False
        return True

    def _delete_volume(self, pool: str, volume: str) -> bool:
        try:
            self.client.call(
                "DELETE",
                scan.path("storage-pools", pool, "volumes", "custom", volume),
                project=self.project,
                what=f"deleting volume {volume} in pool {pool}",
            )
        except base.DriverNotFoundError:
            return False
        return True

    def decompose(self, name: str, disks: tuple[model.VmDisk, ...]) -> None:
        """Stop and delete the instance, then every custom volume listed; absent is fine.

        Every listed volume is tried even when one fails; the error then names each leftover.
        """
        failures: list[str] = []
        if _NAME_RE.match(name):
            try:
                self._delete_instance(name)
            except base.DriverConnectionError:
                raise
            except base.DriverError as exc:
                failures.append(f"instance {name}: {exc}")
        for disk in disks:
            if not disk.volume or disk.volume == name:
                continue  # the root volume goes with the instance
            try:
                self._delete_volume(disk.pool, disk.volume)
            except base.DriverConnectionError:
                raise
            except base.DriverError as exc:
                failures.append(f"volume {disk.volume} in pool {disk.pool}: {exc}")
        if failures:
            raise base.DriverError("decompose left things behind: " + "; ".join(failures))

    # -- power --------------------------------------------------------------------------------

    def _change_state(self, name: str, body: dict[str, Any], timeout: float) -> None:
        self.client.call(
            "PUT",
            scan.path("instances", name, "state"),
            project=self.project,
            json={"timeout": int(timeout), **body},
            timeout=timeout + 5,
            what=f"{body['action']} of instance {name}",
        )

    def _wait_status(self, name: str, code: int, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            data = self._instance(name)
            if data is None:
                raise base.DriverNotFoundError(
                    f"LXD at {self.client.address}: instance {name} disappeared"
                )
            if data.get("status_code") == code:
                return data
            if time.monotonic() >= deadline:
                raise base.DriverError(
                    f"LXD at {self.client.address}: instance {name} is "
                    f"{data.get('status')} after {timeout:g} s, not "
                    f"{'Running' if code == RUNNING else 'Stopped'}"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def _start(self, name: str) -> None:
        self._change_state(name, {"action": "start"}, self.start_timeout)
        self._wait_status(name, RUNNING, self.start_timeout)

    def power_on(self, name: str) -> None:
        """Start the instance unless it runs."""
        data = self._require(name)
        if data.get("status_code") != RUNNING:
            self._start(name)

    def power_off(self, name: str) -> None:
        """Stop the instance: cleanly within ``stop_timeout_s``, then forced."""
        data = self._require(name)
        if data.get("status_code") == STOPPED:
            return
        try:
            self._change_state(name, {"action": "stop"}, self.stop_timeout)
        except base.DriverConnectionError:
            raise
        except base.DriverError as exc:
            log.info("clean stop of %s failed (%s); forcing", name, exc)
            self._change_state(name, {"action": "stop", "force": True}, self.stop_timeout)
        self._wait_status(name, STOPPED, self.stop_timeout)

    def power_query(self, name: str) -> str:
        """``running``, ``stopped`` or ``unknown`` (also when the instance does not exist)."""
        data = self._instance(name) if _NAME_RE.match(name) else None
        return instances.power_state(data) if data else "unknown"

    def _require(self, name: str) -> dict[str, Any]:
        data = self._instance(name) if _NAME_RE.match(name) else None
        if data is None:
            raise base.DriverNotFoundError(
                f"LXD at {self.client.address}: instance {name!r} not found in project "
                f"{self.project!r}"
            )
        return data
