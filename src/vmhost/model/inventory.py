"""What a driver discovers on a VM host: cores, memory, NUMA, hugepages, SR-IOV, storage, networks.

Units are in the names. Memory is MiB, storage bytes, hugepage sizes KiB.
"""

from __future__ import annotations

import dataclasses
import enum


@dataclasses.dataclass(frozen=True, slots=True)
class Hugepages:
    """Hugepages of one page size on one NUMA node."""

    page_size_kib: int
    total_pages: int
    free_pages: int | None = None  # as the host reports it; vmhost accounts its own use

    @property
    def total_mib(self) -> int:
        """Memory reserved as hugepages of this size, in MiB."""
        return self.page_size_kib * self.total_pages // 1024


@dataclasses.dataclass(frozen=True, slots=True)
class NumaNode:
    """One NUMA node: its logical cores (thread ids), memory and hugepages."""

    index: int
    cores: tuple[int, ...]
    memory_mib: int
    hugepages: tuple[Hugepages, ...] = ()

    @property
    def hugepages_mib(self) -> int:
        """Memory of this node set aside as hugepages, all sizes, in MiB."""
        return sum(h.total_mib for h in self.hugepages)


@dataclasses.dataclass(frozen=True, slots=True)
class StoragePool:
    """A storage pool as discovered. Storage is never over-committed."""

    name: str
    type: str
    path: str
    total_bytes: int
    used_bytes: int = 0  # used on the host as a whole (all users), as reported
    pool_id: str = ""  # driver's id (libvirt UUID); the name for LXD
    tags: tuple[str, ...] = ()

    @property
    def available_bytes(self) -> int:
        """Free space the host reports."""
        return max(self.total_bytes - self.used_bytes, 0)


class NetworkKind(enum.StrEnum):
    """How a network is attached on the host."""

    BRIDGE = "bridge"
    NETWORK = "network"  # a libvirt-managed network
    PHYSICAL = "physical"  # a NIC usable for macvlan
    MACVLAN = "macvlan"
    SRIOV = "sriov"


@dataclasses.dataclass(frozen=True, slots=True)
class Network:
    """A network or bridge a VM NIC can attach to."""

    name: str
    kind: NetworkKind = NetworkKind.BRIDGE
    cidr: str = ""
    managed: bool = True


@dataclasses.dataclass(frozen=True, slots=True)
class SriovNic:
    """A physical function that offers SR-IOV virtual functions."""

    name: str
    total_vfs: int
    free_vfs: int | None = None  # as reported by the host
    numa_node: int | None = None
    parent_network: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class VmDisk:
    """A disk of a VM and the pool it lives in: of a VM vmhost records (``model.Vm``), and of
    one a driver finds on its host, which host sync and recovery record as it is."""

    name: str
    size_bytes: int
    pool: str
    volume: str = ""  # the volume vmhost created (to delete on decompose)


DiscoveredDisk = VmDisk  # a disk of an existing VM, as a driver reports it


@dataclasses.dataclass(frozen=True, slots=True)
class DiscoveredNic:
    """A NIC of an existing VM."""

    name: str
    mac_address: str
    kind: NetworkKind
    network: str


@dataclasses.dataclass(frozen=True, slots=True)
class DiscoveredVm:
    """A VM (or container) that exists on the host."""

    name: str
    cores: int
    memory_mib: int
    pinned_cores: tuple[int, ...] = ()
    hugepages_backed: bool = False
    numa_node: int | None = None
    disks: tuple[VmDisk, ...] = ()
    nics: tuple[DiscoveredNic, ...] = ()
    power_state: str = "unknown"
    instance_type: str = "virtual-machine"
    project: str = ""
    uuid: str = ""
    architecture: str = ""
    addresses: tuple[str, ...] = ()

    @property
    def used_cores(self) -> int:
        """Cores this VM takes: its pinned cores when pinned, else its vCPU count."""
        return len(self.pinned_cores) if self.pinned_cores else self.cores


@dataclasses.dataclass(frozen=True, slots=True)
class HostInventory:
    """Everything a driver discovers about a host in one refresh."""

    cores: int
    memory_mib: int
    numa_nodes: tuple[NumaNode, ...] = ()
    isolated_cores: tuple[int, ...] = ()
    storage_pools: tuple[StoragePool, ...] = ()
    networks: tuple[Network, ...] = ()
    sriov_nics: tuple[SriovNic, ...] = ()
    vms: tuple[DiscoveredVm, ...] = ()
    version: str = ""
    architectures: tuple[str, ...] = ()
    cpu_speed_mhz: int = 0
    can_run_vms: bool = True
    can_run_containers: bool = False
    vm_unsupported_reason: str = ""
    name: str = ""

    @property
    def hugepages_mib(self) -> int:
        """Memory set aside as hugepages on all nodes, in MiB."""
        return sum(n.hugepages_mib for n in self.numa_nodes)

    @property
    def local_storage_bytes(self) -> int:
        """Sum of every pool's size."""
        return sum(p.total_bytes for p in self.storage_pools)

    def numa_or_default(self) -> tuple[NumaNode, ...]:
        """The NUMA nodes, or one node 0 holding every core and all memory."""
        if self.numa_nodes:
            return self.numa_nodes
        return (NumaNode(0, tuple(range(self.cores)), self.memory_mib),)
