"""``/api/v1/vms``: owners (allocate, release, ?owner=, ?idle=), compose with an owner and
zones, a VM's addresses (refresh); through HTTP and through ``vmhost.client``."""

from __future__ import annotations

from typing import Any

import pytest
from api_support import ApiEnv

from vmhost import client as vmclient
from vmhost import model, schemas


def _compose(api: ApiEnv, **body: Any) -> dict[str, Any]:
    response = api.post("/api/v1/vms", {"cores": 1, "memory_mib": 1024, **body})
    assert response.status_code == 200, response.text
    return dict(response.json()["vm"])


def test_allocate_release_and_filters(api: ApiEnv) -> None:
    api.add_host("h1")
    idle = _compose(api)
    owned = _compose(api, owner="juju:model-1")
    assert idle["owner"] == "" and owned["owner"] == "juju:model-1"
    assert idle["addresses"] == []

    def ids(query: str) -> list[int]:
        response = api.get(f"/api/v1/vms?{query}")
        assert response.status_code == 200, response.text
        return [vm["id"] for vm in response.json()]

    assert ids("idle=true") == [idle["id"]]
    assert ids("idle=false") == [owned["id"]]
    assert ids("owner=juju:model-1") == [owned["id"]]
    assert ids("owner=nobody") == []
    assert ids("idle=true&origin=adopted") == []

    taken = api.post(f"/api/v1/vms/{idle['id']}/allocate", {"owner": "juju:model-2"})
    assert taken.status_code == 200, taken.text
    assert taken.json()["owner"] == "juju:model-2"
    again = api.post(f"/api/v1/vms/{idle['id']}/allocate", {"owner": "juju:model-3"})
    assert again.status_code == 409
    assert again.json()["message"] == (
        f"VM {idle['name']!r} is already allocated to 'juju:model-2'"
    )
    assert ids("idle=true") == []

    released = api.post(f"/api/v1/vms/{idle['id']}/release")
    assert released.status_code == 200 and released.json()["owner"] == ""
    assert ids("idle=true") == [idle["id"]]


def test_idle_vms_for_a_request(api: ApiEnv) -> None:
    api.add_host("h1")
    small = _compose(api)
    big = _compose(api, cores=4, memory_mib=4096, interfaces="eth0:network=br-db")
    _compose(api, owner="juju:x")  # allocated: never offered
    # the body is a compose request: unset sizes are the compose defaults (2048 MiB)
    assert [vm["id"] for vm in api.post("/api/v1/vms/idle", {}).json()] == [big["id"]]
    response = api.client.post("/api/v1/vms/idle", json={"memory_mib": 1024}, headers=api.reader)
    assert response.status_code == 200, response.text
    assert [vm["id"] for vm in response.json()] == [small["id"], big["id"]]
    assert [
        v["id"] for v in api.post("/api/v1/vms/idle?limit=1", {"memory_mib": 1024}).json()
    ] == [small["id"]]
    one = api.post("/api/v1/vms/idle", {"cores": 2, "interfaces": "0:network=br-db"})
    assert [vm["id"] for vm in one.json()] == [big["id"]]
    assert api.post("/api/v1/vms/idle", {"memory_mib": 8192}).json() == []
    assert api.post("/api/v1/vms/idle", {"zones": ["nope"]}).status_code == 400
    assert api.post("/api/v1/vms/idle?limit=0", {}).status_code == 422
    assert api.post("/api/v1/vms/idle", {"cores": "2"}).status_code == 422


def test_allocation_errors(api: ApiEnv) -> None:
    api.add_host("h1")
    vm = _compose(api)
    assert api.post("/api/v1/vms/999/allocate", {"owner": "x"}).status_code == 404
    assert api.post("/api/v1/vms/999/release").status_code == 404
    for body in ({}, {"owner": ""}, {"owner": "a\nb"}, {"owner": "x" * 256}, {"owner": 5}):
        response = api.post(f"/api/v1/vms/{vm['id']}/allocate", body)
        assert response.status_code == 422, (body, response.text)
        assert "owner" in response.json()["fields"]
    assert api.get("/api/v1/vms?owner=").status_code == 422
    assert api.post("/api/v1/vms", {"owner": "a\tb"}).status_code == 422
    reader = api.client.post(
        f"/api/v1/vms/{vm['id']}/allocate", json={"owner": "x"}, headers=api.reader
    )
    assert reader.status_code == 403
    assert api.get(f"/api/v1/vms/{vm['id']}").json()["owner"] == ""  # nothing changed


def test_allocate_matching_in_one_request(api: ApiEnv) -> None:
    api.add_host("h1")
    idle = _compose(api)
    miss = api.post("/api/v1/vms/allocate", {"cores": 2, "memory_mib": 1024, "owner": "a"})
    assert miss.status_code == 409, miss.text
    assert miss.json()["message"] == "no idle VM satisfies the request"
    assert api.get(f"/api/v1/vms/{idle['id']}").json()["owner"] == ""
    taken = api.post("/api/v1/vms/allocate", {"memory_mib": 1024, "owner": "juju:a"})
    assert taken.status_code == 200, taken.text
    body = taken.json()
    assert body["reused"] is True and body["vm"]["id"] == idle["id"]
    assert body["vm"]["owner"] == "juju:a" and body["host"]["name"] == "h1"
    assert body["resource_uri"] == f"/api/v1/vms/{idle['id']}"
    made = api.post(
        "/api/v1/vms/allocate", {"memory_mib": 1024, "owner": "juju:b", "compose": True}
    )
    assert made.status_code == 200, made.text
    assert made.json()["reused"] is False and made.json()["vm"]["owner"] == "juju:b"
    assert made.json()["vm"]["id"] != idle["id"]
    full = api.post(
        "/api/v1/vms/allocate", {"memory_mib": 2**30, "owner": "juju:c", "compose": True}
    )
    assert full.status_code == 409 and full.json()["reasons"][0]["check"] == "memory"
    assert len(api.get("/api/v1/vms").json()) == 2


def test_allocate_matching_refuses_bad_input(api: ApiEnv) -> None:
    api.add_host("h1")
    _compose(api)
    for body, field in (
        ({}, "owner"),
        ({"owner": ""}, "owner"),
        ({"owner": "a\nb"}, "owner"),
        ({"owner": "x", "compose": "maybe"}, "compose"),
        ({"owner": "x", "cores": 0}, "cores"),
        ({"owner": "x", "storage": "root:nope"}, "storage"),
    ):
        response = api.post("/api/v1/vms/allocate", body)
        assert response.status_code == 422, (body, response.text)
        assert field in response.json()["fields"], (body, response.text)
    unknown = api.post("/api/v1/vms/allocate", {"owner": "x", "zones": ["z9"]})
    assert unknown.status_code == 400 and "z9" in unknown.json()["message"]
    nohost = api.post("/api/v1/vms/allocate", {"owner": "x", "host": "nope"})
    assert nohost.status_code == 404
    reader = api.client.post("/api/v1/vms/allocate", json={"owner": "x"}, headers=api.reader)
    assert reader.status_code == 403
    assert api.post("/api/v1/vms/idle", {"memory_mib": 1024}).json() != []  # nothing taken
    spec = api.get("/api/openapi.json").json()["paths"]["/api/v1/vms/allocate"]["post"]
    assert spec["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/AllocateMatchingBody"
    )
    assert {"200", "409", "422"} <= set(spec["responses"])


def test_compose_with_zones(api: ApiEnv) -> None:
    api.post("/api/v1/zones", {"name": "z1"})
    api.post("/api/v1/zones", {"name": "z2"})
    api.add_host("h1", zone="z1")
    api.add_host("h2", "fake://small", zone="z2")
    response = api.post("/api/v1/vms", {"cores": 1, "zones": ["z2", "default"]})
    assert response.status_code == 200, response.text
    assert response.json()["host"]["name"] == "h2"
    unknown = api.post("/api/v1/vms", {"cores": 1, "zones": ["z9"]})
    assert unknown.status_code == 400 and "z9" in unknown.json()["message"]


def test_refresh_reads_addresses(api: ApiEnv) -> None:
    inventory = {
        "cores": 4,
        "memory_mib": 8192,
        "storage_pools": [{"name": "default", "total_bytes": 10**12}],
        "networks": [{"name": "br0", "kind": "bridge", "cidr": "198.51.100.0/24"}],
    }
    api.services.hosts.add(  # a fake network with a CIDR: VMs get addresses on it
        model.HostSettings(name="cidr", type=model.HostType.FAKE, address="fake://cidr"),
        options={"inventory": inventory},
    )
    vm = _compose(api)
    assert vm["addresses"] == []
    refreshed = api.post(f"/api/v1/vms/{vm['id']}/refresh")
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["addresses"] == ["198.51.100.10"]
    assert api.get(f"/api/v1/vms/{vm['id']}").json()["addresses"] == ["198.51.100.10"]
    assert api.post("/api/v1/vms/999/refresh").status_code == 404


def test_client_methods(api: ApiEnv) -> None:
    api.add_host("h1")
    with vmclient.VmHostClient("http://testserver", api.admin_token, http=api.client) as vmh:
        body = vmclient.build(schemas.HostComposeBody, cores=1, memory_mib=1024, owner="juju:a")
        vm = vmh.vms.compose(body).vm
        assert vm.owner == "juju:a"
        idle = vmh.vms.compose(
            vmclient.build(schemas.HostComposeBody, cores=1, memory_mib=1024)
        ).vm
        assert [v.id for v in vmh.vms.list(idle=True)] == [idle.id]
        assert [
            v.id
            for v in vmh.vms.idle(
                vmclient.build(schemas.HostComposeBody, cores=1, memory_mib=1024)
            )
        ] == [idle.id]
        assert vmh.vms.idle(vmclient.build(schemas.HostComposeBody, cores=2)) == []
        assert [v.id for v in vmh.vms.list(owner="juju:a")] == [vm.id]
        assert vmh.vms.allocate(idle.id, "juju:b").owner == "juju:b"
        with pytest.raises(vmclient.ConflictError, match="already allocated"):
            vmh.vms.allocate(idle.id, "juju:c")
        with pytest.raises(vmclient.InvalidInputError, match="owner"):
            vmh.vms.allocate(idle.id, "")
        assert vmh.vms.release(idle.id).owner == ""
        assert vmh.vms.refresh(idle.id).power_state == "running"


def test_client_allocate_matching(api: ApiEnv) -> None:
    api.add_host("h1")
    with vmclient.VmHostClient("http://testserver", api.admin_token, http=api.client) as vmh:
        small = vmclient.build(schemas.HostComposeBody, cores=1, memory_mib=1024)
        idle = vmh.vms.compose(small).vm
        with pytest.raises(vmclient.ConflictError, match="no idle VM") as miss:
            vmh.vms.allocate_matching(vmclient.build(schemas.HostComposeBody, cores=2), "a")
        assert not isinstance(miss.value, vmclient.NoCapacityError)
        got = vmh.vms.allocate_matching(small, "juju:a")
        assert got.reused and got.vm.id == idle.id and got.vm.owner == "juju:a"
        made = vmh.vms.allocate_matching(small, "juju:b", compose=True)
        assert not made.reused and made.vm.owner == "juju:b"
        with pytest.raises(vmclient.NoCapacityError):
            vmh.vms.allocate_matching(
                vmclient.build(schemas.HostComposeBody, memory_mib=2**30), "c", compose=True
            )
        with pytest.raises(vmclient.InvalidInputError, match="owner"):
            vmh.vms.allocate_matching(small, "")
