"""Policy filters: small checks that answer "may this host take the request at all?".

Capacity is not a policy filter: it is decided by ``fit`` (exact arithmetic) and enforced again
by the claim's compare-and-swap. Each filter returns None when the host passes, or the reason
it does not, phrased so that hosts failing alike group into one line; the pipeline files the
reason under the filter's :class:`~vmhost.model.Check`.
"""

from __future__ import annotations

from collections.abc import Callable

from vmhost import model
from vmhost.model.accounting import HostView

Filter = Callable[[HostView, model.ComposeRequest], str | None]


def status_filter(view: HostView, request: model.ComposeRequest) -> str | None:
    """Only ready hosts take new VMs."""
    if view.status is not model.HostStatus.READY:
        return f"{view.status.value} (not ready)"
    return None


def host_filter(view: HostView, request: model.ComposeRequest) -> str | None:
    """An explicit host in the request."""
    if request.host_id is not None and view.id != request.host_id:
        return f"not host {request.host_id}"
    return None


def zone_filter(view: HostView, request: model.ComposeRequest) -> str | None:
    """The zone asked for, and one of the zones asked for (Juju's ``zones``)."""
    if request.zone is not None and view.zone != request.zone:
        return f"not in zone {request.zone!r}"
    if request.zones and view.zone not in request.zones:
        return f"not in zones {','.join(request.zones)}"
    return None


def pool_filter(view: HostView, request: model.ComposeRequest) -> str | None:
    """The resource pool asked for."""
    if request.pool is not None and view.pool != request.pool:
        return f"not in resource pool {request.pool!r}"
    return None


def tags_filter(view: HostView, request: model.ComposeRequest) -> str | None:
    """All required tags, none of the excluded ones."""
    missing = [t for t in request.tags if t not in view.tags]
    if missing:
        return f"lack tags {','.join(missing)}"
    excluded = [t for t in request.not_tags if t in view.tags]
    if excluded:
        return f"have excluded tags {','.join(excluded)}"
    return None


def architecture_filter(view: HostView, request: model.ComposeRequest) -> str | None:
    """``amd64`` matches ``amd64/generic``."""
    arch = request.architecture
    if arch is None:
        return None
    names = {a for a in view.architectures} | {a.split("/")[0] for a in view.architectures}
    if arch not in names:
        return f"are not {arch}"
    return None


def instance_type_filter(view: HostView, request: model.ComposeRequest) -> str | None:
    """VMs need a host that can run VMs; containers need LXD."""
    if request.instance_type is model.InstanceType.VIRTUAL_MACHINE and not view.can_run_vms:
        if view.vm_unsupported_reason:
            return f"cannot run virtual machines ({view.vm_unsupported_reason})"
        return "cannot run virtual machines"
    if request.instance_type is model.InstanceType.CONTAINER and not view.can_run_containers:
        return "cannot run containers"
    return None


def excluded_spaces_filter(view: HostView, request: model.ComposeRequest) -> str | None:
    """Juju's ``^space``: drop hosts whose only networks are in excluded spaces."""
    if not request.not_spaces:
        return None
    excluded = {n for s in request.not_spaces for n in view.spaces.get(s, ())}
    names = [n for n, _ in view.networks]
    if names and all(n in excluded for n in names):
        return f"have networks only in excluded spaces {','.join(request.not_spaces)}"
    return None


DEFAULT_FILTERS: tuple[tuple[model.Check, Filter], ...] = (
    (model.Check.HOST, host_filter),
    (model.Check.STATUS, status_filter),
    (model.Check.ZONE, zone_filter),
    (model.Check.POOL, pool_filter),
    (model.Check.TAGS, tags_filter),
    (model.Check.ARCHITECTURE, architecture_filter),
    (model.Check.INSTANCE_TYPE, instance_type_filter),
    (model.Check.SPACES, excluded_spaces_filter),
)
