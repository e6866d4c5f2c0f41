"""``pods/`` and ``vm-hosts/`` (the same, by MAAS 2 and MAAS 3 names): list, read, add and
delete VM hosts with the JSON of ``vmhost vm-host read`` (``service.host_json``), its URIs
under the MAAS API. ``POST pods/{id}/?op=compose`` is in ``machines.py``.

Adding goes through the same service path as ``POST /api/v1/vm-hosts`` (``HostsService.add``):
``type`` (``lxd``, ``virsh``), ``power_address``, ``power_pass`` (LXD's trust password or the
libvirt password: used, sealed when kept, never logged or answered), ``name``, ``zone``,
``pool``, ``tags`` (comma-separated or repeated), ``project``, the over-commit ratios. Deleting
takes ``decompose`` (MAAS's default: false, the VMs stay on the hypervisor).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import fastapi

from vmhost import model
from vmhost.service import HostDetail, Services, host_json

from . import forms
from .auth import Admin, Token
from .catalog import number, restful, services
from .catalog_json import PREFIX
from .errors import MaasError, MaasRouter, unknown_op

log = logging.getLogger("vmhost.maas.pods")
router = MaasRouter()
COLLECTIONS = ("pods", "vm-hosts")
TYPES = {"lxd": model.HostType.LXD, "virsh": model.HostType.LIBVIRT, "fake": model.HostType.FAKE}
TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off", "")


def pod_json(detail: HostDetail, collection: str) -> dict[str, Any]:
    """The vm-host JSON with its URIs (and its zone's and pool's) under the MAAS API."""
    data = host_json.host_data(detail)
    h = detail.host
    data["resource_uri"] = f"{PREFIX}/{collection}/{h.id}/"
    data["zone"] = {**data["zone"], "resource_uri": f"{PREFIX}/zones/{h.zone.name}/"}
    data["pool"] = {**data["pool"], "resource_uri": f"{PREFIX}/resourcepool/{h.pool.id}/"}
    return data


def _host_id(svc: Services, key: str) -> int:
    host_id = number(key, "VM host")
    svc.hosts.get(host_id)  # NotFoundError naming it
    return host_id


def _ratio(form: forms.MaasForm, field: str, default: float) -> float:
    text = form.get(field)
    if text is None or text == "":
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 10:
        raise MaasError(400, f"{field}: {text!r} is not a number from 0 to 10.")
    return value


def _tags(form: forms.MaasForm) -> tuple[str, ...]:
    tags = [t.strip() for v in form.getlist("tags") for t in v.split(",") if t.strip()]
    for tag in tags:
        model.validate_tag(tag)
    return tuple(dict.fromkeys(tags))


def settings_of(form: forms.MaasForm, svc: Services) -> model.HostSettings:
    """A new host's settings from the form (400 naming the field)."""
    kind = (form.get("type") or "").strip()
    if kind not in TYPES:
        shown = f"{kind!r} is not" if kind else "a type is required:"
        raise MaasError(400, f"type: {shown} one of lxd, virsh.")
    address = (form.get("power_address") or "").strip()
    if not address:
        raise MaasError(400, "power_address: This field is required.")
    host_type = TYPES[kind]
    name = (form.get("name") or "").strip() or _default_name(address)
    defaults = svc.ctx.settings
    return model.HostSettings(
        name=name,
        type=host_type,
        address=address,
        zone=form.get("zone") or model.DEFAULT_ZONE,
        pool=form.get("pool") or model.DEFAULT_POOL,
        tags=_tags(form),
        cpu_over_commit_ratio=_ratio(
            form, "cpu_over_commit_ratio", defaults.default_cpu_over_commit_ratio
        ),
        memory_over_commit_ratio=_ratio(
            form, "memory_over_commit_ratio", defaults.default_memory_over_commit_ratio
        ),
        project=form.get("project") or ("default" if host_type is model.HostType.LXD else ""),
    )


def _default_name(address: str) -> str:
    """A name from the address: its host part in letters, digits and ``-``."""
    host = address.split("://", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]
    cleaned = "".join(c if c.isascii() and c.isalnum() else "-" for c in host.split(":")[0])
    return cleaned.strip("-")[:50] or "vm-host"


def _decompose(request: fastapi.Request, form: forms.MaasForm) -> bool:
    text = form.get("decompose") or request.query_params.get("decompose") or ""
    if text.strip().lower() in TRUE:
        return True
    if text.strip().lower() in FALSE:
        return False
    raise MaasError(400, f"decompose: {text[:40]!r} is not true or false.")


def _routes(collection: str) -> None:
    @router.get(f"/{collection}/", dependencies=[Token])
    def list_pods(request: fastapi.Request) -> Any:
        """Every VM host, by id."""
        restful(request)
        return [pod_json(d, collection) for d in services(request).hosts.list()]

    @router.post(f"/{collection}/", dependencies=[Admin])
    async def create_pod(request: fastapi.Request) -> Any:
        """Add a VM host and discover it (503 when it does not answer: nothing is kept)."""
        op = forms.op_of(request)
        if op:
            raise unknown_op(request, op)
        form = await forms.read_form(request)
        svc = services(request)
        settings = settings_of(form, svc)
        password = form.get("power_pass") or ""

        def add() -> HostDetail:
            return svc.hosts.add(settings, password=password)

        detail = await fastapi.concurrency.run_in_threadpool(add)
        return pod_json(detail, collection)

    @router.get(f"/{collection}/{{key}}/", dependencies=[Token])
    def read_pod(request: fastapi.Request, key: str) -> Any:
        """One VM host by id."""
        restful(request)
        svc = services(request)
        return pod_json(svc.hosts.get(_host_id(svc, key)), collection)

    @router.delete(f"/{collection}/{{key}}/", dependencies=[Admin])
    async def delete_pod(request: fastapi.Request, key: str) -> Any:
        """Remove a VM host; ``decompose=true`` deletes its composed VMs from the hypervisor
        first (204)."""
        op = forms.op_of(request)
        if op:
            raise unknown_op(request, op)
        form = await forms.read_form(request)
        decompose = _decompose(request, form)
        svc = services(request)
        host_id = await fastapi.concurrency.run_in_threadpool(_host_id, svc, key)
        errors = await fastapi.concurrency.run_in_threadpool(svc.hosts.delete, host_id, decompose)
        for error in errors:  # the host is gone; what stayed on the hypervisor is named
            log.warning("VM host %s deleted; a VM could not be decomposed: %s", host_id, error)
        return fastapi.responses.Response(status_code=204)


for _collection in COLLECTIONS:
    _routes(_collection)
