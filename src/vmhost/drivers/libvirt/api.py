"""The part of libvirt-python vmhost calls, as typed protocols.

libvirt-python ships no type information; these protocols name every method the driver uses on
each object (``virConnect``, ``virDomain``, ``virStoragePool``, ...) with the types libvirt
documents, so the rest of the driver is checked by mypy. ``connection.py`` is the one place a
``virConnect`` enters (``libvirt.open``/``openAuth``); every other object is reached from it.
The tests' stand-ins (``tests/unit/drivers/test_libvirt_scan_fetch.py``) implement the same
methods.
"""

# ruff: noqa: N802 - the methods keep libvirt's names
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

# an openAuth credential request: [type, prompt, challenge, default, result (set by us)]
Credential = list[Any]

# getAllDomainStats records: ``{"state.state": 5, "block.count": 1, "block.0.name": "vda", ...}``
DomainStats = dict[str, Any]


class XmlObject(Protocol):
    """Anything libvirt describes as XML (networks, interfaces, node devices)."""

    def XMLDesc(self, flags: int = 0) -> str: ...


class Network(XmlObject, Protocol):
    """``virNetwork``."""

    def isActive(self) -> int: ...


class StorageVol(Protocol):
    """``virStorageVol``."""

    def name(self) -> str: ...

    def path(self) -> str: ...

    def info(self) -> list[int]:
        """``[type, capacity bytes, allocation bytes]``."""
        ...

    def delete(self, flags: int = 0) -> int: ...


class StoragePool(XmlObject, Protocol):
    """``virStoragePool``."""

    def name(self) -> str: ...

    def isActive(self) -> int: ...

    def refresh(self, flags: int = 0) -> int: ...

    def info(self) -> list[int]:
        """``[state, capacity, allocation, available]`` in bytes."""
        ...

    def listAllVolumes(self, flags: int = 0) -> list[StorageVol]: ...

    def storageVolLookupByName(self, name: str) -> StorageVol: ...

    def createXML(self, xml: str, flags: int = 0) -> StorageVol: ...


class Domain(XmlObject, Protocol):
    """``virDomain``."""

    def name(self) -> str: ...

    def state(self, flags: int = 0) -> list[int]:
        """``[state, reason]``."""
        ...

    def isActive(self) -> int: ...

    def create(self) -> int: ...

    def destroy(self) -> int: ...

    def undefine(self) -> int: ...

    def undefineFlags(self, flags: int = 0) -> int: ...


CloseCallback = Callable[[object, int, object], None]


class Connect(Protocol):
    """``virConnect``: one connection to a libvirt daemon (or the in-process test driver)."""

    def getCapabilities(self) -> str: ...

    def getInfo(self) -> list[int | str]:
        """``[model, memory MiB, cpus, MHz, nodes, sockets, cores, threads]``."""
        ...

    def getFreePages(
        self, pages: Sequence[int], start_cell: int, cell_count: int, flags: int = 0
    ) -> dict[int, dict[int, int]]: ...

    def getVersion(self) -> int: ...

    def getLibVersion(self) -> int: ...

    def getType(self) -> str: ...

    def getHostname(self) -> str: ...

    def listAllStoragePools(self, flags: int = 0) -> list[StoragePool]: ...

    def listAllNetworks(self, flags: int = 0) -> list[Network]: ...

    def listAllInterfaces(self, flags: int = 0) -> list[XmlObject]: ...

    def listAllDevices(self, flags: int = 0) -> list[XmlObject]: ...

    def listAllDomains(self, flags: int = 0) -> list[Domain]: ...

    def getAllDomainStats(
        self, stats: int = 0, flags: int = 0
    ) -> list[tuple[Domain, DomainStats]]: ...

    def lookupByName(self, name: str) -> Domain: ...

    def defineXML(self, xml: str) -> Domain: ...

    def networkLookupByName(self, name: str) -> Network: ...

    def storagePoolLookupByName(self, name: str) -> StoragePool: ...

    def storagePoolLookupByUUIDString(self, uuid: str) -> StoragePool: ...

    def isAlive(self) -> int: ...

    def setKeepAlive(self, interval: int, count: int) -> int: ...

    def registerCloseCallback(self, cb: CloseCallback, opaque: object) -> int: ...

    def unregisterCloseCallback(self) -> int: ...

    def close(self) -> int: ...
