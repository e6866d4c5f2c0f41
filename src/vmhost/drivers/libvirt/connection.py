"""The libvirt connection: open (local, SSH, TLS), keepalive and reconnect.

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

A bare host name or address means ``qemu+ssh://<address>/system`` (``uri.py`` builds the
URI; ``errors.py`` maps libvirt's errors). Remote hosts are probed
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
from collections.abc import Callable
from typing import TypeVar

import tenacity

from vmhost.drivers import base

from . import api
from .errors import is_connection_lost, map_error
from .uri import DEFAULT_PORTS, build_uri, redact, scrub

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


def probe(uri: str, timeout: float = PROBE_TIMEOUT_S) -> None:
    """For remote URIs: a bounded TCP connect to the daemon (or SSH) port, else raise."""
    parts = urllib.parse.urlsplit(uri)
    transport = parts.scheme.partition("+")[2]
    if not parts.hostname or transport in ("", "unix"):
        return
    port = parts.port or DEFAULT_PORTS.get(transport)
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


def _scrubbed(error: base.DriverError, uri: str) -> base.DriverError:
    """The error with the URI's password masked wherever libvirt quoted the URI."""
    message, host_message = scrub(error.message, uri), scrub(error.host_message, uri)
    if (message, host_message) == (error.message, error.host_message):
        return error
    return type(error)(message, host_message=host_message)


def auth_callback(
    password: str, username: str = "", *, accept_host_key: bool = False
) -> Callable[[list[api.Credential], object], int]:
    """The ``openAuth`` credential callback: user name, password or key passphrase.

    The SSH transports ask "Accept SSH host key ...?" (``VIR_CRED_ECHOPROMPT``) for a host
    not in known_hosts: the answer is no unless the operator chose ``no_verify``, so an
    unknown key is never accepted silently. Anything else asked is refused.
    """

    def callback(credentials: list[api.Credential], _opaque: object) -> int:
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

    def ignore(_ctx: object, _err: object) -> None:
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
        opener: Callable[[str, object], api.Connect] | None = None,
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
        self._conn: api.Connect | None = None
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

    def _open_once(self) -> api.Connect:
        probe(self.uri, self.probe_timeout)
        conn: api.Connect | None
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
            error = _scrubbed(error, self.uri)
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

    def _on_close(self, _conn: object, reason: int, _opaque: object) -> None:
        LOG.warning("libvirt connection to %s closed (reason %s)", redact(self.uri), reason)
        self._closed_by_peer = True

    def _alive(self) -> bool:
        if self._conn is None or self._closed_by_peer:
            return False
        try:
            return bool(self._conn.isAlive())
        except libvirt.libvirtError:
            return False

    def get(self) -> api.Connect:
        """A live ``virConnect``: the current one, or a new one (bounded retries)."""
        with self._lock:
            if self._conn is not None and self._alive():
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
            conn = retrying(self._open_once)
            self._conn = conn
            return conn

    def call(self, action: str, fn: Callable[[api.Connect], T], *, retry: bool = True) -> T:
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
