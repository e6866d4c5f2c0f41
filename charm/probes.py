"""Is the unit's vmhost service up: its health endpoint on loopback, and its port.

No ops and no Juju: `workload.Workload` asks these, and the tests probe a real HTTP server.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import urllib.request

import tenacity

HEALTH_PATH = "/api/v1/health"


def health_url(port: int, tls: bool = False) -> str:
    """The service's health endpoint on loopback."""
    return f"{'https' if tls else 'http'}://127.0.0.1:{port}{HEALTH_PATH}"


def is_ready(port: int, timeout: float = 2.0, *, tls: bool = False) -> bool:
    """One probe of the health endpoint, ignoring any proxy settings: True on HTTP 200.

    Over TLS the certificate is not checked: this is the unit's own service on loopback, and
    the operator's certificate need not name 127.0.0.1.
    """
    handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        handlers.append(urllib.request.HTTPSHandler(context=context))
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(health_url(port, tls), timeout=timeout) as response:
            return bool(response.status == http.client.OK)
    except (OSError, http.client.HTTPException):  # urllib.error.URLError is an OSError
        return False


def wait_ready(port: int, *, tls: bool = False, attempts: int = 10, interval: float = 1.0) -> bool:
    """Probe the health endpoint until it answers, at most `attempts` times; True if it did."""
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(attempts),
        wait=tenacity.wait_fixed(interval),
        retry=tenacity.retry_if_result(lambda ready: not ready),
        retry_error_callback=lambda _: False,
    )
    return bool(retrying(lambda: is_ready(port, tls=tls)))


def port_free(port: int) -> bool:
    """Whether nothing listens on `port` (so the service can bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))  # noqa: S104 - the service listens on every address
        except OSError:
            return False
    return True
