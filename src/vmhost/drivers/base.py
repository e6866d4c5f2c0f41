"""The one typed contract every hypervisor driver implements, and the driver error tree.

The service hands a driver a fully placed ``ComposeSpec`` (host, cores, pools and networks are
already chosen and claimed); the driver realises it and reports what it really obtained.
Drivers never touch the store and never import each other.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Protocol

from vmhost import model


class DriverError(Exception):
    """The hypervisor refused an operation; ``str()`` carries the host's own message."""

    retryable = False

    def __init__(self, message: str, *, host_message: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.host_message = host_message

    def __str__(self) -> str:
        return self.message


class DriverAuthError(DriverError):
    """Credentials or certificate not accepted (not retryable)."""


class DriverConnectionError(DriverError):
    """The host could not be reached; retrying later may work."""

    retryable = True


class DriverUnsupportedError(DriverError):
    """The host cannot do what was asked (e.g. LXD without VM support)."""


class DriverNotFoundError(DriverError):
    """The instance or volume does not exist on the host."""


@dataclasses.dataclass(frozen=True, slots=True)
class HostConnection:
    """How to reach a host. Secrets live here and nowhere in output."""

    type: model.HostType
    address: str
    name: str = ""
    project: str = ""
    client_cert_pem: str = ""
    client_key_pem: str = dataclasses.field(default="", repr=False)
    server_cert_pem: str = ""
    password: str = dataclasses.field(default="", repr=False)
    options: Mapping[str, object] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True)
class ComposeSpec:
    """A VM placed on a host: every choice made, ready for the driver to realise."""

    name: str
    cores: int
    memory_mib: int
    disks: tuple[model.VmDisk, ...]
    interfaces: tuple[model.VmInterface, ...] = ()
    pinned_cores: tuple[int, ...] = ()
    numa_nodes: tuple[int, ...] = ()
    hugepages_backed: bool = False
    hugepage_size_kib: int | None = None
    instance_type: model.InstanceType = model.InstanceType.VIRTUAL_MACHINE
    architecture: str | None = None
    hostname: str | None = None
    user_data: str | None = None
    start: bool = True


@dataclasses.dataclass(frozen=True, slots=True)
class ProjectInfo:
    """An LXD project with its use."""

    name: str
    description: str = ""
    instances: int = 0
    cores: int = 0
    memory_mib: int = 0
    disk_bytes: int = 0


class HostDriver(Protocol):
    """What vmhost needs from a hypervisor."""

    def discover(self) -> model.HostInventory:
        """Everything about the host, in as few round trips as possible."""
        ...

    def compose(self, spec: ComposeSpec) -> model.ComposedVm:
        """Create and start the VM; on failure leave nothing behind and raise DriverError."""
        ...

    def decompose(self, name: str, disks: tuple[model.VmDisk, ...]) -> None:
        """Stop and delete the VM and every volume listed; absent things are not an error."""
        ...

    def power_on(self, name: str) -> None:
        """Start the VM."""
        ...

    def power_off(self, name: str) -> None:
        """Stop the VM."""
        ...

    def power_query(self, name: str) -> str:
        """``running``, ``stopped`` or ``unknown``."""
        ...

    def list_projects(self) -> list[ProjectInfo]:
        """LXD projects with their use; other drivers return []."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


DriverFactory = Callable[[HostConnection], HostDriver]
