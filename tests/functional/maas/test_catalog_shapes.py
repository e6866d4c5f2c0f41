"""Every catalogue answer against the keys and types gomaasapi requires (juju/schema: a key
that is not nullable must be present with its type; ``None`` in a tuple means nullable), so
a client stricter than ours never meets a missing key."""

from __future__ import annotations

from typing import Any

import pytest
from core_support import add_fake_host, inventory
from maas_support import MaasEnv

NULL = type(None)
Spec = dict[str, tuple[type, ...]]

ZONE: Spec = {"name": (str,), "description": (str,), "resource_uri": (str,)}
DOMAIN: Spec = {
    "authoritative": (bool,),
    "resource_record_count": (int,),
    "ttl": (int, NULL),
    "resource_uri": (str,),
    "id": (int,),
    "name": (str,),
}
VLAN: Spec = {
    "id": (int,),
    "resource_uri": (str,),
    "fabric": (str,),
    "vid": (int,),
    "mtu": (int,),
    "dhcp_on": (bool,),
    "name": (str, NULL),
    "primary_rack": (str, NULL),
    "secondary_rack": (str, NULL),
}
SUBNET: Spec = {
    "resource_uri": (str,),
    "id": (int,),
    "name": (str,),
    "space": (str,),
    "cidr": (str,),
    "vlan": (dict,),
    "gateway_ip": (str, NULL),
    "dns_servers": (list, NULL),
}
SPACE: Spec = {"resource_uri": (str,), "id": (int,), "name": (str,), "subnets": (list,)}
BOOT_RESOURCE: Spec = {
    "resource_uri": (str,),
    "id": (int,),
    "name": (str,),
    "type": (str,),
    "architecture": (str,),
}
FILE: Spec = {"resource_uri": (str,), "filename": (str,), "anon_resource_uri": (str,)}
VERSION: Spec = {"capabilities": (list,), "version": (str,), "subversion": (str,)}
USER: Spec = {
    "username": (str,),
    "email": (str,),
    "is_superuser": (bool,),
    "is_local": (bool,),
    "resource_uri": (str,),
}


def check(value: Any, spec: Spec, where: str) -> None:
    assert isinstance(value, dict), where
    for key, kinds in spec.items():
        assert key in value, f"{where}: no {key!r}"
        ok = any(
            (value[key] is None)
            if k is NULL
            else isinstance(value[key], k) and not (k is int and isinstance(value[key], bool))
            for k in kinds
        )
        assert ok, f"{where}.{key}: {value[key]!r} is not {kinds}"


@pytest.fixture
def lab(maas: MaasEnv) -> MaasEnv:
    networks = [
        {"name": "br0", "kind": "bridge", "cidr": "10.20.0.0/24"},
        {"name": "br1", "kind": "bridge", "cidr": "10.21.0.0/24"},
    ]
    add_fake_host(maas.services, "h1", {**inventory(), "networks": networks})
    maas.services.spaces.set("db", "br0")
    maas.services.maas_files.put("f", b"x")
    return maas


def test_every_catalogue_answer_has_the_required_keys(lab: MaasEnv) -> None:
    check(lab.get("version/").json(), VERSION, "version")
    assert all(isinstance(c, str) for c in lab.get("version/").json()["capabilities"])
    check(lab.get("users/", {"op": "whoami"}).json(), USER, "whoami")
    for path, spec in (("zones/", ZONE), ("domains/", DOMAIN), ("boot-resources/", BOOT_RESOURCE)):
        items = lab.get(path).json()
        assert items, path
        for i, item in enumerate(items):
            check(item, spec, f"{path}[{i}]")
    spaces = lab.get("spaces/").json()
    assert {s["name"] for s in spaces} == {"db", "undefined"}
    for space in spaces:
        check(space, SPACE, f"space {space['name']}")
        assert space["subnets"], space["name"]
        for subnet in space["subnets"]:
            check(subnet, SUBNET, f"subnet {subnet['cidr']}")
            check(subnet["vlan"], VLAN, f"vlan of {subnet['cidr']}")
            assert subnet["space"] == space["name"]
    for subnet in lab.get("subnets/").json():
        check(subnet, SUBNET, "subnets/")
    for item in lab.get("files/").json():
        check(item, FILE, "files/")
    one = lab.get("files/f/").json()
    check(one, FILE, "files/f/")
    assert isinstance(one["content"], str)
