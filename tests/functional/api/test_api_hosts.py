"""``/api/v1/vm-hosts``: MAAS's JSON, every operation, and bad input that changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from api_support import ApiEnv

from vmhost import model, pki, schemas
from vmhost.drivers import base, fake

MAAS_KEYS = {
    "id",
    "name",
    "tags",
    "type",
    "architectures",
    "capabilities",
    "total",
    "used",
    "available",
    "zone",
    "pool",
    "cpu_over_commit_ratio",
    "memory_over_commit_ratio",
    "storage_pools",
    "host",
    "default_macvlan_mode",
    "version",
    "resource_uri",
}
OUR_KEYS = {
    "driver",
    "address",
    "project",
    "status",
    "last_error",
    "reserved_cores",
    "reserved_memory_mib",
    "default_storage_pool",
    "vm_count",
    "resources",
    "networks",
    "can_run_vms",
    "can_run_containers",
}


def _error(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = dict(response.json())
    assert set(body) == {"message", "fields", "reasons"}
    assert body["message"]
    if field is not None:
        assert field in body["fields"], body
        assert all(isinstance(m, str) and m for m in body["fields"][field])
    return body


# --- reading -------------------------------------------------------------------------------


def test_vm_host_json_has_exactly_maas_keys_plus_ours(api: ApiEnv) -> None:
    host = api.add_host("h1")
    assert set(host) == MAAS_KEYS | OUR_KEYS
    assert host["type"] == "fake" and host["driver"] == "fake"
    assert set(host["total"]) == {"cores", "memory", "local_storage"}
    assert host["total"] == {"cores": 16, "memory": 65536, "local_storage": 700 * 1000**3}
    assert host["zone"] == {
        "name": "default",
        "description": "Default zone",
        "id": 1,
        "resource_uri": "/api/v1/zones/1",
    }
    assert set(host["pool"]) == {"name", "description", "id", "resource_uri"}
    assert host["host"] == {"system_id": None, "__incomplete__": True}
    assert host["resource_uri"] == f"/api/v1/vm-hosts/{host['id']}"
    for pool in host["storage_pools"]:
        assert set(pool) == {"id", "name", "type", "path", "total", "used", "available", "default"}
    assert [p["default"] for p in host["storage_pools"]] == [True, False]
    assert host["status"] == "ready" and host["last_error"] == ""


def test_maas_used_counts_every_vm_and_available_is_total_minus_used(api: ApiEnv) -> None:
    host = api.add_host("h1")
    api.compose("h1", cores=2, memory_mib=4096, storage="root:10,20(fast)")
    # a VM found on the host (not composed here) counts in MAAS's used, as "other" in ours
    conn = api.services.ctx.connection(host["id"])
    fake.add_vm_behind_our_back(
        conn,
        model.DiscoveredVm(
            "found",
            3,
            1024,
            disks=(model.DiscoveredDisk("root", 5 * 1000**3, "default"),),
        ),
    )
    assert api.post(f"/api/v1/vm-hosts/{host['id']}/refresh").status_code == 200
    h = api.host("h1")
    assert h["used"] == {"cores": 5, "memory": 5120, "local_storage": 35 * 1000**3}
    assert h["available"] == {
        **{k: h["total"][k] - h["used"][k] for k in ("cores", "memory", "local_storage")},
        "local_storage_free_bytes": h["resources"]["storage"]["free_bytes"],
    }
    fast = next(p for p in h["storage_pools"] if p["name"] == "fast")
    assert fast["used"] == 20 * 1000**3 and fast["available"] == 180 * 1000**3
    cores = h["resources"]["cores"]
    assert (cores["allocated"], cores["other"], cores["free"]) == (2, 3, 11)
    memory = h["resources"]["memory"]
    assert (memory["allocated_mib"], memory["other_mib"]) == (4096, 1024)
    assert memory["free_mib"] == memory["capacity_mib"] - 5120
    assert h["vm_count"] == {"allocated": 1, "other": 1, "total": 2}


def test_over_commit_shows_in_resources_not_in_maas_totals(api: ApiEnv) -> None:
    api.add_host("h1", cpu_over_commit_ratio=1.5, memory_over_commit_ratio=2.0, reserved_cores=2)
    h = api.host("h1")
    assert h["total"]["cores"] == 16  # raw, as MAAS
    assert h["resources"]["cores"]["capacity"] == 21  # (16 - 2) x 1.5
    assert h["resources"]["memory"]["capacity_mib"] == 2 * (65536 - 8192)
    assert h["resources"]["hugepages"]["total_mib"] == 8192


def test_list_and_read_by_id_and_name(api: ApiEnv) -> None:
    a = api.add_host("alpha")
    b = api.add_host("beta", "fake://small")
    listed = api.get("/api/v1/vm-hosts").json()
    assert [h["name"] for h in listed] == ["alpha", "beta"]
    assert api.host("beta")["id"] == b["id"]
    assert api.host(str(a["id"]))["name"] == "alpha"
    assert listed[0] == api.host(a["id"])
    # the read and list routes send plain data: it is exactly the documented model
    for item in listed:
        assert schemas.VmHost.model_validate(item).model_dump(mode="json", by_alias=True) == item


def test_unknown_host_is_404_naming_it(api: ApiEnv) -> None:
    for key in ("999", "nosuch", "99999999999999999999999999", "²"):
        body = _error(api.get(f"/api/v1/vm-hosts/{key}"), 404)
        assert key in body["message"]


def test_resources_per_numa_node(api: ApiEnv) -> None:
    api.add_host("h1")
    api.compose("h1", cores=2, memory_mib=2048, pinned_cores=[8, 9], hugepages_backed=True)
    res = api.get("/api/v1/vm-hosts/h1/resources").json()
    assert [n["index"] for n in res["numa"]] == [0, 1]
    node1 = res["numa"][1]
    assert node1["cores"]["pinned_allocated"] == [8, 9]
    assert 8 not in node1["cores"]["free"] and 10 in node1["cores"]["free"]
    assert node1["hugepages"][0]["used_mib"] == 2048
    assert node1["hugepages"][0]["free_mib"] == 4096 - 2048
    assert node1["sriov"] == [
        {
            "nic": "enp5s0f0",
            "numa_node": 1,
            "network": "",
            "total_vfs": 8,
            "allocated": 0,
            "other": 0,
            "free": 8,
        }
    ]
    assert res["numa"][0]["sriov"] == []


def test_storage_pools_endpoint(api: ApiEnv) -> None:
    api.add_host("h1")
    api.compose("h1", storage="root:10(fast)")
    pools = {p["name"]: p for p in api.get("/api/v1/vm-hosts/h1/storage-pools").json()}
    assert pools["fast"]["used"] == 10 * 1000**3
    assert pools["fast"]["allocated_bytes"] == 10 * 1000**3
    assert pools["fast"]["free_bytes"] == 190 * 1000**3
    assert pools["fast"]["tags"] == ["ssd"]
    assert pools["default"]["default"] is True


def test_projects_of_a_fake_host(api: ApiEnv) -> None:
    api.add_host("h1")
    projects = api.get("/api/v1/vm-hosts/h1/projects").json()
    assert projects[0]["name"] == "default"


# --- create ---------------------------------------------------------------------------------


def test_create_accepts_maas_parameters(api: ApiEnv) -> None:
    api.post("/api/v1/zones", {"name": "z1"})
    host = api.add_host(
        "h1",
        zone="z1",
        tags="a,b",
        cpu_over_commit_ratio=2.5,
        memory_over_commit_ratio=0,
        default_macvlan_mode="vepa",
    )
    assert host["zone"]["name"] == "z1"
    assert host["tags"] == ["a", "b"]
    assert host["cpu_over_commit_ratio"] == 2.5
    assert host["memory_over_commit_ratio"] == 0
    assert host["default_macvlan_mode"] == "vepa"


def test_create_names_a_host_from_its_address(api: ApiEnv) -> None:
    response = api.post("/api/v1/vm-hosts", {"type": "fake", "address": "fake://small"})
    assert response.status_code == 201
    assert response.json()["name"] == "small"
    assert response.headers["location"] == response.json()["resource_uri"]


def test_create_virsh_host_maps_to_libvirt_driver(api: ApiEnv) -> None:
    response = api.post(
        "/api/v1/vm-hosts",
        {
            "type": "virsh",
            "power_address": "qemu+ssh://ubuntu@127.0.0.1/system",
            "name": "kvm1",
            "power_pass": "s3cret-pass",
        },
    )
    # unreachable here: refused with the host's own error, and nothing is kept
    assert response.status_code == 503, response.text
    assert "qemu+ssh://ubuntu@127.0.0.1/system" in response.json()["message"]
    assert "s3cret-pass" not in response.text
    assert api.get("/api/v1/vm-hosts").json() == []


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (
            {"type": "fake", "power_address": "fake://numa", "cpu_over_commit_ratio": 10.5},
            422,
            "cpu_over_commit_ratio",
        ),
        (
            {"type": "fake", "power_address": "fake://numa", "cpu_over_commit_ratio": -1},
            422,
            "cpu_over_commit_ratio",
        ),
        (
            {"type": "fake", "power_address": "fake://numa", "memory_over_commit_ratio": "2"},
            422,
            "memory_over_commit_ratio",
        ),
        (
            {"type": "fake", "power_address": "fake://numa", "memory_over_commit_ratio": True},
            422,
            "memory_over_commit_ratio",
        ),
        ({"type": "hyperv", "power_address": "x"}, 422, "type"),
        ({"type": "fake"}, 422, "body"),
        ({"type": "fake", "power_address": "fake://numa", "bogus": 1}, 422, "bogus"),
        ({"type": "fake", "power_address": "fake://numa", "name": "bad name"}, 400, "name"),
        ({"type": "fake", "power_address": "fake://numa", "zone": "nowhere"}, 400, "zone"),
        ({"type": "fake", "power_address": "fake://numa", "pool": "nowhere"}, 400, "pool"),
        ({"type": "fake", "power_address": "fake://numa", "tags": ["a,b"]}, 400, "tag"),
        (
            {"type": "fake", "power_address": "fake://numa", "reserved_cores": -1},
            422,
            "reserved_cores",
        ),
        ({"type": "fake", "power_address": "fake://numa", "certificate": "x"}, 400, "certificate"),
    ],
)
def test_create_refuses_bad_input_and_adds_nothing(
    api: ApiEnv, body: dict[str, Any], status: int, field: str
) -> None:
    _error(api.post("/api/v1/vm-hosts", body), status, field)
    assert api.get("/api/v1/vm-hosts").json() == []


def test_create_nan_ratio_is_refused(api: ApiEnv) -> None:
    raw = b'{"type": "fake", "power_address": "fake://numa", "cpu_over_commit_ratio": NaN}'
    response = api.client.post(
        "/api/v1/vm-hosts", content=raw, headers={**api.admin, "content-type": "application/json"}
    )
    _error(response, 422, "cpu_over_commit_ratio")
    assert api.get("/api/v1/vm-hosts").json() == []


def test_create_duplicate_is_409(api: ApiEnv) -> None:
    api.add_host("h1")
    body = _error(
        api.post(
            "/api/v1/vm-hosts", {"type": "fake", "power_address": "fake://small", "name": "h1"}
        ),
        409,
    )
    assert "h1" in body["message"]
    body = _error(
        api.post(
            "/api/v1/vm-hosts", {"type": "fake", "power_address": "fake://numa", "name": "h2"}
        ),
        409,
    )
    assert "fake://numa" in body["message"]
    assert [h["name"] for h in api.get("/api/v1/vm-hosts").json()] == ["h1"]


def test_create_malformed_json_is_422(api: ApiEnv) -> None:
    response = api.client.post(
        "/api/v1/vm-hosts",
        content=b'{"type": "fake", ',
        headers={**api.admin, "content-type": "application/json"},
    )
    body = _error(response, 422, "body")
    assert "JSON" in body["message"]


def test_create_host_that_cannot_be_reached_is_refused_and_not_kept(api: ApiEnv) -> None:
    response = api.post(
        "/api/v1/vm-hosts", {"type": "fake", "power_address": "fake://nosuchprofile"}
    )
    assert response.status_code == 503
    assert "nosuchprofile" in response.json()["message"]
    assert api.get("/api/v1/vm-hosts").json() == []


# --- LXD certificates ----------------------------------------------------------------------


def test_lxd_host_gets_a_certificate_with_trust_command_and_fetch_url(api: ApiEnv) -> None:
    response = api.post(
        "/api/v1/vm-hosts", {"type": "lxd", "power_address": "https://127.0.0.1:9", "name": "l1"}
    )
    assert response.status_code == 201, response.text
    host = response.json()
    assert host["type"] == "lxd" and host["project"] == "default"
    assert (
        host["status"] == "untrusted"
    )  # kept: the operator trusts the certificate, then refreshes
    assert "PRIVATE KEY" not in response.text and "BEGIN CERTIFICATE" not in response.text
    cert = api.get("/api/v1/vm-hosts/l1/certificate").json()
    assert cert["certificate"].startswith("-----BEGIN CERTIFICATE-----")
    assert cert["fingerprint"] == pki.fingerprint(cert["certificate"])
    assert cert["cn"].startswith("l1@vmhost")
    assert cert["generated_by_vmhost"] is True
    assert cert["fetch_url"] == "http://testserver/vmhost-certificate/l1"
    assert cert["trust_command"] == (
        "curl -sSf http://testserver/vmhost-certificate/l1 | lxc config trust add - --name l1"
    )
    assert cert["trust_heredoc"].startswith("lxc config trust add - <<EOF\n-----BEGIN")
    # the fetch URL needs no token and serves exactly the PEM
    fetched = api.client.get("/vmhost-certificate/l1")
    assert fetched.status_code == 200
    assert fetched.headers["content-type"].startswith("text/plain")
    assert fetched.text == cert["certificate"]
    params = api.get("/api/v1/vm-hosts/l1/parameters").json()
    assert "PRIVATE KEY" in params["key"]
    for path in ("/api/v1/vm-hosts", "/api/v1/vm-hosts/l1", "/api/v1/vm-hosts/l1/certificate"):
        assert "PRIVATE KEY" not in api.get(path).text


def test_certificate_of_a_host_without_one_is_404(api: ApiEnv) -> None:
    api.add_host("h1")
    _error(api.get("/api/v1/vm-hosts/h1/certificate"), 404)
    _error(api.client.get("/vmhost-certificate/h1"), 404)
    _error(api.client.get("/vmhost-certificate/nosuch"), 404)


def test_lxd_import_of_a_certificate_and_key(api: ApiEnv) -> None:
    pair = pki.generate("imported", key_size=2048)
    response = api.post(
        "/api/v1/vm-hosts",
        {
            "type": "lxd",
            "power_address": "https://127.0.0.1:9",
            "name": "l2",
            "certificate": pair.certificate_pem,
            "key": pair.key_pem,
        },
    )
    assert response.status_code == 201, response.text
    cert = api.get("/api/v1/vm-hosts/l2/certificate").json()
    assert cert["fingerprint"] == pair.fingerprint
    assert cert["generated_by_vmhost"] is True


def test_lxd_import_refuses_a_passphrase_key_and_a_mismatched_pair(api: ApiEnv) -> None:
    from cryptography.hazmat.primitives import serialization

    pair = pki.generate("a", key_size=2048)
    other = pki.generate("b", key_size=2048)
    key = serialization.load_pem_private_key(pair.key_pem.encode(), None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pass"),
    ).decode()
    base_body = {"type": "lxd", "power_address": "https://127.0.0.1:9", "name": "l3"}
    body = _error(
        api.post(
            "/api/v1/vm-hosts",
            {**base_body, "certificate": pair.certificate_pem, "key": encrypted},
        ),
        400,
        "key",
    )
    assert "passphrase" in body["message"]
    _error(
        api.post(
            "/api/v1/vm-hosts",
            {**base_body, "certificate": pair.certificate_pem, "key": other.key_pem},
        ),
        400,
        "certificate",
    )
    assert api.get("/api/v1/vm-hosts").json() == []


# --- update ---------------------------------------------------------------------------------


def test_update_changes_only_what_is_given(api: ApiEnv) -> None:
    api.add_host("h1", tags=["x"])
    api.post("/api/v1/pools", {"name": "p1"})
    response = api.put(
        "/api/v1/vm-hosts/h1",
        {
            "cpu_over_commit_ratio": 4,
            "pool": "p1",
            "reserved_memory_mib": 1024,
            "default_storage_pool": "fast",
        },
    )
    assert response.status_code == 200, response.text
    h = response.json()
    assert h["cpu_over_commit_ratio"] == 4.0 and h["pool"]["name"] == "p1"
    assert h["tags"] == ["x"] and h["memory_over_commit_ratio"] == 1.0
    assert h["reserved_memory_mib"] == 1024
    assert h["default_storage_pool"] == "fast"
    assert [p["default"] for p in h["storage_pools"]] == [False, True]
    assert h["resources"]["cores"]["capacity"] == 64


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"cpu_over_commit_ratio": 11}, 422, "cpu_over_commit_ratio"),
        ({"cpu_over_commit_ratio": "1.5"}, 422, "cpu_over_commit_ratio"),
        ({"memory_over_commit_ratio": -0.1}, 422, "memory_over_commit_ratio"),
        ({"type": "lxd"}, 400, "type"),
        ({"type": "virsh"}, 400, "type"),
        ({"zone": "nowhere"}, 400, "zone"),
        ({"default_storage_pool": "nosuch"}, 400, "default_storage_pool"),
        ({"name": "white space"}, 400, "name"),
        ({"tags": ["a,b"]}, 400, "tag"),
        ({"reserved_cores": 1.5}, 422, "reserved_cores"),
        ({"certificate": "not pem"}, 400, "certificate"),
        ({"unknown": 1}, 422, "unknown"),
    ],
)
def test_update_refuses_bad_input_and_changes_nothing(
    api: ApiEnv, change: dict[str, Any], status: int, field: str
) -> None:
    api.add_host("h1")
    before = api.host("h1")
    body = _error(api.put("/api/v1/vm-hosts/h1", change), status, field)
    if field == "type":
        assert "Delete" in body["message"] and "again" in body["message"]
    assert api.host("h1") == before


def test_update_to_a_taken_name_is_409(api: ApiEnv) -> None:
    api.add_host("h1")
    api.add_host("h2", "fake://small")
    before = api.host("h2")
    _error(api.put("/api/v1/vm-hosts/h2", {"name": "h1"}), 409)
    assert api.host("h2") == before


def test_update_same_type_is_fine(api: ApiEnv) -> None:
    api.add_host("h1")
    assert api.put("/api/v1/vm-hosts/h1", {"type": "fake"}).status_code == 200


def test_update_of_unknown_host_is_404(api: ApiEnv) -> None:
    body = _error(api.put("/api/v1/vm-hosts/77", {"cpu_over_commit_ratio": 2}), 404)
    assert "77" in body["message"]


# --- tags -----------------------------------------------------------------------------------


def test_add_and_remove_tags(api: ApiEnv) -> None:
    api.add_host("h1")
    assert api.post("/api/v1/vm-hosts/h1/add-tag", {"tag": "ssd"}).json()["tags"] == ["ssd"]
    assert api.post("/api/v1/vm-hosts/h1/add-tag", {"tag": "ssd"}).json()["tags"] == ["ssd"]
    assert api.post("/api/v1/vm-hosts/h1/add-tag", {"tag": "gpu"}).json()["tags"] == [
        "ssd",
        "gpu",
    ]
    assert api.post("/api/v1/vm-hosts/h1/remove-tag", {"tag": "ssd"}).json()["tags"] == ["gpu"]
    assert api.post("/api/v1/vm-hosts/h1/remove-tag", {"tag": "x"}).json()["tags"] == ["gpu"]


@pytest.mark.parametrize(
    ("tag", "status"), [("a,b", 400), ("two words", 400), ("", 400), (5, 422), (None, 422)]
)
def test_bad_tags_change_nothing(api: ApiEnv, tag: Any, status: int) -> None:
    api.add_host("h1", tags=["keep"])
    before = api.host("h1")
    body = _error(api.post("/api/v1/vm-hosts/h1/add-tag", {"tag": tag}), status, "tag")
    if tag == "a,b":
        assert body["fields"]["tag"] == ['Tag may not contain a ",".']
    assert api.host("h1") == before


# --- refresh ------------------------------------------------------------------------------


def test_refresh_sees_changes_and_a_failing_host_answers_503(api: ApiEnv) -> None:
    host = api.add_host("h1")
    conn = api.services.ctx.connection(host["id"])
    fake.hypervisor_for(conn).inject("discover", "unreachable: no route to host")
    body = _error(api.post("/api/v1/vm-hosts/h1/refresh"), 503)
    assert "no route to host" in body["message"]
    h = api.host("h1")
    assert h["status"] == "unreachable" and "no route to host" in h["last_error"]
    refreshed = api.post("/api/v1/vm-hosts/h1/refresh")
    assert refreshed.status_code == 200
    assert refreshed.json()["status"] == "ready" and refreshed.json()["last_error"] == ""


def test_refresh_async_returns_an_operation(api: ApiEnv) -> None:
    api.add_host("h1")
    response = api.post("/api/v1/vm-hosts/h1/refresh?async=true")
    assert response.status_code == 202
    op = response.json()
    assert response.headers["location"] == op["resource_uri"]
    assert op["kind"] == "refresh" and op["target"] == "/api/v1/vm-hosts/1"
    done = api.client.app.state.operations.wait(op["id"], 10)  # type: ignore[attr-defined]
    assert done is not None and done.status == "succeeded"
    followed = api.get(op["resource_uri"]).json()
    assert followed["status"] == "succeeded"
    assert followed["result"]["name"] == "h1"


# --- delete -------------------------------------------------------------------------------


def test_delete_without_vms(api: ApiEnv) -> None:
    host = api.add_host("h1")
    response = api.delete("/api/v1/vm-hosts/h1")
    assert response.status_code == 200
    assert response.json() == {"id": host["id"], "name": "h1", "errors": []}
    _error(api.get("/api/v1/vm-hosts/h1"), 404)


def test_delete_with_vms_needs_a_decision(api: ApiEnv) -> None:
    host = api.add_host("h1")
    vm = api.compose("h1")["vm"]
    before = api.host("h1")
    body = _error(api.delete("/api/v1/vm-hosts/h1"), 400, "decompose")
    assert "decompose=true" in body["message"]
    assert api.host("h1") == before
    _error(api.delete("/api/v1/vm-hosts/h1?decompose=maybe"), 422, "decompose")
    conn = api.services.ctx.connection(host["id"])
    hv = fake.hypervisor_for(conn)
    assert vm["name"] in hv.vms
    assert api.delete("/api/v1/vm-hosts/h1?decompose=false").status_code == 200
    assert vm["name"] in hv.vms  # left on the hypervisor
    assert api.get("/api/v1/vms").json() == []


def test_a_bad_async_is_named_after_the_routes_own_parameters(api: ApiEnv) -> None:
    api.add_host("h1")
    response = api.delete("/api/v1/vm-hosts/h1?decompose=maybe&async=maybe")
    assert response.status_code == 422
    body = response.json()
    assert body["message"].startswith("decompose: "), body
    assert list(body["fields"]) == ["decompose", "async"]
    response = api.delete("/api/v1/vms/0?async=maybe")
    assert response.status_code == 422
    assert response.json()["message"].startswith("vm_id: "), response.json()
    response = api.delete("/api/v1/vm-hosts/h1?async=maybe")
    assert response.status_code == 422
    assert response.json()["message"].startswith("async: "), response.json()
    assert api.get("/api/v1/vm-hosts").json()[0]["name"] == "h1"  # nothing changed


def test_delete_with_decompose_removes_the_vms_async(api: ApiEnv) -> None:
    host = api.add_host("h1")
    vm = api.compose("h1")["vm"]
    hv = fake.hypervisor_for(api.services.ctx.connection(host["id"]))
    response = api.delete("/api/v1/vm-hosts/h1?decompose=true&async=true")
    assert response.status_code == 202
    op = api.client.app.state.operations.wait(response.json()["id"], 10)  # type: ignore[attr-defined]
    assert op is not None and op.status == "succeeded", op
    assert op.result == {"id": host["id"], "name": "h1", "errors": []}
    assert vm["name"] not in hv.vms


def test_secrets_never_in_read_or_list_output(api: ApiEnv) -> None:
    api.post(
        "/api/v1/vm-hosts",
        {
            "type": "lxd",
            "power_address": "https://127.0.0.1:9",
            "name": "l1",
            "password": "trust-me-123",
        },
    )
    for path in ("/api/v1/vm-hosts", "/api/v1/vm-hosts/l1"):
        text = api.get(path).text
        assert "trust-me-123" not in text
        assert "PRIVATE KEY" not in text
    # the LXD trust password was used once to get trusted, and is not kept
    assert api.lxd.trusted == [("l1", "", "trust-me-123")]
    assert json.loads(api.get("/api/v1/vm-hosts/l1/parameters").text)["password"] == ""


def test_host_problem_on_projects_is_503(api: ApiEnv) -> None:
    api.post(
        "/api/v1/vm-hosts", {"type": "lxd", "power_address": "https://127.0.0.1:9", "name": "l1"}
    )
    body = _error(api.get("/api/v1/vm-hosts/l1/projects"), 503)
    assert "127.0.0.1:9" in body["message"]


def test_driver_error_type_is_exported() -> None:
    assert issubclass(base.DriverConnectionError, base.DriverError)


def test_new_hosts_take_the_servers_default_ratios(tmp_path: Any) -> None:
    """VMHOST_DEFAULT_{CPU,MEMORY}_OVER_COMMIT_RATIO apply to hosts added without a ratio."""
    from api_support import fake_only, make_tokens
    from fastapi.testclient import TestClient

    from vmhost.api.app import create_app
    from vmhost.service import Services
    from vmhost.settings import Settings

    fake.reset()
    settings = Settings(
        data_dir=str(tmp_path / "data"),
        default_cpu_over_commit_ratio=2.5,
        default_memory_over_commit_ratio=1.5,
    )
    services = Services.create(settings, driver_factory=fake_only)
    admin, _, _ = make_tokens(services)
    headers = {"Authorization": f"Bearer {admin}"}
    try:
        with TestClient(create_app(services)) as http:
            defaulted = http.post(
                "/api/v1/vm-hosts",
                json={"type": "fake", "power_address": "fake://small", "name": "a"},
                headers=headers,
            ).json()
            given = http.post(
                "/api/v1/vm-hosts",
                json={
                    "type": "fake",
                    "power_address": "fake://numa",
                    "name": "b",
                    "cpu_over_commit_ratio": 1.0,
                    "memory_over_commit_ratio": 0,
                },
                headers=headers,
            ).json()
    finally:
        services.close()
        fake.reset()

    assert (defaulted["cpu_over_commit_ratio"], defaulted["memory_over_commit_ratio"]) == (
        2.5,
        1.5,
    )
    assert defaulted["resources"]["cores"]["capacity"] == 10  # 4 cores x 2.5
    assert (given["cpu_over_commit_ratio"], given["memory_over_commit_ratio"]) == (1.0, 0.0)


@pytest.mark.parametrize("value", ["10.5", "-1", "two"])
def test_a_bad_default_ratio_setting_is_refused(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vmhost.settings import Settings

    monkeypatch.setenv("VMHOST_DEFAULT_CPU_OVER_COMMIT_RATIO", value)
    with pytest.raises(ValueError, match="default_cpu_over_commit_ratio"):
        Settings()


def test_an_lxd_server_certificate_given_is_pinned_instead_of_first_contact(api: ApiEnv) -> None:
    published = pki.generate("lxd-published", key_size=2048).certificate_pem

    response = api.post(
        "/api/v1/vm-hosts",
        {
            "type": "lxd",
            "power_address": "https://127.0.0.1:8443",
            "name": "pinned",
            "server_certificate": published,
        },
    )

    assert response.status_code == 201, response.text
    params = api.get("/api/v1/vm-hosts/pinned/parameters").json()
    assert params["server_certificate"] == published
    assert params["server_certificate"] != api.lxd.server_pem  # no first contact


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"type": "lxd", "server_certificate": "not a certificate"},
            "not a PEM certificate (-----BEGIN CERTIFICATE-----)",
        ),
        (
            {"type": "fake", "server_certificate": "-----BEGIN CERTIFICATE-----"},
            "only LXD hosts have a server certificate to pin",
        ),
    ],
)
def test_a_bad_server_certificate_is_refused(
    api: ApiEnv, body: dict[str, Any], message: str
) -> None:
    response = api.post("/api/v1/vm-hosts", {"power_address": "https://127.0.0.1:8443", **body})

    assert response.status_code == 400, response.text
    assert response.json()["fields"] == {"server_certificate": [message]}
    assert api.get("/api/v1/vm-hosts").json() == []
