"""The parameters of ``machines/?op=allocate`` and ``pods/{id}/?op=compose``, parsed once into
the typed request (``service.machines.AllocateRequest``).

The storage and interfaces strings go through the one grammar (``schemas.maas_grammar``, by
``schemas.ComposeBody``) and the one typed compose path (``service.compose_request``); MAAS's
names become ComposeBody's (``cpu_count`` -> ``cores``, ``mem`` -> ``memory_mib`` ...). Spaces
may be given by id or name (Juju sends MAAS's numeric ids: ``interfaces=5:space=5``,
``not_subnets=space:6``); ids are resolved to names by the space catalogue when it is there.
An unknown parameter is a 400 ``No such constraint.``, as MAAS.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import pydantic

from vmhost import model, schemas
from vmhost.service.compose_request import compose_request
from vmhost.service.machines import AllocateRequest

from .errors import MaasError
from .forms import MaasForm

ALLOCATE_KEYS = frozenset(
    {
        "cpu_count", "mem", "arch", "tags", "not_tags", "zone", "not_in_zone", "pool",
        "not_in_pool", "storage", "interfaces", "not_subnets", "name", "system_id",
        "agent_name", "comment", "dry_run", "pod", "not_pod", "pod_type", "verbose",
        "bridge_all", "bridge_stp", "bridge_fd",
    }
)  # fmt: skip
# MAAS has these; vmhost cannot honour them (a value is refused, naming the parameter)
UNSUPPORTED_KEYS = frozenset(
    {
        "fabrics", "not_fabrics", "fabric_classes", "not_fabric_classes", "subnets",
        "not_pod_type", "networks", "not_networks", "connected_to", "not_connected_to",
        "devices", "cpu_speed",
    }
)  # fmt: skip
MIN_MEMORY_MIB = schemas.vms.MIN_MEMORY_MIB

SpaceName = Callable[[str], str]


def _number(form: MaasForm, name: str) -> int | None:
    """A minimum count (MAAS accepts floats: ``8192.0``), rounded up; None when not sent."""
    value = form.get(name)
    if value is None or value.strip() == "":
        return None
    try:
        number = float(value)
    except ValueError:
        raise MaasError(400, f"{name}: {value!r} is not a number.") from None
    if not math.isfinite(number) or number < 0:
        raise MaasError(400, f"{name}: {value!r} is not a non-negative number.")
    return math.ceil(number)


def _list(form: MaasForm, name: str) -> list[str]:
    """A repeated field; each value may also be comma-separated (MAAS's older clients)."""
    return [
        item.strip() for value in form.getlist(name) for item in value.split(",") if item.strip()
    ]


def _flag(form: MaasForm, name: str) -> bool:
    return (form.get(name) or "").strip().lower() in ("true", "1", "yes", "on")


def _not_subnets(values: list[str], space_name: SpaceName) -> list[str]:
    spaces = []
    for value in values:
        kind, colon, key = value.partition(":")
        if not colon or kind != "space" or not key:
            raise MaasError(
                400,
                f"not_subnets: {value!r}: vmhost excludes subnets by space only "
                "('space:<id or name>').",
            )
        spaces.append(space_name(key))
    return spaces


def _body(fields: dict[str, object]) -> schemas.ComposeBody:
    try:
        return schemas.ComposeBody.model_validate(fields)
    except pydantic.ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error.get("loc", ())) or "request"
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        raise MaasError(
            400, message if where in ("storage", "interfaces") else f"{where}: {message}"
        ) from None


def _resolve_spaces(request: model.ComposeRequest, space_name: SpaceName) -> model.ComposeRequest:
    interfaces = tuple(
        dataclasses.replace(
            nic,
            space=space_name(nic.space) if nic.space is not None else None,
            or_spaces=tuple(space_name(s) for s in nic.or_spaces),
        )
        for nic in request.interfaces
    )
    not_spaces = tuple(space_name(s) for s in request.not_spaces)
    return dataclasses.replace(request, interfaces=interfaces, not_spaces=not_spaces)


def compose_fields(form: MaasForm, names: dict[str, str]) -> dict[str, object]:
    """ComposeBody's fields from MAAS's (``names``: MAAS name -> ComposeBody name)."""
    fields: dict[str, object] = {}
    cores = _number(form, names["cores"])
    if cores:
        fields["cores"] = cores
    memory = _number(form, names["memory"])
    if memory:
        fields["memory_mib"] = max(memory, MIN_MEMORY_MIB)  # a minimum: a larger VM answers it
    arch = (form.get(names["arch"]) or "").strip()
    if arch:
        fields["architecture"] = arch.split("/")[0]
    for key in ("storage", "interfaces", "zone", "pool", "hostname"):
        value = form.get(names.get(key, key))
        if value is not None and value.strip():
            fields[key] = value.strip()
    return fields


def _beyond_any_host(fields: dict[str, object]) -> None:
    """A minimum larger than any host can have matches no machine: MAAS's 409, not a 400."""
    limits = (
        ("cores", "cpu_count", schemas.vms.MAX_CORES, "cores"),
        ("memory_mib", "mem", schemas.vms.MAX_MEMORY_MIB, "MiB of memory"),
    )
    for key, name, limit, what in limits:
        value = fields.get(key)
        if isinstance(value, int) and value > limit:
            raise model.NoCapacityError(
                f"{name}={value} (no VM host has more than {limit} {what})"
            )


def allocate_request(form: MaasForm, space_name: SpaceName) -> AllocateRequest:
    """The typed allocate request; MaasError 400 for what MAAS refuses."""
    for name in form.names():
        if name not in ALLOCATE_KEYS and name not in UNSUPPORTED_KEYS:
            raise MaasError(400, "No such constraint.")
        if name in UNSUPPORTED_KEYS and any(v.strip() for v in form.getlist(name)):
            raise MaasError(400, f"{name}: not supported by vmhost.")
    names = {"cores": "cpu_count", "memory": "mem", "arch": "arch", "hostname": "name"}
    fields = compose_fields(form, names)
    fields["tags"] = _list(form, "tags")
    fields["not_tags"] = _list(form, "not_tags")
    _beyond_any_host(fields)
    body = _body(fields)
    request = compose_request(body, None)
    not_spaces = _not_subnets(form.getlist("not_subnets"), space_name)
    request = _resolve_spaces(
        dataclasses.replace(request, not_spaces=(*request.not_spaces, *not_spaces)), space_name
    )
    disk_labels = tuple(spec.label for spec in body.disk_specs())
    grammar = (
        schemas.maas_grammar.interfaces(body.interfaces)
        if isinstance(body.interfaces, str)
        else None
    )
    nic_labels = tuple(nic.label for nic in grammar.nics) if grammar else ()
    system_id = (form.get("system_id") or "").strip() or None
    return AllocateRequest(
        compose=request,
        disk_labels=disk_labels,
        nic_labels=nic_labels,
        agent_name=(form.get("agent_name") or "").strip(),
        comment=form.get("comment") or "",
        dry_run=_flag(form, "dry_run"),
        system_id=system_id,
        pods=tuple(_list(form, "pod")),
        not_pods=tuple(_list(form, "not_pod")),
        pod_type=(form.get("pod_type") or "").strip() or None,
        not_in_zones=tuple(_list(form, "not_in_zone")),
        not_in_pools=tuple(_list(form, "not_in_pool")),
    )


COMPOSE_KEYS = frozenset(
    {"cores", "memory", "cpu_speed", "architecture", "storage", "hostname", "domain", "zone",
     "interfaces", "pool"}
)  # fmt: skip


def compose_request_of(form: MaasForm, space_name: SpaceName) -> model.ComposeRequest:
    """``pods/{id}/?op=compose``'s request."""
    for name in form.names():
        if name not in COMPOSE_KEYS:
            raise MaasError(400, f"{name}: not a compose parameter.")
    names = {"cores": "cores", "memory": "memory", "arch": "architecture"}
    fields = compose_fields(form, names)
    fields.pop("zone", None)  # the pod's zone: a pod is in one zone
    request = compose_request(_body(fields), None)
    return _resolve_spaces(request, space_name)
