"""Helpers for the real-libvirt driver tests (plain functions; fixtures live in the modules).

The daemon under test is the one scripts/setup-hosts starts: ``qemu:///system`` with the
``dir`` pool ``vmhost-test`` and the isolated networks ``vmhost-net0``/``vmhost-net1`` (names
read from its status file). Only the local daemon is contacted; every command is bounded.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path
from typing import Any

import libvirt
import pytest
from support import hosts

# Nested KVM on AMD advertises arch-capabilities in host-model but cannot set its MSR
# ("failed to set MSR 0x10a"); switching it off is harmless elsewhere. See designer.py.
CPU_FEATURES_DISABLE = os.environ.get("VMHOST_LIBVIRT_CPU_FEATURES_DISABLE", "arch-capabilities")
DNSMASQ_DIR = Path("/var/lib/libvirt/dnsmasq")


@dataclasses.dataclass(frozen=True)
class LibvirtHost:
    """What the tests use of the prepared host."""

    uri: str
    pool: str
    networks: tuple[str, str]


def configured_host() -> LibvirtHost:
    """The names scripts/setup-hosts recorded (its defaults when it has not run)."""
    status = hosts.component("libvirt")
    uri = os.environ.get("VMHOST_LIBVIRT_URI") or str(status.get("uri") or "qemu:///system")
    pool = str(status.get("pool") or "vmhost-test")
    networks = [str(n) for n in (status.get("networks") or ("vmhost-net0", "vmhost-net1"))]
    networks += ["vmhost-net0", "vmhost-net1"][len(networks) :]
    return LibvirtHost(uri=uri, pool=pool, networks=(networks[0], networks[1]))


def require_kvm_host() -> LibvirtHost:
    """Skip unless libvirt + KVM, the pool and both networks are ready; what they are called."""
    hosts.require_libvirt()
    hosts.require_kvm()
    host = configured_host()
    uri, pool, networks = host.uri, host.pool, host.networks
    if uri.startswith("qemu:///") and not DNSMASQ_DIR.is_dir():
        # libvirt writes <bridge>.macs there when a VM joins a network; the package's tmpfiles
        # entry makes it, which does not run without systemd
        pytest.skip(f"{DNSMASQ_DIR} is missing (VMs cannot join networks): mkdir -p {DNSMASQ_DIR}")
    try:
        conn = libvirt.open(uri)
    except libvirt.libvirtError as exc:
        pytest.skip(f"libvirt at {uri} is not reachable: {exc.get_error_message()}")
    try:
        if not conn.storagePoolLookupByName(pool).isActive():
            pytest.skip(f"storage pool {pool} is not active; run scripts/setup-hosts")
        for net in networks:
            if not conn.networkLookupByName(net).isActive():
                pytest.skip(f"network {net} is not active; run scripts/setup-hosts")
    except libvirt.libvirtError as exc:
        pytest.skip(f"{exc.get_error_message()}; run scripts/setup-hosts")
    finally:
        conn.close()
    return host


def virsh(uri: str, *args: str, check: bool = True) -> str:
    """``virsh -q -c URI ARGS`` with a timeout; its stdout."""
    done = subprocess.run(
        ["virsh", "-q", "-c", uri, *args], capture_output=True, text=True, timeout=60, check=False
    )
    if check and done.returncode:
        raise AssertionError(f"virsh {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def remove_everything_named(uri: str, pool_name: str, prefix: str) -> None:
    """Destroy/undefine every domain and delete every volume whose name starts with prefix."""
    conn = libvirt.open(uri)
    try:
        for dom in conn.listAllDomains():
            if dom.name().startswith(prefix):
                if dom.isActive():
                    dom.destroy()
                dom.undefineFlags(
                    libvirt.VIR_DOMAIN_UNDEFINE_NVRAM | libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
                )
        pool: Any = conn.storagePoolLookupByName(pool_name)
        pool.refresh(0)
        for vol in pool.listAllVolumes():
            if vol.name().startswith(prefix):
                vol.delete(0)
    finally:
        conn.close()
