"""``GET describe/``: the API description python-libmaas builds its bindings from, and the one
table of the MAAS API's handlers (names as MAAS's, so libmaas finds ``Machines``, ``Machine``,
``Pods`` ...; each action is a method plus an ``op``, or a restful verb when ``op`` is None).

python-libmaas 0.6.8 calls each handler's ``uri`` verbatim (``{system_id}`` and the other
params filled in), so ``uri`` is built from the request's scheme and ``Host`` header, as
MAAS does: a client that reached us on some address and port keeps using them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from typing import Any

from .catalog_json import PREFIX

_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")
RESTFUL = {"GET": "read", "POST": "create", "PUT": "update", "DELETE": "delete"}


@dataclasses.dataclass(frozen=True, slots=True)
class Action:
    """One operation of a handler."""

    method: str
    op: str | None = None  # None: the restful verb of ``method``
    doc: str = ""

    @property
    def name(self) -> str:
        """The name libmaas binds (the op, or read/create/update/delete)."""
        return self.op if self.op is not None else RESTFUL[self.method]


@dataclasses.dataclass(frozen=True, slots=True)
class Handler:
    """A MAAS handler: a path under the API with its params and actions."""

    name: str
    path: str  # relative to PREFIX, ending in "/"
    actions: tuple[Action, ...]
    doc: str
    anon: bool = False

    @property
    def params(self) -> list[str]:
        """The ``{param}`` names of the path, in order."""
        return re.findall(r"{([a-z_]+)}", self.path)


def _h(name: str, path: str, doc: str, *actions: Action, anon: bool = False) -> Handler:
    return Handler(name, path, tuple(actions), doc, anon)


READ = Action("GET", doc="Read.")
DELETE = Action("DELETE", doc="Delete.")

#: Every handler of the MAAS API, as served (``src/vmhost/maas/``).
HANDLERS: tuple[Handler, ...] = (
    _h("VersionHandler", "version/", "The MAAS version and capabilities.", READ, anon=True),
    _h("UsersHandler", "users/", "Users.", Action("GET", "whoami", "The token's user.")),
    _h("BootResourcesHandler", "boot-resources/", "Images the VM hosts can run.", READ),
    _h("BootResourceHandler", "boot-resources/{id}/", "An image.", READ),
    _h("ZonesHandler", "zones/", "Zones that hold a VM host.", READ),
    _h("ZoneHandler", "zones/{name}/", "A zone.", READ),
    _h("DomainsHandler", "domains/", "DNS domains.", READ),
    _h("DomainHandler", "domains/{id}/", "A DNS domain.", READ),
    _h("SpacesHandler", "spaces/", "Spaces and their subnets.", READ),
    _h("SpaceHandler", "spaces/{id}/", "A space.", READ),
    _h("SubnetsHandler", "subnets/", "Subnets: host networks with an IPv4 CIDR.", READ),
    _h("SubnetHandler", "subnets/{id}/", "A subnet.", READ),
    _h(
        "MachinesHandler",
        "machines/",
        "Machines: VMs on the VM hosts, composed when allocate finds none idle.",
        Action("GET", doc="List (filters: id, agent_name, hostname, mac_address, zone, ...)."),
        Action("POST", "allocate", "Allocate a machine matching the constraints."),
        Action("POST", "release", "Release machines."),
    ),
    _h(
        "MachineHandler",
        "machines/{system_id}/",
        "A machine.",
        READ,
        Action("PUT", doc="Update."),
        Action("POST", "deploy", "Deploy with distro_series and user_data."),
        Action("POST", "release", "Release."),
        Action("POST", "set_owner_data", "Set or clear owner data keys."),
    ),
    _h(
        "FilesHandler",
        "files/",
        "Files (Juju's provider state).",
        Action("GET", doc="List (prefix)."),
        Action("GET", "get", "The content of a file (filename)."),
        Action("POST", doc="Add a file (filename, file)."),
    ),
    _h("FileHandler", "files/{filename}/", "A file.", READ, DELETE),
    *(
        h
        for prefix, what in (("Pod", "pods"), ("VmHost", "vm-hosts"))
        for h in (
            _h(
                f"{prefix}sHandler",
                f"{what}/",
                "VM hosts.",
                Action("GET", doc="List."),
                Action("POST", doc="Add (type, power_address, power_pass, name, zone, tags)."),
            ),
            _h(
                f"{prefix}Handler",
                f"{what}/{{id}}/",
                "A VM host.",
                READ,
                Action("DELETE", doc="Delete (decompose=true removes its VMs)."),
                Action("POST", "compose", "Compose a machine on this VM host."),
            ),
        )
    ),
)


def base_uri(scheme: str, host_header: str | None, fallback_netloc: str) -> str:
    """``scheme://host`` of the request (its ``Host`` header when well-formed)."""
    host = host_header if host_header and _HOST.match(host_header) else fallback_netloc
    return f"{'https' if scheme == 'https' else 'http'}://{host}"


def _handler_json(handler: Handler, base: str) -> dict[str, Any]:
    path = f"{PREFIX}/{handler.path}"
    return {
        "name": handler.name,
        "doc": handler.doc,
        "path": path,
        "params": handler.params,
        "uri": f"{base}{path}",
        "actions": [
            {
                "name": a.name,
                "method": a.method,
                "op": a.op,
                "restful": a.op is None,
                "doc": a.doc,
            }
            for a in handler.actions
        ],
    }


def _hash() -> str:
    shape = [(h.name, h.path, [(a.method, a.op) for a in h.actions]) for h in HANDLERS]
    return hashlib.sha256(json.dumps(shape).encode()).hexdigest()[:40]


HASH = _hash()


def describe(base: str) -> dict[str, Any]:
    """The API description with every handler's ``uri`` under ``base`` (``scheme://host``)."""
    resources = []
    for handler in HANDLERS:
        body = _handler_json(handler, base)
        resources.append(
            {
                "name": handler.name,
                "anon": body if handler.anon else None,
                "auth": None if handler.anon else body,
            }
        )
    return {"doc": "MAAS API (the part vmhost serves)", "hash": HASH, "resources": resources}
