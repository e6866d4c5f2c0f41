"""The MAAS catalogue Juju reads before it allocates: version/ and describe/ (anonymous),
users/?op=whoami, boot-resources/, zones/, domains/, spaces/ and subnets/ (issue 13 item 2),
on SQLite and PostgreSQL, with fake hosts whose networks have IPv4 CIDRs."""

from __future__ import annotations

from typing import Any

from core_support import add_fake_host, inventory
from maas_support import MaasEnv

from vmhost import maas as maas_api
from vmhost import model
from vmhost.maas import catalog_json


def _host(env: MaasEnv, name: str, networks: list[dict[str, Any]], **extra: Any) -> int:
    inv = {**inventory(), "networks": networks, **extra}
    return add_fake_host(env.services, name, inv)


def _lab(env: MaasEnv) -> tuple[int, int]:
    """Two hosts: h1 (br0 10.20.0.0/24 in 'db', br1 10.21.0.0/24 in no space, v6 only),
    h2 in zone z2 on arm64 (br0 10.30.0.0/24, in 'db' through the every-host mapping)."""
    env.services.zones.create("z2")
    env.services.zones.create("empty")
    h1 = _host(
        env,
        "h1",
        [
            {"name": "br0", "kind": "bridge", "cidr": "10.20.0.0/24"},
            {"name": "br1", "kind": "bridge", "cidr": "10.21.0.0/24"},
            {"name": "v6", "kind": "bridge", "cidr": "fd00::/64"},
            {"name": "eth9", "kind": "physical"},
        ],
    )
    h2 = _host(
        env,
        "h2",
        [{"name": "br0", "kind": "bridge", "cidr": "10.30.0.0/24"}],
        architectures=["arm64/generic"],
    )
    env.services.hosts.update(h2, _zone("z2"))
    env.services.spaces.set("db", "br0")
    env.services.spaces.set("dmz", "nothing-here")
    return h1, h2


def _zone(name: str) -> Any:
    return model.HostChanges(zone=name)


def test_prefix_is_the_mount_point() -> None:
    assert catalog_json.PREFIX == maas_api.PREFIX


def test_version_is_anonymous_and_complete(maas: MaasEnv) -> None:
    answer = maas.client.get(maas.url("version/"))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert set(body["capabilities"]) >= {"networks-management", "storage-deployment-ubuntu"}
    assert isinstance(body["version"], str) and isinstance(body["subversion"], str)
    assert maas.get("version/").json() == body  # signed as gomaasapi does: the same


def test_whoami_is_the_token(maas: MaasEnv) -> None:
    me = maas.get("users/", {"op": "whoami"}).json()
    assert me == {
        "username": "juju",
        "email": "",
        "is_superuser": True,
        "is_local": True,
        "resource_uri": "/MAAS/api/2.0/users/juju/",
    }
    assert (
        maas.get("users/", {"op": "whoami"}, key=maas.reader_key).json()["is_superuser"] is False
    )
    assert maas.client.get(maas.url("users/?op=whoami")).status_code == 401
    refused = maas.get("users/", {"op": "nope"})
    assert refused.status_code == 400 and "op=nope" in refused.text


def test_zones_are_those_that_hold_a_host(maas: MaasEnv) -> None:
    assert maas.get("zones/").json() == []
    _lab(maas)
    zones = maas.get("zones/").json()
    assert [z["name"] for z in zones] == ["default", "z2"]
    z2 = zones[1]
    assert z2["resource_uri"] == "/MAAS/api/2.0/zones/z2/"
    assert maas.get("zones/z2/").json() == z2
    assert maas.get("zones/empty/").status_code == 404


def test_boot_resources_per_series_and_architecture(maas: MaasEnv) -> None:
    assert maas.get("boot-resources/").json() == []  # no host: nothing can run
    _lab(maas)
    _host(
        maas,
        "h3",
        [{"name": "br0", "kind": "bridge", "cidr": "10.40.0.0/24"}],
        architectures=["ppc64el/generic"],
    )
    maas.services.hosts.update(
        maas.services.hosts.host_id_by_name("h3"),
        model.HostChanges(options={"series_images": {"mine": "local-image"}}),
    )
    resources = maas.get("boot-resources/").json()
    pairs = {(r["name"], r["architecture"]) for r in resources}
    defaults = set(model.DEFAULT_SERIES_IMAGES)
    assert "noble" in defaults
    archs = ("amd64/generic", "arm64/generic", "ppc64el/generic")
    assert pairs == {(f"ubuntu/{s}", a) for s in defaults for a in archs} | {
        ("ubuntu/mine", "ppc64el/generic")  # that host's own series only, on its arch only
    }
    assert all(r["type"] == "Synced" for r in resources)
    again = maas.get("boot-resources/").json()
    assert again == resources  # the same ids every time
    first = resources[0]
    assert maas.get(f"boot-resources/{first['id']}/").json() == first
    assert maas.get("boot-resources/999999/").status_code == 404
    assert maas.get("boot-resources/x/").status_code == 404


def test_domains(maas: MaasEnv) -> None:
    (domain,) = maas.get("domains/").json()
    assert domain["name"] == "maas" and domain["authoritative"] is True
    assert maas.get(f"domains/{domain['id']}/").json() == domain
    assert maas.get("domains/other/").status_code == 404


def test_spaces_have_subnets_from_host_networks(maas: MaasEnv) -> None:
    _lab(maas)
    spaces = maas.get("spaces/").json()
    by_name = {s["name"]: s for s in spaces}
    assert list(by_name) == ["undefined", "db", "dmz"]
    assert by_name["undefined"]["id"] == -1
    db = by_name["db"]
    assert sorted(s["cidr"] for s in db["subnets"]) == ["10.20.0.0/24", "10.30.0.0/24"]
    assert all(s["space"] == "db" for s in db["subnets"])
    assert by_name["dmz"]["subnets"] == []  # Juju skips it (the README says so)
    (unmapped,) = by_name["undefined"]["subnets"]
    assert unmapped["cidr"] == "10.21.0.0/24" and unmapped["space"] == "undefined"
    vlan = unmapped["vlan"]
    assert (vlan["vid"], vlan["fabric"], vlan["dhcp_on"]) == (0, "br1", True)
    assert maas.get(f"spaces/{db['id']}/").json() == db
    assert maas.get("spaces/-1/").json() == by_name["undefined"]
    assert maas.get("spaces/12345/").status_code == 404
    subnets = maas.get("subnets/").json()
    assert sorted(s["id"] for s in subnets) == sorted(
        s["id"] for sp in spaces for s in sp["subnets"]
    )
    assert maas.get(f"subnets/{unmapped['id']}/").json() == unmapped
    assert maas.get("subnets/nope/").status_code == 404


def test_space_and_subnet_ids_are_stable(maas: MaasEnv) -> None:
    _lab(maas)
    before = {s["name"]: s for s in maas.get("spaces/").json()}
    maas.services.spaces.set("aaa", "br1")  # a new space sorts first by name...
    after = {s["name"]: s for s in maas.get("spaces/").json()}
    assert after["db"]["id"] == before["db"]["id"]  # ...and takes no one's id
    assert after["aaa"]["id"] not in {s["id"] for s in before.values()}
    moved = after["aaa"]["subnets"][0]
    assert moved["id"] == before["undefined"]["subnets"][0]["id"]  # same (host, network)
    maas.services.spaces.unset("db")
    maas.services.spaces.set("db", "br0")
    assert {s["name"]: s["id"] for s in maas.get("spaces/").json()}["db"] == before["db"]["id"]
    assert maas.services.maas_catalog.space_name(str(before["db"]["id"])) == "db"
    assert maas.services.maas_catalog.space_name("db") == "db"


def test_unknown_space_is_a_400_naming_it(maas: MaasEnv) -> None:
    import pytest

    from vmhost import model

    with pytest.raises(model.InvalidInputError, match="'nope'"):
        maas.services.maas_catalog.space_name("nope")


def test_catalogue_needs_a_valid_key_and_knows_no_op(maas: MaasEnv) -> None:
    for path in ("boot-resources/", "zones/", "domains/", "spaces/", "subnets/"):
        assert maas.client.get(maas.url(path)).status_code == 401, path
        assert maas.get(path, key=maas.reader_key).status_code == 200, path
        refused = maas.get(path, {"op": "frobnicate"})
        assert refused.status_code == 400 and "op=frobnicate" in refused.text, path
