#!/usr/bin/env python3
"""The vmhost-manager charm: runs the vmhost service on a machine and integrates it with Juju.

Thin by design: `_inputs` reads config, secrets and integrations once and says what is
missing; one `_reconcile` for every event that changes what the unit should run; one
collect-status handler; action handlers. The work is done by `workload.Workload` (no ops
import), which reaches the service's API through `service_client` only.

Secrets: the *manager secret* (owned by the application, created by the leader, its id in the
peer databag) holds the key the service seals host credentials with (every unit sharing a
database needs the same one), the charm's admin token and the client pair the `lxd`
integration presents. None of them is ever written to a databag or a log.
"""

from __future__ import annotations

import dataclasses
import logging
import pathlib

import charm_actions
import charm_config
import cos_agent
import database
import ingress
import keys
import lxd_https
import ops
import pydantic
import service_client
import workload
from charms.vmhost_manager.v0 import vmhost

logger = logging.getLogger(__name__)

DATABASE_ENDPOINT = "database"
LXD_ENDPOINT = "lxd"
PEER_ENDPOINT = "vmhost-peers"
VM_HOST_ENDPOINT = "vm-host"
COS_ENDPOINT = "cos-agent"
INGRESS_ENDPOINT = "ingress"
DATABASE_NAME = "vmhost"
MANAGER_SECRET_LABEL = "vmhost-manager"  # noqa: S105 (a label)
MANAGER_SECRET_KEY = "manager-secret"  # noqa: S105 (peer app databag key: the secret's id)
DASHBOARDS_DIR = pathlib.Path(__file__).parent / "dashboards"


@dataclasses.dataclass(frozen=True)
class Inputs:
    """What the unit should run, read once per hook."""

    config: charm_config.CharmConfig
    service: workload.ServiceConfig
    tls: tuple[str, str] | None
    manager: dict[str, str]
    database_refused: str | None = None  # why the unit stays on SQLite


class VmhostManagerCharm(ops.CharmBase):
    """Runs vmhost as a systemd service from the charm's own Python environment."""

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.workload = workload.Workload(self.charm_dir)
        self._hosts: tuple[int, int] | None = None  # (VM hosts, not ready), seen this hook
        self._database = database.DatabaseRequirer(self, DATABASE_ENDPOINT, DATABASE_NAME)
        self._lxd = lxd_https.LxdRequirer(self, LXD_ENDPOINT)
        self._vm_host = vmhost.VmHostProvider(self, VM_HOST_ENDPOINT)
        self._cos = cos_agent.CosAgentProvider(self, COS_ENDPOINT)
        self._ingress = ingress.IngressRequirer(self, INGRESS_ENDPOINT)
        framework.observe(self.on.collect_unit_status, self._on_collect_unit_status)
        for event in (
            self.on.install,
            self.on.upgrade_charm,
            self.on.config_changed,
            self.on.start,
            self.on.update_status,
            self.on.leader_elected,
            self.on.secret_changed,
            self.on[PEER_ENDPOINT].relation_changed,
            self.on[DATABASE_ENDPOINT].relation_created,
            self.on[DATABASE_ENDPOINT].relation_changed,
            self.on[DATABASE_ENDPOINT].relation_broken,
            self.on[LXD_ENDPOINT].relation_created,
            self.on[LXD_ENDPOINT].relation_changed,
            self.on[LXD_ENDPOINT].relation_departed,
            self.on[LXD_ENDPOINT].relation_broken,
            self.on[VM_HOST_ENDPOINT].relation_broken,
            self._vm_host.on.vm_requested,
            self.on[COS_ENDPOINT].relation_joined,
            self.on[INGRESS_ENDPOINT].relation_joined,
            self.on[INGRESS_ENDPOINT].relation_changed,
        ):
            framework.observe(event, self._reconcile)
        framework.observe(self.on.stop, self._on_stop)
        self._actions = charm_actions.Actions(self)

    def _on_collect_unit_status(self, event: ops.CollectStatusEvent) -> None:
        """Report the unit's status (ops runs this after every event)."""
        try:
            inputs = self._inputs()
        except charm_config.Blocked as reason:
            event.add_status(ops.BlockedStatus(str(reason)))
            return
        except charm_config.Waiting as reason:
            event.add_status(ops.WaitingStatus(str(reason)))
            return
        if inputs.database_refused:
            event.add_status(ops.BlockedStatus(inputs.database_refused))
        peers = self.model.get_relation(PEER_ENDPOINT)
        if inputs.service.database_url is None and peers is not None and peers.units:
            event.add_status(ops.BlockedStatus("several units need the database integration"))
        if not self.workload.is_active():
            event.add_status(ops.MaintenanceStatus("waiting for the vmhost service to start"))
        elif not self.workload.is_ready(inputs.config.port, tls=inputs.service.tls):
            event.add_status(
                ops.WaitingStatus(f"waiting for the vmhost API on port {inputs.config.port}")
            )
        elif "admin-token" not in inputs.manager:
            event.add_status(ops.WaitingStatus("waiting for the leader to create the admin token"))
        event.add_status(ops.ActiveStatus(active_message(self._hosts, self._ingress.url())))

    def _reconcile(self, _: ops.EventBase) -> None:
        """Bring the unit to what config and integrations say it should run."""
        if self.unit.is_leader():
            self._database.request()
        try:
            inputs = self._inputs()
        except (charm_config.Blocked, charm_config.Waiting):
            return  # The collect-status handler reports why.
        self.workload.install()
        if self.unit.is_leader() and inputs.service.database_url:
            self.workload.migrate(inputs.service)
        port, tls = inputs.config.port, inputs.service.tls
        restarted = self.workload.configure(
            inputs.service, sealing_key=inputs.manager["sealing-key"], tls=inputs.tls
        )
        if restarted and not self.workload.wait_ready(port, tls=tls):
            logger.warning("vmhost is not answering on port %d yet", port)
            return
        self.unit.set_ports(port)
        self._ingress.publish(port=port, tls=tls)
        token = self._admin_token(inputs)
        if token is None:
            return
        with self.workload.api(inputs.service, token) as api:
            self.unit.set_workload_version(api.version())
            try:
                self._hosts = api.hosts_summary()
            except service_client.ServiceError as error:
                logger.warning("cannot list the VM hosts: %s", error)
            if self.model.relations[COS_ENDPOINT]:
                self._publish_cos(api, inputs)
            if self.unit.is_leader():
                self._sync_lxd(api, inputs.manager)
                self._answer_vm_requests(api)

    def _on_stop(self, _: ops.StopEvent) -> None:
        """Stop the service and remove its unit; the data directory stays."""
        self.workload.remove()

    # -- inputs ------------------------------------------------------------------------------

    def _inputs(self) -> Inputs:
        """Config, secrets and integrations, checked; raises `charm_config.Blocked`/`Waiting`."""
        try:
            config = self.load_config(charm_config.CharmConfig)
        except pydantic.ValidationError as error:
            raise charm_config.Blocked(charm_config.config_error_message(error)) from None
        tls = self._tls(config)
        if self.workload.port_taken(config.port, tls=tls is not None):
            raise charm_config.Blocked(
                f"invalid config: port={config.port}: in use by another program"
            )
        manager = self._manager_secret()
        refused: str | None = None
        try:
            credentials = self._database.credentials()
        except database.DatabaseNotReadyError as reason:
            raise charm_config.Waiting(str(reason)) from None
        url: str | None = None
        if credentials is not None:
            sqlite_hosts = self.workload.sqlite_host_count()
            if sqlite_hosts:
                refused = (
                    f"the SQLite database on this unit holds {sqlite_hosts} VM host(s), which "
                    "vmhost does not copy to PostgreSQL: remove them or the database integration"
                )
            else:
                url = workload.postgresql_url(
                    endpoints=credentials.endpoint,
                    username=credentials.username,
                    password=credentials.password,
                    database=credentials.database,
                )
        service = self.workload.service_config(
            port=config.port,
            log_level=config.log_level,
            scheduling_policy=config.scheduling_policy,
            default_cpu_over_commit_ratio=config.default_cpu_over_commit_ratio,
            default_memory_over_commit_ratio=config.default_memory_over_commit_ratio,
            database_url=url,
            tls=tls is not None,
        )
        return Inputs(config, service, tls, manager, refused)

    def _tls(self, config: charm_config.CharmConfig) -> tuple[str, str] | None:
        """The TLS certificate and key from the `tls-secret` option, checked."""
        if config.tls_secret is None:
            return None
        try:
            content = self.model.get_secret(id=config.tls_secret).get_content(refresh=True)
        except (ops.SecretNotFoundError, ops.ModelError):
            raise charm_config.Waiting(
                f"cannot read tls-secret {config.tls_secret}: grant it to the application"
            ) from None
        certificate, key = content.get("certificate", ""), content.get("key", "")
        if not certificate or not key:
            raise charm_config.Blocked(
                "invalid config: tls-secret needs the fields certificate and key"
            )
        if problem := keys.tls_problem(certificate, key):
            raise charm_config.Blocked(f"invalid config: tls-secret: {problem}")
        return certificate, key

    def _manager_secret(self) -> dict[str, str]:
        """The manager secret's content; the leader creates it. Raises `Waiting`."""
        if self.unit.is_leader():
            try:
                secret = self.model.get_secret(label=MANAGER_SECRET_LABEL)
            except ops.SecretNotFoundError:
                key = self.workload.sealing_key() or keys.new_sealing_key()
                certificate, client_key = keys.new_client_pair(self.app.name)
                content = {
                    "sealing-key": key,
                    "lxd-certificate": certificate,
                    "lxd-key": client_key,
                }
                secret = self.app.add_secret(content, label=MANAGER_SECRET_LABEL)
            peers = self.model.get_relation(PEER_ENDPOINT)
            if peers is not None:
                peers.data[self.app][MANAGER_SECRET_KEY] = secret.id or secret.get_info().id
            return secret.get_content(refresh=True)
        peers = self.model.get_relation(PEER_ENDPOINT)
        secret_id = peers.data[self.app].get(MANAGER_SECRET_KEY) if peers else None
        if not secret_id:
            raise charm_config.Waiting("waiting for the leader to share the manager secret")
        try:
            return self.model.get_secret(id=secret_id).get_content(refresh=True)
        except (ops.SecretNotFoundError, ops.ModelError):
            raise charm_config.Waiting("cannot read the manager secret yet") from None

    def _admin_token(self, inputs: Inputs) -> str | None:
        """The charm's admin token; the leader creates (or renews) it when the service does
        not accept the one in the manager secret. None when there is none to use yet."""
        token = inputs.manager.get("admin-token")
        if token is not None:
            try:
                with self.workload.api(inputs.service, token) as api:
                    api.check_token()
                return token
            except service_client.UnauthorizedError:
                logger.info("the service does not accept the charm's admin token")
            except service_client.ServiceError as error:
                logger.warning("cannot check the charm's admin token: %s", error)
                return None
        if not self.unit.is_leader():
            return None
        token = self.workload.create_admin_token(inputs.service)
        secret = self.model.get_secret(label=MANAGER_SECRET_LABEL)
        secret.set_content({**inputs.manager, "admin-token": token})
        inputs.manager["admin-token"] = token
        return token

    def admin_api(self) -> service_client.ServiceApi:
        """The service's API with the charm's admin token (actions). Raises `Waiting` or
        `Blocked` when the unit cannot serve yet."""
        inputs = self._inputs()
        token = inputs.manager.get("admin-token")
        if token is None:
            raise charm_config.Waiting("the charm has no admin token yet: the leader creates it")
        return self.workload.api(inputs.service, token)

    # -- integrations (leader) --------------------------------------------------------------

    def _sync_lxd(self, api: service_client.ServiceApi, manager: dict[str, str]) -> None:
        """Offer our certificate to LXD; register, refresh and remove the hosts it gives."""
        certificate = manager["lxd-certificate"]
        self._lxd.publish(certificate)
        servers = [
            service_client.LxdHost(s.name, s.address, s.certificate) for s in self._lxd.servers()
        ]
        try:
            problems = api.sync_lxd_hosts(
                servers, self._lxd.names(), certificate=certificate, key=manager["lxd-key"]
            )
        except service_client.ServiceError as error:
            logger.warning("cannot register the LXD hosts yet: %s", error)
            return
        for problem in problems:
            logger.warning("lxd integration: %s", problem)

    def _answer_vm_requests(self, api: service_client.ServiceApi) -> None:
        """Compose or decompose VMs for each `vm-host` request; publish what each holds."""
        prefix = service_client.owner_prefix(self.app.name)
        live = {r.id for r in self.model.relations[VM_HOST_ENDPOINT]}
        try:
            for owner in api.owners(prefix):
                relation_id = owner.removeprefix(prefix)
                if not relation_id.isdigit() or int(relation_id) not in live:
                    logger.info(
                        "vm-host: decomposed %d VM(s) of %s", api.release_owner(owner), owner
                    )
            for request in self._vm_host.requests():
                owner = service_client.relation_owner(self.app.name, request.relation_id)
                answer = api.machines(owner, request.constraints, request.count)
                machines = [
                    vmhost.MachineData(id=m.id, hostname=m.hostname, addresses=list(m.addresses))
                    for m in answer.machines
                ]
                self._vm_host.answer(request.relation_id, machines=machines, error=answer.error)
        except service_client.ServiceError as error:
            logger.warning("cannot answer the vm-host requests yet: %s", error)

    def _publish_cos(self, api: service_client.ServiceApi, inputs: Inputs) -> None:
        """Give the agent our metrics endpoint (with a read-only token the leader makes and
        keeps in the manager secret), log file and dashboard."""
        token = inputs.manager.get("metrics-token")
        if token is not None and self.unit.is_leader():
            try:
                with self.workload.api(inputs.service, token) as metrics:
                    if not metrics.token_accepted():  # a new database: make it again
                        token = None
            except service_client.ServiceError as error:
                logger.warning("cannot check the metrics token: %s", error)
        if token is None and self.unit.is_leader():
            try:
                token = api.renew_token(cos_agent.TOKEN_NAME, read_only=True)
            except service_client.ServiceError as error:
                logger.warning("cannot create the metrics token yet: %s", error)
                return
            inputs.manager["metrics-token"] = token
            self.model.get_secret(label=MANAGER_SECRET_LABEL).set_content(inputs.manager)
        if token is None:
            return  # the leader makes it; secret-changed follows
        config = cos_agent.unit_config(
            port=inputs.config.port,
            tls=inputs.service.tls,
            token=token,
            log_file=workload.LOG_FILE,
            dashboards_dir=DASHBOARDS_DIR,
        )
        self._cos.publish(config)


def active_message(hosts: tuple[int, int] | None, url: str | None = None) -> str:
    """The note of an Active status: what the service manages (unknown: none), and the URL
    the ingress serves it at."""
    message = ""
    if hosts is not None:
        total, not_ready = hosts
        if total == 0:
            message = "no VM hosts yet: run the add-host action or integrate lxd"
        else:
            message = f"{total} VM host{'' if total == 1 else 's'}"
            message += f", {not_ready} not ready (see list-hosts)" if not_ready else ""
    if url:
        message = f"{message}; at {url}" if message else f"at {url}"
    return message


if __name__ == "__main__":  # pragma: no cover
    ops.main(VmhostManagerCharm)
