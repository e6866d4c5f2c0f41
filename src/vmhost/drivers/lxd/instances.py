"""LXD's instance JSON → the domain model (pure; the fields are checked in
``tests/unit/drivers/test_lxd_discovery.py`` against JSON recorded from a real LXD 5.0).

Accounting decisions for instances found on the host (they count as used):

* ``limits.cpu`` absent: 1 core (LXD's default for VMs; MAAS counted containers the same).
* ``limits.memory`` absent: 1024 MiB for VMs (LXD's default); 0 for containers, which
  reserve nothing without a limit. A percentage is taken of the host's memory.
* Pinned cores (``limits.cpu: "0,2-3"``) are counted as pinned, and their NUMA node is known
  when they all sit on one node.

``composed_vm`` reads back what a compose really made (limits, volumes, MAC addresses).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from vmhost import model
from vmhost.drivers import base
from vmhost.model import resources

from . import instance_spec, units

MIB = 1024 * 1024
VM_DEFAULT_MEMORY_MIB = 1024

Json = Mapping[str, Any]

_POWER = {101: "running", 103: "running", 106: "running", 102: "stopped", 110: "stopped"}


def power_state(instance: Json) -> str:
    """``running``, ``stopped`` or ``unknown``, from ``status_code`` (MAAS's map)."""
    code = instance.get("status_code")
    if isinstance(code, int) and code in _POWER:
        return _POWER[code]
    status = str(instance.get("status", "")).lower()
    return status if status in ("running", "stopped") else "unknown"


@dataclasses.dataclass(frozen=True, slots=True)
class _Context:
    memory_mib: int
    node_of_core: Mapping[int, int]
    network_kinds: Mapping[str, model.NetworkKind]
    volume_sizes: Mapping[tuple[str, str, str, str], int]  # (project, pool, type, name)


def discovered_vm(
    instance: Json,
    *,
    host_memory_mib: int = 0,
    numa: Sequence[model.NumaNode] = (),
    networks_by_name: Mapping[str, model.NetworkKind] | None = None,
    volumes: Mapping[str, Sequence[Json]] | None = None,
) -> model.DiscoveredVm:
    """One instance (``recursion=1`` shape, with ``state`` if ``recursion=2``)."""
    return _discovered_vm(
        instance,
        _Context(
            host_memory_mib,
            {c: n.index for n in numa for c in n.cores},
            networks_by_name or {},
            _volume_sizes(volumes or {}),
        ),
    )


def _volume_sizes(volumes: Mapping[str, Sequence[Json]]) -> dict[tuple[str, str, str, str], int]:
    sizes = {}
    for pool, items in volumes.items():
        for vol in items:
            size = units.parse_size((vol.get("config") or {}).get("size"))
            if size:
                key = (
                    str(vol.get("project") or "default"),
                    pool,
                    str(vol.get("type")),
                    vol["name"],
                )
                sizes[key] = size
    return sizes


def _discovered_vm(instance: Json, ctx: _Context) -> model.DiscoveredVm:
    config = instance.get("expanded_config") or instance.get("config") or {}
    devices = instance.get("expanded_devices") or instance.get("devices") or {}
    itype = str(instance.get("type") or "container")
    vm = itype == "virtual-machine"
    project = str(instance.get("project") or "default")

    count, pinned = units.parse_cpu_limit(config.get("limits.cpu"))
    cores = count or 1
    memory_mib = _memory_mib(config.get("limits.memory"), vm, ctx.memory_mib)
    nodes = {ctx.node_of_core[c] for c in pinned if c in ctx.node_of_core}
    return model.DiscoveredVm(
        name=str(instance["name"]),
        cores=cores,
        memory_mib=memory_mib,
        pinned_cores=pinned,
        hugepages_backed=units.parse_bool(config.get("limits.memory.hugepages", "false")),
        numa_node=nodes.pop() if len(nodes) == 1 and len(pinned) else None,
        disks=_disks(instance, devices, project, ctx),
        nics=_nics(devices, config, ctx),
        power_state=power_state(instance),
        instance_type=itype,
        project=project,
        uuid=str(config.get("volatile.uuid") or ""),
        architecture=units.debian_architecture(str(instance["architecture"]))
        if instance.get("architecture")
        else "",
        addresses=addresses(instance),
    )


def _memory_mib(value: object, vm: bool, host_memory_mib: int) -> int:
    if value is None or str(value).strip() == "":
        return VM_DEFAULT_MEMORY_MIB if vm else 0
    text = str(value).strip()
    if text.endswith("%"):
        try:
            return int(host_memory_mib * float(text[:-1]) / 100)
        except ValueError:
            return 0
    size = units.parse_size(text)
    return size // MIB if size else 0


def _disks(
    instance: Json, devices: Mapping[str, Json], project: str, ctx: _Context
) -> tuple[model.DiscoveredDisk, ...]:
    result = []
    itype = str(instance.get("type") or "container")
    for name in sorted(devices, key=lambda d: (d != "root", d)):
        dev = devices[name]
        pool = dev.get("pool")
        if dev.get("type") != "disk" or not pool:
            continue  # host paths, cloud-init drives, ...
        source = dev.get("source")
        if dev.get("path") == "/" and not source:
            size = units.parse_size(dev.get("size")) or ctx.volume_sizes.get(
                (project, pool, itype, str(instance["name"])), 0
            )
            result.append(model.DiscoveredDisk(name, size, pool))
        elif source:
            size = ctx.volume_sizes.get((project, pool, "custom", source)) or ctx.volume_sizes.get(
                ("default", pool, "custom", source), 0
            )
            result.append(model.DiscoveredDisk(name, size, pool, volume=str(source)))
    return tuple(result)


_NICTYPES = {
    "bridged": model.NetworkKind.BRIDGE,
    "macvlan": model.NetworkKind.MACVLAN,
    "sriov": model.NetworkKind.SRIOV,
    "physical": model.NetworkKind.PHYSICAL,
}


def _nics(
    devices: Mapping[str, Json], config: Mapping[str, Any], ctx: _Context
) -> tuple[model.DiscoveredNic, ...]:
    result = []
    for name in sorted(devices):
        dev = devices[name]
        if dev.get("type") != "nic":
            continue
        if dev.get("network"):
            network = str(dev["network"])
            kind = ctx.network_kinds.get(network, model.NetworkKind.NETWORK)
        else:
            network = str(dev.get("parent") or "")
            kind = _NICTYPES.get(str(dev.get("nictype")), model.NetworkKind.BRIDGE)
        mac = str(dev.get("hwaddr") or config.get(f"volatile.{name}.hwaddr") or "")
        result.append(model.DiscoveredNic(name, mac, kind, network))
    return tuple(result)


def addresses(instance: Json) -> tuple[str, ...]:
    state = instance.get("state") or {}
    found = []
    for nic_name, nic in (state.get("network") or {}).items():
        if nic_name == "lo":
            continue
        for addr in nic.get("addresses") or ():
            if addr.get("scope") == "global":
                found.append(str(addr["address"]))
    return tuple(found)


def sriov_use(instances: Iterable[model.DiscoveredVm]) -> dict[str, int]:
    """Virtual functions in use per physical function, from the instances' SR-IOV NICs."""
    used: dict[str, int] = {}
    for vm in instances:
        for nic in vm.nics:
            if nic.kind is model.NetworkKind.SRIOV:
                used[nic.network] = used.get(nic.network, 0) + 1
    return used


def projects(data: Sequence[Json], vms: Sequence[model.DiscoveredVm]) -> list[resources.Project]:
    """Projects (``/1.0/projects?recursion=1``) with the use of the instances in each."""
    result = []
    for project in data:
        name = str(project["name"])
        mine = [vm for vm in vms if vm.project == name]
        result.append(
            resources.Project(
                name=name,
                description=str(project.get("description") or ""),
                instances=len(mine),
                cores=sum(vm.used_cores for vm in mine),
                memory_mib=sum(vm.memory_mib for vm in mine),
                disk_bytes=sum(d.size_bytes for vm in mine for d in vm.disks),
            )
        )
    return result


def composed_vm(
    spec: base.ComposeSpec, plan: instance_spec.InstancePlan, data: dict[str, Any]
) -> model.ComposedVm:
    """What LXD really made, read back (limits, volumes, MAC addresses)."""
    config = data.get("expanded_config") or data.get("config") or {}
    devices = data.get("expanded_devices") or data.get("devices") or {}
    count, pinned = units.parse_cpu_limit(config.get("limits.cpu"))
    memory = units.parse_size(config.get("limits.memory"))
    disks = []
    for disk, device in zip(spec.disks, plan.disk_devices, strict=True):
        dev = devices.get(device, {})
        disks.append(
            dataclasses.replace(
                disk, name=device, volume=str(dev.get("source") or ""), pool=str(dev["pool"])
            )
        )
    nics = []
    for nic, device in zip(spec.interfaces, plan.nic_devices, strict=True):
        dev = devices.get(device, {})
        mac = str(config.get(f"volatile.{device}.hwaddr") or dev.get("hwaddr") or "")
        nics.append(dataclasses.replace(nic, name=device, mac_address=mac))
    return model.ComposedVm(
        name=str(data["name"]),
        cores=count or spec.cores,
        memory_mib=memory // MIB if memory else spec.memory_mib,
        pinned_cores=pinned,
        hugepages_backed=units.parse_bool(config.get("limits.memory.hugepages", "false")),
        disks=tuple(disks),
        interfaces=tuple(nics),
        instance_type=model.InstanceType(str(data.get("type") or spec.instance_type.value)),
        power_state=power_state(data),
        uuid=str(config.get("volatile.uuid") or ""),
        addresses=addresses(data),
    )
