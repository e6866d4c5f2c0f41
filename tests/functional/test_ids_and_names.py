"""Ids are never reused and names are unique regardless of case (issue 12 items 1 and 14), on
SQLite and on the real PostgreSQL."""

from __future__ import annotations

import pytest
from core_support import add_fake_host

from vmhost import model
from vmhost.service import Services


def _compose(services: Services, hostname: str) -> int:
    request = model.ComposeRequest(cores=1, memory_mib=1024, hostname=hostname)
    return int(services.vms.compose(request).vm.id)


def test_the_id_of_the_newest_vm_is_not_given_again(services: Services) -> None:
    add_fake_host(services, "h1")
    first = _compose(services, "vm1")
    newest = _compose(services, "vm2")
    services.vms.decompose(newest)
    again = _compose(services, "vm3")
    assert again not in (first, newest)
    assert again > newest


def test_host_zone_pool_token_and_space_ids_are_not_given_again(services: Services) -> None:
    add_fake_host(services, "h1")
    newest_host = add_fake_host(services, "h2")
    services.hosts.delete(newest_host)
    assert add_fake_host(services, "h3") > newest_host

    for named in (services.zones, services.pools):
        newest = named.create("second")["id"]
        named.delete(newest)
        assert named.create("third")["id"] > newest

    record, _ = services.tokens.create("t1", "admin")
    services.tokens.revoke(record.id)
    assert services.tokens.create("t2", "admin")[0].id > record.id

    mapping = services.spaces.set("db", "br0")
    services.spaces.unset("db")
    assert services.spaces.set("db", "br0")["id"] > mapping["id"]


def test_host_names_are_unique_regardless_of_case(services: Services) -> None:
    host_id = add_fake_host(services, "local-lxd")
    with pytest.raises(model.ConflictError, match="as 'local-lxd'") as err:
        services.hosts.add(
            model.HostSettings(name="LOCAL-LXD", type=model.HostType.FAKE, address="fake://x")
        )
    assert list(err.value.fields) == ["name"]
    other = add_fake_host(services, "other")
    with pytest.raises(model.ConflictError, match="unique regardless of case") as err:
        services.hosts.update(other, model.HostChanges(name="Local-Lxd"))
    assert list(err.value.fields) == ["name"]
    # a host may change the case of its own name
    assert services.hosts.update(host_id, model.HostChanges(name="Local-LXD")).host.name == (
        "Local-LXD"
    )
    assert [d.host.name for d in services.hosts.list()] == ["Local-LXD", "other"]


@pytest.mark.parametrize("kind", ["zones", "pools"])
def test_zone_and_pool_names_are_unique_regardless_of_case(services: Services, kind: str) -> None:
    named = services.zones if kind == "zones" else services.pools
    item = named.create("rack1")
    for attempt in (lambda: named.create("RACK1"), lambda: named.create("rack1")):
        with pytest.raises(model.ConflictError, match="already exists") as err:
            attempt()
        assert list(err.value.fields) == ["name"]
    with pytest.raises(model.ConflictError, match="as 'default'"):
        named.update(item["id"], {"name": "Default"})
    assert named.update(item["id"], {"name": "Rack1"})["name"] == "Rack1"
    assert [i["name"] for i in named.list()] == ["default", "Rack1"]


def test_space_names_are_unique_regardless_of_case(services: Services) -> None:
    services.spaces.set("db", "br0")
    with pytest.raises(model.ConflictError, match="space 'DB' already exists as 'db'") as err:
        services.spaces.set("DB", "br1")
    assert list(err.value.fields) == ["space"]
    services.spaces.set("db", "br1")  # the same spelling maps more networks
    assert sorted(m["network"] for m in services.spaces.list()) == ["br0", "br1"]
