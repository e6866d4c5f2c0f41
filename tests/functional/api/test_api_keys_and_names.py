"""Keys and names through the API: an id is ASCII digits only (issue 12 item 3) and names of
hosts, zones, pools and spaces are unique regardless of case (item 14)."""

from __future__ import annotations

from typing import Any

import pytest
from api_support import ApiEnv

# superscript three, Arabic-Indic one, fullwidth one: digits to str.isdigit, not ids
NOT_IDS = ("\u00b3", "\u0661", "\uff11", "\u00b2\u00b3")


def _refused(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = dict(response.json())
    assert set(body) == {"message", "fields", "reasons"}
    if field is not None:
        assert list(body["fields"]) == [field], body
    return body


@pytest.mark.parametrize("collection", ["zones", "pools", "vm-hosts", "tokens"])
@pytest.mark.parametrize("key", NOT_IDS)
def test_a_key_of_unicode_digits_is_a_name_not_an_id(
    api: ApiEnv, collection: str, key: str
) -> None:
    """Never a 500, and never the object whose id the digits spell: a name nothing has."""
    api.add_host("h1")
    base = f"/api/v1/{collection}"
    before = api.get(base).json()
    if collection != "tokens":  # tokens are listed, created and revoked only
        assert "does not exist" in _refused(api.get(f"{base}/{key}"), 404)["message"]
    if collection in ("zones", "pools"):
        _refused(api.put(f"{base}/{key}", {"description": "x"}), 404)
    _refused(api.delete(f"{base}/{key}"), 404)
    assert api.get(base).json() == before


def test_unicode_digits_in_names_given_in_bodies_are_refused(api: ApiEnv) -> None:
    host = api.add_host("h1")
    for key in NOT_IDS:
        _refused(api.put(f"/api/v1/vm-hosts/{host['id']}", {"zone": key}), 400, "zone")
        _refused(api.post("/api/v1/zones", {"name": key}), 400, "name")
        _refused(api.post("/api/v1/spaces", {"space": "db", "network": "br0", "host": key}), 404)
    assert api.host(host["id"]) == host


def test_host_names_are_unique_regardless_of_case(api: ApiEnv) -> None:
    first = api.add_host("local-lxd")
    body = _refused(
        api.post(
            "/api/v1/vm-hosts",
            {"type": "fake", "power_address": "fake://small", "name": "LOCAL-LXD"},
        ),
        409,
        "name",
    )
    assert "'local-lxd'" in body["message"] and "regardless of case" in body["message"]
    other = api.add_host("other", "fake://small")
    _refused(api.put(f"/api/v1/vm-hosts/{other['id']}", {"name": "Local-Lxd"}), 409, "name")
    assert [h["name"] for h in api.get("/api/v1/vm-hosts").json()] == ["local-lxd", "other"]
    renamed = api.put(f"/api/v1/vm-hosts/{first['id']}", {"name": "LOCAL-LXD"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "LOCAL-LXD"


@pytest.mark.parametrize("collection", ["zones", "pools"])
def test_zone_and_pool_names_are_unique_regardless_of_case(api: ApiEnv, collection: str) -> None:
    base = f"/api/v1/{collection}"
    item = api.post(base, {"name": "rack1"}).json()
    _refused(api.post(base, {"name": "RACK1"}), 409, "name")
    _refused(api.post(base, {"name": "Default"}), 409, "name")
    _refused(api.put(f"{base}/{item['id']}", {"name": "DEFAULT"}), 409, "name")
    assert [i["name"] for i in api.get(base).json()] == ["default", "rack1"]


def test_space_names_are_unique_regardless_of_case(api: ApiEnv) -> None:
    assert api.post("/api/v1/spaces", {"space": "db", "network": "br0"}).status_code == 201
    body = _refused(api.post("/api/v1/spaces", {"space": "DB", "network": "br1"}), 409, "space")
    assert "as 'db'" in body["message"]
    assert [m["space"] for m in api.get("/api/v1/spaces").json()] == ["db"]
