"""A compose through the API, on one host (``/vm-hosts/{host}/compose``) or on the best one
(``POST /vms``): the request converted once, run now or as a background operation."""

from __future__ import annotations

from typing import Any

from vmhost import schemas
from vmhost.service import Services, host_json

from . import convert, deps


def compose(
    run: deps.Runner, svc: Services, body: schemas.ComposeBody, host_id: int | None
) -> Any:
    """Compose (on one host or the best one), now or in the background."""
    compose_request = convert.compose_request(body, host_id)

    def work() -> schemas.ComposeResult:
        result = svc.vms.compose(compose_request)
        return schemas.ComposeResult.model_validate(
            {
                "system_id": str(result.vm.id),
                "resource_uri": convert.vm_uri(result.vm.id),
                "host": convert.host_ref(result.host_id, result.host_name),
                "vm": convert.vm(result.vm, result.host_name),
                "attempts": result.attempts,
            }
        )

    target = host_json.host_uri(host_id) if host_id is not None else f"{schemas.API_PREFIX}/vms"
    return run("compose", target, work)
