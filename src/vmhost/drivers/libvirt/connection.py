"""The libvirt connection: open (local, SSH, TLS), keepalive, reconnect, and error mapping.

* ``qemu:///system``: the local daemon.
* ``qemu+ssh://user@host/system``: with the user's SSH key (agent or ``options["keyfile"]``);
  when the host has a password the URI is switched to the ``libssh2`` transport, which asks
  for it (the account's password, or the key file's passphrase) through ``openAuth``
  callbacks. Plain ``ssh`` runs the ssh binary, which cannot be fed a password; ``libssh``
  hangs on large replies in libvirt 9 (capabilities, domain XML). libssh2 cannot sign with
  RSA keys for OpenSSH >= 8.8 servers (SHA-1 signatures only), so a key used with a
  password must be ed25519 or ECDSA; the error says so. An unknown SSH host key is refused
  unless ``options["no_verify"]`` accepts new keys; ``options["known_hosts"]`` names the
  file that holds them.
* ``qemu+tls://host/system``: with the client certificates libvirt finds in its PKI paths.

A bare host name or address means ``qemu+ssh://<address>/system``. Remote hosts are probed
with a bounded TCP connect first, so an unreachable host fails in seconds with a clear
message instead of the kernel's two-minute SYN timeout.

Keepalive needs a libvirt event loop; one daemon thread runs it for the process (Nova does
the same). A connection found dead (closed callback, ``isAlive()`` false) is reopened with
bounded retries (tenacity).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import tenacity

from vmhost.drivers import base

try:  # optional for unit tests of the pure modules
    import libvirt
except ImportError:  # pragma: no cover - libvirt-python is a dependency
    libvirt = None

LOG = logging.getLogger(__name__)
T = TypeVar("T")

KEEPALIVE_INTERVAL_S = 5
KEEPALIVE_COUNT = 3
PROBE_TIMEOUT_S = 5.0
RECONNECT_ATTEMPTS = 3
_DEFAULT_PORTS = {"ssh": 22, "libssh2": 22, "libssh": 22, "tls": 16514, "tcp": 16509}
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


def libvirt_message(exc: BaseException) -> str:
    """libvirt's own message (not the Python wrapper's ``virDomainCreate() failed``)."""
    if libvirt is not None and isinstance(exc, libvirt.libvirtError):
        message = exc.get_error_message()
        if message:
            return str(message).strip()
    return str(exc).strip()


def is_connection_lost(exc: BaseException) -> bool:
    """Whether a libvirt error means the connection is gone (retry on a new one)."""
    if libvirt is None or not isinstance(exc, libvirt.libvirtError):
        return False
    code = exc.get_error_code()
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
    code = exc.get_error_code() if libvirt and isinstance(exc, libvirt.libvirtError) else None
    lowered = message.lower()
    if code in _AUTH_CODES or (connecting and any(m in lowered for m in _AUTH_MARKERS)):
        return base.DriverAuthError(full, host_message=message)
    if (connecting and (code in _CONNECTION_CODES or code is None)) or is_connection_lost(exc):
        return base.DriverConnectionError(full, host_message=message)
    if code in _NOT_FOUND_CODES:
        return base.DriverNotFoundError(full, host_message=message)
    return base.DriverError(full, host_message=message)


def build_uri(address: str, *, password: str = "", options: Mapping[str, object] = {}) -> str:
    """The libvirt URI for a host address; refuses what libvirt would misread.

    ``options`` may carry ``keyfile`` (SSH private key path), ``known_hosts`` and
    ``no_verify`` (accept an unknown SSH host key); they become URI parameters.
    """
    address = address.strip()
    if not address:
        raise base.DriverConnectionError("the host has no address (a libvirt URI is expected)")
    if "://" not in address:
        address = f"qemu+ssh://{address}/system"
    parts = urllib.parse.urlsplit(address)
    scheme = parts.scheme
    driver, _, transport = scheme.partition("+")
    if driver not in ("qemu", "test"):
        raise base.DriverUnsupportedError(
            f"{address!r}: vmhost drives QEMU/KVM through libvirt; "
            "use qemu:///system, qemu+ssh://user@host/system or qemu+tls://host/system"
        )
    if transport and transport not in ("ssh", "libssh2", "libssh", "tls", "tcp", "unix"):
        raise base.DriverUnsupportedError(f"{address!r}: unknown libvirt transport {transport!r}")
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


def redact(uri: str) -> str:
    """A URI fit for messages and logs (no password in the user-info part)."""
    parts = urllib.parse.urlsplit(uri)
    if parts.password:
        netloc = f"{parts.username}:***@{parts.hostname}" + (
            f":{parts.port}" if parts.port else ""
        )
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return uri


def probe(uri: str, timeout: float = PROBE_TIMEOUT_S) -> None:
    """For remote URIs: a bounded TCP connect to the daemon (or SSH) port, else raise."""
    parts = urllib.parse.urlsplit(uri)
    transport = parts.scheme.partition("+")[2]
    if not parts.hostname or transport in ("", "unix"):
        return
    port = parts.port or _DEFAULT_PORTS.get(transport)
    if port is None:
        return
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        if isinstance(exc, TimeoutError | socket.timeout):
            reason = f"no answer within {timeout:g} s"
        raise base.DriverConnectionError(
            f"cannot reach {redact(uri)}: {parts.hostname}:{port}: {reason}",
            host_message=reason,
        ) from exc


def auth_callback(
    password: str, username: str = "", *, accept_host_key: bool = False
) -> Callable[[list[list[Any]], Any], int]:
    """The ``openAuth`` credential callback: user name, password or key passphrase.

    The SSH transports ask "Accept SSH host key ...?" (``VIR_CRED_ECHOPROMPT``) for a host
    not in known_hosts: the answer is no unless the operator chose ``no_verify``, so an
    unknown key is never accepted silently. Anything else asked is refused.
    """

    def callback(credentials: list[list[Any]], _opaque: Any) -> int:
        for cred in credentials:
            kind, prompt = cred[0], str(cred[1] or "")
            if kind == libvirt.VIR_CRED_AUTHNAME:
                cred[4] = username or cred[3] or ""
            elif kind in (libvirt.VIR_CRED_PASSPHRASE, libvirt.VIR_CRED_NOECHOPROMPT):
                if not password:
                    return -1
                cred[4] = password
            elif kind == libvirt.VIR_CRED_ECHOPROMPT and "host key" in prompt.lower():
                if not accept_host_key:
                    LOG.warning("refused an unknown SSH host key: %s", prompt)
                    return -1
                cred[4] = "y"
            else:
                return -1
        return 0

    return callback


_EVENT_LOOP_LOCK = threading.Lock()
_EVENT_LOOP_STARTED = False
_QUIET = False


def quiet_default_error_handler() -> None:
    """Stop libvirt printing every error to stderr; vmhost reports them itself (once)."""
    global _QUIET
    if libvirt is None or _QUIET:
        return

    def ignore(_ctx: Any, _err: Any) -> None:
        return None

    libvirt.registerErrorHandler(ignore, None)
    _QUIET = True


def ensure_event_loop() -> None:
    """Register libvirt's default event loop and run it in a daemon thread (once per process)."""
    global _EVENT_LOOP_STARTED
    if libvirt is None:
        return
    with _EVENT_LOOP_LOCK:
        if _EVENT_LOOP_STARTED:
            return
        libvirt.virEventRegisterDefaultImpl()

        def run() -> None:
            while True:
                try:
                    libvirt.virEventRunDefaultImpl()
                except Exception:  # pragma: no cover - keep the loop alive
                    LOG.exception("libvirt event loop iteration failed")

        threading.Thread(target=run, name="libvirt-event-loop", daemon=True).start()
        _EVENT_LOOP_STARTED = True


class LibvirtConnection:
    """One host's libvirt connection, opened on first use and reopened when it dies."""

    def __init__(
        self,
        connection: base.HostConnection,
        *,
        opener: Callable[[str, Any], Any] | None = None,
        probe_timeout: float = PROBE_TIMEOUT_S,
        reconnect_attempts: int = RECONNECT_ATTEMPTS,
    ) -> None:
        if libvirt is None:
            raise base.DriverError("libvirt-python is not installed")
        options = connection.options or {}
        self.uri = build_uri(connection.address, password=connection.password, options=options)
        self.password = connection.password
        self.username = urllib.parse.urlsplit(self.uri).username or ""
        self.accept_host_key = bool(options.get("no_verify"))
        self.probe_timeout = float(str(options.get("probe_timeout", probe_timeout)))
        self.reconnect_attempts = max(1, reconnect_attempts)
        quiet_default_error_handler()
        self._opener = opener
        self._conn: Any = None
        self._closed_by_peer = False
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"LibvirtConnection({redact(self.uri)!r})"

    @property
    def is_open(self) -> bool:
        """Whether a connection is held now (``get()`` checks that it is still alive)."""
        return self._conn is not None

    @property
    def is_test(self) -> bool:
        """The in-process ``test:///`` driver (no daemon, no keepalive)."""
        return self.uri.startswith("test:")

    def _open_once(self) -> Any:
        probe(self.uri, self.probe_timeout)
        try:
            if self._opener is not None:
                conn = self._opener(self.uri, None)
            elif self.password or self.uri.partition("://")[0].endswith(("libssh2", "libssh")):
                auth = [
                    [
                        libvirt.VIR_CRED_AUTHNAME,
                        libvirt.VIR_CRED_PASSPHRASE,
                        libvirt.VIR_CRED_NOECHOPROMPT,
                        libvirt.VIR_CRED_ECHOPROMPT,
                    ],
                    auth_callback(
                        self.password, self.username, accept_host_key=self.accept_host_key
                    ),
                    None,
                ]
                conn = libvirt.openAuth(self.uri, auth, 0)
            else:
                conn = libvirt.open(self.uri)
        except libvirt.libvirtError as exc:
            error = map_error(exc, f"cannot connect to {redact(self.uri)}", connecting=True)
            if (
                isinstance(error, base.DriverAuthError)
                and self.uri.startswith("qemu+libssh2:")
                and "keyfile=" in self.uri
            ):
                error = base.DriverAuthError(
                    f"{error} (an RSA key cannot work here: libssh2, used when a password is"
                    " set, cannot sign with RSA for OpenSSH 8.8 or later; use an ed25519 or"
                    " ECDSA key)",
                    host_message=error.host_message,
                )
            raise error from exc
        if conn is None:  # pragma: no cover - old bindings returned None
            raise base.DriverConnectionError(f"cannot connect to {redact(self.uri)}")
        self._closed_by_peer = False
        if not self.is_test:
            try:
                conn.setKeepAlive(KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT)
            except libvirt.libvirtError as exc:
                LOG.debug("keepalive not enabled on %s: %s", redact(self.uri), exc)
            try:
                conn.registerCloseCallback(self._on_close, None)
            except libvirt.libvirtError as exc:
                LOG.debug("no close callback on %s: %s", redact(self.uri), exc)
        return conn

    def _on_close(self, _conn: Any, reason: int, _opaque: Any) -> None:
        LOG.warning("libvirt connection to %s closed (reason %s)", redact(self.uri), reason)
        self._closed_by_peer = True

    def _alive(self) -> bool:
        if self._conn is None or self._closed_by_peer:
            return False
        try:
            return bool(self._conn.isAlive())
        except libvirt.libvirtError:
            return False

    def get(self) -> Any:
        """A live ``virConnect``: the current one, or a new one (bounded retries)."""
        with self._lock:
            if self._alive():
                return self._conn
            self._drop()
            if not self.is_test:
                ensure_event_loop()
            retrying = tenacity.Retrying(
                stop=tenacity.stop_after_attempt(self.reconnect_attempts),
                wait=tenacity.wait_exponential(multiplier=0.2, max=2),
                retry=tenacity.retry_if_exception_type(base.DriverConnectionError),
                reraise=True,
            )
            self._conn = retrying(self._open_once)
            return self._conn

    def call(self, action: str, fn: Callable[[Any], T], *, retry: bool = True) -> T:
        """Run ``fn(conn)``; map libvirt errors; on a lost connection reconnect and retry once.

        Only idempotent reads should pass ``retry=True`` (the default); writes pass False so
        a create is never sent twice.
        """
        attempts = 2 if retry else 1
        for attempt in range(attempts):
            conn = self.get()
            try:
                return fn(conn)
            except libvirt.libvirtError as exc:
                if is_connection_lost(exc):
                    with self._lock:
                        self._drop()
                    if attempt + 1 < attempts:
                        LOG.info("libvirt connection lost during %s; reconnecting", action)
                        continue
                raise map_error(exc, action) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if not self.is_test:
                conn.unregisterCloseCallback()
        except libvirt.libvirtError:
            pass
        with contextlib.suppress(libvirt.libvirtError):
            conn.close()

    def close(self) -> None:
        """Close the connection (a later ``get()`` opens a new one)."""
        with self._lock:
            self._drop()
