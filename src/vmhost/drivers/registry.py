"""The explicit map from host type to driver class (imported lazily: libvirt may be absent)."""

from __future__ import annotations

import importlib

from vmhost import model

from . import addresses, base

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


def normalise_address(host_type: model.HostType, address: str) -> str:
    """The address to store for a host of this type, once its driver's own parser accepts it:
    an LXD ``https://host:port`` without user or password, a libvirt URI or bare
    ``[user@]host`` naming a proper host, a fake host's name. Pure: nothing is resolved or
    contacted, so a made-up string never reaches DNS. ``model.InvalidInputError`` naming
    ``address`` otherwise (the message never holds a password)."""
    try:
        if host_type is model.HostType.LXD:
            from .lxd import endpoint

            endpoint.parse_endpoint(address)
        elif host_type is model.HostType.LIBVIRT:
            from .libvirt import uri

            uri.build_uri(address)
        else:
            addresses.check_text(address)
    except base.DriverError as exc:
        raise model.InvalidInputError.for_field("address", exc.message) from None
    return address.strip()


def redact_address(address: str) -> str:
    """An address fit for logs and messages: a password in it becomes ``***``."""
    return addresses.redact(address)


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
