"""``/api/v1/vms`` and compose: results, grammars, no-capacity reasons, power, decompose."""

from __future__ import annotations

from typing import Any

import pytest
from api_support import ApiEnv

from vmhost import model
from vmhost.drivers import fake


def _error(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = dict(response.json())
    assert set(body) == {"message", "fields", "reasons"}
    if field is not None:
        assert field in body["fields"], body
    return body


def test_compose_answers_maas_keys_and_the_vm(api: ApiEnv) -> None:
    host = api.add_host("h1")
    result = api.compose(
        "h1",
        cores=2,
        memory_mib=4096,
        hostname="web1",
        storage="root:20(fast),50",
        interfaces="eth0:network=br-db",
    )
    vm = result["vm"]
    assert result["system_id"] == str(vm["id"])
    assert result["resource_uri"] == f"/api/v1/vms/{vm['id']}"
    assert result["host"] == {"id": host["id"], "name": "h1", "resource_uri": host["resource_uri"]}
    assert vm["name"] == "web1" and vm["origin"] == "composed" and vm["state"] == "ready"
    assert [(d["size_bytes"], d["pool"]) for d in vm["disks"]] == [
        (20 * 1000**3, "fast"),
        (50 * 1000**3, "default"),
    ]
    assert [(n["name"], n["network"]) for n in vm["interfaces"]] == [("eth0", "br-db")]
    assert api.get(f"/api/v1/vms/{vm['id']}").json() == vm


def test_compose_on_a_space(api: ApiEnv) -> None:
    api.add_host("h1")
    assert api.post("/api/v1/spaces", {"space": "db", "network": "br-db"}).status_code == 201
    vm = api.compose("h1", interfaces="eth0:space=db")["vm"]
    assert vm["interfaces"][0]["network"] == "br-db"
    assert vm["interfaces"][0]["space"] == "db"
    host = api.host("h1")
    assert {"name": "br-db", "kind": "bridge", "spaces": ["db"]} in host["networks"]


def test_compose_anywhere_picks_a_host(api: ApiEnv) -> None:
    api.add_host("small", "fake://small")
    api.add_host("big", "fake://numa")
    response = api.post("/api/v1/vms", {"cores": 8, "memory_mib": 16384})
    assert response.status_code == 200, response.text
    assert response.json()["host"]["name"] == "big"
    pinned = api.post("/api/v1/vms", {"cores": 1, "host": "small"})
    assert pinned.json()["host"]["name"] == "small"


def test_candidates_rank_hosts_and_explain_the_others(api: ApiEnv) -> None:
    api.add_host("small", "fake://small")
    api.add_host("big", "fake://numa")
    response = api.client.post(
        "/api/v1/vms/candidates", json={"memory_mib": 16384}, headers=api.reader
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["considered"] == 2
    assert [c["host"]["name"] for c in body["candidates"]] == ["big"]
    assert body["reasons"][0]["hosts"] == 1
    assert "16384" in body["message"]
    assert api.get("/api/v1/vms").json() == []  # nothing claimed


def test_no_capacity_is_409_with_reasons_per_check(api: ApiEnv) -> None:
    api.add_host("small", "fake://small")
    api.add_host("big", "fake://numa")
    api.post("/api/v1/zones", {"name": "z2"})
    before = [api.host("small"), api.host("big")]
    body = _error(api.post("/api/v1/vms", {"cores": 4, "memory_mib": 200000}), 409)
    assert body["message"].startswith("No VM host can take this request")
    assert "2 hosts considered" in body["message"]
    assert sum(r["hosts"] for r in body["reasons"]) == 2
    assert all(set(r) == {"check", "hosts", "reason", "host", "failures"} for r in body["reasons"])
    zone = _error(api.post("/api/v1/vms", {"zone": "z2"}), 409)
    assert "z2" in zone["message"]
    assert [api.host("small"), api.host("big")] == before


def test_compose_failing_on_the_host_is_reported_and_leaves_nothing(api: ApiEnv) -> None:
    host = api.add_host("h1")
    hv = fake.hypervisor_for(api.services.ctx.connection(host["id"]))
    hv.inject("compose", "disk quota exceeded on pool default", count=10)
    before = api.host("h1")
    response = api.post("/api/v1/vm-hosts/h1/compose", {"cores": 1})
    body = _error(response, response.status_code)
    assert response.status_code in (409, 503)
    assert "disk quota exceeded" in body["message"]
    assert api.get("/api/v1/vms").json() == []
    after = api.host("h1")
    assert after["used"] == before["used"] and after["resources"] == before["resources"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"storage": "8,,9"}, 422, "storage"),
        ({"storage": "root:8()"}, 422, "storage"),
        ({"storage": "root:0,data:0"}, 422, "storage"),  # a root of 0 is the default size
        ({"interfaces": "eth0"}, 422, "interfaces"),
        ({"interfaces": "eth0:subnet_cidr=10.0.0.0/24"}, 422, "interfaces"),
        ({"interfaces": "eth0:space=a;eth0:space=b"}, 422, "interfaces"),
        ({"interfaces": "eth0:bogus=1"}, 422, "interfaces"),
        ({"storage": "10", "disks": [{"size_bytes": 1}]}, 422, "body"),
        ({"cores": 0}, 422, "cores"),
        ({"cores": "2"}, 422, "cores"),
        ({"memory_mib": 10}, 422, "memory_mib"),
        ({"pinned_cores": [0, 0]}, 400, "pinned_cores"),
        ({"pinned_cores": [-1]}, 422, "pinned_cores"),
        ({"hostname": "Bad_Name"}, 400, "hostname"),
        ({"zone": "nowhere"}, 400, "zone"),
        ({"interfaces": "eth0:space=nospace"}, 400, "interfaces"),
        ({"disks": [{"size_bytes": 10**9, "pool": "nosuch"}]}, 400, "disks"),
        ({"instance_type": "lxc"}, 422, "instance_type"),
        ({"extra": True}, 422, "extra"),
    ],
)
def test_compose_bad_input_changes_nothing(
    api: ApiEnv, body: dict[str, Any], status: int, field: str
) -> None:
    api.add_host("h1")
    before = api.host("h1")
    _error(api.post("/api/v1/vm-hosts/h1/compose", body), status, field)
    assert api.host("h1") == before
    assert api.get("/api/v1/vms").json() == []


def test_compose_on_unknown_host_is_404(api: ApiEnv) -> None:
    body = _error(api.post("/api/v1/vm-hosts/42/compose", {}), 404)
    assert "42" in body["message"]
    body = _error(api.post("/api/v1/vms", {"host": "ghost"}), 404)
    assert "ghost" in body["message"]


def test_compose_async_then_follow_the_operation(api: ApiEnv) -> None:
    api.add_host("h1")
    response = api.post("/api/v1/vm-hosts/h1/compose?async=true", {"cores": 2})
    assert response.status_code == 202
    op = response.json()
    assert op["kind"] == "compose" and op["status"] in ("pending", "running", "succeeded")
    done = api.app.state.operations.wait(op["id"], 10)
    assert done.status == "succeeded"
    result = api.get(f"/api/v1/operations/{op['id']}").json()["result"]
    assert result["vm"]["cores"] == 2
    listed = api.get("/api/v1/operations").json()["items"]
    assert listed[0]["id"] == op["id"]


def test_async_compose_failure_is_kept_on_the_operation(api: ApiEnv) -> None:
    api.add_host("h1")
    response = api.post("/api/v1/vm-hosts/h1/compose?async=true", {"cores": 64})
    assert response.status_code == 202
    done = api.app.state.operations.wait(response.json()["id"], 10)
    assert done.status == "failed" and done.status_code == 409
    assert done.error is not None and done.error.reasons
    _error(api.get("/api/v1/operations/nosuch"), 404)


def test_list_vms_with_filters(api: ApiEnv) -> None:
    h1 = api.add_host("h1")
    api.add_host("h2", "fake://small")
    api.compose("h1", hostname="a")
    api.compose("h2", hostname="b")
    fake.add_vm_behind_our_back(
        api.services.ctx.connection(h1["id"]), model.DiscoveredVm("found", 1, 512)
    )
    api.post("/api/v1/vm-hosts/h1/refresh")
    names = lambda q: [v["name"] for v in api.get(f"/api/v1/vms{q}").json()]  # noqa: E731
    assert names("") == ["a", "b", "found"]
    assert names("?host=h1") == ["a", "found"]
    assert names(f"?host={h1['id']}&origin=composed") == ["a"]
    assert names("?origin=adopted") == ["found"]
    assert names("?state=ready&host=h2") == ["b"]
    assert names("?state=missing") == []
    _error(api.get("/api/v1/vms?origin=stolen"), 422, "origin")
    _error(api.get("/api/v1/vms?host=ghost"), 404)


def test_power_off_and_on(api: ApiEnv) -> None:
    api.add_host("h1")
    vm = api.compose("h1")["vm"]
    off = api.post(f"/api/v1/vms/{vm['id']}/power-off")
    assert off.status_code == 200 and off.json()["power_state"] == "stopped"
    assert api.get(f"/api/v1/vms/{vm['id']}").json()["power_state"] == "stopped"
    on = api.post(f"/api/v1/vms/{vm['id']}/power-on")
    assert on.json()["power_state"] == "running"


def test_power_failure_is_503(api: ApiEnv) -> None:
    host = api.add_host("h1")
    vm = api.compose("h1")["vm"]
    fake.hypervisor_for(api.services.ctx.connection(host["id"])).inject("power", "qemu hung")
    body = _error(api.post(f"/api/v1/vms/{vm['id']}/power-off"), 503)
    assert "qemu hung" in body["message"]


def test_delete_vm_decomposes_and_gives_resources_back(api: ApiEnv) -> None:
    host = api.add_host("h1")
    before = api.host("h1")
    vm = api.compose("h1", cores=4)["vm"]
    assert api.host("h1")["resources"]["cores"]["allocated"] == 4
    response = api.delete(f"/api/v1/vms/{vm['id']}")
    assert response.status_code == 200
    assert response.json() == {"id": vm["id"], "name": vm["name"], "errors": []}
    hv = fake.hypervisor_for(api.services.ctx.connection(host["id"]))
    assert vm["name"] not in hv.vms
    after = api.host("h1")
    assert after["used"] == before["used"] and after["resources"] == before["resources"]
    _error(api.get(f"/api/v1/vms/{vm['id']}"), 404)


def test_delete_vm_async(api: ApiEnv) -> None:
    api.add_host("h1")
    vm = api.compose("h1")["vm"]
    response = api.delete(f"/api/v1/vms/{vm['id']}?async=true")
    assert response.status_code == 202
    done = api.app.state.operations.wait(response.json()["id"], 10)
    assert done.status == "succeeded" and done.result["name"] == vm["name"]
    assert api.get("/api/v1/vms").json() == []


def test_delete_vm_failure_is_503_and_keeps_the_vm(api: ApiEnv) -> None:
    host = api.add_host("h1")
    vm = api.compose("h1")["vm"]
    fake.hypervisor_for(api.services.ctx.connection(host["id"])).inject("decompose", "busy")
    body = _error(api.delete(f"/api/v1/vms/{vm['id']}"), 503)
    assert "busy" in body["message"]
    assert api.get(f"/api/v1/vms/{vm['id']}").status_code == 200


@pytest.mark.parametrize("vm_id", ["0", "-1", "abc", str(2**70)])
def test_bad_vm_ids_are_422(api: ApiEnv, vm_id: str) -> None:
    _error(api.get(f"/api/v1/vms/{vm_id}"), 422, "vm_id")


def test_unknown_vm_is_404_naming_it(api: ApiEnv) -> None:
    body = _error(api.get("/api/v1/vms/12345"), 404)
    assert "12345" in body["message"]
    _error(api.post("/api/v1/vms/12345/power-on"), 404)
    _error(api.delete("/api/v1/vms/12345"), 404)
