"""libvirt URIs: from a host's address and options, and fit for messages and logs.

A bare host name or address means ``qemu+ssh://<address>/system``; ``options`` add the SSH
parameters (``keyfile``, ``known_hosts``, ``no_verify``); a password switches ``ssh`` to
``libssh2`` (see ``connection.py``). Pure: nothing here opens a connection or resolves a name;
what is not a URI, or names no proper host, is refused first (``DriverAddressError``).
``redact`` (from ``addresses.py``) masks a password in the user-info part for messages.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping

from vmhost.drivers import base
from vmhost.drivers.addresses import check_host, check_text, redact, scrub

__all__ = ["DEFAULT_PORTS", "build_uri", "is_local_uri", "redact", "scrub"]

DEFAULT_PORTS = {"ssh": 22, "libssh2": 22, "libssh": 22, "tls": 16514, "tcp": 16509}


def build_uri(address: str, *, password: str = "", options: Mapping[str, object] = {}) -> str:
    """The libvirt URI for a host address; refuses what libvirt would misread.

    ``options`` may carry ``keyfile`` (SSH private key path), ``known_hosts`` and
    ``no_verify`` (accept an unknown SSH host key); they become URI parameters.
    """
    if not address.strip():
        raise base.DriverAddressError("the host has no address (a libvirt URI is expected)")
    address = check_text(address)
    shown = redact(address)
    if "://" not in address:
        address = f"qemu+ssh://{address}/system"
    try:
        parts = urllib.parse.urlsplit(address)
        _ = parts.port  # raises ValueError for a port that is not one
    except ValueError as exc:
        raise base.DriverAddressError(f"{shown!r} is not a libvirt URI: {exc}") from None
    scheme = parts.scheme
    driver, _, transport = scheme.partition("+")
    if driver not in ("qemu", "test"):
        raise base.DriverUnsupportedError(
            f"{shown!r}: vmhost drives QEMU/KVM through libvirt; "
            "use qemu:///system, qemu+ssh://user@host/system or qemu+tls://host/system"
        )
    if transport and transport not in ("ssh", "libssh2", "libssh", "tls", "tcp", "unix"):
        raise base.DriverUnsupportedError(f"{shown!r}: unknown libvirt transport {transport!r}")
    if parts.netloc:
        check_host(shown, parts.hostname or "")
    query = dict(urllib.parse.parse_qsl(parts.query))
    if transport == "ssh" and password:
        # libssh2 asks for the password / key passphrase through the openAuth callbacks
        transport = "libssh2"
        query.setdefault(
            "sshauth", "privkey,password" if options.get("keyfile") else "password,agent,privkey"
        )
    if transport in ("ssh", "libssh2", "libssh"):
        query.update(_ssh_parameters(transport, options))
    new_scheme = f"{driver}+{transport}" if transport else driver
    path = parts.path or ("/system" if driver == "qemu" else "")
    # not urlunsplit: it drops the empty authority of qemu:///system
    uri = f"{new_scheme}://{parts.netloc}{path}"
    if query:
        uri += "?" + urllib.parse.urlencode(query, safe="/,")
    return uri


def _ssh_parameters(transport: str, options: Mapping[str, object]) -> dict[str, str]:
    """URI parameters for the SSH transports from the host's options."""
    params = {key: str(options[key]) for key in ("keyfile", "known_hosts") if options.get(key)}
    if options.get("no_verify"):
        if transport == "libssh":
            params["known_hosts_verify"] = "auto"  # accept new keys, check known ones
        elif transport == "ssh":
            params["no_verify"] = "1"
        # libssh2 asks through the auth callback, which accepts when no_verify is set
    return params


def is_local_uri(uri: str) -> bool:
    """A URI to this machine's libvirtd over its UNIX socket (``qemu:///system``,
    ``qemu+unix:///system?socket=...``), not over a network transport."""
    parts = urllib.parse.urlsplit(uri)
    transport = parts.scheme.partition("+")[2]
    return not parts.netloc and transport in ("", "unix")
