"""The charm's actions: parameters checked (`charm_config`), then one call to the service.

Each handler fails the action with one line (bad parameters, a service not ready yet, the
service's own refusal) and never prints a token: `create-token` puts the new token in a Juju
secret owned by the unit and returns only the secret's id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import charm_config
import ops
import pydantic
import service_client

if TYPE_CHECKING:
    from charm import VmhostManagerCharm

MAAS_NOT_YET = (
    "maas-credentials is not available yet: this vmhost has no MAAS API "
    "(`vmhost maas cloud-yaml`) to make a Juju cloud of"
)


class Actions(ops.Object):
    """The action handlers of vmhost-manager (actions.yaml)."""

    def __init__(self, charm: VmhostManagerCharm):
        super().__init__(charm, "actions")
        self._charm = charm
        for name in (
            "add-host",
            "get-certificate",
            "refresh",
            "compose",
            "decompose",
            "list-hosts",
            "list-vms",
            "create-token",
            "maas-credentials",
        ):
            handler = getattr(self, "_on_" + name.replace("-", "_"))
            charm.framework.observe(charm.on[name].action, handler)

    def _on_add_host(self, event: ops.ActionEvent) -> None:
        _add_host(self._charm, event)

    def _on_get_certificate(self, event: ops.ActionEvent) -> None:
        _get_certificate(self._charm, event)

    def _on_refresh(self, event: ops.ActionEvent) -> None:
        _refresh(self._charm, event)

    def _on_compose(self, event: ops.ActionEvent) -> None:
        _compose(self._charm, event)

    def _on_decompose(self, event: ops.ActionEvent) -> None:
        _decompose(self._charm, event)

    def _on_list_hosts(self, event: ops.ActionEvent) -> None:
        _list_hosts(self._charm, event)

    def _on_list_vms(self, event: ops.ActionEvent) -> None:
        _list_vms(self._charm, event)

    def _on_create_token(self, event: ops.ActionEvent) -> None:
        _create_token(self._charm, event)

    def _on_maas_credentials(self, event: ops.ActionEvent) -> None:
        event.fail(MAAS_NOT_YET)


def _params(event: ops.ActionEvent, model: type[pydantic.BaseModel]) -> Any:
    """The parameters, or None after failing the action with what is wrong."""
    try:
        return event.load_params(model)
    except pydantic.ValidationError as error:
        problems = [
            f"{'-'.join(str(p) for p in e['loc']).replace('_', '-')}: {e['msg']}"
            for e in error.errors()
        ]
        event.fail("invalid parameters: " + "; ".join(problems))
        return None


def _call(
    charm: VmhostManagerCharm,
    event: ops.ActionEvent,
    work: Callable[[service_client.ServiceApi], dict[str, str]],
) -> None:
    """Run `work` against the service; its results, or the action failed with the reason."""
    try:
        with charm.admin_api() as api:
            results = work(api)
    except service_client.ServiceError as error:
        event.fail(str(error))
        return
    except (charm_config.Blocked, charm_config.Waiting) as error:
        event.fail(f"the vmhost service is not ready: {error}")
        return
    event.set_results(results)


def _add_host(charm: VmhostManagerCharm, event: ops.ActionEvent) -> None:
    params: charm_config.AddHostParams | None = _params(event, charm_config.AddHostParams)
    if params is not None:
        _call(charm, event, lambda api: api.add_host(params.model_dump()))


def _get_certificate(charm: VmhostManagerCharm, event: ops.ActionEvent) -> None:
    params: charm_config.HostParams | None = _params(event, charm_config.HostParams)
    if params is not None:
        _call(charm, event, lambda api: api.certificate(params.host))


def _refresh(charm: VmhostManagerCharm, event: ops.ActionEvent) -> None:
    params: charm_config.HostParams | None = _params(event, charm_config.HostParams)
    if params is not None:
        _call(charm, event, lambda api: api.refresh(params.host))


def _compose(charm: VmhostManagerCharm, event: ops.ActionEvent) -> None:
    params: charm_config.ComposeParams | None = _params(event, charm_config.ComposeParams)
    if params is not None:
        _call(charm, event, lambda api: api.compose(**params.model_dump()))


def _decompose(charm: VmhostManagerCharm, event: ops.ActionEvent) -> None:
    params: charm_config.DecomposeParams | None = _params(event, charm_config.DecomposeParams)
    if params is not None:
        _call(charm, event, lambda api: api.decompose(params.vm))


def _list_hosts(charm: VmhostManagerCharm, event: ops.ActionEvent) -> None:
    _call(charm, event, lambda api: api.list_hosts())


def _list_vms(charm: VmhostManagerCharm, event: ops.ActionEvent) -> None:
    params: charm_config.ListVmsParams | None = _params(event, charm_config.ListVmsParams)
    if params is not None:
        _call(charm, event, lambda api: api.list_vms(params.host))


def _create_token(charm: VmhostManagerCharm, event: ops.ActionEvent) -> None:
    params: charm_config.CreateTokenParams | None = _params(event, charm_config.CreateTokenParams)
    if params is None:
        return

    def work(api: service_client.ServiceApi) -> dict[str, str]:
        token, record = api.create_token(params.name, read_only=params.read_only)
        secret = charm.unit.add_secret(
            {"token": token},
            label=f"vmhost-token-{params.name}",
            description=f"vmhost {record['role']} token {params.name!r}",
        )
        return {
            **record,
            "secret-id": secret.id or "",
            "read-with": f"juju show-secret --reveal {secret.id}",
        }

    _call(charm, event, work)
