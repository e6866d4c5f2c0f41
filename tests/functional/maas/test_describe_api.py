"""``describe/``: anonymous, JSON, MAAS's handler names with their params and actions, and
each ``uri`` on the scheme and Host the client used (python-libmaas 0.6.8 calls it verbatim)."""

from __future__ import annotations

from maas_support import MaasEnv

from vmhost.maas import describe


def _handlers(body: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    return {r["name"]: r["auth"] or r["anon"] for r in body["resources"]}


def test_describe_is_anonymous_json_with_maas_handler_names(maas: MaasEnv) -> None:
    answer = maas.client.get(maas.url("describe/"), headers={"Host": "10.213.70.1:5240"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert set(body) == {"doc", "hash", "resources"}
    handlers = _handlers(body)
    for name in (
        "MachinesHandler",
        "MachineHandler",
        "PodsHandler",
        "PodHandler",
        "VmHostsHandler",
        "VmHostHandler",
        "VersionHandler",
        "ZonesHandler",
        "SpacesHandler",
        "FilesHandler",
        "FileHandler",
        "UsersHandler",
        "BootResourcesHandler",
        "DomainsHandler",
        "SubnetsHandler",
    ):
        assert name in handlers, name
    machine = handlers["MachineHandler"]
    assert machine["params"] == ["system_id"]
    assert machine["path"] == "/MAAS/api/2.0/machines/{system_id}/"
    assert machine["uri"] == "http://10.213.70.1:5240/MAAS/api/2.0/machines/{system_id}/"
    actions = {a["name"]: a for a in machine["actions"]}
    assert {"read", "update", "deploy", "release", "set_owner_data"} <= set(actions)
    assert actions["update"] == {
        "name": "update",
        "method": "PUT",
        "op": None,
        "restful": True,
        "doc": "Update.",
    }
    assert actions["deploy"]["op"] == "deploy" and actions["deploy"]["restful"] is False
    machines = {a["name"] for a in handlers["MachinesHandler"]["actions"]}
    assert {"read", "allocate", "release"} <= machines
    assert "compose" in {a["name"] for a in handlers["PodHandler"]["actions"]}
    assert handlers["FileHandler"]["params"] == ["filename"]
    version = next(r for r in body["resources"] if r["name"] == "VersionHandler")
    assert version["anon"] is not None and version["auth"] is None


def test_uri_follows_the_host_header(maas: MaasEnv) -> None:
    for host in ("127.0.0.1:41234", "[fd00::1]:5240", "vmhost.example"):
        body = maas.client.get(maas.url("describe/"), headers={"Host": host}).json()
        uris = {h["uri"] for h in _handlers(body).values()}
        assert all(u.startswith(f"http://{host}/MAAS/api/2.0/") for u in uris), host
    # a Host that is not host[:port] is not echoed (the server's own address is used)
    body = maas.client.get(maas.url("describe/"), headers={"Host": "evil/<x>"}).json()
    assert not any("evil" in h["uri"] for h in _handlers(body).values())


def test_every_served_route_is_described(maas: MaasEnv) -> None:
    """Each handler's path answers something other than 'Unknown API endpoint' for its
    restful GET (when it has one), so the table and the routes agree."""
    unserved = set()
    for handler in describe.HANDLERS:
        path = handler.path.format(**{p: "1" for p in handler.params})
        for action in handler.actions:
            if action.method != "GET" or action.op is not None:
                continue
            if "Unknown API endpoint" in maas.get(path).text:
                unserved.add(handler.name)
    assert unserved == set(), unserved


def test_base_uri() -> None:
    assert describe.base_uri("https", "a:1", "b:2") == "https://a:1"
    assert describe.base_uri("http", None, "b:2") == "http://b:2"
    assert describe.base_uri("ws", "a b", "b:2") == "http://b:2"
