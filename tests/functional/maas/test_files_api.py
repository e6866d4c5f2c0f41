"""``files/`` as Juju uses it (gomaasapi's wire: ``POST files/?op=`` multipart, a 404 for a
missing provider state, list by prefix, ``op=get`` raw bytes, delete), on SQLite and
PostgreSQL; bad names are 400s that store nothing."""

from __future__ import annotations

import base64
import re
import secrets
from typing import Any

import httpx
import pytest
from maas_support import MaasEnv, go_header

UUID = "3f2a9c9e-1d5b-4b83-9a53-0d64f1c2e8a7"
STATE = f"{UUID}-provider-state"


def _upload(
    env: MaasEnv, filename: str | None, content: bytes | None, key: str | None = None
) -> httpx.Response:
    """POST files/?op= as gomaasapi's AddFile does: multipart, field filename, part file."""
    boundary = secrets.token_hex(8)
    parts = []
    if filename is not None:
        disposition = 'Content-Disposition: form-data; name="filename"'
        parts.append(f"--{boundary}\r\n{disposition}\r\n\r\n{filename}\r\n".encode())
    if content is not None:
        parts.append(
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Authorization": go_header(key or env.admin_key),
    }
    return env.client.request("POST", env.url("files/?op="), content=body, headers=headers)


def _names(env: MaasEnv, **params: Any) -> list[str]:
    answer = env.get("files/", params)
    assert answer.status_code == 200, answer.text
    return [f["filename"] for f in answer.json()]


# url.ParseRequestURI (Go): an absolute path, or an absolute URL; no fragment
_REQUEST_URI = re.compile(r"^/[^\s#]*$")


def test_juju_provider_state_round_trip(maas: MaasEnv) -> None:
    missing = maas.get(f"files/{STATE}/")
    assert missing.status_code == 404  # Juju: not bootstrapped, fine
    content = b"state-instances:\n- abc123\n" + bytes(range(256))

    added = _upload(maas, STATE, content)
    assert added.status_code == 201, added.text
    one = maas.get(f"files/{STATE}/").json()
    assert one["filename"] == STATE
    assert base64.b64decode(one["content"]) == content
    assert one["resource_uri"] == f"/MAAS/api/2.0/files/{STATE}/"
    assert _REQUEST_URI.match(one["anon_resource_uri"]), one["anon_resource_uri"]
    raw = maas.get("files/", {"op": "get", "filename": STATE})
    assert raw.status_code == 200 and raw.content == content

    _upload(maas, f"{UUID}-tools", b"x")
    _upload(maas, "other-model-provider-state", b"y")
    assert _names(maas) == [
        f"{UUID}-provider-state",
        f"{UUID}-tools",
        "other-model-provider-state",
    ]
    assert _names(maas, prefix=f"{UUID}-") == [STATE, f"{UUID}-tools"]
    assert _names(maas, prefix="%") == []  # a prefix is not a pattern
    assert _names(maas, filename=STATE) == [STATE]
    listed = maas.get("files/").json()[0]
    assert "content" not in listed and _REQUEST_URI.match(listed["anon_resource_uri"])

    _upload(maas, STATE, b"replaced")
    assert base64.b64decode(maas.get(f"files/{STATE}/").json()["content"]) == b"replaced"

    for name in _names(maas, prefix=f"{UUID}-"):  # Storage().RemoveAll()
        assert maas.call("DELETE", f"files/{name}/").status_code == 204
    assert _names(maas) == ["other-model-provider-state"]
    assert maas.get(f"files/{STATE}/").status_code == 404
    assert maas.get("files/", {"op": "get", "filename": STATE}).status_code == 404
    assert maas.call("DELETE", f"files/{STATE}/").status_code == 404


@pytest.mark.parametrize("name", ["a/b", "..", "x..y", "", "a\\b", "tab\there"])
def test_bad_names_are_400_and_store_nothing(maas: MaasEnv, name: str) -> None:
    answer = _upload(maas, name, b"content")
    assert answer.status_code == 400, answer.text
    assert "filename" in answer.text
    assert _names(maas) == []


@pytest.mark.parametrize("path", ["files/a%2Fb/", "files/..%2Fx/", "files/a/b/", "files/%2E%2E/"])
def test_bad_names_in_paths_are_400(maas: MaasEnv, path: str) -> None:
    _upload(maas, "keep", b"1")
    for method in ("GET", "DELETE"):
        answer = maas.call(method, path)
        assert answer.status_code == 400, (method, path, answer.status_code, answer.text)
        assert "filename" in answer.text
    assert _names(maas) == ["keep"]
    assert maas.get("files/", {"op": "get", "filename": "../keep"}).status_code == 400


def test_upload_needs_the_fields_an_admin_and_a_key(maas: MaasEnv) -> None:
    missing_file = _upload(maas, "f", None)
    assert missing_file.status_code == 400 and "file" in missing_file.text
    missing_name = _upload(maas, None, b"x")
    assert missing_name.status_code == 400 and "filename" in missing_name.text
    read_only = _upload(maas, "f", b"x", key=maas.reader_key)
    assert read_only.status_code == 403
    unsigned = maas.client.post(
        maas.url("files/?op="), files={"file": b"x"}, data={"filename": "f"}
    )
    assert unsigned.status_code == 401
    assert maas.get("files/", {"op": "get"}).status_code == 400
    assert maas.get("files/", {"op": "nope"}).status_code == 400
    assert _names(maas) == []
    _upload(maas, "f", b"x")
    assert maas.call("DELETE", "files/f/", key=maas.reader_key).status_code == 403
    assert _names(maas) == ["f"]
