"""``FakeDriver``: the HostDriver contract over a ``FakeHypervisor`` (module doc of
``vmhost.drivers.fake``)."""

from __future__ import annotations

import dataclasses
import ipaddress
import time
import uuid
import zlib

from vmhost import model
from vmhost.drivers import base
from vmhost.model import resources

from .hypervisor import hypervisor_for


def _mac(name: str, index: int) -> str:
    digest = zlib.crc32(f"{name}/{index}".encode())
    return f"00:16:3e:{(digest >> 16) & 0xFF:02x}:{(digest >> 8) & 0xFF:02x}:{digest & 0xFF:02x}"


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
                    n.name or f"eth{i}",
                    n.network,
                    n.kind,
                    n.mac_address or _mac(spec.name, i),
                    n.space,
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
            delayed_start = spec.start and self.hv.compose_delay_before_start_s > 0
            found = model.DiscoveredVm(
                name=spec.name,
                cores=spec.cores,
                memory_mib=spec.memory_mib,
                pinned_cores=spec.pinned_cores,
                hugepages_backed=spec.hugepages_backed,
                numa_node=model.sole_numa_node(spec.numa_nodes),
                disks=disks,
                nics=tuple(
                    model.DiscoveredNic(n.name, n.mac_address, n.kind, n.network) for n in nics
                ),
                # created stopped when it starts later (written once: another process reading
                # the state file never sees it running before it is)
                power_state="running" if spec.start and not delayed_start else "stopped",
                instance_type=spec.instance_type.value,
                uuid=vm_uuid,
                addresses=_addresses(
                    inv, nics, {a for vm in self.hv.vms.values() for a in vm.addresses}
                ),
            )
            self.hv.vms[spec.name] = found
            self.hv.cloud_init[spec.name] = (spec.user_data, spec.image)
            self.hv.save()
            if delayed_start:
                # created but not started yet, as LXD's instance between create and start
                time.sleep(self.hv.compose_delay_before_start_s)
                vm = self.hv.vms[spec.name]
                self.hv.vms[spec.name] = dataclasses.replace(vm, power_state="running")
                self.hv.save()
            if self.hv.compose_delay_after_s:
                time.sleep(self.hv.compose_delay_after_s)
            return model.ComposedVm.as_found(
                found,
                disks=disks,
                interfaces=nics,
                instance_type=spec.instance_type,
                power_state="running" if spec.start else "stopped",
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

    def list_projects(self) -> list[resources.Project]:
        """One project holding every VM."""
        with self.hv.lock:
            self.hv.load()
            vms = list(self.hv.vms.values())
        return [
            resources.Project(
                name=self.connection.project or "default",
                instances=len(vms),
                cores=sum(v.cores for v in vms),
                memory_mib=sum(v.memory_mib for v in vms),
                disk_bytes=sum(d.size_bytes for v in vms for d in v.disks),
            )
        ]

    def close(self) -> None:
        """Nothing to release."""
