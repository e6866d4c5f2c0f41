"""Forms of the MAAS API (src/vmhost/maas/forms.py): urlencoded (gomaasapi) and multipart
(python-libmaas, even empty) bodies read alike, repeated fields as lists, uploaded files, the
``op`` rule (empty or missing = the restful verb), trailing slashes, and refusals as text."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import fastapi
import pytest
from fastapi.testclient import TestClient

from vmhost.maas.errors import MaasRouter
from vmhost.maas.forms import op_of, query_form, read_form


@pytest.fixture
def echo() -> Iterator[TestClient]:
    """An app whose route answers what it read."""
    router = MaasRouter(prefix="/MAAS/api/2.0")

    @router.post("/echo/")
    async def post(request: fastapi.Request) -> object:
        form = await read_form(request)
        return {
            "op": op_of(request),
            "names": form.names(),
            "machines": form.getlist("machines"),
            "comment": form.get("comment"),
            "missing": form.get("missing", "default"),
            "file": (form.file("file") or b"").decode(),
            "query": query_form(request).getlist("id"),
        }

    app = fastapi.FastAPI()
    app.include_router(router)
    with TestClient(app) as client:
        yield client


def _multipart(
    fields: list[tuple[str, str]], files: list[tuple[str, str, bytes]] = ()
) -> tuple[bytes, str]:  # type: ignore[assignment]
    """A multipart body as python-libmaas builds one (a part per field)."""
    boundary = secrets.token_hex(8)
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields
    ]
    parts += [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; filename="{n}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + b"\r\n"
        for k, n, content in files
    ]
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


FIELDS = [("machines", "abc123"), ("machines", "def456"), ("comment", "Released by Juju")]


def test_urlencoded_repeated_fields(echo: TestClient) -> None:
    response = echo.post(
        "/MAAS/api/2.0/echo/?op=release",
        data=dict(FIELDS[2:]) | {"machines": ["abc123", "def456"]},
    )  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["op"] == "release"
    assert answer["machines"] == ["abc123", "def456"]
    assert answer["comment"] == "Released by Juju"
    assert answer["missing"] == "default"
    assert answer["names"] == ["comment", "machines"]


def test_multipart_reads_as_urlencoded(echo: TestClient) -> None:
    body, content_type = _multipart(FIELDS)
    response = echo.post(
        "/MAAS/api/2.0/echo/?op=release", content=body, headers={"Content-Type": content_type}
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["machines"] == ["abc123", "def456"]
    assert answer["comment"] == "Released by Juju"
    assert answer["names"] == ["machines", "comment"]


def test_multipart_with_a_file(echo: TestClient) -> None:
    body, content_type = _multipart(
        [("filename", "uuid-provider-state")], [("file", "uuid-provider-state", b"state: 1\n")]
    )
    response = echo.post(
        "/MAAS/api/2.0/echo/?op=", content=body, headers={"Content-Type": content_type}
    )
    assert response.status_code == 200, response.text
    assert response.json()["file"] == "state: 1\n"
    assert response.json()["op"] == ""


@pytest.mark.parametrize(
    "path", ["/MAAS/api/2.0/echo/", "/MAAS/api/2.0/echo/?op=", "/MAAS/api/2.0/echo"]
)
def test_empty_bodies_and_empty_op(echo: TestClient, path: str) -> None:
    empty, content_type = _multipart([])
    for kwargs in ({}, {"content": empty, "headers": {"Content-Type": content_type}}):
        response = echo.post(path, **kwargs)  # type: ignore[arg-type]
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["op"] == ""
        assert answer["names"] == []
        assert answer["machines"] == []


def test_query_fields_repeat(echo: TestClient) -> None:
    response = echo.post("/MAAS/api/2.0/echo/?op=x&id=a&id=b")
    assert response.json()["query"] == ["a", "b"]


@pytest.mark.parametrize(
    ("content_type", "body", "words"),
    [
        ("application/json", b'{"machines": ["a"]}', "not application/json"),
        ("text/plain", b"machines=a", "not text/plain"),
        ("multipart/form-data; boundary=x", b"--y\r\nbroken", "malformed"),
    ],
)
def test_other_bodies_are_400_as_text(
    echo: TestClient, content_type: str, body: bytes, words: str
) -> None:
    response = echo.post(
        "/MAAS/api/2.0/echo/?op=release", content=body, headers={"Content-Type": content_type}
    )
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert words in response.text


def test_multipart_parts_in_base64_as_python_libmaas_sends_them(echo: TestClient) -> None:
    """python-libmaas encodes each field as a MIME part with Content-Transfer-Encoding
    base64 (and a trailing CRLF in the encoded text)."""
    import base64

    boundary = secrets.token_hex(8)
    parts = [
        f'--{boundary}\r\nContent-Type: text/plain; charset="utf-8"\r\nMIME-Version: 1.0\r\n'
        "Content-Transfer-Encoding: base64\r\n"
        f'Content-Disposition: form-data; name="{name}"\r\n\r\n'
        f"{base64.encodebytes(value.encode()).decode()}\r\n"
        for name, value in FIELDS
    ]
    body = ("".join(parts) + f"--{boundary}--\r\n").encode()
    response = echo.post(
        "/MAAS/api/2.0/echo/?op=release",
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["machines"] == ["abc123", "def456"]
    assert response.json()["comment"] == "Released by Juju"
