"""Per NUMA node: what every surface shows of a host's cores, memory, hugepages and SR-IOV
virtual functions node by node (``vmhost.service.views`` re-exports it)."""

from __future__ import annotations

import dataclasses

from vmhost.model.accounting import HostView, Split
from vmhost.scheduler import capacity as cap


def _split(s: Split | None) -> tuple[int, int]:
    return (s.allocated, s.other) if s is not None else (0, 0)


@dataclasses.dataclass(frozen=True, slots=True)
class SriovFunctions:
    """Virtual functions of one SR-IOV NIC."""

    nic: str
    numa_node: int | None
    network: str
    total_vfs: int
    allocated: int
    other: int
    free: int


@dataclasses.dataclass(frozen=True, slots=True)
class NumaCores:
    """A NUMA node's cores (``free``: cores a new VM can be pinned to)."""

    all: tuple[int, ...]
    reserved: tuple[int, ...]
    pinned_allocated: tuple[int, ...]
    pinned_other: tuple[int, ...]
    free: tuple[int, ...]
    vcpus_capacity: int
    vcpus_used: int
    vcpus_free: int


@dataclasses.dataclass(frozen=True, slots=True)
class NumaMemory:
    """A NUMA node's general memory."""

    total_mib: int
    general_mib: int
    capacity_mib: int
    used_mib: int
    free_mib: int


@dataclasses.dataclass(frozen=True, slots=True)
class NumaHugepages:
    """Hugepages of one size on one node."""

    page_size_kib: int
    total_mib: int
    used_mib: int
    free_mib: int


@dataclasses.dataclass(frozen=True, slots=True)
class NumaNodeResources:
    """One NUMA node."""

    index: int
    cores: NumaCores
    memory: NumaMemory
    hugepages: tuple[NumaHugepages, ...]
    sriov: tuple[SriovFunctions, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class NumaResources:
    """Per NUMA node: cores pinned and free, memory and hugepages, VFs per NIC."""

    host_id: int
    numa: tuple[NumaNodeResources, ...]
    sriov: tuple[SriovFunctions, ...]


def _sriov(view: HostView) -> tuple[SriovFunctions, ...]:
    result = []
    for nic in view.sriov:
        allocated, other = _split(view.usage.sriov.get(nic.name))
        result.append(
            SriovFunctions(
                nic=nic.name,
                numa_node=nic.numa_node,
                network=nic.network,
                total_vfs=nic.total_vfs,
                allocated=allocated,
                other=other,
                free=cap.nic_free_vfs(view, nic),
            )
        )
    return tuple(result)


def numa_resources(view: HostView) -> NumaResources:
    """Per NUMA node: cores (reserved, pinned by whom, free to pin), shared vCPUs bound to the
    node, general memory, hugepages per size and SR-IOV virtual functions per NIC.

    vCPUs and memory of VMs that float across nodes are not attributed to any node (they
    count in the host totals only), as in MAAS.
    """
    usage = view.usage
    pinnable = set(cap.pinnable_cores(view))
    sriov = _sriov(view)
    nodes = []
    for node in view.numa:
        vcpu_capacity = cap.node_core_capacity(view, node)
        vcpu_used = usage.node_vcpus.get(node.index, 0)
        mem_capacity = cap.node_memory_capacity_mib(view, node)
        mem_used = usage.node_memory_mib.get(node.index, 0)
        nodes.append(
            NumaNodeResources(
                index=node.index,
                cores=NumaCores(
                    all=tuple(node.cores),
                    reserved=tuple(c for c in node.cores if c not in pinnable),
                    pinned_allocated=tuple(
                        sorted(c for c in node.cores if c in usage.pinned_allocated)
                    ),
                    pinned_other=tuple(sorted(c for c in node.cores if c in usage.pinned_other)),
                    free=tuple(c for c in node.cores if c in pinnable and c not in usage.pinned),
                    vcpus_capacity=vcpu_capacity,
                    vcpus_used=vcpu_used,
                    vcpus_free=cap.node_free_vcpus(view, node),
                ),
                memory=NumaMemory(
                    total_mib=node.memory_mib,
                    general_mib=cap.node_general_memory_mib(node),
                    capacity_mib=mem_capacity,
                    used_mib=mem_used,
                    free_mib=cap.node_free_memory_mib(view, node),
                ),
                hugepages=tuple(
                    NumaHugepages(
                        page_size_kib=h.page_size_kib,
                        total_mib=h.total_mib,
                        used_mib=usage.node_hugepages_mib.get((node.index, h.page_size_kib), 0),
                        free_mib=cap.free_hugepages_mib(view, node, h.page_size_kib),
                    )
                    for h in node.hugepages
                ),
                sriov=tuple(s for s in sriov if s.numa_node == node.index),
            )
        )
    return NumaResources(host_id=view.id, numa=tuple(nodes), sriov=sriov)
