"""Host addresses as operators type them: checked before anything uses them, masked for logs.

Pure: nothing here resolves a name or opens a socket. A host is an IP address or a DNS host
name (RFC 1123: labels of letters, digits and ``-``, not starting or ending with ``-``, at most
63 characters each and 253 in all), so a made-up string never reaches DNS. The drivers' own
parsers (``lxd/endpoint.py``, ``libvirt/uri.py``) call these; ``registry.normalise_address``
is what the service calls before it stores an address.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse

from . import base

MAX_LENGTH = 2048
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def check_text(address: str) -> str:
    """The address without surrounding blanks; DriverAddressError when it is blank, too long,
    or holds blanks or control characters inside."""
    text = address.strip()
    if not text:
        raise base.DriverAddressError("the address is empty")
    if len(text) > MAX_LENGTH:
        raise base.DriverAddressError(f"the address is longer than {MAX_LENGTH} characters")
    if any(c.isspace() or not c.isprintable() for c in text):
        raise base.DriverAddressError(
            f"{text!r} is not an address: it holds blanks or control characters"
        )
    return text


def host_problem(host: str) -> str | None:
    """Why ``host`` is neither an IP address nor a DNS host name, or None when it is one."""
    if not host:
        return "it names no host"
    try:
        ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
        return None
    except ValueError:
        pass
    labels = host.removesuffix(".").split(".")
    # the last label of a name is not all digits: 10.0.0.300 is a bad address, not a name
    if (
        len(host) <= 253
        and all(_LABEL.fullmatch(label) for label in labels)
        and not labels[-1].isdigit()
    ):
        return None
    return f"{_short(host)!r} is neither an IP address nor a host name"


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_host(address: str, host: str) -> None:
    """DriverAddressError naming ``address`` when ``host`` is not a host (module doc)."""
    problem = host_problem(host)
    if problem is not None:
        raise base.DriverAddressError(f"{address!r}: {problem}")


def _password(address: str) -> str | None:
    """The password in an address's user-info part (``user:pw@``), URL or bare host."""
    url = address if "://" in address else f"//{address}"
    try:
        return urllib.parse.urlsplit(url).password
    except ValueError:  # not a URL: take what stands between the first ':' and the last '@'
        user_info = url.partition("://")[2].rpartition("@")[0]
        return user_info.partition(":")[2] or None


def redact(address: str) -> str:
    """An address fit for messages and logs: a password in its user-info part (``user:pw@``)
    becomes ``***``."""
    password = _password(address)
    if not password:
        return address
    head, _, tail = address.rpartition("@")
    user = head.rpartition(f":{password}")[0]
    return f"{user}:***@{tail}"


def scrub(text: str, address: str) -> str:
    """``text`` (e.g. a daemon's error message quoting the URI) with the password of
    ``address`` masked where it stands as ``:password@``."""
    password = _password(address)
    return text.replace(f":{password}@", ":***@") if password else text
