"""Fixtures and helpers for the API and CLI tests: a fresh SQLite database, fake hosts,
tokens, the app in-process (TestClient) or served by uvicorn on 127.0.0.1. Test modules import
the fixtures they use (``from api_support import api``).

Drivers other than the fake one are refused here, so no test ever reaches a real address.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import fastapi
import pytest
import uvicorn
from fastapi.testclient import TestClient

from vmhost import model, pki
from vmhost.api.app import create_app
from vmhost.drivers import base, fake, registry
from vmhost.service import Services
from vmhost.settings import Settings


def fake_only(connection: base.HostConnection) -> base.HostDriver:
    """The driver factory of these tests: fake hosts only. An LXD host stands for one that
    answers but does not trust vmhost's certificate yet; anything else is unreachable."""
    if connection.type is model.HostType.FAKE:
        return registry.driver_for(connection)
    if connection.type is model.HostType.LXD:
        raise base.DriverAuthError(
            f"LXD at {connection.address} does not trust vmhost's certificate (test stand-in)"
        )
    raise base.DriverConnectionError(
        f"tests do not contact real {connection.type.value} hosts ({connection.address})"
    )


@dataclasses.dataclass
class ApiEnv:
    """The app over fresh services, with an admin, a read-only and an expired token."""

    services: Services
    app: fastapi.FastAPI
    client: TestClient
    admin_token: str
    reader_token: str
    expired_token: str
    lxd: LxdStub

    @property
    def admin(self) -> dict[str, str]:
        """Headers of the admin token."""
        return {"Authorization": f"Bearer {self.admin_token}"}

    @property
    def reader(self) -> dict[str, str]:
        """Headers of the read-only token."""
        return {"Authorization": f"Bearer {self.reader_token}"}

    def get(self, path: str, **kwargs: Any) -> Any:
        """GET as admin."""
        return self.client.get(path, headers=self.admin, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        """POST as admin."""
        return self.client.post(path, json=json, headers=self.admin, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        """PUT as admin."""
        return self.client.put(path, json=json, headers=self.admin, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        """DELETE as admin."""
        return self.client.delete(path, headers=self.admin, **kwargs)

    def add_host(self, name: str, address: str = "fake://numa", **fields: Any) -> dict[str, Any]:
        """Add a fake host through the API; its JSON."""
        response = self.post(
            "/api/v1/vm-hosts", {"type": "fake", "power_address": address, "name": name, **fields}
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    def host(self, key: int | str) -> dict[str, Any]:
        """A host's JSON."""
        response = self.get(f"/api/v1/vm-hosts/{key}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def compose(self, host: int | str, **request: Any) -> dict[str, Any]:
        """Compose on a host; the result JSON."""
        response = self.post(f"/api/v1/vm-hosts/{host}/compose", request)
        assert response.status_code == 200, response.text
        return dict(response.json())


@dataclasses.dataclass
class LxdStub:
    """Stands in for LXD's first contact: the server certificate vmhost pins, and trust calls
    (recorded; their secrets are checked never to be stored)."""

    server_pem: str
    trusted: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)

    def fetch_server_certificate(self, connection: base.HostConnection) -> tuple[str, str]:
        if connection.type is not model.HostType.LXD:
            return "", ""
        return self.server_pem, pki.fingerprint(self.server_pem)

    def trust(
        self, connection: base.HostConnection, *, token: str = "", password: str = ""
    ) -> str:
        self.trusted.append((connection.name, token, password))
        return pki.fingerprint(connection.client_cert_pem)


_SERVER_PAIR: list[pki.KeyPair] = []


def _server_pair() -> pki.KeyPair:
    if not _SERVER_PAIR:
        _SERVER_PAIR.append(pki.generate("lxd-server", key_size=2048))
    return _SERVER_PAIR[0]


def lxd_stub(monkeypatch: pytest.MonkeyPatch) -> LxdStub:
    """Replace the LXD first-contact calls (no test reaches a real address)."""
    stub = LxdStub(_server_pair().certificate_pem)
    monkeypatch.setattr(registry, "fetch_server_certificate", stub.fetch_server_certificate)
    monkeypatch.setattr(registry, "trust", stub.trust)
    return stub


def make_services(data_dir: str, stub: LxdStub | None = None) -> Services:
    """Fresh services on SQLite in ``data_dir``, fake hosts only, LXD first contact stubbed."""
    stub = stub or LxdStub(_server_pair().certificate_pem)
    return Services.create(
        Settings(data_dir=data_dir),
        driver_factory=fake_only,
        fetch_server_certificate=stub.fetch_server_certificate,
        trust=stub.trust,
    )


def make_tokens(services: Services) -> tuple[str, str, str]:
    """An admin, a read-only and an already expired token."""
    _, admin = services.tokens.create("test-admin", "admin")
    _, reader = services.tokens.create("test-reader", "readonly")
    _, expired = services.tokens.create("test-expired", "admin", expires_in_s=0.001)
    time.sleep(0.01)
    return admin, reader, expired


@pytest.fixture
def api(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiEnv]:
    """The API in-process over a fresh database."""
    fake.reset()
    stub = lxd_stub(monkeypatch)
    services = make_services(str(tmp_path / "data"), stub)
    admin, reader, expired = make_tokens(services)
    app = create_app(services)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield ApiEnv(services, app, client, admin, reader, expired, stub)
    services.close()
    fake.reset()


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclasses.dataclass
class LiveServer:
    """The app served by uvicorn on 127.0.0.1 in a thread."""

    url: str
    services: Services
    admin_token: str
    reader_token: str


@pytest.fixture
def live_server(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    """uvicorn on a free loopback port, stopped after the test."""
    fake.reset()
    lxd_stub(monkeypatch)
    services = make_services(str(tmp_path / "data"))
    admin, reader, _ = make_tokens(services)
    port = free_port()
    config = uvicorn.Config(
        create_app(services), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", services, admin, reader)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        services.close()
        fake.reset()
