#!/usr/bin/env python3
"""The vmhost-manager charm: runs the vmhost service on a machine and integrates it with Juju.

Thin by design: one `_reconcile` for every event that changes what the unit should run, one
collect-status handler, and action handlers. The work is done by `workload` (no ops import).
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Literal

import ops
import pydantic
import workload
from charms.vmhost_manager.v0 import vmhost

logger = logging.getLogger(__name__)

DATABASE_ENDPOINT = "database"
PEER_ENDPOINT = "vmhost-peers"
VM_HOST_ENDPOINT = "vm-host"
DATABASE_NAME = "vmhost"
VM_HOST_NOT_YET = (
    "composing VMs over the vm-host integration is not available until the vmhost API lands"
)

Ratio = Annotated[float, pydantic.Field(ge=0.0, le=10.0)]


class CharmConfig(pydantic.BaseModel):
    """The charm's config options (config.yaml), dashes read as underscores."""

    model_config = pydantic.ConfigDict(frozen=True)

    port: int = pydantic.Field(default=5240, ge=1, le=65535)
    default_cpu_over_commit_ratio: Ratio = 1.0
    default_memory_over_commit_ratio: Ratio = 1.0
    scheduling_policy: Literal["pack", "spread", "least-loaded"] = "pack"
    log_level: Literal["debug", "info", "warning", "error", "critical"] = "info"


class AddHostParams(pydantic.BaseModel):
    """Parameters of the add-host action."""

    type: Literal["lxd", "libvirt"]
    address: str = pydantic.Field(min_length=1)
    name: str | None = None
    zone: str | None = None
    pool: str | None = None
    project: str | None = None


class HostParams(pydantic.BaseModel):
    """Parameters of the actions that name one VM host (get-certificate, refresh)."""

    host: str = pydantic.Field(min_length=1)


class ComposeParams(pydantic.BaseModel):
    """Parameters of the compose action."""

    host: str | None = None
    cores: int = pydantic.Field(default=1, ge=1)
    memory_mib: int = pydantic.Field(default=2048, ge=1024)
    storage: str = "root:8"
    interfaces: str | None = None
    hostname: str | None = None


class CreateTokenParams(pydantic.BaseModel):
    """Parameters of the create-token action."""

    name: str = pydantic.Field(min_length=1)
    read_only: bool = False


class VmhostManagerCharm(ops.CharmBase):
    """Runs vmhost as a systemd service from the charm's own Python environment."""

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self._vm_host = vmhost.VmHostProvider(self, VM_HOST_ENDPOINT)
        framework.observe(self.on.collect_unit_status, self._on_collect_unit_status)
        for event in (
            self.on.install,
            self.on.upgrade_charm,
            self.on.config_changed,
            self.on.start,
            self.on.leader_elected,
            self.on[DATABASE_ENDPOINT].relation_created,
            self.on[DATABASE_ENDPOINT].relation_changed,
            self.on[DATABASE_ENDPOINT].relation_broken,
            self.on.secret_changed,
            self._vm_host.on.vm_requested,
        ):
            framework.observe(event, self._reconcile)
        framework.observe(self.on.stop, self._on_stop)
        framework.observe(self.on.add_host_action, self._on_add_host_action)
        framework.observe(self.on.get_certificate_action, self._on_get_certificate_action)
        framework.observe(self.on.compose_action, self._on_compose_action)
        framework.observe(self.on.refresh_action, self._on_refresh_action)
        framework.observe(self.on.create_token_action, self._on_create_token_action)

    def _on_collect_unit_status(self, event: ops.CollectStatusEvent) -> None:
        """Report the unit's status (ops runs this after every event)."""
        try:
            config = self.load_config(CharmConfig)
        except pydantic.ValidationError as error:
            event.add_status(ops.BlockedStatus(config_error_message(error)))
            return
        database = self.model.get_relation(DATABASE_ENDPOINT)
        peers = self.model.get_relation(PEER_ENDPOINT)
        if database is None and peers is not None and peers.units:
            event.add_status(ops.BlockedStatus("several units need the database integration"))
        if database is not None and self._database_url() is None:
            event.add_status(ops.WaitingStatus("waiting for PostgreSQL credentials"))
        if not workload.is_active():
            event.add_status(ops.MaintenanceStatus("waiting for the vmhost service to start"))
        elif not workload.is_ready(config.port):
            event.add_status(
                ops.WaitingStatus(f"waiting for the vmhost API on port {config.port}")
            )
        event.add_status(ops.ActiveStatus())

    def _reconcile(self, _: ops.EventBase) -> None:
        """Bring the unit to what config and integrations say it should run."""
        try:
            config = self.load_config(CharmConfig)
        except pydantic.ValidationError:
            return  # The collect-status handler reports the invalid value.
        if self.unit.is_leader():
            self._request_database()
            self._answer_vm_requests()
        workload.install_packages(workload.missing_packages())
        service = workload.ServiceConfig(
            charm_dir=self.charm_dir,
            port=config.port,
            log_level=config.log_level,
            scheduling_policy=config.scheduling_policy,
            default_cpu_over_commit_ratio=config.default_cpu_over_commit_ratio,
            default_memory_over_commit_ratio=config.default_memory_over_commit_ratio,
            database_url=self._database_url(),
        )
        if workload.configure(service) and not workload.wait_ready(config.port):
            logger.warning("vmhost is not answering on port %d yet", config.port)
        self.unit.set_ports(config.port)

    def _on_stop(self, _: ops.StopEvent) -> None:
        """Stop the service and remove its unit; the data directory stays."""
        workload.remove()

    def _on_add_host_action(self, event: ops.ActionEvent) -> None:
        """Register a VM host."""
        params = event.load_params(AddHostParams, errors="fail")
        self._run_action(event, "add-host", params)

    def _on_get_certificate_action(self, event: ops.ActionEvent) -> None:
        """Show the certificate vmhost presents to an LXD host."""
        params = event.load_params(HostParams, errors="fail")
        self._run_action(event, "get-certificate", params)

    def _on_compose_action(self, event: ops.ActionEvent) -> None:
        """Compose a VM."""
        params = event.load_params(ComposeParams, errors="fail")
        self._run_action(event, "compose", params)

    def _on_refresh_action(self, event: ops.ActionEvent) -> None:
        """Re-discover a VM host."""
        params = event.load_params(HostParams, errors="fail")
        self._run_action(event, "refresh", params)

    def _on_create_token_action(self, event: ops.ActionEvent) -> None:
        """Create an API token."""
        params = event.load_params(CreateTokenParams, errors="fail")
        self._run_action(event, "create-token", params)

    def _run_action(self, event: ops.ActionEvent, action: str, params: pydantic.BaseModel) -> None:
        """Hand an action to the workload's API adapter; failures become action failures."""
        try:
            config = self.load_config(CharmConfig)
        except pydantic.ValidationError as error:
            event.fail(f"cannot run {action}: {config_error_message(error)}")
            return
        try:
            results = workload.run_action(action, params.model_dump(), port=config.port)
        except workload.ApiUnavailableError as error:
            event.fail(str(error))
            return
        event.set_results(results)

    def _request_database(self) -> None:
        """Ask the PostgreSQL charm for a database, credentials as a Juju secret (leader)."""
        relation = self.model.get_relation(DATABASE_ENDPOINT)
        if relation is None:
            return
        relation.data[self.app].update(
            {
                "database": DATABASE_NAME,
                "requested-secrets": json.dumps(["username", "password", "tls", "tls-ca"]),
            }
        )

    def _database_url(self) -> str | None:
        """The service's database URL from the `database` integration; None until complete."""
        relation = self.model.get_relation(DATABASE_ENDPOINT)
        if relation is None or relation.app is None:
            return None
        data = relation.data[relation.app]
        credentials: dict[str, str] = {
            "username": data.get("username", ""),
            "password": data.get("password", ""),
        }
        if secret_id := data.get("secret-user"):
            try:
                credentials = self.model.get_secret(id=secret_id).get_content(refresh=True)
            except ops.SecretNotFoundError:
                return None  # Not granted to us yet; secret-changed or relation-changed follows.
        endpoints = data.get("endpoints", "")
        username = credentials.get("username", "")
        password = credentials.get("password", "")
        if not (endpoints and username and password):
            return None
        return workload.postgresql_url(
            endpoints=endpoints,
            username=username,
            password=password,
            database=data.get("database", DATABASE_NAME),
        )

    def _answer_vm_requests(self) -> None:
        """Answer requests on the vm-host integration (leader): not possible before the API."""
        for request in self._vm_host.requests():
            logger.info("vm-host request from %s: %s", request.app_name, request.constraints)
            self._vm_host.answer(request.relation_id, error=VM_HOST_NOT_YET)


def config_error_message(error: pydantic.ValidationError) -> str:
    """A one-line status message naming each invalid option, its value and what is wrong."""
    problems: list[str] = []
    for problem in error.errors():
        option = "-".join(str(part) for part in problem["loc"]).replace("_", "-")
        problems.append(f"{option}={problem['input']!r}: {problem['msg']}")
    return "invalid config: " + "; ".join(problems)


if __name__ == "__main__":  # pragma: no cover
    ops.main(VmhostManagerCharm)
