"""The MAAS API in-process over fresh services (fake hosts only), with MAAS API keys and the
``Authorization: OAuth`` headers Juju's gomaasapi and python-libmaas send.

Test modules import what they use: ``from maas_support import maas`` (the fixture) and the
helpers. The fixture runs on SQLite and on the real PostgreSQL server of the session.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Iterator
from typing import Any

import fastapi
import httpx
import pytest
from api_support import LxdStub, fake_only, lxd_stub
from fastapi.testclient import TestClient
from support.maas_auth import go_header, libmaas_header

from vmhost.api.app import create_app
from vmhost.drivers import fake
from vmhost.maas import PREFIX
from vmhost.service import Services
from vmhost.settings import Settings


@dataclasses.dataclass
class MaasEnv:
    """The app, its services, and MAAS keys of an admin and a read-only token."""

    services: Services
    app: fastapi.FastAPI
    client: TestClient
    admin_key: str
    reader_key: str
    lxd: LxdStub

    def url(self, path: str) -> str:
        """The full path of ``path`` under the MAAS API."""
        return f"{PREFIX}/{path.lstrip('/')}"

    def call(
        self, method: str, path: str, key: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        """A request signed as gomaasapi signs (with ``key``, the admin's by default)."""
        headers = dict(kwargs.pop("headers", {}))
        headers.setdefault("Authorization", go_header(key or self.admin_key))
        return self.client.request(method, self.url(path), headers=headers, **kwargs)

    def get(self, path: str, params: Any = None, key: str | None = None) -> httpx.Response:
        """GET with the query ``params`` (a list of pairs repeats a name)."""
        return self.call("GET", path, key, params=params)

    def post(self, path: str, data: Any = None, key: str | None = None) -> httpx.Response:
        """POST an urlencoded form (gomaasapi's way); a list of pairs repeats a name."""
        if isinstance(data, list):
            grouped: dict[str, list[str]] = {}
            for name, value in data:
                grouped.setdefault(name, []).append(value)
            data = grouped
        return self.call("POST", path, key, data=data)

    def post_multipart(
        self, path: str, data: Any = None, key: str | None = None
    ) -> httpx.Response:
        """POST a multipart form (python-libmaas's way, even with no field), signed as
        python-libmaas signs."""
        fields = list(data.items() if isinstance(data, dict) else data or [])
        return self._multipart(path, fields, key)

    def _multipart(
        self, path: str, fields: list[tuple[str, str]], key: str | None
    ) -> httpx.Response:
        boundary = secrets.token_hex(8)
        head = 'Content-Disposition: form-data; name="{}"\r\n\r\n'
        parts = [f"--{boundary}\r\n{head.format(k)}{v}\r\n".encode() for k, v in fields]
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Authorization": libmaas_header(key or self.admin_key),
        }
        return self.client.request("POST", self.url(path), content=body, headers=headers)


def _services(data_dir: str, database_url: str, stub: LxdStub) -> Services:
    return Services.create(
        Settings(data_dir=data_dir, database_url=database_url),
        driver_factory=fake_only,
        fetch_server_certificate=stub.fetch_server_certificate,
        trust=stub.trust,
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def maas(
    request: pytest.FixtureRequest, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[MaasEnv]:
    """The app in-process over fresh services, on SQLite and on PostgreSQL."""
    fake.reset()
    stub = lxd_stub(monkeypatch)
    with _database(request) as url:
        services = _services(str(tmp_path / "data"), url, stub)
        try:
            admin, admin_key = services.tokens.create("juju", "admin")
            reader, reader_key = services.tokens.create("viewer", "readonly")
            app = create_app(services)
            with TestClient(app, raise_server_exceptions=False) as client:
                yield MaasEnv(
                    services,
                    app,
                    client,
                    f"{admin.name}:{admin.id}:{admin_key}",
                    f"{reader.name}:{reader.id}:{reader_key}",
                    stub,
                )
        finally:
            services.close()
            fake.reset()


class _NoDatabase:
    def __enter__(self) -> str:
        return ""

    def __exit__(self, *_: object) -> None:
        return None


def _database(request: pytest.FixtureRequest) -> Any:
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres_server")
        return server.fresh_database(request.node.name[:40])
    return _NoDatabase()
