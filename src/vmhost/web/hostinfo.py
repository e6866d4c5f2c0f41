"""A host as the pages show it: its settings, status with the next step, and its meters.

The one place the web reads a ``HostDetail``; the numbers are ``service.views``'s.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from vmhost import model
from vmhost.service import HostDetail, views

from . import format as fmt

TYPE_LABELS = {"lxd": "LXD", "libvirt": "libvirt", "fake": "Fake"}


@dataclasses.dataclass(frozen=True, slots=True)
class StatusNote:
    """Where a host stands, in words, and what the operator should do next."""

    status: str
    label: str
    problem: str  # the host's own error, if any
    next_step: str
    link: str  # where the next step is done ('' when it is a button on the page)
    link_text: str

    @property
    def ready(self) -> bool:
        """Nothing to do."""
        return self.status == model.HostStatus.READY.value


def status_note(
    host_id: int, status: str, host_type: str, address: str, last_error: str
) -> StatusNote:
    """The status badge's words and the next step for a host that is not ready."""
    s = model.HostStatus
    if status == s.READY.value:
        return StatusNote(status, "Ready", "", "", "", "")
    if status == s.UNTRUSTED.value:
        step = (
            "This LXD host does not trust vmhost's certificate yet. Add it to the host's trust "
            "store with the command shown, and vmhost checks again."
            if host_type == "lxd"
            else "The host refused vmhost's credentials. Fix them in Settings, then refresh."
        )
        link = f"/hosts/{host_id}/trust" if host_type == "lxd" else f"/hosts/{host_id}/settings"
        text = "Trust the certificate" if host_type == "lxd" else "Fix credentials"
        return StatusNote(status, "Untrusted", last_error, step, link, text)
    if status == s.UNREACHABLE.value:
        return StatusNote(
            status,
            "Unreachable",
            last_error,
            f"vmhost cannot reach {address}. Check that the host is up and its API listens "
            "there (or correct the address in Settings), then refresh.",
            f"/hosts/{host_id}/settings",
            "Check the address",
        )
    if status == s.REFRESHING.value:
        return StatusNote(status, "Refreshing", "", "Discovery is running.", "", "")
    if status == s.NEW.value:
        return StatusNote(
            status, "New", "", "Not discovered yet: refresh it.", f"/hosts/{host_id}", "Open"
        )
    return StatusNote(
        status,
        "Error",
        last_error,
        "The last refresh failed with the host's message above. Fix the cause, then refresh.",
        f"/hosts/{host_id}",
        "Open",
    )


@dataclasses.dataclass(frozen=True, slots=True)
class HostInfo:
    """Everything a page shows about one host."""

    id: int
    name: str
    type: str
    type_label: str
    address: str
    project: str
    version: str
    zone: str
    pool: str
    tags: tuple[str, ...]
    note: StatusNote
    vm_count: views.VmCount
    resources: views.Resources
    storage_pools: list[views.StoragePoolUse]
    meters: dict[str, fmt.Meter | None]
    settings: dict[str, Any]  # the settable fields, for the settings form
    architectures: tuple[str, ...]
    can_run_vms: bool
    can_run_containers: bool
    vm_unsupported_reason: str
    detail: HostDetail

    @property
    def is_lxd(self) -> bool:
        """LXD hosts have projects and a client certificate."""
        return self.type == "lxd"


def host_info(detail: HostDetail) -> HostInfo:
    """The page's view of a host."""
    host, view = detail.host, detail.view
    summary = views.host_summary(view)
    resources = summary.resources
    return HostInfo(
        id=host.id,
        name=host.name,
        type=host.type.value,
        type_label=TYPE_LABELS.get(host.type.value, host.type.value),
        address=host.address,
        project=host.project,
        version=host.version,
        zone=host.zone.name,
        pool=host.pool.name,
        tags=host.tags,
        note=status_note(
            host.id, host.status.value, host.type.value, host.address, host.last_error
        ),
        vm_count=summary.vm_count,
        resources=resources,
        storage_pools=summary.storage_pools,
        meters=fmt.meters(resources),
        settings={
            "name": host.name,
            "address": host.address,
            "project": host.project,
            "zone": host.zone.name,
            "pool": host.pool.name,
            "tags": " ".join(host.tags),
            "default_storage_pool": host.default_storage_pool or "",
            "reserved_cores": str(host.reserved_cores),
            "reserved_memory_mib": str(host.reserved_memory_mib),
            "cpu_over_commit_ratio": fmt.ratio(host.cpu_over_commit_ratio),
            "memory_over_commit_ratio": fmt.ratio(host.memory_over_commit_ratio),
        },
        architectures=host.architectures,
        can_run_vms=bool(view.can_run_vms),
        can_run_containers=bool(view.can_run_containers),
        vm_unsupported_reason=view.vm_unsupported_reason,
        detail=detail,
    )
