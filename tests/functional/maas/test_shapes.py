"""Every MAAS answer a client parses, checked against the keys and types clients require.

One table: each row names an answer of the MAAS API (reached through Juju's call sequence, with
fake hosts in a zone and a space mapped to their bridge) and the shape of
``support/maas_shapes.py`` it must have: machine (with ``hardware_info`` an object and the
nested interface, link, subnet, vlan, zone, pool, domain and block devices), space, zone,
domain, boot resource, file, version, whoami, describe, pod, and allocate's
``constraints_by_type`` whose ids exist in that same answer. A client stricter than ours
(Debian's gomaasapi 2.0.0) then never meets a missing key.
"""

from __future__ import annotations

import base64
import gzip
import time
from collections.abc import Callable
from typing import Any

import pytest
from maas_support import MaasEnv
from support import maas_shapes as shapes

AGENT = "5b1f3e0c-2a4d-4e6f-8a9b-0c1d2e3f4a5b"
ZONE = "shapes-zone"
SPACE = "db"
DEPLOY_TIMEOUT_S = 30.0


def _ok(response: Any) -> Any:
    assert response.status_code < 300, (
        f"{response.request.method} {response.request.url}: {response.status_code} "
        f"{response.text[:400]}"
    )
    return response.json() if response.content else None


def _arrange(maas: MaasEnv) -> None:
    token = maas.admin_key.split(":", 2)[2]
    headers = {"Authorization": f"Bearer {token}"}
    calls = [
        ("/api/v1/zones", {"name": ZONE, "description": "shapes"}),
        ("/api/v1/vm-hosts", {"type": "fake", "power_address": "fake://dhcp/s1", "name": "s1",
                              "zone": ZONE, "tags": ["virtual-ok"]}),
        ("/api/v1/vm-hosts", {"type": "fake", "power_address": "fake://dhcp/s2", "name": "s2",
                              "zone": ZONE}),
        ("/api/v1/spaces", {"space": SPACE, "network": "br0"}),
    ]  # fmt: skip
    for path, body in calls:
        _ok(maas.client.post(path, json=body, headers=headers))


def _wait_deployed(maas: MaasEnv, system_id: str) -> Any:
    deadline = time.monotonic() + DEPLOY_TIMEOUT_S
    while True:
        machine = _ok(maas.get(f"machines/{system_id}/"))
        if machine["status_name"] in ("Deployed", "Failed deployment"):
            assert machine["status_name"] == "Deployed", machine.get("status_message")
            return machine
        assert time.monotonic() < deadline, f"still {machine['status_name']}"
        time.sleep(0.1)


def _answers(maas: MaasEnv) -> dict[str, Any]:
    """Juju's sequence (and libmaas's extras), every answer kept by name."""
    _arrange(maas)
    anonymous = maas.client
    got: dict[str, Any] = {
        "version": _ok(anonymous.get(maas.url("version/"))),
        "describe": _ok(anonymous.get(maas.url("describe/"))),
        "whoami": _ok(maas.get("users/", [("op", "whoami")])),
        "boot-resources": _ok(maas.get("boot-resources/")),
        "zones": _ok(maas.get("zones/")),
        "spaces": _ok(maas.get("spaces/")),
        "domains": _ok(maas.get("domains/")),
    }
    space_id = next(s["id"] for s in got["spaces"] if s["name"] == SPACE)
    got["allocate"] = _ok(
        maas.post(
            "machines/?op=allocate",
            {
                "cpu_count": "2",
                "mem": "2048",
                "zone": ZONE,
                "storage": "root:20",
                "interfaces": f"{space_id}:space={space_id}",
                "agent_name": AGENT,
            },
        )
    )
    system_id = got["allocate"]["system_id"]
    got["machine"] = _ok(maas.get(f"machines/{system_id}/"))
    user_data = base64.b64encode(gzip.compress(b"#cloud-config\n{}\n")).decode()
    got["deploy"] = _ok(
        maas.post(
            f"machines/{system_id}/?op=deploy",
            {"user_data": user_data, "distro_series": "noble"},
        )
    )
    got["set_owner_data"] = _ok(
        maas.post(f"machines/{system_id}/?op=set_owner_data", {"juju-model-uuid": AGENT})
    )
    got["deployed"] = _wait_deployed(maas, system_id)
    got["machines"] = _ok(maas.get("machines/", [("agent_name", AGENT), ("id", system_id)]))
    _ok(
        maas.call(
            "POST",
            "files/?op=",
            data={"filename": f"{AGENT}-provider-state"},
            files={"file": ("file", b"state: 1\n")},
        )
    )
    got["files"] = _ok(maas.get("files/", [("prefix", f"{AGENT}-")]))
    got["file"] = _ok(maas.get(f"files/{AGENT}-provider-state/"))
    got["pods"] = _ok(maas.get("pods/"))
    got["pod"] = _ok(maas.get(f"pods/{got['pods'][0]['id']}/"))
    got["compose"] = _ok(
        maas.post(f"pods/{got['pods'][0]['id']}/?op=compose", {"cores": "1", "memory": "1024"})
    )
    got["composed machine"] = _ok(maas.get(f"machines/{got['compose']['system_id']}/"))
    return got


def _machine(value: Any) -> list[str]:
    return shapes.check(shapes.MACHINE, value) + shapes.status_problems(value)


def _non_empty(checker: shapes.Checker) -> Callable[[Any], list[str]]:
    def check(value: Any) -> list[str]:
        if isinstance(value, list) and not value:
            return ["an empty list: nothing to check (and clients need at least one)"]
        return shapes.check(checker, value)

    return check


def _machines(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) != 1:
        return [f"machines/?agent_name=&id=: one machine, not {value!r:.200}"]
    return _machine(value[0])


def _deployed(value: Any) -> list[str]:
    problems = _machine(value)
    linked = [link.get("ip_address") for i in value["interface_set"] for link in i["links"]]
    if not any(linked) or not value["ip_addresses"]:
        problems.append("Deployed without interface_set[].links[].ip_address (Juju SSHes there)")
    return problems


def _spaces(value: Any) -> list[str]:
    problems = _non_empty(shapes.list_of(shapes.SPACE))(value)
    ours = [s for s in value if isinstance(s, dict) and s.get("name") == SPACE]
    if not ours or not ours[0].get("subnets"):
        problems.append(f"space {SPACE!r} with a subnet (Juju skips spaces without one)")
    return problems


#: (answer, check): the table. Each check returns the problems found.
TABLE: list[tuple[str, Callable[[Any], list[str]]]] = [
    ("version", lambda v: shapes.check(shapes.VERSION, v)),
    ("describe", lambda v: shapes.check(shapes.DESCRIBE, v)),
    ("whoami", lambda v: shapes.check(shapes.WHOAMI, v)),
    ("boot-resources", _non_empty(shapes.list_of(shapes.BOOT_RESOURCE))),
    ("zones", _non_empty(shapes.list_of(shapes.ZONE))),
    ("spaces", _spaces),
    ("domains", _non_empty(shapes.list_of(shapes.DOMAIN))),
    ("allocate", shapes.allocate_problems),
    ("machine", _machine),
    ("deploy", _machine),
    ("set_owner_data", _machine),
    ("deployed", _deployed),
    ("machines", _machines),
    ("files", _non_empty(shapes.list_of(shapes.FILE))),
    ("file", lambda v: shapes.check(shapes.FILE, v)),
    ("pods", _non_empty(shapes.list_of(shapes.POD))),
    ("pod", lambda v: shapes.check(shapes.POD, v)),
    ("compose", lambda v: shapes.check(shapes.COMPOSED, v)),
    ("composed machine", _machine),
]


def test_every_answer_has_the_keys_and_types_clients_require(maas: MaasEnv) -> None:
    answers = _answers(maas)
    assert {name for name, _ in TABLE} == set(answers)
    problems = {name: check(answers[name]) for name, check in TABLE}
    assert {name: found for name, found in problems.items() if found} == {}
    # what the nested shapes reached (so the table did check them, not an empty list)
    allocated = answers["allocate"]
    assert allocated["interface_set"] and allocated["blockdevice_set"]
    assert allocated["constraints_by_type"]["interfaces"]
    assert any(link.get("subnet") for i in allocated["interface_set"] for link in i["links"])


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"hardware_info": None}, "hardware_info: required (machine), missing or null"),
        ({"memory": True}, "memory: a number, not bool"),
        ({"tag_names": "virtual"}, "tag_names: a list, not str"),
        ({"owner_data": {"k": 1}}, "owner_data.k: a string, not int"),
        ({"zone": {"name": "z"}}, "zone.description: required (zone), missing or null"),
        ({"resource_uri": "machines/x/"}, "resource_uri: a path under /MAAS/api/2.0/"),
        ({"status": 6, "status_name": "Ready"}, "status 6 is 'Deployed' in MAAS, not 'Ready'"),
    ],
)
def test_the_checker_finds_each_kind_of_problem(answer: dict[str, Any], expected: str) -> None:
    # a conforming machine, then one key broken: the checker must name it
    good: dict[str, Any] = {
        "resource_uri": "/MAAS/api/2.0/machines/abc123/",
        "system_id": "abc123", "hostname": "h", "fqdn": "h.maas", "tag_names": ["virtual"],
        "owner_data": {}, "osystem": "ubuntu", "distro_series": "", "memory": 1024,
        "cpu_count": 1, "ip_addresses": [], "power_state": "off", "status_name": "Allocated",
        "interface_set": [], "zone": {"name": "z", "description": "", "resource_uri": "/z/"},
        "physicalblockdevice_set": [], "blockdevice_set": [], "hardware_info": {},
        "status": 10, "node_type": 0, "power_type": "lxd", "netboot": False, "locked": False,
        "domain": {"name": "maas"},
    }  # fmt: skip
    assert _machine(good) == []
    broken = {**good, **answer}
    assert any(p.startswith(expected) for p in _machine(broken)), _machine(broken)
