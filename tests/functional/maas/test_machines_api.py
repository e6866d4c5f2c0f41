"""The MAAS machine life cycle over the API with fake hosts (SQLite and PostgreSQL): allocate
composes a reservation (or takes a Ready machine), read, list filters, deploy to Deployed with
the decoded user data, owner data, release (dynamic: deleted; composed on a pod: Ready again),
each bad input leaving nothing behind, and 20 parallel allocates for room for 12."""

from __future__ import annotations

import base64
import concurrent.futures
import gzip
import time
from typing import Any

import pytest
from core_support import assert_accounts_exact
from maas_support import MaasEnv

from vmhost import model, store
from vmhost.drivers import fake

GIB = 1024
CLOUD_CONFIG = "#cloud-config\npackages: [jq]\nruncmd:\n  - echo hello from juju\n"
MACHINE_KEYS = {
    "resource_uri": str, "system_id": str, "hostname": str, "fqdn": str, "tag_names": list,
    "owner_data": dict, "osystem": str, "distro_series": str, "memory": int, "cpu_count": int,
    "ip_addresses": list, "power_state": str, "status_name": str, "interface_set": list,
    "zone": dict, "physicalblockdevice_set": list, "blockdevice_set": list,
    "hardware_info": dict, "status": int, "architecture": str, "pool": dict, "pod": dict,
}  # fmt: skip
IFACE_KEYS = {
    "resource_uri": str, "id": int, "name": str, "type": str, "enabled": bool, "links": list,
    "effective_mtu": int, "parents": list, "children": list,
}  # fmt: skip
DISK_KEYS = {
    "resource_uri": str, "id": int, "name": str, "path": str, "used_for": str, "tags": list,
    "block_size": int, "used_size": int, "size": int, "partitions": list,
}  # fmt: skip


def inventory(cores: int = 8, memory_mib: int = 16 * GIB) -> dict[str, Any]:
    return {
        "cores": cores,
        "memory_mib": memory_mib,
        "storage_pools": [{"name": "default", "type": "dir", "path": "/p", "total_bytes": 10**12}],
        "networks": [
            {"name": "br0", "kind": "bridge", "cidr": "10.20.0.1/24"},
            {"name": "br1", "kind": "bridge", "cidr": "10.30.0.1/24"},
        ],
    }


def add_host(maas: MaasEnv, name: str, tags: tuple[str, ...] = (), **inv: Any) -> int:
    detail = maas.services.hosts.add(
        model.HostSettings(
            name=name, type=model.HostType.FAKE, address=f"fake://{name}", tags=tags
        ),
        options={"inventory": inventory(**inv)},
    )
    assert detail.host.status == "ready", detail.host.last_error
    return int(detail.host.id)


@pytest.fixture
def host(maas: MaasEnv) -> int:
    host_id = add_host(maas, "kvm1", tags=("ssd",))
    maas.services.spaces.set("db", "br1", host_id)
    return host_id


def _records(maas: MaasEnv) -> int:
    with maas.services.ctx.db.read() as conn:
        return store.vms.count_vms(conn)


def _on_host(name: str = "kvm1") -> dict[str, model.DiscoveredVm]:
    hv = fake.hypervisor_at(f"fake://{name}")
    hv.load()
    return dict(hv.vms)


def check_keys(data: dict[str, Any], keys: dict[str, type]) -> None:
    for key, kind in keys.items():
        assert key in data, key
        assert isinstance(data[key], kind), (key, data[key])


def check_machine(data: dict[str, Any]) -> None:
    check_keys(data, MACHINE_KEYS)
    for iface in data["interface_set"]:
        check_keys(iface, IFACE_KEYS)
        for link in iface["links"]:
            assert isinstance(link["id"], int) and link["mode"] in ("auto", "dhcp", "static")
    for disk in data["blockdevice_set"]:
        check_keys(disk, DISK_KEYS)
    assert data["resource_uri"] == f"/MAAS/api/2.0/machines/{data['system_id']}/"


def allocate(maas: MaasEnv, **fields: Any) -> Any:
    return maas.post("machines/?op=allocate", fields)


def test_allocate_read_list_release(maas: MaasEnv, host: int) -> None:
    response = allocate(
        maas, cpu_count="2", mem="4096", storage="root:20,data:10(default)",
        interfaces="eth0:space=db", agent_name="model-uuid", zone="default",
    )  # fmt: skip
    assert response.status_code == 200, response.text
    data = response.json()
    check_machine(data)
    assert (data["status_name"], data["status"]) == ("Allocated", 10)
    assert (data["cpu_count"], data["memory"]) == (2, 4096)
    assert data["owner"] == "juju" and data["pod"]["id"] == host
    assert data["zone"]["name"] == "default"
    assert "ssd" in data["tag_names"] and "virtual" in data["tag_names"]
    assert [d["size"] for d in data["blockdevice_set"]] == [20 * 10**9, 10 * 10**9]
    by_type = data["constraints_by_type"]
    disk_ids = {d["id"] for d in data["blockdevice_set"]}
    iface_ids = {i["id"] for i in data["interface_set"]}
    assert set(by_type["storage"]) == {"root", "data"}
    assert all(i in disk_ids for ids in by_type["storage"].values() for i in ids)
    assert list(by_type["interfaces"]) == ["eth0"]
    assert all(i in iface_ids for ids in by_type["interfaces"].values() for i in ids)
    mac = data["interface_set"][0]["mac_address"]
    assert mac and mac.count(":") == 5  # chosen up front
    assert data["interface_set"][0]["vlan"]["fabric"] == "br1"
    assert _on_host() == {}  # a reservation: nothing on the host until deploy
    assert_accounts_exact(maas.services)
    sid = data["system_id"]

    assert maas.get(f"machines/{sid}/").json()["system_id"] == sid
    assert maas.get(f"machines/{sid}").status_code == 200  # no trailing slash
    for params in (
        [("id", sid)], [("agent_name", "model-uuid")], [("hostname", data["hostname"])],
        [("mac_address", mac)], [("zone", "default")], [("pool", "default")],
        [("tags", "ssd")], [("id", sid), ("id", "zzzzzz"), ("agent_name", "model-uuid")],
    ):  # fmt: skip
        listed = maas.get("machines/", params=params)
        assert [m["system_id"] for m in listed.json()] == [sid], params
    for params in ([("agent_name", "other")], [("zone", "nowhere")], [("tags", "hdd")]):
        assert maas.get("machines/", params=params).json() == [], params

    released = maas.post("machines/?op=release", [("machines", sid), ("comment", "bye")])
    assert released.status_code == 200 and released.json() == [sid]
    gone = maas.get(f"machines/{sid}/")
    assert gone.status_code == 404 and gone.text == "No Machine matches the given query."
    assert maas.get("machines/", params=[("id", sid)]).json() == []
    assert _records(maas) == 0
    assert_accounts_exact(maas.services)


def _wait_status(maas: MaasEnv, sid: str, *names: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        data = maas.get("machines/", params=[("id", sid)]).json()[0]
        if data["status_name"] in names or time.monotonic() > deadline:
            return dict(data)
        time.sleep(0.05)


def test_deploy_then_release(maas: MaasEnv, host: int) -> None:
    data = allocate(maas, cpu_count="1", mem="2048", interfaces="0:space=db").json()
    sid = data["system_id"]
    user_data = base64.encodebytes(gzip.compress(CLOUD_CONFIG.encode())).decode()
    assert "\n" in user_data  # python-libmaas's way, newlines and all
    response = maas.post_multipart(
        f"machines/{sid}/?op=deploy", {"distro_series": "noble", "user_data": user_data}
    )
    assert response.status_code == 200, response.text
    assert response.json()["status_name"] in ("Deploying", "Deployed")
    done = _wait_status(maas, sid, "Deployed", "Failed deployment")
    assert done["status_name"] == "Deployed", done["status_message"]
    assert (done["status"], done["distro_series"], done["osystem"]) == (6, "noble", "ubuntu")
    check_machine(done)
    assert done["ip_addresses"] and done["ip_addresses"][0].startswith("10.30.0.")
    assert done["interface_set"][0]["links"][0]["ip_address"] == done["ip_addresses"][0]
    assert done["power_state"] == "on"
    on_host = _on_host()
    assert list(on_host) == [done["hostname"]]
    assert on_host[done["hostname"]].nics[0].mac_address == data["interface_set"][0]["mac_address"]
    assert fake.hypervisor_at("fake://kvm1").cloud_init[done["hostname"]] == (
        CLOUD_CONFIG,
        "ubuntu:24.04",
    )
    again = maas.post(f"machines/{sid}/?op=deploy", {"distro_series": "noble"})
    assert again.status_code == 409
    assert again.text == "Can't deploy a machine that is in the 'Deployed' state"
    assert "retry-after" not in again.headers
    assert_accounts_exact(maas.services)

    released = maas.post(f"machines/{sid}/?op=release", {"comment": "done"})
    assert released.status_code == 200, released.text
    assert maas.get(f"machines/{sid}/").status_code == 404
    assert _on_host() == {} and _records(maas) == 0
    assert_accounts_exact(maas.services)


def test_owner_data_and_put(maas: MaasEnv, host: int) -> None:
    sid = allocate(maas).json()["system_id"]
    first = maas.post(
        f"machines/{sid}/?op=set_owner_data",
        {"juju-model-uuid": "m1", "juju-is-controller": "true"},
    )
    assert first.json()["owner_data"] == {"juju-model-uuid": "m1", "juju-is-controller": "true"}
    second = maas.post_multipart(
        f"machines/{sid}/?op=set_owner_data", {"juju-is-controller": "", "x": "y"}
    )
    assert second.json()["owner_data"] == {"juju-model-uuid": "m1", "x": "y"}
    renamed = maas.call("PUT", f"machines/{sid}/", data={"hostname": "db-1"})
    assert renamed.status_code == 200 and renamed.json()["hostname"] == "db-1"
    bad = maas.call("PUT", f"machines/{sid}/", data={"hostname": "Not_A_Name"})
    assert bad.status_code == 400 and "hostname" in bad.text
    assert maas.get(f"machines/{sid}/").json()["hostname"] == "db-1"


def test_pod_compose_is_ready_taken_by_allocate_and_kept_on_release(
    maas: MaasEnv, host: int
) -> None:
    response = maas.post_multipart(
        f"pods/{host}/?op=compose", {"cores": "2", "memory": "4096", "storage": "root:20"}
    )
    assert response.status_code == 200, response.text
    sid = response.json()["system_id"]
    assert response.json()["resource_uri"] == f"/MAAS/api/2.0/machines/{sid}/"
    ready = maas.get(f"machines/{sid}/").json()
    assert (ready["status_name"], ready["status"], ready["owner"]) == ("Ready", 4, None)
    taken = allocate(maas, cpu_count="2", mem="2048", agent_name="m").json()
    assert taken["system_id"] == sid and taken["status_name"] == "Allocated"
    assert _records(maas) == 1
    released = maas.post("machines/?op=release", [("machines", sid)])
    assert released.json() == [sid]
    after = maas.get(f"machines/{sid}/").json()
    assert (after["status_name"], after["owner"], after["owner_data"]) == ("Ready", None, {})
    assert after["agent_name"] == "" and after["distro_series"] == ""
    assert_accounts_exact(maas.services)
    assert maas.post(f"vm-hosts/{host}/?op=compose", {"cores": "1"}).status_code == 200


def test_no_capacity_is_409_naming_what_lacks(maas: MaasEnv, host: int) -> None:
    response = allocate(maas, cpu_count="2", mem=str(64 * GIB))
    assert response.status_code == 409
    assert response.text.startswith("No available machine matches constraints: ")
    assert "memory" in response.text
    assert "retry-after" not in response.headers
    assert _records(maas) == 0


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"cpu_count": "1", "colour": "blue"}, "No such constraint."),
        ({"storage": "root:abc"}, 'Malformed storage constraint, "root:abc".'),
        ({"interfaces": "eth0"}, "Malformed constraint: 'eth0'"),
        ({"interfaces": "eth0:space=nowhere"}, "nowhere"),
        ({"zone": "mars"}, "mars"),
        ({"tags": "gpu"}, "gpu"),
        ({"not_subnets": "subnet:3"}, "not_subnets"),
        ({"mem": "lots"}, "mem: 'lots' is not a number."),
        ({"pod": "nopod"}, "nopod"),
        ({"fabrics": "f1"}, "fabrics: not supported by vmhost."),
    ],
)
def test_bad_allocate_is_400_and_leaves_nothing(
    maas: MaasEnv, host: int, fields: dict[str, str], words: str
) -> None:
    response = allocate(maas, **fields)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert words in response.text
    assert _records(maas) == 0 and _on_host() == {}
    assert_accounts_exact(maas.services)


def test_bad_deploy_and_release_leave_nothing(maas: MaasEnv, host: int) -> None:
    sid = allocate(maas).json()["system_id"]
    bad = maas.post(f"machines/{sid}/?op=deploy", {"user_data": "not base64!!"})
    assert bad.status_code == 400 and "user_data" in bad.text
    not_gzip = base64.b64encode(b"\x1f\x8bnot really gzip").decode()
    assert maas.post(f"machines/{sid}/?op=deploy", {"user_data": not_gzip}).status_code == 400
    assert maas.get(f"machines/{sid}/").json()["status_name"] == "Allocated"
    assert _on_host() == {}

    unknown = maas.post("machines/?op=release", [("machines", sid), ("machines", "zzzzzz")])
    assert unknown.status_code == 400 and "zzzzzz" in unknown.text
    assert maas.get(f"machines/{sid}/").json()["status_name"] == "Allocated"

    _, other = maas.services.tokens.create("other-model", "admin")
    token_id = next(t.id for t in maas.services.tokens.list() if t.name == "other-model")
    other_key = f"other-model:{token_id}:{other}"
    theirs = maas.post("machines/?op=release", [("machines", sid)], key=other_key)
    assert theirs.status_code == 403 and sid in theirs.text
    assert maas.post(f"machines/{sid}/?op=deploy", {}, key=other_key).status_code == 403
    missing = maas.post("machines/zzzzzz/?op=deploy", {})
    assert missing.status_code == 404 and missing.text == "No Machine matches the given query."
    assert maas.post(f"machines/{sid}/?op=dance", {}).status_code == 400
    assert _records(maas) == 1
    assert_accounts_exact(maas.services)


def test_failed_deployment_says_why(maas: MaasEnv, host: int) -> None:
    sid = allocate(maas).json()["system_id"]
    fake.hypervisor_at("fake://kvm1").inject("compose", "disk full on the host")
    assert maas.post(f"machines/{sid}/?op=deploy", {}).status_code == 200
    failed = _wait_status(maas, sid, "Failed deployment", "Deployed")
    assert (failed["status_name"], failed["status"]) == ("Failed deployment", 11)
    assert "disk full on the host" in failed["status_message"]
    assert _on_host() == {}
    assert maas.post("machines/?op=release", [("machines", sid)]).status_code == 200
    assert _records(maas) == 0
    assert_accounts_exact(maas.services)


def test_twenty_parallel_allocates_for_room_for_twelve(maas: MaasEnv) -> None:
    add_host(maas, "kvm1", cores=12, memory_mib=64 * GIB)

    def one(i: int) -> Any:
        return allocate(maas, cpu_count="1", mem="1024", agent_name=f"m{i}")

    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(one, range(20)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] * 12 + [409] * 8, [a.text for a in answers if a.status_code != 200]
    for answer in answers:
        if answer.status_code == 409:
            assert answer.text.startswith("No available machine matches constraints: ")
            assert "retry-after" not in answer.headers
    sids = {a.json()["system_id"] for a in answers if a.status_code == 200}
    assert len(sids) == 12
    assert len(maas.get("machines/").json()) == 12
    assert _records(maas) == 12
    assert_accounts_exact(maas.services)


@pytest.mark.parametrize(("field", "value"), [("cpu_count", "100000"), ("mem", str(2**31))])
def test_more_than_any_host_is_a_no_match(
    maas: MaasEnv, host: int, field: str, value: str
) -> None:
    response = allocate(maas, **{field: value})
    assert response.status_code == 409, response.text
    assert response.text.startswith(f"No available machine matches constraints: {field}={value}")
    assert _records(maas) == 0
