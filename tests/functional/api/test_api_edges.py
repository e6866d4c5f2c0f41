"""The API's edges: what a body must be, how big it may be, what metrics and logs record of
made-up requests, what the anonymous URLs tell, where the documentation comes from, and the
modes of the files the server keeps."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import stat
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import uvicorn
from api_support import ApiEnv, api, free_port, make_services, make_tokens

from vmhost.api import access_log, limits
from vmhost.api.app import create_app
from vmhost.drivers import fake
from vmhost.service import Services
from vmhost.settings import Settings

__all__ = ["api"]

SEND_JSON = "send JSON (Content-Type: application/json)"


# --- bodies ---------------------------------------------------------------------------------


def test_a_body_that_is_not_json_is_told_to_send_json(api: ApiEnv) -> None:
    host = {"type": "fake", "power_address": "fake://numa", "name": "h1"}
    for kwargs in (
        {"data": host},  # what curl -d and HTML forms send
        {"content": b"name=x", "headers": {"content-type": "text/plain"}},
        {"content": b'{"type": "fake"}', "headers": {"content-type": ""}},
    ):
        headers = {**api.admin, **kwargs.pop("headers", {})}  # type: ignore[dict-item]
        response = api.client.post("/api/v1/vm-hosts", headers=headers, **kwargs)
        assert response.status_code == 422, response.text
        body = response.json()
        assert body["message"].startswith(f"body: {SEND_JSON}"), body
        assert body["fields"] == {"body": [body["message"].removeprefix("body: ")]}
    assert (
        "not application/x-www-form-urlencoded"
        in api.client.post("/api/v1/zones", data={"name": "z"}, headers=api.admin).json()[
            "message"
        ]
    )
    assert api.get("/api/v1/vm-hosts").json() == []
    # JSON with parameters, and a JSON media type, are JSON.
    response = api.client.post(
        "/api/v1/zones",
        content=b'{"name": "z1"}',
        headers={**api.admin, "content-type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201, response.text
    # Outside the REST API (the MAAS API and the web pages take forms) nothing is refused so.
    response = api.client.post("/MAAS/api/2.0/machines/", data={"op": "allocate"})
    assert SEND_JSON not in response.text


def _asgi_post(app: Any, path: str, headers: list[tuple[bytes, bytes]], total: int) -> Any:
    """POST a ``total``-byte body to the app in 64 KiB messages; the status and how many
    bytes the app took before answering."""
    chunk = b"x" * 65536
    taken = 0
    answer: dict[str, Any] = {}

    async def receive() -> dict[str, Any]:
        nonlocal taken
        if taken >= total:
            return {"type": "http.disconnect"}
        taken += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": taken < total}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] = answer.get("body", b"") + message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    asyncio.run(app(scope, receive, send))
    return answer["status"], taken, answer.get("body", b"")


def test_request_bodies_are_bounded_before_they_are_read(api: ApiEnv) -> None:
    size = 30 * 1000 * 1000
    auth = (b"authorization", f"Bearer {api.admin_token}".encode())
    json_type = (b"content-type", b"application/json")
    # With a Content-Length: refused at the first read.
    length = (b"content-length", str(size).encode())
    status, taken, body = _asgi_post(api.app, "/api/v1/vm-hosts", [auth, json_type, length], size)
    assert status == 413, body
    assert taken == 0
    assert json.loads(body)["message"] == (
        f"the request body is larger than {limits.MAX_BODY_BYTES} bytes (2 MiB)"
    )
    # Chunked: refused as soon as the limit is passed, never read whole.
    chunked = (b"transfer-encoding", b"chunked")
    status, taken, body = _asgi_post(api.app, "/api/v1/vm-hosts", [auth, json_type, chunked], size)
    assert status == 413, body
    assert taken <= limits.MAX_BODY_BYTES + 65536
    assert json.loads(body)["message"].startswith("the request body is larger than")
    # The OpenAPI document says so for every operation that takes a body.
    doc = api.client.get("/api/openapi.json").json()
    assert "413" in doc["paths"]["/api/v1/vm-hosts"]["post"]["responses"]
    assert "413" in doc["paths"]["/api/v1/vms"]["post"]["responses"]
    assert "413" not in doc["paths"]["/api/v1/vm-hosts"]["get"]["responses"]
    # The limit holds outside the REST API too (MAAS forms, web pages).
    form = (b"content-type", b"application/x-www-form-urlencoded")
    status, taken, _ = _asgi_post(api.app, "/MAAS/api/2.0/machines/", [form, chunked], size)
    assert taken <= limits.MAX_BODY_BYTES + 65536
    status, taken, _ = _asgi_post(api.app, "/MAAS/api/2.0/machines/", [form, length], size)
    assert (status, taken) == (413, 0)
    assert api.get("/api/v1/vm-hosts").json() == []


def test_long_lists_are_refused_and_not_echoed(api: ApiEnv) -> None:
    tags = [f"tag{i}" for i in range(1025)]
    response = api.post(
        "/api/v1/vm-hosts", {"type": "fake", "power_address": "fake://numa", "tags": tags}
    )
    assert response.status_code == 422, response.text[:300]
    assert "at most 1024 items" in response.json()["message"]
    assert len(response.content) < 2000 and "tag1000" not in response.text
    response = api.post("/api/v1/vms/candidates", {"tags": tags})
    assert response.status_code == 422 and "tag1000" not in response.text
    response = api.post(
        "/api/v1/vm-hosts",
        {"type": "fake", "power_address": "fake://numa", "tags": ",".join(tags * 10)},
    )
    assert response.status_code == 422 and "tag1000" not in response.text
    started = time.monotonic()
    many = [f"t{i}" for i in range(300_000)]
    response = api.post(
        "/api/v1/vm-hosts", {"type": "fake", "power_address": "fake://numa", "tags": many}
    )
    assert response.status_code == 413 and "t299999" not in response.text
    assert time.monotonic() - started < 30  # not validated item by item (that took minutes)
    assert api.get("/api/v1/vm-hosts").json() == []


# --- metrics --------------------------------------------------------------------------------


def test_made_up_methods_and_paths_add_no_metric_series(api: ApiEnv) -> None:
    def series() -> set[str]:
        text = api.get("/api/v1/metrics").text
        return {
            line.rsplit(" ", 1)[0]
            for line in text.splitlines()
            if line.startswith("vmhost_http_request")
        }

    def made_up(i: int) -> None:
        api.client.request(f"MADEUP{i}", "/api/v1/health")
        api.client.request(f"MADEUP{i}", f"/nowhere/{i}")
        api.client.request(f"X{i}", f"/api/v1/nowhere/{i}", headers=api.admin)
        api.client.get(f"/api/v1/nowhere/{i}")
        api.client.get(f"/nowhere/{i}/deeper")

    series()  # the scrape itself is counted from now on
    made_up(0)  # every label a made-up request can reach
    before = series()
    for i in range(1, 40):
        made_up(i)
    after = series()
    assert after == before
    text = "\n".join(after)
    assert "MADEUP" not in text and "nowhere" not in text
    assert 'method="other",route="/api/v1/health",status="405"' in text
    assert 'method="other",route="unmatched",status="404"' in text


# --- credentials in logs and anonymous answers -----------------------------------------------


@contextlib.contextmanager
def _served_with_access_log(services: Services) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(
        create_app(services),
        host="127.0.0.1",
        port=port,
        log_config=None,
        log_level="info",
        access_log=True,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_credentials_in_query_strings_never_reach_the_access_log(tmp_path: Any) -> None:
    fake.reset()
    services = make_services(str(tmp_path / "data"))
    admin, _, _ = make_tokens(services)
    lines = _Lines()
    logger = logging.getLogger(access_log.ACCESS_LOGGER)
    logger.addHandler(lines)
    try:
        with _served_with_access_log(services) as url:
            answer = httpx.get(f"{url}/api/v1/whoami", params={"token": admin})
            assert answer.status_code == 401
            httpx.get(f"{url}/api/v1/health?x=1&access_token={admin}&oauth_signature=%26s3cr3t")
            httpx.get(f"{url}/api/v1/vms?host=h1&state=ready")
    finally:
        logger.removeHandler(lines)
        services.close()
    logged = "\n".join(lines.lines)
    assert "/api/v1/whoami?token=REDACTED" in logged, logged
    assert "/api/v1/health?x=1&access_token=REDACTED&oauth_signature=REDACTED" in logged
    assert "/api/v1/vms?host=h1&state=ready" in logged  # other parameters are kept
    assert admin not in logged and "s3cr3t" not in logged


def test_redact_names_every_kind_of_secret() -> None:
    for name in ("token", "TOKEN", "api_key", "apikey", "password", "power_pass", "secret"):
        assert access_log.redact(f"/p?{name}=v&a=b") == f"/p?{name}=REDACTED&a=b"
    assert access_log.redact("/p?oauth_token=a&oauth_signature=b") == (
        "/p?oauth_token=REDACTED&oauth_signature=REDACTED"
    )
    assert access_log.redact("/p?op=allocate&name=x") == "/p?op=allocate&name=x"
    assert access_log.redact("/p") == "/p"


def test_certificate_url_is_the_same_404_for_no_host_and_another_type(api: ApiEnv) -> None:
    api.add_host("h1")  # a fake host: no client certificate
    answers = {name: api.client.get(f"/vmhost-certificate/{name}") for name in ("h1", "ghost")}
    assert {a.status_code for a in answers.values()} == {404}
    bodies = {name: a.text.replace(name, "NAME") for name, a in answers.items()}
    assert bodies["h1"] == bodies["ghost"], bodies


def test_data_directory_and_database_files_are_private(tmp_path: Any) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    old = os.umask(0o022)
    try:
        services = Services.create(Settings(data_dir=str(data)))
        services.zones.create("z1", "")
        modes = {
            p.name: stat.S_IMODE(p.stat().st_mode)
            for p in data.iterdir()
            if p.name.startswith("vmhost.db")
        }
        services.close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert {"vmhost.db", "vmhost.db-wal", "vmhost.db-shm"} <= set(modes), modes
    assert set(modes.values()) == {0o600}, modes
    # An existing database with loose modes is tightened at the next start.
    (data / "vmhost.db").chmod(0o644)
    data.chmod(0o755)
    Services.create(Settings(data_dir=str(data))).close()
    assert stat.S_IMODE((data / "vmhost.db").stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700


# --- documentation ---------------------------------------------------------------------------


def test_api_documentation_is_public_and_served_by_vmhost(api: ApiEnv) -> None:
    response = api.client.get("/api/docs")
    assert response.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert len(assets) == 3 and all(a.startswith("/api/docs/assets/") for a in assets), assets
    for asset in assets:
        assert api.client.get(asset).status_code == 200, asset
    assert "https://" not in response.text and "http://" not in response.text
    assert api.client.get("/api/openapi.json").status_code == 200
    # ReDoc's page would load a logo from the internet: /api/redoc leads to /api/docs.
    redoc = api.client.get("/api/redoc", follow_redirects=False)
    assert redoc.status_code == 308 and redoc.headers["location"] == "/api/docs"
    # One rule: the documentation is public, everything else under /api/ needs a token.
    assert api.client.get("/api/v1/vm-hosts").status_code == 401
    assert api.client.get("/api/docs-not").status_code == 401
    assert api.client.get("/api/docs/assets/../../v1/vm-hosts").status_code in (401, 404)


def test_add_host_documentation_says_what_the_code_does(api: ApiEnv) -> None:
    doc = api.client.get("/api/openapi.json").json()
    text = doc["paths"]["/api/v1/vm-hosts"]["post"]["description"]
    assert "still added" not in text
    assert "refused with 503 and nothing is kept" in text
    assert "status ``untrusted``" in text
    response = api.post("/api/v1/vm-hosts", {"type": "fake", "power_address": "fake://nosuch"})
    assert response.status_code == 503
    assert api.get("/api/v1/vm-hosts").json() == []
    response = api.post(
        "/api/v1/vm-hosts", {"type": "lxd", "power_address": "https://127.0.0.1:9"}
    )
    assert response.status_code == 201 and response.json()["status"] == "untrusted"
