"""A VM host's resources per NUMA node (``GET /vm-hosts/{id}/resources``)."""

from __future__ import annotations

import pydantic

from .common import Response


class NumaCores(Response):
    """A NUMA node's cores."""

    all: list[int]
    reserved: list[int]
    pinned_allocated: list[int]
    pinned_other: list[int]
    free: list[int] = pydantic.Field(description="cores a new VM can be pinned to")
    vcpus_capacity: int
    vcpus_used: int = pydantic.Field(description="shared vCPUs of VMs bound to this node")
    vcpus_free: int


class NumaMemory(Response):
    """A NUMA node's general memory."""

    total_mib: int
    general_mib: int
    capacity_mib: int
    used_mib: int
    free_mib: int


class NumaHugepages(Response):
    """Hugepages of one size on one node."""

    page_size_kib: int
    total_mib: int
    used_mib: int
    free_mib: int


class SriovFunctions(Response):
    """Virtual functions of one SR-IOV NIC."""

    nic: str
    numa_node: int | None = None
    network: str = ""
    total_vfs: int
    allocated: int
    other: int
    free: int


class NumaNodeResources(Response):
    """One NUMA node."""

    index: int
    cores: NumaCores
    memory: NumaMemory
    hugepages: list[NumaHugepages]
    sriov: list[SriovFunctions]


class NumaResources(Response):
    """Per NUMA node: cores pinned and free, memory and hugepages, VFs per NIC."""

    host_id: int
    numa: list[NumaNodeResources]
    sriov: list[SriovFunctions]
