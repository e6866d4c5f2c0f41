"""``pods/`` and ``vm-hosts/``: list, read, add (through the service's host creation path),
delete with ``decompose``; the JSON of ``vmhost vm-host read`` with MAAS URIs; bad input a
400 naming the field with nothing added; ``power_pass`` never answered or logged."""

from __future__ import annotations

import logging

import pytest
from maas_support import MaasEnv

from vmhost.drivers import fake

REQUIRED = {
    "id": int,
    "name": str,
    "tags": list,
    "type": str,
    "architectures": list,
    "capabilities": list,
    "total": dict,
    "used": dict,
    "available": dict,
    "zone": dict,
    "pool": dict,
    "cpu_over_commit_ratio": float,
    "memory_over_commit_ratio": float,
    "storage_pools": list,
    "host": dict,
    "version": str,
    "resource_uri": str,
}


def _add(env: MaasEnv, multipart: bool = True, **fields: str):  # type: ignore[no-untyped-def]
    data = {"type": "fake", "power_address": "fake://numa", **fields}
    post = env.post_multipart if multipart else env.post
    return post("pods/", data)


@pytest.mark.parametrize("collection", ["pods", "vm-hosts"])
def test_add_list_read_delete(maas: MaasEnv, collection: str) -> None:
    maas.services.zones.create("z2")
    added = maas.post_multipart(
        f"{collection}/",
        {
            "type": "fake",
            "power_address": "fake://numa",
            "name": "kvm1",
            "zone": "z2",
            "tags": "a,b",
        },
    )
    assert added.status_code == 200, added.text
    pod = added.json()
    for key, kind in REQUIRED.items():
        assert isinstance(pod[key], kind), key
    assert (pod["name"], pod["zone"]["name"], pod["tags"]) == ("kvm1", "z2", ["a", "b"])
    assert pod["resource_uri"] == f"/MAAS/api/2.0/{collection}/{pod['id']}/"
    assert pod["zone"]["resource_uri"] == "/MAAS/api/2.0/zones/z2/"
    assert set(pod["total"]) == {"cores", "memory", "local_storage"}
    rest = maas.client.get(
        f"/api/v1/vm-hosts/{pod['id']}",
        headers={"Authorization": f"Bearer {maas.admin_key.split(':', 2)[2]}"},
    ).json()
    assert {k: v for k, v in pod.items() if k not in ("resource_uri", "zone", "pool")} == {
        k: v for k, v in rest.items() if k not in ("resource_uri", "zone", "pool")
    }
    assert maas.get(f"{collection}/").json() == [pod]
    assert maas.get(f"{collection}/{pod['id']}/").json() == pod
    assert maas.get(f"{collection}/999/").status_code == 404
    assert maas.get(f"{collection}/kvm1x/").status_code == 404
    deleted = maas.call("DELETE", f"{collection}/{pod['id']}/")
    assert deleted.status_code == 204
    assert maas.get(f"{collection}/").json() == []


def test_gomaasapi_urlencoded_and_repeated_tags(maas: MaasEnv) -> None:
    added = maas.post(
        "pods/", {"type": "fake", "power_address": "fake://numa", "tags": ["x", "y"]}
    )
    assert added.status_code == 200, added.text
    assert added.json()["tags"] == ["x", "y"]


def test_delete_with_decompose(maas: MaasEnv) -> None:
    pod = _add(maas, name="kvm1").json()
    vm = maas.services.vms.compose(_request(pod["id"])).vm
    assert vm.name in fake.hypervisor_at("fake://numa").vms
    refused = maas.call("DELETE", f"pods/{pod['id']}/?decompose=maybe")
    assert refused.status_code == 400 and "decompose" in refused.text
    assert maas.get(f"pods/{pod['id']}/").status_code == 200  # nothing changed
    assert maas.call("DELETE", f"pods/{pod['id']}/?decompose=true").status_code == 204
    assert vm.name not in fake.hypervisor_at("fake://numa").vms


def _request(host_id: int):  # type: ignore[no-untyped-def]
    from vmhost import model

    return model.ComposeRequest(cores=1, memory_mib=1024, host_id=host_id)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"type": ""}, "type"),
        ({"type": "vmware"}, "type"),
        ({"power_address": ""}, "power_address"),
        ({"zone": "nowhere"}, "zone"),
        ({"tags": "bad tag!"}, "tag"),
        ({"cpu_over_commit_ratio": "11"}, "cpu_over_commit_ratio"),
        ({"memory_over_commit_ratio": "nan"}, "memory_over_commit_ratio"),
    ],
)
def test_bad_input_names_the_field_and_adds_nothing(
    maas: MaasEnv, fields: dict, named: str
) -> None:  # type: ignore[type-arg]
    answer = _add(maas, **fields)
    assert 400 <= answer.status_code < 500, answer.text
    assert named in answer.text
    assert maas.get("pods/").json() == []


def test_power_pass_is_never_answered_or_logged(
    maas: MaasEnv, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "s3cr3t-trust-password"
    caplog.set_level(logging.DEBUG)
    added = _add(maas, name="with-pass", power_pass=secret)
    assert added.status_code == 200
    unreachable = maas.post_multipart(
        "pods/",
        {
            "type": "virsh",
            "power_address": "qemu+ssh://u@127.0.0.1:1/system",
            "power_pass": secret,
        },
    )
    assert unreachable.status_code == 503, unreachable.text
    for text in (added.text, unreachable.text, maas.get("pods/").text, caplog.text):
        assert secret not in text
    assert [p["name"] for p in maas.get("pods/").json()] == ["with-pass"]


def test_reads_need_a_key_and_changes_an_admin(maas: MaasEnv) -> None:
    assert maas.client.get(maas.url("pods/")).status_code == 401
    assert maas.get("pods/", key=maas.reader_key).status_code == 200
    assert _add(maas).status_code == 200
    pod_id = maas.get("pods/").json()[0]["id"]
    assert (
        maas.post(
            "pods/", {"type": "fake", "power_address": "fake://numa"}, key=maas.reader_key
        ).status_code
        == 403
    )
    assert maas.call("DELETE", f"pods/{pod_id}/", key=maas.reader_key).status_code == 403
    assert len(maas.get("pods/").json()) == 1
