"""libvirt's errors -> the driver error tree (``base.DriverError`` and its subclasses).

libvirt reports an error as ``libvirtError`` with a code (``virErrorNumber``) and its own
message; the mapping keeps the message (the host's own words) and chooses the class by the code,
and by the text only while connecting, where SSH and TLS failures arrive as generic codes.
"""

from __future__ import annotations

from vmhost.drivers import base

try:  # optional for unit tests of the pure modules
    import libvirt
except ImportError:  # pragma: no cover - libvirt-python is a dependency
    libvirt = None

_AUTH_MARKERS = (
    "authentication",
    "auth failed",
    "permission denied",
    "host key",
    "access denied",
    "certificate",
    "not authorized",
    "password",
)
_CONNECTION_CODES = frozenset(
    getattr(libvirt, name)
    for name in (
        "VIR_ERR_NO_CONNECT",
        "VIR_ERR_SYSTEM_ERROR",
        "VIR_ERR_RPC",
        "VIR_ERR_INVALID_CONN",
    )
    if libvirt is not None
)
_AUTH_CODES = frozenset(
    getattr(libvirt, name)
    for name in (
        "VIR_ERR_AUTH_FAILED",
        "VIR_ERR_AUTH_CANCELLED",
        "VIR_ERR_AUTH_UNAVAILABLE",
        "VIR_ERR_ACCESS_DENIED",
    )
    if libvirt is not None and hasattr(libvirt, name)
)
_NOT_FOUND_CODES = frozenset(
    getattr(libvirt, name)
    for name in (
        "VIR_ERR_NO_DOMAIN",
        "VIR_ERR_NO_STORAGE_POOL",
        "VIR_ERR_NO_STORAGE_VOL",
        "VIR_ERR_NO_NETWORK",
        "VIR_ERR_NO_NODE_DEVICE",
    )
    if libvirt is not None
)


def error_code(exc: BaseException) -> int | None:
    """libvirt's ``virErrorNumber`` of a ``libvirtError``; None for any other exception."""
    if libvirt is None or not isinstance(exc, libvirt.libvirtError):
        return None
    code = exc.get_error_code()
    return int(code) if code is not None else None


def libvirt_message(exc: BaseException) -> str:
    """libvirt's own message (not the Python wrapper's ``virDomainCreate() failed``)."""
    if libvirt is not None and isinstance(exc, libvirt.libvirtError):
        message = exc.get_error_message()
        if message:
            return str(message).strip()
    return str(exc).strip()


def is_connection_lost(exc: BaseException) -> bool:
    """Whether a libvirt error means the connection is gone (retry on a new one)."""
    code = error_code(exc)
    if code is None:
        return False
    text = libvirt_message(exc).lower()
    if code in (libvirt.VIR_ERR_INVALID_CONN, libvirt.VIR_ERR_NO_CONNECT):
        return True
    lost_markers = ("client socket is closed", "connection reset", "broken pipe", "end of file")
    return code in (
        libvirt.VIR_ERR_SYSTEM_ERROR,
        libvirt.VIR_ERR_RPC,
        libvirt.VIR_ERR_INTERNAL_ERROR,
    ) and any(m in text for m in lost_markers)


def map_error(exc: BaseException, action: str, *, connecting: bool = False) -> base.DriverError:
    """A libvirt error -> the driver error tree, with ``action`` and libvirt's message.

    Auth failures -> DriverAuthError (not retryable); an unreachable daemon (while
    connecting, or a lost connection) -> DriverConnectionError; missing objects ->
    DriverNotFoundError; anything else -> DriverError with the host's message.
    """
    if isinstance(exc, base.DriverError):
        return exc
    message = libvirt_message(exc)
    full = f"{action}: {message}" if message else action
    code = error_code(exc)
    lowered = message.lower()
    if code in _AUTH_CODES or (connecting and any(m in lowered for m in _AUTH_MARKERS)):
        return base.DriverAuthError(full, host_message=message)
    if (connecting and (code in _CONNECTION_CODES or code is None)) or is_connection_lost(exc):
        return base.DriverConnectionError(full, host_message=message)
    if code in _NOT_FOUND_CODES:
        return base.DriverNotFoundError(full, host_message=message)
    return base.DriverError(full, host_message=message)
