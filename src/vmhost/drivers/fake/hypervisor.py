"""The state of fake hosts: one ``FakeHypervisor`` per address in the process, its VMs kept in
a JSON state file when one is configured (shared between processes), and failure injection."""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import threading
from collections.abc import Mapping
from typing import Any

from vmhost import model
from vmhost.drivers import base

from .inventory import PROFILES, inventory_from_dict


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


class FakeHypervisor:
    """The state of one fake host: its inventory and its VMs."""

    def __init__(self, inventory: model.HostInventory, state_file: str | None = None) -> None:
        self.inventory = inventory
        self.state_file = state_file
        self.vms: dict[str, model.DiscoveredVm] = {}
        self.lock = threading.Lock()
        self.failures: dict[str, list[str]] = {}
        # what each compose was given: (cloud-init user data, image), in this process only
        self.cloud_init: dict[str, tuple[str | None, str | None]] = {}
        self.compose_delay_s = 0.0
        self.compose_delay_after_s = 0.0  # after the VM exists, before compose returns
        self.compose_delay_before_start_s = 0.0  # the VM exists, stopped, before it starts
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


def _seconds(options: Mapping[str, object], key: str) -> float:
    """A delay option in seconds (absent, empty or 0: none); not a number is a DriverError."""
    value = options.get(key) or 0
    refused = base.DriverError(f"fake option {key} is not a number of seconds: {value!r}")
    if not isinstance(value, int | float | str):
        raise refused
    try:
        return float(value)
    except ValueError:
        raise refused from None


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
            hv.compose_delay_s = _seconds(connection.options, "compose_delay_s")
            hv.compose_delay_after_s = _seconds(connection.options, "compose_delay_after_s")
            hv.compose_delay_before_start_s = _seconds(
                connection.options, "compose_delay_before_start_s"
            )
            _HYPERVISORS[connection.address] = hv
        return hv


def hypervisor_at(address: str) -> FakeHypervisor:
    """The fake host already made for this address (tests); KeyError when there is none."""
    with _REGISTRY_LOCK:
        return _HYPERVISORS[address]


def reset() -> None:
    """Forget every fake host (tests)."""
    with _REGISTRY_LOCK:
        _HYPERVISORS.clear()


def add_vm_behind_our_back(connection: base.HostConnection, vm: model.DiscoveredVm) -> None:
    """Create a VM on the fake host without vmhost (tests of adoption)."""
    hv = hypervisor_for(connection)
    with hv.lock:
        hv.load()
        hv.vms[vm.name] = vm
        hv.save()
