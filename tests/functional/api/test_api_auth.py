"""Authentication and roles: every endpoint but health and the certificate URL needs a token;
read-only tokens read, admin tokens change."""

from __future__ import annotations

import re

import pytest
from api_support import ApiEnv

PUBLIC = {("GET", "/api/v1/health"), ("GET", "/vmhost-certificate/{name}")}
READ_ONLY_POSTS = {("POST", "/api/v1/vms/candidates"), ("POST", "/api/v1/vms/idle")}
ADMIN_GETS = {("GET", "/api/v1/vm-hosts/{host}/parameters"), ("GET", "/api/v1/tokens")}


def _routes(env: ApiEnv) -> list[tuple[str, str]]:
    """Every operation in the OpenAPI document."""
    paths = env.app.openapi()["paths"]
    return [(method.upper(), path) for path, ops in paths.items() for method in ops]


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_health_needs_no_token(api: ApiEnv) -> None:
    response = api.client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_openapi_document_is_public_and_declares_bearer(api: ApiEnv) -> None:
    doc = api.client.get("/api/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert "HTTPBearer" in doc["components"]["securitySchemes"]
    assert api.client.get("/api/docs").status_code == 200


def test_every_api_endpoint_but_public_ones_needs_a_token(api: ApiEnv) -> None:
    routes = _routes(api)
    assert len(routes) > 40
    for method, path in routes:
        if (method, path) in PUBLIC:
            continue
        response = api.client.request(method, _concrete(path), json={})
        assert response.status_code == 401, (method, path, response.text)
        body = response.json()
        assert "Bearer" in body["message"]
        assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header",
    [
        "Bearer vmh_wrong",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "vmh_no_scheme",
        "Bearer " + "x" * 5000,
    ],
)
def test_wrong_tokens_get_401(api: ApiEnv, header: str) -> None:
    response = api.client.get("/api/v1/vm-hosts", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["message"]
    assert "vmh_wrong" not in response.text


def test_expired_token_gets_401_saying_so(api: ApiEnv) -> None:
    response = api.client.get(
        "/api/v1/vm-hosts", headers={"Authorization": f"Bearer {api.expired_token}"}
    )
    assert response.status_code == 401
    assert "expired" in response.json()["message"]


def test_revoked_token_stops_working_at_once(api: ApiEnv) -> None:
    created = api.post("/api/v1/tokens", {"name": "temp", "role": "readonly"}).json()
    headers = {"Authorization": f"Bearer {created['token']}"}
    assert api.client.get("/api/v1/vm-hosts", headers=headers).status_code == 200
    assert api.delete("/api/v1/tokens/temp").status_code == 200
    assert api.client.get("/api/v1/vm-hosts", headers=headers).status_code == 401


def test_malformed_body_without_token_is_still_401(api: ApiEnv) -> None:
    response = api.client.post(
        "/api/v1/vm-hosts", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 401


def test_read_only_token_gets_403_on_every_change(api: ApiEnv) -> None:
    host = api.add_host("h1")
    before = api.host(host["id"])
    checked = 0
    for method, path in _routes(api):
        if (method, path) in PUBLIC or (method, path) in READ_ONLY_POSTS:
            continue
        if method == "GET" and (method, path) not in ADMIN_GETS:
            continue
        response = api.client.request(method, _concrete(path), json={}, headers=api.reader)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["message"] == "This method is reserved for admin users."
        checked += 1
    assert checked > 20
    assert api.host(host["id"]) == before


def test_read_only_token_reads(api: ApiEnv) -> None:
    host = api.add_host("h1")
    for path in (
        "/api/v1/vm-hosts",
        f"/api/v1/vm-hosts/{host['id']}",
        "/api/v1/vm-hosts/h1/resources",
        "/api/v1/vm-hosts/h1/storage-pools",
        "/api/v1/vms",
        "/api/v1/zones",
        "/api/v1/pools",
        "/api/v1/spaces",
        "/api/v1/operations",
        "/api/v1/metrics",
        "/api/v1/whoami",
    ):
        assert api.client.get(path, headers=api.reader).status_code == 200, path
    candidates = api.client.post("/api/v1/vms/candidates", json={}, headers=api.reader)
    assert candidates.status_code == 200
    assert api.client.get("/api/v1/whoami", headers=api.reader).json() == {
        "name": "test-reader",
        "role": "readonly",
        "id": 2,
    }


def test_tokens_are_stored_hashed_and_never_listed(api: ApiEnv) -> None:
    listed = api.get("/api/v1/tokens")
    assert listed.status_code == 200
    names = {t["name"]: t for t in listed.json()}
    assert {"test-admin", "test-reader", "test-expired"} <= names.keys()
    assert names["test-expired"]["expired"] is True
    assert api.admin_token not in listed.text
    assert api.admin_token[:8] == names["test-admin"]["prefix"]
    # the database holds only the hash
    import sqlalchemy as sa

    from vmhost.store import tables

    with api.services.ctx.db.read() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.select(tables.tokens))]
    assert all(api.admin_token not in str(row) for row in rows)


def test_token_create_validates_and_answers_the_token_once(api: ApiEnv) -> None:
    created = api.post("/api/v1/tokens", {"name": "ci", "role": "admin", "expires_in_days": 1})
    assert created.status_code == 201
    body = created.json()
    assert body["token"].startswith("vmh_") and body["role"] == "admin"
    assert body["expires_at"] is not None
    duplicate = api.post("/api/v1/tokens", {"name": "ci", "role": "admin"})
    assert duplicate.status_code == 409
    bad_role = api.post("/api/v1/tokens", {"name": "x", "role": "root"})
    assert bad_role.status_code == 422 and "role" in bad_role.json()["fields"]
    bad_name = api.post("/api/v1/tokens", {"name": "no spaces please"})
    assert bad_name.status_code == 400 and "name" in bad_name.json()["fields"]
    assert api.delete("/api/v1/tokens/nope").json()["message"] == "token 'nope' does not exist"
