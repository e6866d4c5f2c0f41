"""Where an LXD host listens, its certificate as first seen, and why it cannot be reached.

``parse_endpoint`` reads the addresses operators write (``10.0.0.2``, ``lxd1:8443``,
``https://[fd00::2]:8443``); ``fetch_server_certificate`` is the trust-on-first-use read of the
certificate LXD presents; ``unreachable`` names a connection failure by what the operator can
check (refused, timed out, no TLS there, the name does not resolve).
"""

from __future__ import annotations

import dataclasses
import errno
import socket
import ssl
from collections.abc import Iterator

from vmhost import pki
from vmhost.drivers import base
from vmhost.drivers.addresses import check_host, check_text, redact

DEFAULT_PORT = 8443
CONNECT_TIMEOUT_S = 5.0


@dataclasses.dataclass(frozen=True, slots=True)
class Endpoint:
    """Where LXD listens: ``https://host:port``."""

    host: str
    port: int

    @property
    def url(self) -> str:
        """The base URL, IPv6 in brackets."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"

    @property
    def display(self) -> str:
        """``host:port`` as operators write it."""
        return self.url.removeprefix("https://")


def parse_endpoint(address: str) -> Endpoint:
    """``10.0.0.2``, ``lxd1:8443``, ``https://[fd00::2]:8443``, ``::1`` → host and port.

    As MAAS: the scheme is optional (only https), the port defaults to 8443. Anything else is
    refused before a name is resolved (``DriverAddressError``): a path, a user or password (LXD
    knows vmhost by its certificate; a trust token or password is given on its own, once), a
    host that is neither an IP address nor a host name.
    """
    text = check_text(address)
    if text.startswith("http://"):
        raise base.DriverAddressError(
            f"LXD address {address!r}: LXD's API is HTTPS only (https://host:8443)"
        )
    scheme, sep, rest = text.partition("://")
    if sep and scheme != "https":
        raise base.DriverAddressError(
            f"LXD address {address!r}: {scheme}:// is not LXD's (https://host:8443)"
        )
    text = (rest if sep else text).rstrip("/")
    if not text:
        raise base.DriverAddressError("the LXD address is empty")
    if "@" in text:
        what = "a password" if ":" in text.rpartition("@")[0] else "a user name"
        raise base.DriverAddressError(
            f"LXD address {redact(address)!r} holds {what}: LXD knows vmhost by its "
            "certificate; give a trust token (or the trust password) on its own, once"
        )
    if any(c in text for c in "/?#"):
        raise base.DriverAddressError(
            f"LXD address {address!r}: only https://host:port, without a path or query"
        )
    host, port = text, DEFAULT_PORT
    if text.startswith("["):
        if "]" not in text:
            raise base.DriverAddressError(f"LXD address {address!r}: '[' without its ']'")
        host, _, after = text[1:].partition("]")
        if after.startswith(":"):
            port = _port(address, after[1:])
        elif after:
            raise base.DriverAddressError(f"LXD address {address!r}: {after!r} after the host")
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = _port(address, port_text)
    if not host:
        raise base.DriverAddressError(f"LXD address {address!r} has no host")
    check_host(address, host)
    return Endpoint(host, port)


def _port(address: str, text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise base.DriverAddressError(f"LXD address {address!r}: {text!r} is not a port")
    return int(text)


@dataclasses.dataclass(frozen=True, slots=True)
class ServerCertificate:
    """The LXD server's TLS certificate as first seen."""

    pem: str
    fingerprint: str


def fetch_server_certificate(
    address: str, *, timeout: float = CONNECT_TIMEOUT_S
) -> ServerCertificate:
    """Read the certificate LXD presents (no verification: this is the trust-on-first-use step).

    The service shows the fingerprint to the operator and stores the PEM; every later
    connection accepts that certificate only.
    """
    ep = parse_endpoint(address)
    try:
        pem = ssl.get_server_certificate((ep.host, ep.port), timeout=timeout)
    except (OSError, ssl.SSLError) as exc:
        raise unreachable(ep, exc) from None
    return ServerCertificate(pem, pki.fingerprint(pem))


def unreachable(ep: Endpoint, exc: BaseException) -> base.DriverConnectionError:
    """Connection failures named by what the operator can check."""
    text = str(exc)
    seen = [exc, *_causes(exc)]
    if any(isinstance(e, TimeoutError | socket.timeout) for e in seen) or "timed out" in text:
        why = "timed out (host down, firewalled, or a wrong address)"
    elif any(isinstance(e, ConnectionRefusedError) for e in seen) or "refused" in text.lower():
        why = (
            "connection refused (LXD not listening there: check the port and "
            "`lxc config get core.https_address` on the host)"
        )
    elif any(isinstance(e, ssl.SSLError) for e in seen) or "SSL" in text:
        why = f"no TLS there (is it LXD's HTTPS port?): {short(text)}"
    elif any(isinstance(e, socket.gaierror) for e in seen) or "Name or service" in text:
        why = f"the name does not resolve: {short(text)}"
    elif any(getattr(e, "errno", None) in (errno.EHOSTUNREACH, errno.ENETUNREACH) for e in seen):
        why = "no route to host"
    else:
        why = short(text)
    return base.DriverConnectionError(f"cannot reach LXD at {ep.display}: {why}")


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for arg in getattr(current, "args", ()):
            if isinstance(arg, BaseException):
                yield arg
                yield from _causes(arg)
        current = current.__cause__ or current.__context__
        if current is not None:
            yield current


def short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
