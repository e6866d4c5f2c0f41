"""Policy: a placed ``ComposeSpec`` plus the host's facts -> domain and volume builders.

Everything here is pure (no libvirt calls), in the manner of Nova's ``virt/libvirt/designer.py``:
the driver gathers ``HostFacts`` from the host, calls ``design()``, and realises the result.

Decisions written down here, once:

* volumes are named ``<vm>-<disk>`` unless the disk names its volume; qcow2 on file-backed
  pools (dir, fs, netfs), raw on block-backed ones (logical, zfs, disk, rbd); zfs sizes are
  rounded down to whole MiB (libvirt/ZFS refuse others, LP #1858201);
* disks attach as ``<disk type='volume'>`` on virtio (vda, vdb, ...), the first one is root;
* KVM guests get ``<cpu mode='host-model'>`` (the host's ``cpu_mode`` option may choose
  host-passthrough, maximum or none, and ``cpu_features_disable`` may switch flags off, e.g.
  ``arch-capabilities`` which nested AMD hosts advertise but cannot set); other domain types
  get no CPU mode (only topology and NUMA cells);
* the boot order is network, then disk (``<os><boot dev>``), as MAAS composes;
* NIC kinds map as network -> ``type='network'``, bridge -> ``type='bridge'``, macvlan or a
  physical NIC -> ``type='direct'`` (macvlan mode), SR-IOV -> ``type='hostdev'`` with the PCI
  address of a free virtual function of the named physical function;
* pinned cores become ``vcpupin`` (vCPU i -> i-th pinned core) plus ``emulatorpin``; NUMA
  placement becomes guest NUMA cells (one per host node used), ``numatune`` (strict) with a
  ``memnode`` per cell, and hugepages get ``<page size nodeset>`` for those guest cells;
* MACs are kept when the spec gives them, else derived from the domain UUID (stable, 52:54:00).
"""

from __future__ import annotations

import dataclasses
import hashlib

from vmhost import model
from vmhost.drivers import base

from . import domain_xml as dx
from .facts import HostFacts, PoolFacts, libvirt_arch

FILE_POOL_TYPES = frozenset({"dir", "fs", "netfs"})
BLOCK_POOL_TYPES = frozenset({"logical", "zfs", "disk", "rbd"})
COMPOSABLE_POOL_TYPES = FILE_POOL_TYPES | BLOCK_POOL_TYPES
MIB = 1024 * 1024

_MACVLAN_MODES = {"passthru": "passthrough"}


@dataclasses.dataclass(frozen=True, slots=True)
class PlannedVolume:
    """A volume to create before the domain is defined."""

    pool: str
    volume: dx.Volume


@dataclasses.dataclass(frozen=True, slots=True)
class Design:
    """The result: what to create, and what the VM will have."""

    domain: dx.Domain
    volumes: tuple[PlannedVolume, ...]
    disks: tuple[model.VmDisk, ...]
    interfaces: tuple[model.VmInterface, ...]
    domain_type: str


def volume_name(vm_name: str, disk: model.VmDisk) -> str:
    """The volume of a disk: the one it names, else ``<vm>-<disk>``."""
    return disk.volume or f"{vm_name}-{disk.name}"


def volume_format(pool_type: str) -> str | None:
    """qcow2 on file-backed pools; no format (raw) on block-backed ones."""
    if pool_type in FILE_POOL_TYPES:
        return "qcow2"
    if pool_type in BLOCK_POOL_TYPES:
        return None
    raise base.DriverUnsupportedError(
        f"vmhost cannot create volumes in a {pool_type!r} pool "
        f"(it can in {', '.join(sorted(COMPOSABLE_POOL_TYPES))})"
    )


def design_volume(pool: PoolFacts, name: str, size_bytes: int) -> dx.Volume:
    """The volume builder for a disk of ``size_bytes`` in ``pool``."""
    fmt = volume_format(pool.type)
    size = size_bytes
    if pool.type == "zfs":
        size = size_bytes // MIB * MIB
        if size == 0:
            raise base.DriverError(f"disk {name!r}: zfs volumes need at least 1 MiB")
    return dx.Volume(name=name, capacity_bytes=size, format=fmt)


def mac_for(domain_uuid: str, index: int) -> str:
    """A stable locally administered MAC in QEMU's 52:54:00 range for NIC ``index``."""
    digest = hashlib.sha256(f"{domain_uuid}/{index}".encode()).digest()
    return "52:54:00:" + ":".join(f"{b:02x}" for b in digest[:3])


def _design_interfaces(
    spec: base.ComposeSpec, facts: HostFacts, domain_uuid: str
) -> tuple[tuple[dx.Interface, ...], tuple[model.VmInterface, ...]]:
    nics: list[dx.Interface] = []
    reported: list[model.VmInterface] = []
    used_vfs: dict[str, int] = {}
    for index, nic in enumerate(spec.interfaces):
        mac = (nic.mac_address or mac_for(domain_uuid, index)).lower()
        kind = nic.kind
        if kind is model.NetworkKind.SRIOV:
            free = facts.free_vfs.get(nic.network, ())
            taken = used_vfs.get(nic.network, 0)
            if taken >= len(free):
                raise base.DriverError(
                    f"NIC {index} needs a free SR-IOV virtual function on {nic.network!r}, "
                    f"but {len(free)} {'is' if len(free) == 1 else 'are'} free"
                )
            used_vfs[nic.network] = taken + 1
            built = dx.Interface("hostdev", mac=mac, pci_address=free[taken])
        else:
            # the host knows what the name is; an explicit macvlan request stays macvlan
            if kind not in (model.NetworkKind.MACVLAN, model.NetworkKind.PHYSICAL):
                kind = facts.networks.get(nic.network, kind)
            if kind is model.NetworkKind.NETWORK:
                built = dx.Interface("network", source=nic.network, mac=mac)
            elif kind in (model.NetworkKind.MACVLAN, model.NetworkKind.PHYSICAL):
                mode = _MACVLAN_MODES.get(facts.macvlan_mode, facts.macvlan_mode)
                built = dx.Interface("direct", source=nic.network, mac=mac, mode=mode)
                kind = model.NetworkKind.MACVLAN
            else:
                built = dx.Interface("bridge", source=nic.network, mac=mac)
                kind = model.NetworkKind.BRIDGE
        nics.append(built)
        reported.append(
            model.VmInterface(
                name=nic.name or f"eth{index}",
                network=nic.network,
                kind=kind,
                mac_address=mac,
                space=nic.space,
            )
        )
    return tuple(nics), tuple(reported)


def _node_of_core(facts: HostFacts) -> dict[int, int]:
    return {core: node.index for node in facts.numa_nodes for core in node.cores}


def _host_nodes(spec: base.ComposeSpec, facts: HostFacts) -> tuple[int, ...]:
    """The host NUMA nodes the VM lives on: as placed, else those of its pinned cores."""
    known = {n.index for n in facts.numa_nodes}
    if spec.numa_nodes:
        unknown = sorted(set(spec.numa_nodes) - known) if known else []
        if unknown:
            raise base.DriverError(f"NUMA node {unknown[0]} does not exist on the host")
        return tuple(dict.fromkeys(spec.numa_nodes))
    if spec.pinned_cores and facts.numa_nodes:
        node_of = _node_of_core(facts)
        return tuple(sorted({node_of[c] for c in spec.pinned_cores if c in node_of}))
    return ()


def _split(total: int, weights: list[int], unit: int) -> list[int]:
    """Split ``total`` (a multiple of ``unit``) by ``weights`` in multiples of ``unit``."""
    units = total // unit
    shares = [units * w // sum(weights) for w in weights]
    shares[-1] += units - sum(shares)
    return [s * unit for s in shares]


def _design_numa(
    spec: base.ComposeSpec, facts: HostFacts, page_kib: int | None
) -> tuple[tuple[dx.GuestNumaCell, ...], dx.NumaTune | None, dx.CpuTune | None, tuple[int, ...]]:
    """Guest cells, numatune and cputune for a pinned and/or NUMA-placed VM."""
    cputune = None
    if spec.pinned_cores:
        if len(spec.pinned_cores) != spec.cores:
            raise base.DriverError(
                f"{len(spec.pinned_cores)} pinned cores for {spec.cores} vCPUs; they must match"
            )
        all_cores = {c for n in facts.numa_nodes for c in n.cores}
        missing = sorted(set(spec.pinned_cores) - all_cores) if all_cores else []
        if missing:
            raise base.DriverError(f"host core {missing[0]} does not exist")
        cputune = dx.CpuTune(
            vcpupins=tuple(dx.VcpuPin(i, (core,)) for i, core in enumerate(spec.pinned_cores)),
            emulatorpin=tuple(sorted(spec.pinned_cores)),
        )
    nodes = _host_nodes(spec, facts)
    if not nodes:
        return (), None, cputune, ()
    # vCPUs per host node: by where their pinned core is, else round-robin over the nodes
    node_of = _node_of_core(facts)
    vcpus_on: dict[int, list[int]] = {n: [] for n in nodes}
    for vcpu in range(spec.cores):
        if spec.pinned_cores and spec.pinned_cores[vcpu] in node_of:
            node = node_of[spec.pinned_cores[vcpu]]
            if node not in vcpus_on:
                raise base.DriverError(
                    f"pinned core {spec.pinned_cores[vcpu]} is on NUMA node {node}, "
                    f"outside the VM's nodes {list(nodes)}"
                )
        else:
            node = nodes[vcpu % len(nodes)]
        vcpus_on[node].append(vcpu)
    used_nodes = [n for n in nodes if vcpus_on[n]]
    unit = page_kib or 1024
    memory = _split(spec.memory_mib * 1024, [len(vcpus_on[n]) for n in used_nodes], unit)
    if any(m == 0 for m in memory):
        raise base.DriverError(
            f"{spec.memory_mib} MiB cannot be split over NUMA nodes {used_nodes} "
            f"in {unit} KiB pages"
        )
    cells = tuple(
        dx.GuestNumaCell(i, tuple(vcpus_on[n]), memory[i]) for i, n in enumerate(used_nodes)
    )
    numatune = dx.NumaTune(
        nodeset=tuple(used_nodes),
        memnodes=tuple(dx.MemNode(i, (n,)) for i, n in enumerate(used_nodes)),
    )
    return cells, numatune, cputune, tuple(used_nodes)


def _design_disks(
    spec: base.ComposeSpec, facts: HostFacts
) -> tuple[tuple[dx.Disk, ...], tuple[PlannedVolume, ...], tuple[model.VmDisk, ...]]:
    disks: list[dx.Disk] = []
    volumes: list[PlannedVolume] = []
    reported: list[model.VmDisk] = []
    names: set[tuple[str, str]] = set()
    for index, disk in enumerate(spec.disks):
        pool = facts.pool(disk.pool)
        if not pool.active:
            raise base.DriverError(f"storage pool {pool.name!r} is not active")
        name = volume_name(spec.name, disk)
        if (pool.name, name) in names:
            raise base.DriverError(f"two disks would use volume {name!r} in pool {pool.name!r}")
        names.add((pool.name, name))
        volume = design_volume(pool, name, disk.size_bytes)
        volumes.append(PlannedVolume(pool.name, volume))
        disks.append(
            dx.Disk(
                target=dx.disk_target(index),
                format=volume.disk_format,
                pool=pool.name,
                volume=name,
                serial=name[-20:],
            )
        )
        reported.append(
            model.VmDisk(
                name=disk.name, size_bytes=volume.capacity_bytes, pool=pool.name, volume=name
            )
        )
    return tuple(disks), tuple(volumes), tuple(reported)


def design(spec: base.ComposeSpec, facts: HostFacts, domain_uuid: str) -> Design:
    """The domain and volumes for ``spec`` on a host with ``facts``. Pure; raises DriverError."""
    if spec.instance_type is not model.InstanceType.VIRTUAL_MACHINE:
        raise base.DriverUnsupportedError(
            "libvirt hosts run virtual machines only, not containers"
        )
    if not spec.disks:
        raise base.DriverError("a VM needs at least a root disk")
    arch = libvirt_arch(spec.architecture) if spec.architecture else facts.arch
    guest = facts.guest(arch)
    domain_type: str = next(
        (t for t in ("kvm", "qemu") if t in guest.domain_types), guest.domain_types[0]
    )

    page_kib = None
    backing = None
    if spec.hugepages_backed:
        page_kib = spec.hugepage_size_kib or facts.default_hugepage_kib
        if (spec.memory_mib * 1024) % page_kib:
            raise base.DriverError(
                f"memory {spec.memory_mib} MiB is not a whole number of {page_kib} KiB hugepages"
            )
    cells, numatune, cputune, _nodes = _design_numa(spec, facts, page_kib)
    if page_kib is not None:
        nodeset = tuple(c.id for c in cells)
        backing = dx.MemoryBacking(pages=(dx.HugePage(page_kib, nodeset),))

    topology = dx.CpuTopology(sockets=1, cores=spec.cores, threads=1)
    if cells and spec.cores % len(cells) == 0:
        topology = dx.CpuTopology(sockets=len(cells), cores=spec.cores // len(cells), threads=1)
    kvm = domain_type == "kvm" and facts.cpu_mode not in (None, "", "none")
    cpu = dx.Cpu(
        mode=facts.cpu_mode if kvm else None,
        topology=topology,
        numa_cells=cells,
        features=tuple(dx.CpuFeature(f) for f in facts.cpu_features_disable) if kvm else (),
    )
    vcpu = dx.Vcpu(spec.cores, cpuset=tuple(sorted(spec.pinned_cores)))

    disks, volumes, reported_disks = _design_disks(spec, facts)
    nics, reported_nics = _design_interfaces(spec, facts, domain_uuid)
    domain = dx.Domain(
        name=spec.name,
        uuid=domain_uuid,
        type=domain_type,
        memory_mib=spec.memory_mib,
        vcpu=vcpu,
        cpu=cpu,
        cputune=cputune,
        numatune=numatune,
        memory_backing=backing,
        os=dx.Os(arch=arch, machine=guest.machine, boot_devices=("network", "hd")),
        apic=arch in ("x86_64", "i686"),
        acpi=arch in ("x86_64", "i686", "aarch64"),
        devices=dx.Devices(disks=disks, interfaces=nics, emulator=guest.emulator),
        metadata=dx.VmhostMetadata(
            volumes=tuple(dx.VolumeRef(v.pool, v.volume.name) for v in volumes),
            hostname=spec.hostname or "",
        ),
    )
    return Design(
        domain=domain,
        volumes=volumes,
        disks=reported_disks,
        interfaces=reported_nics,
        domain_type=domain_type,
    )
