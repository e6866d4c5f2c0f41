"""The machine JSON of the MAAS API: every key Juju's gomaasapi requires, with its type, and
those python-libmaas and MAAS itself add (``status`` numbers, ``pod``, ``domain`` ...).

Disks and NICs get ids that are stable for the machine (its record id times
:data:`ID_STRIDE` plus the index), so ``constraints_by_type`` can name them: every id there is
in the same answer's ``blockdevice_set`` / ``interface_set``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from vmhost import model

PREFIX = "/MAAS/api/2.0"
DOMAIN = "maas"
ID_STRIDE = 64
MTU = 1500
BLOCK_SIZE = 4096


def machine_uri(system_id: str) -> str:
    """A machine's ``resource_uri`` (absolute path; gomaasapi resolves it against the API)."""
    return f"{PREFIX}/machines/{system_id}/"


def _ids(vm: model.Vm, index: int) -> int:
    return vm.id * ID_STRIDE + index


def _ipv4(addresses: Sequence[str]) -> list[str]:
    found = []
    for address in addresses:
        try:
            ip = ipaddress.ip_address(address.split("/")[0])
        except ValueError:
            continue
        if isinstance(ip, ipaddress.IPv4Address):
            found.append(str(ip))
    return found


def _named(name: str, kind: str, key: int | str) -> dict[str, Any]:
    return {"name": name, "description": "", "id": key, "resource_uri": f"{PREFIX}/{kind}/{key}/"}


Subnets = Mapping[tuple[int, str], Mapping[str, Any]]
"""The subnet JSON of ``subnets/`` by (host id, network): what a link on that network is in."""


def _interfaces(machine: model.Machine, subnets: Subnets) -> list[dict[str, Any]]:
    vm = machine.vm
    addresses = _ipv4(vm.addresses)
    out = []
    for index, nic in enumerate(vm.interfaces):
        nic_id = _ids(vm, index)
        link: dict[str, Any] = {"id": nic_id, "mode": "auto"}
        subnet = subnets.get((vm.host_id, nic.network))
        if subnet is not None:
            link["subnet"] = dict(subnet)
        if index == 0 and addresses:
            link["ip_address"] = addresses[0]
        links = [link]
        out.append(
            {
                "id": nic_id,
                "name": nic.name or f"eth{index}",
                "type": "physical",
                "enabled": True,
                "mac_address": nic.mac_address or None,
                "effective_mtu": MTU,
                "links": links,
                "parents": [],
                "children": [],
                "tags": [],
                "vlan": dict(subnet["vlan"]) if subnet is not None else _vlan(nic.network),
                "space": nic.space or "undefined",
                "system_id": machine.system_id,
                "resource_uri": f"{machine_uri(machine.system_id)}interfaces/{nic_id}/",
            }
        )
    return out


def _vlan(network: str) -> dict[str, Any]:
    """The VLAN of a NIC on a network with no IPv4 subnet."""
    return {
        "id": 5001,
        "name": "untagged",
        "vid": 0,
        "mtu": MTU,
        "fabric": network,
        "fabric_id": 0,
        "dhcp_on": True,
        "primary_rack": None,
        "secondary_rack": None,
        "resource_uri": f"{PREFIX}/vlans/5001/",
    }


def _disks(machine: model.Machine) -> list[dict[str, Any]]:
    vm = machine.vm
    out = []
    for index, disk in enumerate(vm.disks):
        disk_id = _ids(vm, index)
        name = "sda" if index == 0 else f"sd{chr(ord('a') + index)}" if index < 26 else disk.name
        out.append(
            {
                "id": disk_id,
                "name": name,
                "path": f"/dev/disk/by-dname/{name}",
                "id_path": None,
                "model": "QEMU HARDDISK" if machine.host_type != "lxd" else None,
                "serial": None,
                "uuid": None,
                "type": "physical",
                "used_for": "ext4 formatted filesystem mounted at /" if index == 0 else "",
                "tags": ["root"] if index == 0 else [],
                "block_size": BLOCK_SIZE,
                "used_size": 0,
                "available_size": disk.size_bytes,
                "size": disk.size_bytes,
                "partitions": [],
                "filesystem": None,
                "storage_pool": disk.pool,
                "system_id": machine.system_id,
                "resource_uri": f"{machine_uri(machine.system_id)}blockdevices/{disk_id}/",
            }
        )
    return out


def machine_json(machine: model.Machine, subnets: Subnets | None = None) -> dict[str, Any]:
    """One machine as MAAS's JSON (``subnets``: from ``subnets/``, for the links)."""
    vm, fields = machine.vm, machine.fields
    sid = machine.system_id
    interfaces = _interfaces(machine, subnets or {})
    disks = _disks(machine)
    running = vm.state is model.VmState.READY and vm.power_state == "running"
    return {
        "system_id": sid,
        "resource_uri": machine_uri(sid),
        "hostname": vm.hostname,
        "fqdn": f"{vm.hostname}.{DOMAIN}",
        "description": "",
        "domain": {"id": 0, "name": DOMAIN, "resource_uri": f"{PREFIX}/domains/0/"},
        "tag_names": sorted({*machine.host_tags, "virtual"}),
        "owner": vm.owner or None,
        "owner_data": fields.owner_data_map,
        "osystem": fields.osystem,
        "distro_series": fields.distro_series,
        "architecture": f"{machine.architecture}/generic",
        "memory": vm.memory_mib,
        "cpu_count": vm.cores,
        "cpu_speed": 0,
        "storage": sum(d.size_bytes for d in vm.disks) / 1000**2,
        "hardware_info": {
            "system_vendor": "vmhost",
            "system_product": vm.instance_type.value,
            "cpu_model": "Unknown",
            "mainboard_vendor": "Unknown",
        },
        "ip_addresses": _ipv4(vm.addresses),
        "power_state": "on" if running else "off",
        "power_type": "lxd" if machine.host_type in ("lxd", "fake") else "virsh",
        "status": fields.status.number,
        "status_name": fields.status.value,
        "status_message": fields.status_message or None,
        "node_type": 0,
        "node_type_name": "Machine",
        "interface_set": interfaces,
        "boot_interface": interfaces[0] if interfaces else None,
        "physicalblockdevice_set": disks,
        "blockdevice_set": disks,
        "boot_disk": disks[0] if disks else None,
        "zone": _named(machine.zone, "zones", machine.zone),
        "pool": _named(machine.pool, "resourcepool", machine.pool),
        "pod": {
            "id": vm.host_id,
            "name": machine.host_name,
            "resource_uri": f"{PREFIX}/pods/{vm.host_id}/",
        },
        "virtualmachine_id": vm.id,
        "agent_name": fields.agent_name,
        "dynamic": fields.dynamic,
        "netboot": False,
        "locked": False,
        "swap_size": None,
        "min_hwe_kernel": "",
        "hwe_kernel": None,
    }


def constraints_by_type(
    machine: model.Machine,
    storage: Sequence[tuple[str, Sequence[int]]],
    interfaces: Sequence[tuple[str, Sequence[int]]],
) -> dict[str, Any]:
    """MAAS's ``constraints_by_type``: labels to disk and NIC ids of this machine's answer."""
    out: dict[str, Any] = {}
    if storage:
        out["storage"] = {label: [_ids(machine.vm, i) for i in idx] for label, idx in storage}
    if interfaces:
        out["interfaces"] = {
            label: [_ids(machine.vm, i) for i in idx] for label, idx in interfaces
        }
    return out
