"""What ``scripts/setup-hosts`` prepared on this machine, and skipping when a part is missing.

The script writes ``${VMHOST_STATE_DIR:-/var/lib/vmhost-setup}/status.json`` with one entry per
component (``lxd``, ``libvirt``, ``kvm``, ``postgresql``, ``chromium``, ``ssh``), each with
``ok`` and ``reason``. ``require_<component>()`` skips the calling test (or fixture) with that
reason, and also when the file is absent. A cheap live probe, bounded by :data:`PROBE_TIMEOUT`,
catches a daemon that has died since the script ran. Nothing here can hang.
"""

from __future__ import annotations

import json
import os
import pwd
import socket
from pathlib import Path
from typing import Any

import pytest

STATE_DIR_ENV = "VMHOST_STATE_DIR"
DEFAULT_STATE_DIR = "/var/lib/vmhost-setup"
PROBE_TIMEOUT = 3.0
LIBVIRT_SOCKET = "/run/libvirt/libvirt-sock"
COMPONENTS = ("lxd", "libvirt", "kvm", "postgresql", "chromium", "ssh")

Status = dict[str, Any]


def status_path() -> Path:
    """Where ``scripts/setup-hosts`` writes its status file."""
    return Path(os.environ.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR) / "status.json"


def load_status() -> Status | None:
    """The whole status file, or None when it is absent or unreadable."""
    try:
        data = json.loads(status_path().read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def component(name: str) -> Status:
    """One component's entry (empty when unknown)."""
    entry = (load_status() or {}).get(name)
    return entry if isinstance(entry, dict) else {}


def skip_reason(name: str) -> str | None:
    """Why tests needing ``name`` cannot run here, or None when they can."""
    if name not in COMPONENTS:
        raise ValueError(f"unknown component {name!r}; one of {COMPONENTS}")
    path = status_path()
    if not path.exists():
        return f"{path} is absent: run scripts/setup-hosts first (as root)"
    status = load_status()
    if status is None:
        return f"{path} is unreadable: run scripts/setup-hosts again"
    entry = status.get(name)
    if not isinstance(entry, dict):
        return f"{path} has no {name!r} entry: run scripts/setup-hosts again"
    if not entry.get("ok"):
        why = entry.get("reason") or "no reason recorded"
        return (
            f"{name} is not usable here: {why} (scripts/setup-hosts, {status.get('generated_at')})"
        )
    return _PROBES[name](entry)


def require(name: str) -> Status:
    """Skip the caller unless ``name`` is usable; its status entry otherwise."""
    reason = skip_reason(name)
    if reason:
        pytest.skip(reason)
    return component(name)


def require_lxd() -> Status:
    """LXD answering on its HTTPS address, with pool, bridges, profile and test image."""
    return require("lxd")


def require_libvirt() -> Status:
    """libvirtd on ``qemu:///system`` with the ``vmhost-test`` pool and test networks."""
    return require("libvirt")


def require_kvm() -> Status:
    """libvirt as :func:`require_libvirt`, and QEMU able to use ``/dev/kvm``."""
    require("libvirt")
    return require("kvm")


def require_postgres() -> Status:
    """PostgreSQL server binaries (``bin_dir`` holds initdb and pg_ctl)."""
    return require("postgresql")


def require_chromium() -> Status:
    """Chromium and chromedriver (``binary``, ``driver``)."""
    return require("chromium")


def require_ssh() -> Status:
    """OpenSSH for the libvirt-over-SSH tests (``sshd``: the server binary)."""
    return require("ssh")


def lxd_skip_reason() -> str | None:
    """Why the real-LXD tests cannot run, or None (for modules that skip at import)."""
    return skip_reason("lxd")


def libvirt_missing() -> str | None:
    """Why the real-libvirt tests cannot run, or None."""
    return skip_reason("libvirt")


# --- live probes (each bounded by PROBE_TIMEOUT) -------------------------------------------


def _tcp_open(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_TIMEOUT):
            return True
    except (OSError, ValueError):
        return False


def _unix_open(path: str) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(PROBE_TIMEOUT)
            sock.connect(path)
            return True
    except OSError:
        return False


def _probe_lxd(entry: Status) -> str | None:
    address = str(entry.get("https") or "")
    if not address or not _tcp_open(address):
        return f"LXD does not answer on https://{address} any more: run scripts/setup-hosts"
    return None


def _probe_libvirt(entry: Status) -> str | None:
    if not _unix_open(LIBVIRT_SOCKET):
        return f"libvirtd does not answer on {LIBVIRT_SOCKET} any more: run scripts/setup-hosts"
    return None


def _probe_kvm(entry: Status) -> str | None:
    device = str(entry.get("device") or "/dev/kvm")
    if not os.access(device, os.R_OK | os.W_OK):
        return f"{device} is not read/writable by this user"
    return None


def _probe_postgresql(entry: Status) -> str | None:
    bin_dir = Path(str(entry.get("bin_dir") or "/nonexistent"))
    for tool in ("initdb", "pg_ctl"):
        if not os.access(bin_dir / tool, os.X_OK):
            return f"{bin_dir / tool} is missing: apt-get install postgresql"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "no 'postgres' user to run the server as (PostgreSQL refuses root)"
    return None


def _probe_chromium(entry: Status) -> str | None:
    for key in ("binary", "driver"):
        path = str(entry.get(key) or "")
        if not path or not os.access(path, os.X_OK):
            return f"chromium {key} {path!r} is missing: apt-get install chromium chromium-driver"
    return None


def _probe_ssh(entry: Status) -> str | None:
    sshd = str(entry.get("sshd") or "")
    if not sshd or not os.access(sshd, os.X_OK):
        return f"sshd {sshd!r} is missing: apt-get install openssh-server (scripts/setup-hosts)"
    return None


_PROBES = {
    "lxd": _probe_lxd,
    "libvirt": _probe_libvirt,
    "kvm": _probe_kvm,
    "postgresql": _probe_postgresql,
    "chromium": _probe_chromium,
    "ssh": _probe_ssh,
}
