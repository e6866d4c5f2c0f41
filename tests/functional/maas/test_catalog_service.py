"""``service.maas_catalog`` and ``service.maas_files`` on SQLite and PostgreSQL: stable ids
never reused, assigned once even by concurrent readers, and the file store."""

from __future__ import annotations

import threading

import pytest
from core_support import add_fake_host, inventory

from vmhost import model
from vmhost.service import Services
from vmhost.service import maas_catalog as mc


def _networks(*names_cidrs: tuple[str, str]) -> dict:  # type: ignore[type-arg]
    return {
        **inventory(),
        "networks": [{"name": n, "kind": "bridge", "cidr": c} for n, c in names_cidrs],
    }


def test_space_of_prefers_the_hosts_own_mapping() -> None:
    mapping = {None: {"db": ("br0",), "aaa": ("br0",)}, 7: {"web": ("br0",)}}
    assert mc.space_of(7, "br0", mapping) == "web"
    assert mc.space_of(8, "br0", mapping) == "aaa"  # several: the first by name
    assert mc.space_of(8, "br9", mapping) == "undefined"
    assert mc.ipv4_network("10.0.0.1/24") == "10.0.0.0/24"
    assert mc.ipv4_network("fd00::/64") is None and mc.ipv4_network("") is None


def test_ids_are_stable_and_never_reused(services: Services) -> None:
    h1 = add_fake_host(services, "h1", _networks(("br0", "10.1.0.0/24"), ("br1", "10.2.0.0/24")))
    services.spaces.set("db", "br0")
    first = {s.network: s.id for s in services.maas_catalog.subnets()}
    services.hosts.delete(h1)
    assert services.maas_catalog.subnets() == []
    add_fake_host(services, "h2", _networks(("br0", "10.1.0.0/24")))  # a new host, a new id
    (again,) = services.maas_catalog.subnets()
    assert again.id not in first.values()
    db_id = services.maas_catalog.space("db").id
    services.spaces.unset("db")
    services.spaces.set("db", "br0")
    assert services.maas_catalog.space("db").id == db_id
    with pytest.raises(model.NotFoundError):
        services.maas_catalog.space("nothing")


def test_concurrent_first_reads_agree_on_the_ids(services: Services) -> None:
    for i in range(3):
        add_fake_host(services, f"h{i}", _networks(("br0", f"10.{i}.0.0/24")))
    seen: list[list[int]] = []
    errors: list[BaseException] = []

    def read() -> None:
        try:
            seen.append([s.id for s in services.maas_catalog.subnets()])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert len(seen) == 6 and all(ids == seen[0] for ids in seen)
    assert len(set(seen[0])) == 3


def test_files(services: Services) -> None:
    services.maas_files.put("a-1", b"\x00\xff")
    services.maas_files.put("a-2", b"22")
    services.maas_files.put("b", b"")
    assert [f.filename for f in services.maas_files.list("a-")] == ["a-1", "a-2"]
    assert services.maas_files.get("a-1").content == b"\x00\xff"
    assert [f.size_bytes for f in services.maas_files.list()] == [2, 2, 0]
    services.maas_files.delete("a-1")
    with pytest.raises(model.NotFoundError):
        services.maas_files.get("a-1")
    with pytest.raises(model.NotFoundError):
        services.maas_files.delete("a-1")
    with pytest.raises(model.InvalidInputError, match="filename"):
        services.maas_files.put("../x", b"")
    assert [f.filename for f in services.maas_files.list()] == ["a-2", "b"]
