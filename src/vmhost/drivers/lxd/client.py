"""HTTPS to LXD through pylxd: client certificate, pinned server certificate, mapped errors.

* The client certificate and key come from ``HostConnection``; they are written to a private
  temporary directory (0700, files 0600) for ``requests``/OpenSSL, and removed on ``close()``.
* The server certificate is pinned: ``endpoint.fetch_server_certificate`` reads it once (trust
  on first use, the service stores PEM + fingerprint), later connections accept only that
  certificate (pylxd's ``LXDSSLAdapter`` checks the fingerprint; no CA, no host name).
* The session ignores the environment (``trust_env = False``): ``REQUESTS_CA_BUNDLE`` /
  ``CURL_CA_BUNDLE`` would otherwise replace the pinned certificate with the system CAs, and
  proxy variables would send a LAN address through a proxy (MAAS LP #2007297).
* Errors: unreachable → ``DriverConnectionError`` naming the address; not trusted →
  ``DriverAuthError`` with our fingerprint and the exact ``lxc config trust add`` command;
  everything else LXD refuses → ``DriverError`` carrying LXD's own message.

pylxd and requests ship no type information: ``Session``, ``ApiNode`` and ``Pylxd`` below name
the part of them this module calls. The one-time trust step is ``trust.py``.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

import pylxd
import pylxd.client
import requests
from pylxd import exceptions as lxd_exceptions

from vmhost import pki
from vmhost.drivers import base

from .endpoint import (
    CONNECT_TIMEOUT_S,
    Endpoint,
    ServerCertificate,
    fetch_server_certificate,
    parse_endpoint,
    short,
    unreachable,
)

DEFAULT_TIMEOUT_S = 30.0
TRUST_FILE = "vmhost.crt"

Json = dict[str, Any]  # an LXD answer: {"type", "status_code", "metadata", "operation", ...}


class Response(Protocol):
    """A ``requests.Response``."""

    status_code: int

    def json(self) -> Any: ...


class Session(Protocol):
    """A ``requests.Session`` as pylxd builds it (client certificate, pinned server one)."""

    trust_env: bool

    def get(self, url: str, *, timeout: tuple[float, float]) -> Response: ...

    def close(self) -> None: ...


class ApiNode(Protocol):
    """A pylxd API path (``client.api.instances["x"].state``); the HTTP verbs send to it."""

    def __getitem__(self, item: str) -> ApiNode: ...

    def get(self, **kwargs: object) -> Response: ...

    def post(self, **kwargs: object) -> Response: ...

    def put(self, **kwargs: object) -> Response: ...

    def patch(self, **kwargs: object) -> Response: ...

    def delete(self, **kwargs: object) -> Response: ...


class Pylxd(Protocol):
    """A ``pylxd.Client``."""

    api: ApiNode

    def authenticate(self, secret: str, use_token_auth: bool = True) -> None: ...


class UntrustedCertificateError(base.DriverAuthError):
    """LXD does not trust our client certificate; says which one and how to trust it."""

    def __init__(self, message: str, *, fingerprint: str, command: str) -> None:
        super().__init__(message, host_message="untrusted")
        self.fingerprint = fingerprint
        self.command = command


def untrusted_error(
    ep: Endpoint, certificate_pem: str, *, certificate_url: str = "", project: str = ""
) -> UntrustedCertificateError:
    """The message an operator needs: which certificate, and the command that trusts it."""
    fp = pki.fingerprint(certificate_pem)
    source = certificate_url or TRUST_FILE
    command = pki.trust_command(source, name="vmhost" if certificate_url else "")
    where = "" if certificate_url else f" (save vmhost's certificate for this host as {source})"
    restricted = (
        f" To limit it to project {project!r}, add --restricted --projects {project} "
        f"and create the project first."
        if project and project != "default"
        else ""
    )
    return UntrustedCertificateError(
        f"LXD at {ep.display} does not trust vmhost's certificate "
        f"(fingerprint {fp}). On the LXD host run{where}: {command} -- then refresh the host."
        f"{restricted}",
        fingerprint=fp,
        command=command,
    )


def lxd_message(exc: lxd_exceptions.LXDAPIException) -> str:
    try:
        return str(exc) or f"HTTP {exc.response.status_code}"
    except Exception:  # a broken body must not hide the error
        return f"HTTP {getattr(exc.response, 'status_code', '?')}"


_CHECKED_PAIRS: dict[bytes, datetime.datetime] = {}  # sha256(cert, key) -> certificate expiry
_CHECKED_MAX = 4096


def check_pair(certificate_pem: str, key_pem: str) -> None:
    """``pki.load_pair`` once per pair and process, then only the expiry.

    Loading an RSA-4096 key checks its consistency and costs about half a second here; every
    connection (each refresh, compose, decompose) would pay it again for the same stored pair.
    """
    digest = hashlib.sha256(f"{certificate_pem}\0{key_pem}".encode()).digest()
    not_after = _CHECKED_PAIRS.get(digest)
    if not_after is not None and datetime.datetime.now(datetime.UTC) <= not_after:
        return
    pair = pki.load_pair(certificate_pem, key_pem)  # raises PkiError, expiry included
    if len(_CHECKED_PAIRS) >= _CHECKED_MAX:
        _CHECKED_PAIRS.clear()
    _CHECKED_PAIRS[digest] = pair.info.not_after


class LxdClient:
    """One trusted HTTPS connection to an LXD server (pylxd underneath).

    ``request()`` and ``wait()`` are the whole surface the driver uses; every error leaves as a
    ``base.DriverError`` subclass. ``project`` is passed per call, so one client serves all.
    """

    def __init__(
        self,
        connection: base.HostConnection,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        require_trusted: bool = True,
    ) -> None:
        self.endpoint = parse_endpoint(connection.address)
        self.address = self.endpoint.display
        self.timeout = timeout
        self.connection = connection
        if not connection.client_cert_pem or not connection.client_key_pem:
            raise base.DriverAuthError(
                f"LXD at {self.address}: no client certificate and key for this host"
            )
        try:
            check_pair(connection.client_cert_pem, connection.client_key_pem)
        except pki.PkiError as exc:
            raise base.DriverAuthError(
                f"LXD at {self.address}: unusable client certificate: {exc}"
            ) from None
        pem = connection.server_cert_pem
        if not pem:
            pem = fetch_server_certificate(connection.address).pem
        self.server_certificate = ServerCertificate(pem, pki.fingerprint(pem))
        self._dir = tempfile.mkdtemp(prefix="vmhost-lxd-")
        try:
            cert = self._write("client.crt", connection.client_cert_pem)
            key = self._write("client.key", connection.client_key_pem)
            server = self._write("server.crt", pem)
            session: Session = pylxd.client.get_session_for_url(
                self.endpoint.url, verify=server, cert=(cert, key)
            )
            session.trust_env = False
            self.session = session
            self.host_info = self.hello()
            if require_trusted and not self.trusted:
                raise untrusted_error(
                    self.endpoint,
                    connection.client_cert_pem,
                    certificate_url=str(connection.options.get("certificate_url") or ""),
                    project=connection.project,
                )
            with self._mapped():
                self.pylxd: Pylxd = pylxd.Client(
                    endpoint=self.endpoint.url, session=session, timeout=timeout
                )
        except BaseException:
            self.close()
            raise

    # -- life cycle ---------------------------------------------------------------------------

    def _write(self, name: str, text: str) -> str:
        path = os.path.join(self._dir, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def close(self) -> None:
        """Drop the connection and the temporary key files."""
        session = getattr(self, "session", None)
        if session is not None:
            session.close()
        if hasattr(self, "_dir"):
            shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> LxdClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def trusted(self) -> bool:
        """Whether LXD trusts our certificate (``auth: trusted`` in ``/1.0``)."""
        return self.host_info.get("auth") == "trusted"

    def has_extension(self, name: str) -> bool:
        """Whether the server has an API extension."""
        return name in (self.host_info.get("api_extensions") or ())

    def hello(self) -> Json:
        """``GET /1.0`` with every connection failure named."""
        url = f"{self.endpoint.url}/1.0"
        try:
            response = self.session.get(url, timeout=(CONNECT_TIMEOUT_S, self.timeout))
        except requests.exceptions.SSLError as exc:
            if "fingerprint" in str(exc).lower():
                raise base.DriverAuthError(
                    f"LXD at {self.address} presented a different TLS certificate than the "
                    f"one pinned for it (fingerprint {self.server_certificate.fingerprint}): "
                    "if the host was reinstalled, fetch its certificate again; otherwise "
                    "something else answers at this address",
                    host_message=short(str(exc)),
                ) from None
            raise unreachable(self.endpoint, exc) from None
        except requests.exceptions.RequestException as exc:
            raise unreachable(self.endpoint, exc) from None
        try:
            body = response.json()
            metadata: Json = body["metadata"]
            if not isinstance(metadata, dict) or "api_version" not in metadata:
                raise ValueError("not LXD")
        except (ValueError, KeyError, TypeError):
            raise base.DriverConnectionError(
                f"{self.address} answered HTTPS but is not LXD "
                f"(HTTP {response.status_code} to GET /1.0)"
            ) from None
        return metadata

    # -- requests -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _mapped(self, what: str = "") -> Iterator[None]:
        """Turn pylxd/requests exceptions into the driver error tree."""
        try:
            yield
        except base.DriverError:
            raise
        except lxd_exceptions.LXDAPIException as exc:
            raise self.api_error(exc, what) from None
        except lxd_exceptions.ClientConnectionFailed as exc:
            raise unreachable(self.endpoint, exc) from None
        except requests.exceptions.RequestException as exc:
            raise unreachable(self.endpoint, exc) from None

    def api_error(self, exc: lxd_exceptions.LXDAPIException, what: str = "") -> base.DriverError:
        """LXD's refusal as a DriverError subclass, LXD's own words in the message."""
        message = lxd_message(exc)
        status = getattr(exc.response, "status_code", 0)
        return self.error_for(message, status, what)

    def error_for(self, message: str, status: int = 0, what: str = "") -> base.DriverError:
        """The DriverError subclass for an LXD error text and HTTP status."""
        prefix = f"LXD at {self.address}: " + (f"{what}: " if what else "")
        text = prefix + message
        if status == 403 or "not authorized" in message.lower() or "restricted" in message.lower():
            return base.DriverAuthError(text, host_message=message)
        if status == 404 or message.lower().endswith("not found"):
            return base.DriverNotFoundError(text, host_message=message)
        if "is not supported on this server" in message:
            return base.DriverUnsupportedError(text, host_message=message)
        return base.DriverError(text, host_message=message)

    def _node(self, path: str) -> ApiNode:
        node = self.pylxd.api
        for part in path.strip("/").split("/"):
            if part and part != "1.0":
                node = node[part]
        return node

    def request(
        self,
        method: str,
        path: str,
        *,
        project: str | None = None,
        params: Mapping[str, str] | None = None,
        json: object = None,
        what: str = "",
        timeout: float | None = None,
    ) -> Json:
        """One API call; returns the whole LXD answer (``type``, ``metadata``, ``operation``)."""
        query = dict(params or {})
        if project:
            query["project"] = project
        kwargs: dict[str, Any] = {"params": query, "timeout": timeout or self.timeout}
        if json is not None:
            kwargs["json"] = json
        with self._mapped(what):
            node = self._node(path)
            verbs = {
                "GET": node.get,
                "POST": node.post,
                "PUT": node.put,
                "PATCH": node.patch,
                "DELETE": node.delete,
            }
            body: Json = verbs[method.upper()](**kwargs).json()
        return body

    def get(self, path: str, **kwargs: Any) -> Any:
        """The ``metadata`` of a GET."""
        return self.request("GET", path, **kwargs).get("metadata")

    def wait(self, answer: Mapping[str, Any], *, timeout: float, what: str = "") -> Json:
        """Wait (bounded) for the operation an async answer started; its final metadata.

        A failed operation raises with LXD's ``err``; one still running after ``timeout``
        raises a DriverError saying so (the operation may still finish on the host).
        """
        if answer.get("type") != "async":
            return dict(answer.get("metadata") or {})
        op = answer.get("metadata") or {}
        op_id = str(op.get("id") or str(answer.get("operation", "")).rsplit("/", 1)[-1])
        deadline = time.monotonic() + timeout
        while True:
            left = max(deadline - time.monotonic(), 0.0)
            try:
                body = self.request(
                    "GET",
                    f"/1.0/operations/{op_id}/wait",
                    params={"timeout": str(max(int(left), 1))},
                    timeout=left + CONNECT_TIMEOUT_S + 5,
                    what=what,
                )
            except base.DriverNotFoundError:
                return {}  # already gone: LXD forgets finished operations after a while
            meta = body.get("metadata") or {}
            status = meta.get("status")
            if status == "Success":
                return dict(meta)
            if status in ("Failure", "Cancelled"):
                raise self.error_for(
                    str(meta.get("err") or status), int(meta.get("status_code") or 0), what
                )
            if time.monotonic() >= deadline:
                raise base.DriverError(
                    f"LXD at {self.address}: {what or 'operation'} did not finish within "
                    f"{timeout:g} s (operation {op_id} is {status})"
                )

    def call(self, method: str, path: str, *, timeout: float | None = None, **kwargs: Any) -> Json:
        """A request followed by its operation's completion (bounded)."""
        answer = self.request(method, path, **kwargs)
        return self.wait(answer, timeout=timeout or self.timeout, what=kwargs.get("what", ""))
