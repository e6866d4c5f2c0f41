"""An in-memory hypervisor for tests, benchmarks and the demo.

A fake host's inventory comes from its connection: ``options["inventory"]`` (a dict in the
shape of ``inventory_from_dict``) or the named profile in the address (``fake://small``).
Hosts with the same address share one ``FakeHypervisor`` in the process, so several driver
objects see the same VMs. With ``options["state_file"]`` the VMs are also kept in a JSON file,
so that a second process (e.g. after a crash) sees what the first one created.

Failure injection: ``FakeHypervisor.inject(op, message, count)`` makes the next ``count``
calls of ``op`` (``discover``, ``compose``, ``decompose``, ``power``) raise; the options
``compose_delay_s`` (before the VM exists), ``compose_delay_before_start_s`` (it exists, stopped,
as an LXD instance between its creation and its start) and ``compose_delay_after_s`` (after it
exists, before compose returns) slow compose down, to crash a process in the middle of one.

Addresses: a NIC on a network with a ``cidr`` gets the next free address of it (from the 10th
host address on), seen at the next ``discover`` but not in compose's answer, as a DHCP lease
comes a moment after the VM starts.
"""

from .driver import FakeDriver
from .hypervisor import (
    FakeHypervisor,
    add_vm_behind_our_back,
    hypervisor_at,
    hypervisor_for,
    reset,
)
from .inventory import PROFILES, inventory_from_dict

__all__ = [
    "PROFILES",
    "FakeDriver",
    "FakeHypervisor",
    "add_vm_behind_our_back",
    "hypervisor_at",
    "hypervisor_for",
    "inventory_from_dict",
    "reset",
]
