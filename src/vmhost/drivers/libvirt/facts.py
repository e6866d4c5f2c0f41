"""What a libvirt host offers, as the designer and the compose checks need it: its pools,
the guests it can run, its NUMA nodes, networks and free SR-IOV functions (``scan.py`` gathers
them), and the architecture names of libvirt and of vmhost/MAAS."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from vmhost import model
from vmhost.drivers import base

from . import domain_xml as dx

# vmhost / MAAS / Debian architecture names -> libvirt's
_ARCHES = {
    "amd64": "x86_64",
    "x86_64": "x86_64",
    "i386": "i686",
    "i686": "i686",
    "arm64": "aarch64",
    "aarch64": "aarch64",
    "armhf": "armv7l",
    "ppc64el": "ppc64le",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}
_DEBIAN_ARCHES = {
    "x86_64": "amd64",
    "i686": "i386",
    "aarch64": "arm64",
    "armv7l": "armhf",
    "ppc64le": "ppc64el",
    "s390x": "s390x",
    "riscv64": "riscv64",
}


def libvirt_arch(architecture: str) -> str:
    """``amd64/generic`` or ``amd64`` -> ``x86_64``; unknown names are refused."""
    name = architecture.split("/", 1)[0]
    try:
        return _ARCHES[name]
    except KeyError:
        raise base.DriverUnsupportedError(
            f"architecture {architecture!r} is not supported by the libvirt driver"
        ) from None


def vmhost_arch(libvirt_name: str) -> str:
    """``x86_64`` -> ``amd64/generic`` (the names the rest of vmhost and MAAS use)."""
    return f"{_DEBIAN_ARCHES.get(libvirt_name, libvirt_name)}/generic"


@dataclasses.dataclass(frozen=True, slots=True)
class PoolFacts:
    """A storage pool as the designer and the compose checks need it."""

    name: str
    type: str
    uuid: str = ""
    path: str = ""
    available_bytes: int = 0
    active: bool = True


@dataclasses.dataclass(frozen=True, slots=True)
class GuestFacts:
    """One guest type the host offers (from the capabilities ``<guest>`` elements)."""

    arch: str
    domain_types: tuple[str, ...]
    os_type: str = "hvm"
    emulator: str | None = None
    machine: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class HostFacts:
    """What ``design()`` needs to know about the host. Gathered by discovery."""

    arch: str = "x86_64"
    guests: tuple[GuestFacts, ...] = ()
    numa_nodes: tuple[model.NumaNode, ...] = ()
    pools: tuple[PoolFacts, ...] = ()
    networks: Mapping[str, model.NetworkKind] = dataclasses.field(default_factory=dict)
    free_vfs: Mapping[str, tuple[dx.PciAddress, ...]] = dataclasses.field(default_factory=dict)
    default_hugepage_kib: int = 2048
    macvlan_mode: str = "bridge"
    cpu_mode: str | None = "host-model"  # for KVM guests; None = the hypervisor's default
    cpu_features_disable: tuple[str, ...] = ()

    def pool(self, key: str) -> PoolFacts:
        """A pool by name, else by UUID (the id vmhost reports), else DriverError."""
        for pool in self.pools:
            if pool.name == key:
                return pool
        for pool in self.pools:
            if pool.uuid and pool.uuid == key:
                return pool
        known = ", ".join(sorted(p.name for p in self.pools)) or "none"
        raise base.DriverError(f"storage pool {key!r} not found on the host (pools: {known})")

    def guest(self, arch: str) -> GuestFacts:
        """The best guest for ``arch``: an hvm one offering kvm, else qemu, else any."""
        candidates = [g for g in self.guests if g.arch == arch and g.os_type == "hvm"]
        if not candidates:
            raise base.DriverUnsupportedError(
                f"the host cannot run {arch} guests (it offers "
                f"{', '.join(sorted({g.arch for g in self.guests})) or 'none'})"
            )
        for preferred in ("kvm", "qemu"):
            for guest in candidates:
                if preferred in guest.domain_types:
                    return guest
        return candidates[0]
