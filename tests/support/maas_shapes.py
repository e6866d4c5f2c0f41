"""The JSON shapes MAAS clients require of a MAAS 2.0 API, as checkers.

Juju's gomaasapi reads every answer through juju/schema field maps: a key whose checker allows
nil may be absent or null; every other key must be present with the right type; extra keys are
ignored; numbers are "ForceInt" (an int or a float, never a bool). Debian's gomaasapi 2.0.0 also
requires ``hardware_info`` to be an object. python-libmaas checks a few more machine keys
(``status``, ``locked``, ``netboot``...). ``check(shape, value)`` returns every problem found,
each naming the path of the key (``interface_set[0].links[1].subnet.vlan.fabric``), so a test can
show them all at once.

``allocate_problems`` adds the rule for ``machines/?op=allocate``: ``constraints_by_type`` is
present (``{}`` at least) and every id it names is in that same answer's ``blockdevice_set``
(``partition:<id>`` in a device's ``partitions``) or ``interface_set``.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

Checker = Callable[[Any, str], list[str]]

#: MAAS's status numbers for the names vmhost uses (src/maascommon/node.py in MAAS).
STATUS_NAMES = {
    0: "New",
    4: "Ready",
    6: "Deployed",
    9: "Deploying",
    10: "Allocated",
    11: "Failed deployment",
    12: "Releasing",
    13: "Releasing failed",
}


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def string(value: Any, path: str) -> list[str]:
    """A JSON string."""
    return [] if isinstance(value, str) else [f"{path}: a string, not {_type_name(value)}"]


def integer(value: Any, path: str) -> list[str]:
    """juju/schema ForceInt: a JSON number, not a boolean."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return [] if ok else [f"{path}: a number, not {_type_name(value)}"]


def boolean(value: Any, path: str) -> list[str]:
    """A JSON boolean."""
    return [] if isinstance(value, bool) else [f"{path}: a boolean, not {_type_name(value)}"]


def anything(value: Any, path: str) -> list[str]:
    """Any JSON value."""
    return []


def one_of(*choices: str) -> Checker:
    """A string among ``choices``."""

    def checker(value: Any, path: str) -> list[str]:
        if value in choices:
            return []
        return [f"{path}: one of {', '.join(choices)}, not {value!r}"]

    return checker


def list_of(item: Checker) -> Checker:
    """A JSON list whose items all pass ``item``."""

    def checker(value: Any, path: str) -> list[str]:
        if not isinstance(value, list):
            return [f"{path}: a list, not {_type_name(value)}"]
        return [p for i, v in enumerate(value) for p in item(v, f"{path}[{i}]")]

    return checker


def string_map(value: Any, path: str) -> list[str]:
    """An object of string values (owner_data)."""
    if not isinstance(value, dict):
        return [f"{path}: an object, not {_type_name(value)}"]
    return [p for k, v in value.items() for p in string(v, f"{path}.{k}")]


def json_object(value: Any, path: str) -> list[str]:
    """Any JSON object."""
    return [] if isinstance(value, dict) else [f"{path}: an object, not {_type_name(value)}"]


def request_uri(value: Any, path: str) -> list[str]:
    """What Go's url.ParseRequestURI accepts: an absolute URL or an absolute path."""
    if not isinstance(value, str):
        return string(value, path)
    parsed = urllib.parse.urlsplit(value)
    if value.startswith("/") or (parsed.scheme and parsed.netloc):
        return []
    return [f"{path}: an absolute URL or path, not {value!r}"]


def absolute_path(value: Any, path: str) -> list[str]:
    """A resource_uri: an absolute path under the API's mount point."""
    if not isinstance(value, str):
        return string(value, path)
    if value.startswith("/MAAS/api/2.0/") and value.endswith("/"):
        return []
    return [f"{path}: a path under /MAAS/api/2.0/ ending in '/', not {value!r}"]


@dataclasses.dataclass(frozen=True)
class Key:
    """One key of an object: its checker, and whether it may be absent or null."""

    checker: Checker
    nullable: bool = False  # juju/schema OneOf(Nil, ...): absent or null allowed


def required(checker: Checker) -> Key:
    """A key that must be present and not null."""
    return Key(checker)


def nullable(checker: Checker) -> Key:
    """A key that may be absent or null."""
    return Key(checker, nullable=True)


@dataclasses.dataclass(frozen=True)
class Shape:
    """A JSON object's keys."""

    name: str
    keys: Mapping[str, Key]

    def __call__(self, value: Any, path: str) -> list[str]:
        if not isinstance(value, dict):
            return [f"{path or self.name}: a {self.name} object, not {_type_name(value)}"]
        problems: list[str] = []
        for key, spec in self.keys.items():
            where = f"{path}.{key}" if path else key
            if key not in value or value[key] is None:
                if not spec.nullable:
                    problems.append(f"{where}: required ({self.name}), missing or null")
                continue
            problems.extend(spec.checker(value[key], where))
        return problems


def check(shape: Checker, value: Any, path: str = "") -> list[str]:
    """Every problem of ``value`` against ``shape`` (empty when it conforms)."""
    return shape(value, path)


# --- the shapes (gomaasapi's field maps; libmaas's extras noted) -------------------------------

VLAN = Shape(
    "vlan",
    {
        "id": required(integer),
        "resource_uri": required(string),
        "fabric": required(string),
        "vid": required(integer),
        "mtu": required(integer),
        "dhcp_on": required(boolean),
        "name": nullable(string),
        "primary_rack": nullable(string),
        "secondary_rack": nullable(string),
    },
)

SUBNET = Shape(
    "subnet",
    {
        "resource_uri": required(string),
        "id": required(integer),
        "name": required(string),
        "space": required(string),
        "cidr": required(string),
        "vlan": required(VLAN),
        "gateway_ip": nullable(string),
        "dns_servers": nullable(list_of(string)),
    },
)

LINK = Shape(
    "link",
    {
        "id": required(integer),
        "mode": required(one_of("auto", "dhcp", "static", "link_up")),
        "subnet": nullable(SUBNET),
        "ip_address": nullable(string),
    },
)

INTERFACE = Shape(
    "interface",
    {
        "resource_uri": required(string),
        "id": required(integer),
        "name": required(string),
        "type": required(one_of("physical", "bond", "bridge", "vlan")),
        "enabled": required(boolean),
        "links": required(list_of(LINK)),
        "effective_mtu": required(integer),
        "parents": required(list_of(string)),
        "children": required(list_of(string)),
        "tags": nullable(list_of(string)),
        "vlan": nullable(VLAN),
        "mac_address": nullable(string),
    },
)

SPACE = Shape(
    "space",
    {
        "resource_uri": required(string),
        "id": required(integer),
        "name": required(string),
        "subnets": required(list_of(SUBNET)),
    },
)

ZONE = Shape(
    "zone",
    {
        "name": required(string),
        "description": required(string),
        "resource_uri": required(string),
    },
)

POOL = Shape("pool", ZONE.keys)

DOMAIN = Shape(
    "domain",
    {
        "authoritative": required(boolean),
        "resource_record_count": required(integer),
        "ttl": nullable(integer),
        "resource_uri": required(string),
        "id": required(integer),
        "name": required(string),
    },
)

PARTITION = Shape(
    "partition",
    {
        "resource_uri": required(string),
        "id": required(integer),
        "path": required(string),
        "used_for": required(string),
        "size": required(integer),
        "tags": nullable(list_of(string)),
        "uuid": nullable(string),
        "filesystem": nullable(json_object),
    },
)

BLOCK_DEVICE = Shape(
    "blockdevice",
    {
        "resource_uri": required(string),
        "id": required(integer),
        "name": required(string),
        "path": required(string),
        "used_for": required(string),
        "tags": required(list_of(string)),
        "block_size": required(integer),
        "used_size": required(integer),
        "size": required(integer),
        "partitions": required(list_of(PARTITION)),
        "uuid": nullable(string),
        "model": nullable(string),
        "id_path": nullable(string),
        "filesystem": nullable(json_object),
    },
)

MACHINE = Shape(
    "machine",
    {
        # gomaasapi: required
        "resource_uri": required(absolute_path),
        "system_id": required(string),
        "hostname": required(string),
        "fqdn": required(string),
        "tag_names": required(list_of(string)),
        "owner_data": required(string_map),
        "osystem": required(string),
        "distro_series": required(string),
        "memory": required(integer),
        "cpu_count": required(integer),
        "ip_addresses": required(list_of(string)),
        "power_state": required(string),
        "status_name": required(string),
        "interface_set": required(list_of(INTERFACE)),
        "zone": required(ZONE),
        "physicalblockdevice_set": required(list_of(BLOCK_DEVICE)),
        "blockdevice_set": required(list_of(BLOCK_DEVICE)),
        # Debian's gomaasapi 2.0.0 fails on a null hardware_info: always an object
        "hardware_info": required(json_object),
        # gomaasapi: nullable
        "architecture": nullable(string),
        "status_message": nullable(string),
        "boot_interface": nullable(INTERFACE),
        "pool": nullable(POOL),
        # python-libmaas and MAAS parity
        "status": required(integer),
        "node_type": required(integer),
        "power_type": required(string),
        "netboot": required(boolean),
        "locked": required(boolean),
        "domain": required(json_object),
        "owner": nullable(string),
        "pod": nullable(json_object),
    },
)

BOOT_RESOURCE = Shape(
    "boot resource",
    {
        "resource_uri": required(string),
        "id": required(integer),
        "name": required(string),
        "type": required(string),
        "architecture": required(string),
    },
)

FILE = Shape(
    "file",
    {
        "resource_uri": required(string),
        "filename": required(string),
        "anon_resource_uri": required(request_uri),
        "content": nullable(string),
    },
)

VERSION = Shape(
    "version",
    {
        "capabilities": required(list_of(string)),
        "version": required(string),
        "subversion": required(string),
    },
)

WHOAMI = Shape(
    "user",
    {
        "username": required(string),
        "email": required(string),
        "is_superuser": required(boolean),
        "is_local": required(boolean),
        "resource_uri": required(string),
    },
)

ACTION = Shape(
    "action",
    {
        "name": required(string),
        "method": required(string),
        "op": nullable(string),
        "restful": required(boolean),
        "doc": required(string),
    },
)

HANDLER = Shape(
    "handler",
    {
        "name": required(string),
        "doc": required(string),
        "path": required(string),
        "params": required(list_of(string)),
        "uri": required(request_uri),
        "actions": required(list_of(ACTION)),
    },
)

DESCRIBE = Shape(
    "describe",
    {
        "doc": required(string),
        "hash": required(string),
        "resources": required(
            list_of(
                Shape(
                    "resource",
                    {
                        "name": required(string),
                        "anon": nullable(HANDLER),
                        "auth": nullable(HANDLER),
                    },
                )
            )
        ),
    },
)

TOTALS = Shape(
    "pod resources",
    {"cores": required(integer), "memory": required(integer), "local_storage": required(integer)},
)

POD = Shape(
    "pod",
    {
        "id": required(integer),
        "name": required(string),
        "type": required(string),
        "architectures": required(list_of(string)),
        "capabilities": required(list_of(string)),
        "tags": required(list_of(string)),
        "total": required(TOTALS),
        "used": required(TOTALS),
        "available": required(TOTALS),
        "zone": required(ZONE),
        "pool": required(POOL),
        "cpu_over_commit_ratio": required(integer),
        "memory_over_commit_ratio": required(integer),
        "resource_uri": required(string),
    },
)

COMPOSED = Shape(
    "composed machine",
    {"system_id": required(string), "resource_uri": required(absolute_path)},
)


def status_problems(machine: Mapping[str, Any]) -> list[str]:
    """``status`` and ``status_name`` agree with MAAS's numbering."""
    status, name = machine.get("status"), machine.get("status_name")
    if isinstance(status, int) and STATUS_NAMES.get(status) != name:
        return [f"status {status} is {STATUS_NAMES.get(status)!r} in MAAS, not {name!r}"]
    return []


def allocate_problems(answer: Any) -> list[str]:
    """A machine, plus ``constraints_by_type`` naming only ids of this same answer."""
    problems = check(MACHINE, answer) + (
        status_problems(answer) if isinstance(answer, dict) else []
    )
    if not isinstance(answer, dict):
        return problems
    matches = answer.get("constraints_by_type")
    if not isinstance(matches, dict):
        return [*problems, f"constraints_by_type: an object (even {{}}), not {matches!r}"]
    devices = {d.get("id") for d in answer.get("blockdevice_set") or [] if isinstance(d, dict)}
    partitions = {
        f"partition:{p.get('id')}"
        for d in answer.get("blockdevice_set") or []
        if isinstance(d, dict)
        for p in d.get("partitions") or []
        if isinstance(p, dict)
    }
    interfaces = {i.get("id") for i in answer.get("interface_set") or [] if isinstance(i, dict)}
    for kind, known in (("storage", devices | partitions), ("interfaces", interfaces)):
        labels = matches.get(kind, {})
        if not isinstance(labels, dict):
            problems.append(f"constraints_by_type.{kind}: an object, not {labels!r}")
            continue
        for label, ids in labels.items():
            if not isinstance(ids, list):
                problems.append(f"constraints_by_type.{kind}.{label}: a list, not {ids!r}")
                continue
            problems.extend(
                f"constraints_by_type.{kind}.{label}: {i!r} is not in this answer's "
                f"{'blockdevice_set' if kind == 'storage' else 'interface_set'}"
                for i in ids
                if i not in known
            )
    return problems
