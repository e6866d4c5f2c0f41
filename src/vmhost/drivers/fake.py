"""An in-memory hypervisor for tests, benchmarks and the demo.

A fake host's inventory comes from its connection: ``options["inventory"]`` (a dict in the
shape of ``inventory_from_dict``) or the named profile in the address (``fake://small``).
Hosts with the same address share one ``FakeHypervisor`` in the process, so several driver
objects see the same VMs. With ``options["state_file"]`` the VMs are also kept in a JSON file,
so that a second process (e.g. after a crash) sees what the first one created.

Failure injection: ``FakeHypervisor.inject(op, message, count)`` makes the next ``count``
calls of ``op`` (``discover``, ``compose``, ``decompose``, ``power``) raise; the options
``compose_delay_s`` (before the VM exists) and ``compose_delay_after_s`` (after it exists, before
compose returns) slow compose down, to crash a process in the middle of one.

Addresses: a NIC on a network with a ``cidr`` gets the next free address of it (from the 10th
host address on), seen at the next ``discover`` but not in compose's answer, as a DHCP lease
comes a moment after the VM starts.
"""

from __future__ import annotations

import dataclasses
import fcntl
import ipaddress
import json
import os
import threading
import time
import uuid
import zlib
from collections.abc import Mapping
from typing import Any

from vmhost import model

from . import base

GIB = 1024


def _nodes(
    count: int, cores_each: int, memory_mib_each: int, hugepages: int = 0
) -> list[dict[str, Any]]:
    nodes = []
    for i in range(count):
        nodes.append(
            {
                "index": i,
                "cores": list(range(i * cores_each, (i + 1) * cores_each)),
                "memory_mib": memory_mib_each,
                "hugepages": [{"page_size_kib": 2048, "total_pages": hugepages}]
                if hugepages
                else [],
            }
        )
    return nodes


PROFILES: dict[str, dict[str, Any]] = {
    # a small single-node host
    "small": {
        "cores": 4,
        "memory_mib": 8 * GIB,
        "storage_pools": [
            {
                "name": "default",
                "type": "dir",
                "path": "/var/lib/fake",
                "total_bytes": 100 * 1000**3,
            }
        ],
        "networks": [{"name": "br0", "kind": "bridge"}],
    },
    # "small" whose bridge hands out addresses (a VM's NIC gets one, seen at the next refresh)
    "dhcp": {
        "cores": 4,
        "memory_mib": 8 * GIB,
        "storage_pools": [
            {
                "name": "default",
                "type": "dir",
                "path": "/var/lib/fake",
                "total_bytes": 100 * 1000**3,
            }
        ],
        "networks": [{"name": "br0", "kind": "bridge", "cidr": "10.20.0.0/24"}],
    },
    # two NUMA nodes, hugepages, SR-IOV, several pools and networks
    "numa": {
        "cores": 16,
        "memory_mib": 64 * GIB,
        "numa_nodes": _nodes(2, 8, 32 * GIB, hugepages=2048),
        "storage_pools": [
            {
                "name": "default",
                "type": "dir",
                "path": "/var/lib/fake/default",
                "total_bytes": 500 * 1000**3,
            },
            {
                "name": "fast",
                "type": "zfs",
                "path": "tank/fast",
                "total_bytes": 200 * 1000**3,
                "tags": ["ssd"],
            },
        ],
        "networks": [
            {"name": "br0", "kind": "bridge"},
            {"name": "br-db", "kind": "bridge"},
            {"name": "eno1", "kind": "physical"},
        ],
        "sriov_nics": [{"name": "enp5s0f0", "total_vfs": 8, "numa_node": 1}],
    },
}


def inventory_from_dict(data: Mapping[str, Any]) -> model.HostInventory:
    """Build an inventory from plain data (profiles, tests, JSON)."""
    numa = tuple(
        model.NumaNode(
            index=int(n["index"]),
            cores=tuple(int(c) for c in n["cores"]),
            memory_mib=int(n["memory_mib"]),
            hugepages=tuple(
                model.Hugepages(int(h["page_size_kib"]), int(h["total_pages"]))
                for h in n.get("hugepages", [])
            ),
        )
        for n in data.get("numa_nodes", [])
    )
    return model.HostInventory(
        cores=int(data["cores"]),
        memory_mib=int(data["memory_mib"]),
        numa_nodes=numa,
        storage_pools=tuple(
            model.StoragePool(
                name=p["name"],
                type=p.get("type", "dir"),
                path=p.get("path", ""),
                total_bytes=int(p["total_bytes"]),
                used_bytes=int(p.get("used_bytes", 0)),
                pool_id=p.get("pool_id", p["name"]),
                tags=tuple(p.get("tags", ())),
            )
            for p in data.get("storage_pools", [])
        ),
        networks=tuple(
            model.Network(n["name"], model.NetworkKind(n.get("kind", "bridge")), n.get("cidr", ""))
            for n in data.get("networks", [])
        ),
        sriov_nics=tuple(
            model.SriovNic(s["name"], int(s["total_vfs"]), numa_node=s.get("numa_node"))
            for s in data.get("sriov_nics", [])
        ),
        version=str(data.get("version", "fake-1.0")),
        architectures=tuple(data.get("architectures", ("amd64/generic",))),
        can_run_vms=bool(data.get("can_run_vms", True)),
        can_run_containers=bool(data.get("can_run_containers", True)),
        name=str(data.get("name", "")),
    )


def _mac(name: str, index: int) -> str:
    digest = zlib.crc32(f"{name}/{index}".encode())
    return f"00:16:3e:{(digest >> 16) & 0xFF:02x}:{(digest >> 8) & 0xFF:02x}:{digest & 0xFF:02x}"


def _vm_to_json(vm: model.DiscoveredVm) -> dict[str, Any]:
    data = dataclasses.asdict(vm)
    return data


def _vm_from_json(data: Mapping[str, Any]) -> model.DiscoveredVm:
    return model.DiscoveredVm(
        name=data["name"],
        cores=data["cores"],
        memory_mib=data["memory_mib"],
        pinned_cores=tuple(data.get("pinned_cores", ())),
        hugepages_backed=data.get("hugepages_backed", False),
        numa_node=data.get("numa_node"),
        disks=tuple(model.DiscoveredDisk(**d) for d in data.get("disks", ())),
        nics=tuple(
            model.DiscoveredNic(
                n["name"], n["mac_address"], model.NetworkKind(n["kind"]), n["network"]
            )
            for n in data.get("nics", ())
        ),
        power_state=data.get("power_state", "running"),
        instance_type=data.get("instance_type", "virtual-machine"),
        uuid=data.get("uuid", ""),
        addresses=tuple(data.get("addresses", ())),
    )


def _addresses(
    inventory: model.HostInventory, nics: tuple[model.VmInterface, ...], taken: set[str]
) -> tuple[str, ...]:
    """An address per NIC on a network with a CIDR: its first free one from the 10th on."""
    cidrs = {n.name: n.cidr for n in inventory.networks if n.cidr}
    found: list[str] = []
    for nic in nics:
        if nic.network not in cidrs:
            continue
        network = ipaddress.ip_network(cidrs[nic.network], strict=False)
        for i, address in enumerate(network.hosts()):
            if i >= 9 and str(address) not in taken:
                taken.add(str(address))
                found.append(str(address))
                break
    return tuple(found)


class FakeHypervisor:
    """The state of one fake host: its inventory and its VMs."""

    def __init__(self, inventory: model.HostInventory, state_file: str | None = None) -> None:
        self.inventory = inventory
        self.state_file = state_file
        self.vms: dict[str, model.DiscoveredVm] = {}
        self.lock = threading.Lock()
        self.failures: dict[str, list[str]] = {}
        self.compose_delay_s = 0.0
        self.compose_delay_after_s = 0.0  # after the VM exists, before compose returns
        self.calls: list[str] = []

    def inject(self, op: str, message: str, count: int = 1) -> None:
        """Make the next ``count`` calls of ``op`` fail with ``message``."""
        self.failures.setdefault(op, []).extend([message] * count)

    def check(self, op: str) -> None:
        """Raise an injected failure for ``op`` if one is pending."""
        self.calls.append(op)
        pending = self.failures.get(op)
        if pending:
            message = pending.pop(0)
            if message.startswith("unreachable:"):
                raise base.DriverConnectionError(message.removeprefix("unreachable:").strip())
            raise base.DriverError(message, host_message=message)

    def load(self) -> None:
        """Reload VMs from the state file (shared between processes)."""
        if not self.state_file or not os.path.exists(self.state_file):
            return
        with open(self.state_file, encoding="utf-8") as f:
            fcntl.flock(f, fcntl.LOCK_SH)
            data = json.load(f) if os.path.getsize(self.state_file) else {}
        self.vms = {name: _vm_from_json(vm) for name, vm in data.get("vms", {}).items()}

    def save(self) -> None:
        """Write VMs to the state file atomically."""
        if not self.state_file:
            return
        tmp = f"{self.state_file}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"vms": {n: _vm_to_json(v) for n, v in self.vms.items()}}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.state_file)


_HYPERVISORS: dict[str, FakeHypervisor] = {}
_REGISTRY_LOCK = threading.Lock()


def hypervisor_for(connection: base.HostConnection) -> FakeHypervisor:
    """The process-wide fake host for this address, created on first use."""
    with _REGISTRY_LOCK:
        hv = _HYPERVISORS.get(connection.address)
        if hv is None:
            inventory_data = connection.options.get("inventory")
            if isinstance(inventory_data, Mapping):
                try:
                    inventory = inventory_from_dict(inventory_data)
                except (KeyError, ValueError, TypeError) as exc:
                    raise base.DriverError(f"bad fake inventory: {exc!r}") from exc
            else:
                profile = connection.address.removeprefix("fake://").split("/")[0] or "small"
                if profile not in PROFILES:
                    raise base.DriverConnectionError(
                        f"no fake host profile {profile!r} (known: {', '.join(sorted(PROFILES))})"
                    )
                inventory = inventory_from_dict(PROFILES[profile])
            state_file = connection.options.get("state_file")
            hv = FakeHypervisor(inventory, str(state_file) if state_file else None)
            hv.compose_delay_s = float(connection.options.get("compose_delay_s", 0) or 0)  # type: ignore[arg-type]
            hv.compose_delay_after_s = float(
                connection.options.get("compose_delay_after_s", 0) or 0  # type: ignore[arg-type]
            )
            _HYPERVISORS[connection.address] = hv
        return hv


def reset() -> None:
    """Forget every fake host (tests)."""
    with _REGISTRY_LOCK:
        _HYPERVISORS.clear()


class FakeDriver(base.HostDriver):
    """The HostDriver contract over a FakeHypervisor."""

    def __init__(self, connection: base.HostConnection) -> None:
        self.connection = connection
        self.hv = hypervisor_for(connection)

    def discover(self) -> model.HostInventory:
        """The configured inventory plus the VMs that exist now."""
        with self.hv.lock:
            self.hv.check("discover")
            self.hv.load()
            return dataclasses.replace(self.hv.inventory, vms=tuple(self.hv.vms.values()))

    def observe(self, name: str) -> base.Observation:
        """The VM's recorded power state and addresses (a read of the host, as ``discover``:
        failures injected for ``discover`` apply)."""
        with self.hv.lock:
            self.hv.check("discover")
            self.hv.load()
            vm = self.hv.vms.get(name)
            return (vm.power_state, vm.addresses) if vm else ("unknown", ())

    def compose(self, spec: base.ComposeSpec) -> model.ComposedVm:
        """Record the VM; pools and networks must exist; names must be free."""
        if self.hv.compose_delay_s:
            time.sleep(self.hv.compose_delay_s)
        with self.hv.lock:
            self.hv.check("compose")
            self.hv.load()
            inv = self.hv.inventory
            if spec.name in self.hv.vms:
                raise base.DriverError(f"an instance named {spec.name!r} already exists")
            if spec.instance_type is model.InstanceType.VIRTUAL_MACHINE and not inv.can_run_vms:
                raise base.DriverUnsupportedError("this fake host cannot run virtual machines")
            pools = {p.name for p in inv.storage_pools}
            for disk in spec.disks:
                if disk.pool not in pools:
                    raise base.DriverError(f"storage pool {disk.pool!r} not found")
            networks = {n.name for n in inv.networks} | {s.name for s in inv.sriov_nics}
            for nic in spec.interfaces:
                if nic.network not in networks:
                    raise base.DriverError(f"network {nic.network!r} not found")
            nics = tuple(
                model.VmInterface(
                    n.name or f"eth{i}", n.network, n.kind, _mac(spec.name, i), n.space
                )
                for i, n in enumerate(spec.interfaces)
            )
            disks = tuple(
                dataclasses.replace(d, volume=d.volume or f"{spec.name}-{d.name}")
                for d in spec.disks
            )
            vm_uuid = str(
                uuid.uuid5(uuid.NAMESPACE_URL, f"fake:{self.connection.address}/{spec.name}")
            )
            self.hv.vms[spec.name] = model.DiscoveredVm(
                name=spec.name,
                cores=spec.cores,
                memory_mib=spec.memory_mib,
                pinned_cores=spec.pinned_cores,
                hugepages_backed=spec.hugepages_backed,
                numa_node=spec.numa_nodes[0] if len(spec.numa_nodes) == 1 else None,
                disks=tuple(
                    model.DiscoveredDisk(d.name, d.size_bytes, d.pool, d.volume) for d in disks
                ),
                nics=tuple(
                    model.DiscoveredNic(n.name, n.mac_address, n.kind, n.network) for n in nics
                ),
                power_state="running" if spec.start else "stopped",
                instance_type=spec.instance_type.value,
                uuid=vm_uuid,
                addresses=_addresses(
                    inv, nics, {a for vm in self.hv.vms.values() for a in vm.addresses}
                ),
            )
            self.hv.save()
            if self.hv.compose_delay_after_s:
                time.sleep(self.hv.compose_delay_after_s)
            return model.ComposedVm(
                name=spec.name,
                cores=spec.cores,
                memory_mib=spec.memory_mib,
                pinned_cores=spec.pinned_cores,
                hugepages_backed=spec.hugepages_backed,
                disks=disks,
                interfaces=nics,
                instance_type=spec.instance_type,
                power_state="running" if spec.start else "stopped",
                uuid=vm_uuid,
            )

    def decompose(self, name: str, disks: tuple[model.VmDisk, ...]) -> None:
        """Forget the VM; an absent VM is fine."""
        with self.hv.lock:
            self.hv.check("decompose")
            self.hv.load()
            self.hv.vms.pop(name, None)
            self.hv.save()

    def _set_power(self, name: str, state: str) -> None:
        with self.hv.lock:
            self.hv.check("power")
            self.hv.load()
            vm = self.hv.vms.get(name)
            if vm is None:
                raise base.DriverNotFoundError(f"instance {name!r} not found")
            self.hv.vms[name] = dataclasses.replace(vm, power_state=state)
            self.hv.save()

    def power_on(self, name: str) -> None:
        """Mark running."""
        self._set_power(name, "running")

    def power_off(self, name: str) -> None:
        """Mark stopped."""
        self._set_power(name, "stopped")

    def power_query(self, name: str) -> str:
        """The recorded power state."""
        with self.hv.lock:
            self.hv.load()
            vm = self.hv.vms.get(name)
            return vm.power_state if vm else "unknown"

    def list_projects(self) -> list[base.ProjectInfo]:
        """One project holding every VM."""
        with self.hv.lock:
            self.hv.load()
            vms = list(self.hv.vms.values())
        return [
            base.ProjectInfo(
                name=self.connection.project or "default",
                instances=len(vms),
                cores=sum(v.cores for v in vms),
                memory_mib=sum(v.memory_mib for v in vms),
                disk_bytes=sum(d.size_bytes for v in vms for d in v.disks),
            )
        ]

    def close(self) -> None:
        """Nothing to release."""


def add_vm_behind_our_back(connection: base.HostConnection, vm: model.DiscoveredVm) -> None:
    """Create a VM on the fake host without vmhost (tests of adoption)."""
    hv = hypervisor_for(connection)
    with hv.lock:
        hv.load()
        hv.vms[vm.name] = vm
        hv.save()
