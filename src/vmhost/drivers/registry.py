"""The explicit map from host type to driver class (imported lazily: libvirt may be absent)."""

from __future__ import annotations

import importlib

from vmhost import model

from . import base

_DRIVERS: dict[model.HostType, tuple[str, str]] = {
    model.HostType.FAKE: ("vmhost.drivers.fake", "FakeDriver"),
    model.HostType.LXD: ("vmhost.drivers.lxd.driver", "LxdDriver"),
    model.HostType.LIBVIRT: ("vmhost.drivers.libvirt.driver", "LibvirtDriver"),
}


def driver_for(connection: base.HostConnection) -> base.HostDriver:
    """A connected driver for the host, or DriverError when its module is unavailable."""
    module_name, class_name = _DRIVERS[connection.type]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise base.DriverError(
            f"the {connection.type.value} driver is not available: {exc}"
        ) from exc
    driver: base.HostDriver = getattr(module, class_name)(connection)
    return driver
