"""The VM side of a machine: the operator's SSH key in cloud-init user data, and waiting until
the VM has an address and answers on SSH."""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final, Protocol

import yaml

from vmhost import schemas

from .errors import EXIT_USAGE, PluginError

DEFAULT_KEYS: Final = ("id_ed25519.pub", "id_rsa.pub")
_SSH_KEY_RE: Final = re.compile(
    r"^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp\d+"
    r"|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/=]+( .*)?$"
)


def read_ssh_key(path: str | None) -> str:
    """The operator's SSH public key: ``path``, else ``~/.ssh/id_ed25519.pub`` or
    ``~/.ssh/id_rsa.pub``. PluginError (usage) when there is none or it is not a key."""
    candidates = (
        [Path(path).expanduser()] if path else [Path.home() / ".ssh" / k for k in DEFAULT_KEYS]
    )
    for candidate in candidates:
        try:
            text = candidate.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise PluginError(
                f"cannot read SSH key {candidate}: {exc.strerror}", EXIT_USAGE
            ) from None
        key = next((line.strip() for line in text.splitlines() if line.strip()), "")
        if not _SSH_KEY_RE.match(key) or "PRIVATE KEY" in text:
            raise PluginError(f"{candidate} is not an SSH public key", EXIT_USAGE)
        return key
    if path:
        raise PluginError(f"SSH key {path} does not exist", EXIT_USAGE)
    looked = " or ".join(str(c) for c in candidates)
    raise PluginError(f"no SSH public key: give --ssh-key FILE (looked for {looked})", EXIT_USAGE)


def cloud_init(ssh_key: str, user: str = "ubuntu") -> str:
    """Cloud-init user data that lets ``user`` in with ``ssh_key`` (Juju's manual
    provisioning logs in as ``user`` and needs password-less sudo, which the ubuntu default
    user has)."""
    data: dict[str, Any] = {"ssh_authorized_keys": [ssh_key]}
    if user != "ubuntu":
        data["users"] = [
            "default",
            {
                "name": user,
                "sudo": "ALL=(ALL) NOPASSWD:ALL",
                "shell": "/bin/bash",
                "ssh_authorized_keys": [ssh_key],
            },
        ]
    return "#cloud-config\n" + yaml.safe_dump(data, default_flow_style=False, sort_keys=False)


def best_address(addresses: Sequence[str]) -> str | None:
    """The address to reach a VM by: the first global IPv4, else the first global IPv6."""
    parsed = []
    for text in addresses:
        try:
            parsed.append(ipaddress.ip_address(text.split("/")[0]))
        except ValueError:
            continue
    usable = [a for a in parsed if not (a.is_loopback or a.is_link_local or a.is_unspecified)]
    for version in (4, 6):
        for address in usable:
            if address.version == version:
                return str(address)
    return None


class Refresh(Protocol):
    """``client.vms.refresh``."""

    def refresh(self, vm_id: int) -> schemas.Vm: ...


class AddressClient(Protocol):
    """What waiting for addresses needs of a :class:`vmhost.client.VmHostClient`."""

    @property
    def vms(self) -> Refresh: ...


def wait_for_addresses(
    client: AddressClient,
    vm_ids: Sequence[int],
    timeout_s: float,
    *,
    on_wait: Callable[[int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[int, str]:
    """Each VM's address, polling the hosts (bounded by ``timeout_s``); VMs still without one
    are missing from the answer."""
    deadline = time.monotonic() + timeout_s
    found: dict[int, str] = {}
    delay = 0.2
    while True:
        for vm_id in vm_ids:
            if vm_id not in found:
                address = best_address(client.vms.refresh(vm_id).addresses)
                if address is not None:
                    found[vm_id] = address
        pending = [v for v in vm_ids if v not in found]
        if not pending or time.monotonic() + delay > deadline:
            return found
        if on_wait is not None:
            on_wait(len(pending))
        sleep(delay)
        delay = min(delay * 2, 3.0)


def wait_for_ssh(address: str, timeout_s: float, port: int = 22) -> bool:
    """Whether ``address:port`` accepts a TCP connection within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        try:
            with socket.create_connection((address, port), timeout=min(remaining, 5)):
                return True
        except OSError:
            time.sleep(min(1.0, max(deadline - time.monotonic(), 0)))
