"""Zones, resource pools, spaces, metrics, and errors: one JSON shape, never a traceback."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from api_support import ApiEnv


def _error(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = dict(response.json())
    assert set(body) == {"message", "fields", "reasons"}
    if field is not None:
        assert field in body["fields"], body
    return body


@pytest.mark.parametrize(("collection", "what"), [("zones", "zone"), ("pools", "resource pool")])
def test_zones_and_pools_crud(api: ApiEnv, collection: str, what: str) -> None:
    base = f"/api/v1/{collection}"
    default = api.get(base).json()
    assert [z["name"] for z in default] == ["default"]
    created = api.post(base, {"name": "rack1", "description": "first rack"})
    assert created.status_code == 201
    item = created.json()
    assert item == {
        "id": item["id"],
        "name": "rack1",
        "description": "first rack",
        "hosts": 0,
        "resource_uri": f"{base}/{item['id']}",
    }
    assert api.get(f"{base}/rack1").json() == item
    assert api.get(f"{base}/{item['id']}").json() == item
    renamed = api.put(f"{base}/rack1", {"name": "rack2"}).json()
    assert renamed["name"] == "rack2" and renamed["description"] == "first rack"
    _error(api.post(base, {"name": "rack2"}), 409)
    _error(api.post(base, {"name": "bad name"}), 400, "name")
    _error(api.post(base, {"name": 5}), 422, "name")
    _error(api.post(base, {}), 422, "name")
    _error(api.put(f"{base}/default", {"name": "other"}), 400, "name")
    _error(api.delete(f"{base}/default"), 409)
    body = _error(api.get(f"{base}/nowhere"), 404)
    assert "nowhere" in body["message"] and what in body["message"]
    # a zone/pool holding a host cannot be deleted
    key = "zone" if collection == "zones" else "pool"
    api.add_host("h1", **{key: "rack2"})
    assert api.get(f"{base}/rack2").json()["hosts"] == 1
    before = api.get(base).json()
    body = _error(api.delete(f"{base}/rack2"), 409)
    assert "h1" not in body["message"] and "1 VM host" in body["message"]
    assert api.get(base).json() == before
    api.delete("/api/v1/vm-hosts/h1")
    deleted = api.delete(f"{base}/rack2")
    assert deleted.status_code == 200 and deleted.json()["name"] == "rack2"
    _error(api.get(f"{base}/rack2"), 404)


def test_spaces_set_list_unset(api: ApiEnv) -> None:
    host = api.add_host("h1")
    everywhere = api.post("/api/v1/spaces", {"space": "db", "network": "br-db"})
    assert everywhere.status_code == 201
    assert everywhere.json()["host"] is None
    one = api.post("/api/v1/spaces", {"space": "pub", "network": "br0", "host": "h1"}).json()
    assert one["host"] == "h1" and one["host_id"] == host["id"]
    again = api.post("/api/v1/spaces", {"space": "pub", "network": "br0", "host": host["id"]})
    assert again.json()["id"] == one["id"]  # idempotent
    listed = api.get("/api/v1/spaces").json()
    assert sorted((s["space"], s["network"], s["host"]) for s in listed) == [
        ("db", "br-db", None),
        ("pub", "br0", "h1"),
    ]
    body = _error(
        api.post("/api/v1/spaces", {"space": "x", "network": "nosuch", "host": "h1"}),
        400,
        "network",
    )
    assert "br-db" in body["message"]
    _error(api.post("/api/v1/spaces", {"space": "x", "network": "br0", "host": "ghost"}), 404)
    _error(api.post("/api/v1/spaces", {"space": "bad space", "network": "br0"}), 400, "space")
    assert api.delete("/api/v1/spaces/pub?network=br0").json() == {"removed": 1}
    assert api.delete("/api/v1/spaces/db").json() == {"removed": 1}
    _error(api.delete("/api/v1/spaces/db"), 404)
    assert api.get("/api/v1/spaces").json() == []


def test_metrics_are_prometheus_text(api: ApiEnv) -> None:
    api.add_host("h1")
    api.compose("h1", cores=3)
    api.get("/api/v1/vm-hosts/999")
    text = api.get("/api/v1/metrics").text
    assert 'vmhost_hosts{driver="fake",status="ready"} 1.0' in text
    assert 'vmhost_vms{origin="composed",state="ready"} 1.0' in text
    assert 'vmhost_host_cores{host="h1",use="allocated"} 3.0' in text
    assert (
        'vmhost_http_requests_total{method="GET",route="/api/v1/vm-hosts/{host}",status="404"}'
        in text
    )
    assert "vmhost_http_request_duration_seconds_bucket" in text
    assert api.admin_token not in text


def test_whoami(api: ApiEnv) -> None:
    assert api.get("/api/v1/whoami").json() == {"name": "test-admin", "role": "admin", "id": 1}


def test_unknown_endpoint_and_method_answer_json(api: ApiEnv) -> None:
    body = _error(api.get("/api/v1/nothing-here"), 404)
    assert body["message"] == "no such API endpoint"
    _error(api.client.patch("/api/v1/vm-hosts", headers=api.admin), 405)


def test_a_bug_is_a_generic_500_with_the_traceback_only_in_the_log(
    api: ApiEnv, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> list[Any]:
        raise RuntimeError("secret internal detail /etc/vmhost")

    monkeypatch.setattr(api.services.host_list, "rendered", broken)
    with caplog.at_level(logging.ERROR, logger="vmhost.api"):
        response = api.get("/api/v1/vm-hosts")
    body = _error(response, 500)
    assert body["message"].startswith("internal server error (reference ")
    assert "secret" not in response.text and "Traceback" not in response.text
    reference = body["message"].split("reference ")[1].split(";")[0]
    logged = "\n".join(r.getMessage() + str(r.exc_info) for r in caplog.records)
    assert reference in logged and "secret internal detail" in logged


def test_wrong_content_type_and_empty_body(api: ApiEnv) -> None:
    response = api.client.post(
        "/api/v1/zones", content=b"name=x", headers={**api.admin, "content-type": "text/plain"}
    )
    assert response.status_code == 422
    assert response.json()["message"]
    _error(api.client.post("/api/v1/zones", headers=api.admin), 422)
    _error(api.post("/api/v1/zones", [1, 2]), 422)
    assert [z["name"] for z in api.get("/api/v1/zones").json()] == ["default"]


def test_openapi_documents_every_error_shape(api: ApiEnv) -> None:
    doc = api.client.get("/api/openapi.json").json()
    assert "ErrorResponse" in doc["components"]["schemas"]
    compose = doc["paths"]["/api/v1/vm-hosts/{host}/compose"]["post"]["responses"]
    assert {"200", "202", "400", "401", "403", "404", "409", "422", "503"} <= set(compose)
    host = doc["components"]["schemas"]["VmHost"]["properties"]
    assert {"total", "used", "available", "storage_pools", "resources"} <= set(host)
