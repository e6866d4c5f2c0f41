"""The one typed contract every hypervisor driver implements, and the driver error tree.

The service hands a driver a fully placed ``ComposeSpec`` (host, cores, pools and networks are
already chosen and claimed); the driver realises it and reports what it really obtained.
Drivers never touch the store and never import each other.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Protocol, Self

from vmhost import model
from vmhost.model import resources


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


class DriverAddressError(DriverConnectionError):
    """An address that cannot name a host (blank, not a URL, not a host name, a secret in it):
    refused before anything is resolved or connected to. Not retryable: the address must
    change."""

    retryable = False


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
    # the root filesystem's image for this VM (a MAAS deploy's series: model/machine.py);
    # None = the host's own (its ``image`` option)
    image: str | None = None

    @classmethod
    def from_vm(cls, vm: model.Vm, request: model.ComposeRequest) -> ComposeSpec:
        """The spec of a claimed VM: what the claim placed (cores, memory per node, disks,
        NICs) plus what only the request says (architecture, cloud-init user data)."""
        return cls(
            name=vm.name,
            cores=vm.cores,
            memory_mib=vm.memory_mib,
            disks=vm.disks,
            interfaces=vm.interfaces,
            pinned_cores=vm.pinned_cores,
            numa_nodes=(vm.numa_node,)
            if vm.numa_node is not None
            else tuple(node for node, _ in vm.numa_memory_mib),
            hugepages_backed=vm.hugepages_backed,
            hugepage_size_kib=vm.hugepage_size_kib,
            instance_type=vm.instance_type,
            architecture=request.architecture,
            hostname=vm.hostname,
            user_data=request.user_data,
        )


Observation = tuple[str, tuple[str, ...]]
"""A VM as its host sees it now: power state and global addresses."""


class HostDriver(Protocol):
    """What vmhost needs from a hypervisor: every method the service calls.

    A driver is a context manager: ``with registry.driver_for(connection) as driver:``; it
    opens its connection on first use, keeps it for every call made inside the block, and
    releases it on exit. Drivers subclass this protocol to inherit ``__enter__``/``__exit__``
    (and so mypy checks that each declares every method).
    """

    def discover(self) -> model.HostInventory:
        """Everything about the host, in as few round trips as possible."""
        ...

    def observe(self, name: str) -> Observation:
        """One VM's power state and global addresses now, asking about that VM only;
        ``("unknown", ())`` when the host has no VM of that name."""
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

    def list_projects(self) -> list[resources.Project]:
        """LXD projects with their use; other drivers return []."""
        ...

    def close(self) -> None:
        """Release connections (a later call opens them again)."""
        ...

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


DriverFactory = Callable[[HostConnection], HostDriver]
