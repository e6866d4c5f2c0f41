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


def fetch_server_certificate(connection: base.HostConnection) -> tuple[str, str]:
    """(PEM, fingerprint) the host presents, for trust on first use; LXD only."""
    if connection.type is not model.HostType.LXD:
        return "", ""
    from .lxd import endpoint

    cert = endpoint.fetch_server_certificate(connection.address)
    return cert.pem, cert.fingerprint


def trust(connection: base.HostConnection, *, token: str = "", password: str = "") -> str:
    """Get our client certificate trusted once with an LXD trust token or (not recommended)
    password; nothing of either is stored. Returns the trusted fingerprint."""
    from .lxd import trust as lxd_trust

    if token:
        return lxd_trust.trust_with_token(connection, token)
    return lxd_trust.trust_with_password(connection, password)
