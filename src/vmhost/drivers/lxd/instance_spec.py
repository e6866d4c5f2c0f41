"""A placed ``ComposeSpec`` → the LXD payloads that realise it. Pure: no I/O, no pylxd.

The plan holds the body of ``POST /1.0/instances`` and one body of
``POST /1.0/storage-pools/<pool>/volumes/custom`` per extra disk. The driver creates the
volumes, then the instance, and deletes what it created when a later step fails.

Decisions:

* ``profiles: []``: the instance is fully described here (root disk, NICs, limits), so what an
  operator puts in the project's default profile cannot add a NIC or a disk vmhost does not
  account for.
* Extra disks are custom volumes named ``<instance>-<device>``: ``block`` volumes for VMs,
  ``filesystem`` volumes mounted at ``/mnt/<device>`` for containers (LXD attaches block
  volumes to VMs only).
* NUMA placement is expressed by pinning only (``limits.cpu`` with a core list), as MAAS did:
  LXD 5.0 has no key for NUMA nodes. ``numa_nodes`` without pinned cores is not written.
* Hugepage-backed memory is ``limits.memory.hugepages``, for VMs only; LXD backs it with the
  host's default hugepage size, so a request for another size is refused rather than ignored.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from vmhost import model
from vmhost.drivers import base

from . import units

UBUNTU_SERVER = "https://cloud-images.ubuntu.com/releases"
IMAGES_SERVER = "https://images.lxd.canonical.com"
_REMOTES = {"ubuntu": UBUNTU_SERVER, "images": IMAGES_SERVER}
_DEVICE_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$")
MANAGED_KEY = "user.vmhost.managed"
VOLUME_OWNER_KEY = "user.vmhost.instance"


@dataclasses.dataclass(frozen=True, slots=True)
class HostCapability:
    """What the LXD host can do, from ``/1.0`` (and its warnings) and ``/1.0/resources``."""

    can_run_vms: bool = True
    vm_unsupported_reason: str = ""
    can_run_containers: bool = True
    api_extensions: frozenset[str] = frozenset()
    hugepage_size_kib: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ImageSource:
    """Where the root filesystem comes from: a local alias, a remote alias, or nothing."""

    alias: str = ""
    server: str = ""
    protocol: str = "simplestreams"

    @classmethod
    def parse(cls, text: str) -> ImageSource:
        """``none`` → no image (network boot); ``ubuntu:24.04`` / ``images:debian/12`` → that
        remote (as ``lxc launch``); anything else is an alias on the host itself."""
        text = text.strip()
        if text in ("", "none"):
            return cls()
        remote, sep, alias = text.partition(":")
        if sep and remote in _REMOTES:
            return cls(alias=alias, server=_REMOTES[remote])
        return cls(alias=text)

    def payload(self) -> dict[str, str]:
        """The ``source`` of the instance body."""
        if not self.alias:
            return {"type": "none"}
        source = {"type": "image", "alias": self.alias}
        if self.server:
            source |= {"server": self.server, "protocol": self.protocol, "mode": "pull"}
        return source


@dataclasses.dataclass(frozen=True, slots=True)
class VolumePlan:
    """A custom volume for an extra disk."""

    pool: str
    name: str
    device: str
    size_bytes: int
    payload: dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class InstancePlan:
    """Everything to send, in order: volumes, then the instance (in ``project``)."""

    project: str
    instance: dict[str, Any]
    volumes: tuple[VolumePlan, ...]
    disk_devices: tuple[str, ...]  # device name of each spec disk, in order (root first)
    nic_devices: tuple[str, ...]  # device name of each spec interface, in order

    @property
    def name(self) -> str:
        """The instance name."""
        return str(self.instance["name"])


def plan_instance(
    spec: base.ComposeSpec,
    *,
    project: str = "default",
    image: ImageSource | str = "",
    capability: HostCapability | None = None,
) -> InstancePlan:
    """The LXD payloads for ``spec``; raises before anything is sent when it cannot work."""
    capability = capability or HostCapability()
    if isinstance(image, str):
        image = ImageSource.parse(image)
    vm = spec.instance_type is model.InstanceType.VIRTUAL_MACHINE
    _check_supported(spec, vm, capability)
    if not spec.disks:
        raise base.DriverError(f"instance {spec.name!r}: a root disk is needed")

    config: dict[str, str] = {
        "limits.cpu": units.format_cpu_set(spec.pinned_cores)
        if spec.pinned_cores
        else str(spec.cores),
        "limits.memory": f"{spec.memory_mib}MiB",
        MANAGED_KEY: "true",
    }
    if spec.hugepages_backed:
        config["limits.memory.hugepages"] = "true"
    if spec.user_data:
        exts = capability.api_extensions
        key = "cloud-init.user-data" if not exts or "cloud_init" in exts else "user.user-data"
        config[key] = spec.user_data

    devices: dict[str, dict[str, str]] = {}
    disk_devices, volumes = _disks(spec, vm, devices)
    nic_devices = _nics(spec, devices)

    instance: dict[str, Any] = {
        "name": spec.name,
        "type": spec.instance_type.value,
        "profiles": [],
        "config": config,
        "devices": devices,
        "source": image.payload(),
        "description": "composed by vmhost",
    }
    arch = units.kernel_architecture(spec.architecture)
    if arch:
        instance["architecture"] = arch
    return InstancePlan(project or "default", instance, volumes, disk_devices, nic_devices)


def volume_name(instance: str, device: str) -> str:
    """The custom volume vmhost creates for an extra disk."""
    return f"{instance}-{device}"


def _check_supported(spec: base.ComposeSpec, vm: bool, capability: HostCapability) -> None:
    if vm and not capability.can_run_vms:
        reason = capability.vm_unsupported_reason or "this LXD has no QEMU driver"
        raise base.DriverUnsupportedError(
            f'Instance type "virtual-machine" is not supported on this server: {reason}',
            host_message=reason,
        )
    if not vm and not capability.can_run_containers:
        raise base.DriverUnsupportedError(
            'Instance type "container" is not supported on this server'
        )
    if spec.hugepages_backed and not vm:
        raise base.DriverUnsupportedError(
            "hugepage-backed memory is only available to virtual machines in LXD, "
            "not to containers"
        )
    size = spec.hugepage_size_kib
    if spec.hugepages_backed and size and capability.hugepage_size_kib not in (None, size):
        raise base.DriverUnsupportedError(
            f"LXD backs VM memory with the host's default hugepage size "
            f"({capability.hugepage_size_kib} KiB), not {size} KiB"
        )


def _device_name(wanted: str, prefix: str, index: int, taken: Mapping[str, object]) -> str:
    """The requested name when valid and free, else ``<prefix><index>``, else the first free."""
    for name in (wanted, f"{prefix}{index}"):
        if name and _DEVICE_RE.match(name) and name not in taken:
            return name
    k = 0
    while f"{prefix}{k}" in taken:
        k += 1
    return f"{prefix}{k}"


def _disks(
    spec: base.ComposeSpec, vm: bool, devices: dict[str, dict[str, str]]
) -> tuple[tuple[str, ...], tuple[VolumePlan, ...]]:
    root = spec.disks[0]
    devices["root"] = {
        "type": "disk",
        "path": "/",
        "pool": root.pool,
        "size": str(root.size_bytes),
    }
    names = ["root"]
    volumes: list[VolumePlan] = []
    for index, disk in enumerate(spec.disks[1:], start=1):
        device = _device_name(disk.name, "disk", index, devices)
        volume = disk.volume or volume_name(spec.name, device)
        payload: dict[str, Any] = {
            "name": volume,
            "type": "custom",
            "content_type": "block" if vm else "filesystem",
            "config": {"size": str(disk.size_bytes), VOLUME_OWNER_KEY: spec.name},
            "description": f"disk {device} of {spec.name}, composed by vmhost",
        }
        volumes.append(VolumePlan(disk.pool, volume, device, disk.size_bytes, payload))
        entry = {"type": "disk", "pool": disk.pool, "source": volume}
        if not vm:
            entry["path"] = f"/mnt/{device}"
        devices[device] = entry
        names.append(device)
    return tuple(names), tuple(volumes)


def _nics(spec: base.ComposeSpec, devices: dict[str, dict[str, str]]) -> tuple[str, ...]:
    names: list[str] = []
    for index, nic in enumerate(spec.interfaces):
        device = _device_name(nic.name, "eth", index, devices)
        entry: dict[str, str] = {"type": "nic", "name": device}
        if nic.kind is model.NetworkKind.NETWORK:
            entry["network"] = nic.network
        elif nic.kind is model.NetworkKind.SRIOV:
            entry |= {"nictype": "sriov", "parent": nic.network}
        elif nic.kind in (model.NetworkKind.MACVLAN, model.NetworkKind.PHYSICAL):
            # a physical NIC is shared through macvlan, never handed over whole
            entry |= {"nictype": "macvlan", "parent": nic.network}
        else:
            entry |= {"nictype": "bridged", "parent": nic.network}
        if nic.mac_address:
            entry["hwaddr"] = nic.mac_address
        devices[device] = entry
        names.append(device)
    return tuple(names)
