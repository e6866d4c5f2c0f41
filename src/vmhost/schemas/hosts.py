"""VM-host wire models.

The vm-host JSON has exactly MAAS's keys and meaning (MAAS's ``vm-host read`` answer), so
scripts written against ``maas $PROFILE vm-host read ID`` keep working, plus vmhost's own keys
(``driver``, ``status``, ``resources`` ...) under names MAAS never used.

``type`` is MAAS's value (``lxd``, ``virsh``; ``fake`` for the in-memory test driver); our own
name for the driver is ``driver`` (``lxd``, ``libvirt``, ``fake``). Requests accept either
spelling for the type (``virsh`` or ``libvirt``).

Units: MAAS's keys keep MAAS's units (``memory`` in MiB, ``local_storage``/storage in bytes);
every key vmhost adds carries its unit in its name (``memory_mib``, ``free_bytes``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pydantic

from vmhost.model import resources

from .common import Items, ItemsText, Request, Response
from .host_numa import NumaResources as NumaResources

MaasType = Literal["lxd", "virsh", "fake"]
DriverName = Literal["lxd", "libvirt", "fake"]
TypeInput = Literal["lxd", "virsh", "libvirt", "fake"]
MacvlanMode = Literal["bridge", "passthru", "private", "vepa"]

MAAS_TYPE: dict[str, MaasType] = {"lxd": "lxd", "libvirt": "virsh", "fake": "fake"}
DRIVER_FOR_TYPE: dict[str, DriverName] = {
    "lxd": "lxd",
    "virsh": "libvirt",
    "libvirt": "libvirt",
    "fake": "fake",
}

OPTIONS_DOC = (
    "connection options by name (LXD: image, e.g. vmhost-test or ubuntu:24.04; timeouts; "
    "libvirt: keyfile, known_hosts, cpu_mode ...); unknown names are refused"
)
OptionValue = str | bool | int | float | list[str] | dict[str, Any] | None
Options = Annotated[dict[str, OptionValue], pydantic.Field(max_length=64)]

RATIO_DOC = "over-commit ratio, a number from 0 to 10 inclusive"
DEFAULT_RATIO_DOC = " (absent: the server's default, VMHOST_DEFAULT_*_OVER_COMMIT_RATIO, 1.0)"


# --- MAAS-shaped parts -------------------------------------------------------------------------


class Totals(Response):
    """MAAS's resource triple: cores, memory (MiB), local_storage (bytes)."""

    cores: int
    memory: int = pydantic.Field(description="MiB")
    local_storage: int = pydantic.Field(description="bytes")


class Available(Totals):
    """MAAS's ``available`` (total - used: VM disks only, as MAAS counted) and what compose can
    still use of the storage, files outside VMs counted."""

    local_storage: int = pydantic.Field(
        description="bytes: total - used, the disks of every VM (MAAS's meaning); files "
        "outside VMs are not counted, see local_storage_free_bytes"
    )
    local_storage_free_bytes: int = pydantic.Field(
        description="what compose can still use: local_storage less what files outside VMs "
        "take (resources.storage.free_bytes, the sum of the pools' free_bytes)"
    )


class NamedRef(Response):
    """A zone or resource pool as MAAS embeds it."""

    name: str
    description: str
    id: int
    resource_uri: str


class HostMachineRef(Response):
    """MAAS's ``host``: the machine the VM host runs on (vmhost does not manage machines)."""

    system_id: str | None = None
    incomplete: bool = pydantic.Field(
        default=True, alias="__incomplete__", serialization_alias="__incomplete__"
    )


class StoragePool(Response):
    """A storage pool, exactly as MAAS shows it in the vm-host JSON (bytes)."""

    id: str
    name: str
    type: str
    path: str
    total: int
    used: int = pydantic.Field(description="disks of every VM on the host, in this pool")
    available: int = pydantic.Field(
        description="total - used (MAAS; no reservation; files outside VMs not counted: see "
        "free_bytes in GET /vm-hosts/{id}/storage-pools)"
    )
    default: bool


class StoragePoolDetail(StoragePool):
    """A storage pool with vmhost's split (``vmhost vm-host storage-pools``)."""

    tags: list[str] = pydantic.Field(default_factory=list)
    allocated_bytes: int = pydantic.Field(description="disks of VMs composed by vmhost")
    other_bytes: int = pydantic.Field(description="disks of VMs found on the host")
    external_bytes: int = pydantic.Field(description="used on the host by anything else")
    free_bytes: int = pydantic.Field(description="what compose can still use")


# --- vmhost's resource split -------------------------------------------------------------------


# one definition with the service's views (``model/resources.py``): pydantic validates and
# documents these stdlib dataclasses as it does the models here
CoreResources = resources.CoreResources
MemoryResources = resources.MemoryResources
PageSizeResources = resources.PageSizeResources
HugepageResources = resources.HugepageResources
StorageResources = resources.StorageResources
HostResources = resources.HostResources


class VmCount(Response):
    """VMs on the host."""

    allocated: int
    other: int
    total: int


class HostNetwork(Response):
    """A network or bridge on the host and the spaces mapped to it."""

    name: str
    kind: str
    spaces: list[str] = pydantic.Field(default_factory=list)


# --- the vm-host --------------------------------------------------------------------------


class VmHost(Response):
    """A VM host: MAAS's keys first, then vmhost's."""

    # MAAS's keys
    id: int
    name: str
    tags: list[str]
    type: MaasType
    architectures: list[str]
    capabilities: list[str]
    total: Totals
    used: Totals
    available: Available
    zone: NamedRef
    pool: NamedRef
    cpu_over_commit_ratio: float
    memory_over_commit_ratio: float
    storage_pools: list[StoragePool]
    host: HostMachineRef
    default_macvlan_mode: MacvlanMode | None
    version: str
    resource_uri: str
    # vmhost
    driver: DriverName
    address: str
    project: str
    status: str
    last_error: str
    reserved_cores: int
    reserved_memory_mib: int
    default_storage_pool: str | None
    vm_count: VmCount
    resources: HostResources
    networks: list[HostNetwork] = pydantic.Field(default_factory=list)
    can_run_vms: bool = True
    can_run_containers: bool = False


class _HostKeys(Request):
    """The keys a VM host is registered and changed with, as a change takes them (each may be
    left out); :class:`VmHostCreate` requires ``type`` and adds its defaults and its one-time
    keys."""

    type: TypeInput | None = None
    power_address: str | None = pydantic.Field(default=None, min_length=1, max_length=2048)
    address: str | None = pydantic.Field(default=None, min_length=1, max_length=2048)
    name: str | None = None
    zone: str | None = None
    pool: str | None = None
    tags: Items[str] | ItemsText | None = pydantic.Field(
        default=None, description="a list, or MAAS's comma-separated string"
    )
    cpu_over_commit_ratio: float | None = pydantic.Field(
        default=None, ge=0, le=10, allow_inf_nan=False, description=RATIO_DOC
    )
    memory_over_commit_ratio: float | None = pydantic.Field(
        default=None, ge=0, le=10, allow_inf_nan=False, description=RATIO_DOC
    )
    reserved_cores: int | None = pydantic.Field(default=None, ge=0, le=1_000_000)
    reserved_memory_mib: int | None = pydantic.Field(default=None, ge=0, le=2**40)
    default_storage_pool: str | None = None
    default_macvlan_mode: MacvlanMode | None = None
    project: str | None = pydantic.Field(default=None, max_length=63)
    password: str | None = pydantic.Field(default=None, max_length=4096)
    power_pass: str | None = pydantic.Field(default=None, max_length=4096)
    certificate: str | None = pydantic.Field(default=None, max_length=65536)
    key: str | None = pydantic.Field(default=None, max_length=65536)
    options: Options | None = pydantic.Field(default=None, description=OPTIONS_DOC)

    @pydantic.model_validator(mode="after")
    def _address_once(self) -> _HostKeys:
        if (
            self.power_address is not None
            and self.address is not None
            and self.power_address != self.address
        ):
            raise ValueError("give the address once, as power_address or address")
        return self


class VmHostCreate(_HostKeys):
    """Register a VM host (MAAS's ``vm-hosts create`` parameters, plus vmhost's).

    Give the address as ``power_address`` (MAAS) or ``address``. LXD: without ``certificate``
    and ``key``, vmhost generates a key and certificate for the host (see the certificate
    endpoint for the ``lxc config trust add`` command); ``password`` is an LXD trust password
    (not recommended) or ``trust_token`` (``lxc config trust add --name vmhost``), used once to
    get the certificate trusted and never stored. virsh: ``power_pass`` is the SSH password
    (``qemu+ssh://``).
    """

    type: TypeInput
    cpu_over_commit_ratio: float | None = pydantic.Field(
        default=None, ge=0, le=10, allow_inf_nan=False, description=RATIO_DOC + DEFAULT_RATIO_DOC
    )
    memory_over_commit_ratio: float | None = pydantic.Field(
        default=None, ge=0, le=10, allow_inf_nan=False, description=RATIO_DOC + DEFAULT_RATIO_DOC
    )
    reserved_cores: int = pydantic.Field(default=0, ge=0, le=1_000_000)
    reserved_memory_mib: int = pydantic.Field(default=0, ge=0, le=2**40)
    trust_token: str | None = pydantic.Field(default=None, max_length=4096)
    server_certificate: str | None = pydantic.Field(
        default=None,
        max_length=65536,
        description="LXD: the server's certificate (PEM) to pin, known from elsewhere (the LXD "
        "charm publishes it), instead of the one the address shows at first contact",
    )

    @pydantic.model_validator(mode="after")
    def _an_address(self) -> VmHostCreate:
        if self.power_address is None and self.address is None:
            raise ValueError("power_address (or address) is required")
        return self

    @property
    def the_address(self) -> str:
        """The address, whichever key carried it."""
        return self.power_address or self.address or ""


class VmHostUpdate(_HostKeys):
    """Change a VM host; keys not given keep their values. ``type`` cannot change (delete the
    host and add it again)."""

    options: Options | None = pydantic.Field(
        default=None,
        description=OPTIONS_DOC + "; merged into the host's: a name set to null is removed "
        "(the driver's default applies again), names not given are kept",
    )


class TagRequest(Request):
    """A tag to add or remove: letters, digits, ``-`` and ``_``, at most 64 (MAAS's rule)."""

    tag: str


class Parameters(Response):
    """Every connection parameter of a host, secrets included (admin only)."""

    type: MaasType
    power_address: str
    project: str = ""
    certificate: str = ""
    key: str = ""
    server_certificate: str = ""
    password: str = ""
    options: dict[str, Any] = pydantic.Field(default_factory=dict, description=OPTIONS_DOC)


class Certificate(Response):
    """An LXD host's client certificate and how to make the host trust it."""

    host_id: int
    name: str
    certificate: str = pydantic.Field(description="PEM")
    cn: str
    fingerprint: str = pydantic.Field(description="SHA-256 of the DER, as `lxc config trust`")
    not_before: str
    not_after: str
    days_left: int
    generated_by_vmhost: bool
    fetch_url: str = pydantic.Field(description="serves the PEM without authentication")
    trust_command: str = pydantic.Field(description="run on the LXD host")
    trust_command_restricted: str = ""
    trust_heredoc: str


Project = resources.Project
