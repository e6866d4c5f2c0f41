"""Zones, resource pools and network spaces: list (with what uses them), create, rename,
delete."""

from __future__ import annotations

from typing import Any

import fastapi
from fastapi.responses import Response

from vmhost import model
from vmhost.service import NamedService, Services

from . import format as fmt
from . import render
from .forms import Form
from .host_pages import ChangeForm
from .session import current, services

router = render.router()

KINDS = {
    "zones": ("zone", "Zones", "zone", "Availability zones: each VM host is in exactly one."),
    "pools": (
        "pool",
        "Resource pools",
        "resource pool",
        "Resource pools group VM hosts by who may use them: each host is in exactly one.",
    ),
}


def _named(svc: Services, collection: str) -> NamedService:
    return svc.zones if collection == "zones" else svc.pools


def _item_key(key: str) -> int | str:
    return int(key) if key.isascii() and key.isdigit() and len(key) < 19 else key


def _page(
    request: fastapi.Request,
    collection: str,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    edit: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    svc = services(request)
    kind, title, what, blurb = KINDS[collection]
    used = svc.host_list.usage_of_names()[kind]
    items = [
        {**i, "host_names": sorted(used.get(i["name"], []))}
        for i in _named(svc, collection).list()
    ]
    return render.page(
        request,
        current(request),
        "named.html",
        status,
        collection=collection,
        title=title,
        what=what,
        blurb=blurb,
        items=items,
        values=values or {},
        errors=errors or {},
        edit=edit or {},
    )


def _routes(collection: str) -> None:
    _kind, _title, what, _blurb = KINDS[collection]

    def list_items(request: fastapi.Request) -> Response:
        return _page(request, collection)

    def create(request: fastapi.Request, form: Form = ChangeForm) -> Response:
        name = form.required("name", "The name")
        if form.ok:
            try:
                _named(services(request), collection).create(name, form.text("description"))
                return render.redirect(request, f"/{collection}", f"Created the {what} {name}.")
            except model.InvalidInputError as exc:
                form.take(exc)
            except model.ConflictError as exc:
                form.fail("name", fmt.sentence(exc.message))
        return _page(request, collection, form.values(), form.errors, status=400)

    def update(request: fastapi.Request, key: str, form: Form = ChangeForm) -> Response:
        named = _named(services(request), collection)
        item = named.get(_item_key(key))
        changes = {
            "name": form.required("name", "The name"),
            "description": form.text("description"),
        }
        if form.ok:
            try:
                done = named.update(item["id"], changes)
                return render.redirect(
                    request, f"/{collection}", f"Saved the {what} {done['name']}."
                )
            except model.InvalidInputError as exc:
                form.take(exc)
            except model.ConflictError as exc:
                form.fail("name", fmt.sentence(exc.message))
        edit = {"id": item["id"], "values": form.values(), "errors": form.errors}
        return _page(request, collection, edit=edit, status=400)

    def delete(request: fastapi.Request, key: str, _form: Form = ChangeForm) -> Response:
        named = _named(services(request), collection)
        try:
            item = named.delete(_item_key(key))
        except model.ConflictError as exc:
            return render.redirect(request, f"/{collection}", fmt.sentence(exc.message))
        return render.redirect(request, f"/{collection}", f"Deleted the {what} {item['name']}.")

    router.add_api_route(f"/{collection}", list_items, methods=["GET"])
    router.add_api_route(f"/{collection}", create, methods=["POST"])
    router.add_api_route(f"/{collection}/{{key}}", update, methods=["POST"])
    router.add_api_route(f"/{collection}/{{key}}/delete", delete, methods=["POST"])


for _collection in KINDS:
    _routes(_collection)


def _spaces_page(
    request: fastapi.Request,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    svc = services(request)
    return render.page(
        request,
        current(request),
        "spaces.html",
        status,
        mappings=svc.spaces.list(),
        hosts=sorted(svc.hosts.names().items(), key=lambda kv: kv[1]),
        values=values or {},
        errors=errors or {},
    )


@router.get("/spaces")
def spaces(request: fastapi.Request) -> Response:
    """Which host network each space means."""
    return _spaces_page(request)


@router.post("/spaces")
def set_space(request: fastapi.Request, form: Form = ChangeForm) -> Response:
    """Map a network (on every host, or on one) to a space."""
    space = form.required("space", "The space")
    network = form.required("network", "The network")
    host = form.text("host")
    host_id = int(host) if host.isascii() and host.isdigit() and len(host) < 19 else None
    if host and host_id is None:
        form.fail("host", f"{host!r} is not a VM host")
    if form.ok:
        try:
            services(request).spaces.set(space, network, host_id)
            return render.redirect(request, "/spaces", f"Space {space} now means {network}.")
        except model.InvalidInputError as exc:
            form.take(exc)
        except model.ConflictError as exc:  # a known space spelt in another case
            form.fail(next(iter(exc.fields), "space"), fmt.sentence(exc.message))
        except model.NotFoundError as exc:
            form.fail("host", fmt.sentence(exc.message))
    return _spaces_page(request, form.values(), form.errors, 400)


@router.post("/spaces/unset")
def unset_space(request: fastapi.Request, form: Form = ChangeForm) -> Response:
    """Remove one mapping of a space."""
    space, network = form.text("space"), form.text("network")
    try:
        services(request).spaces.unset(space, network or None)
    except model.NotFoundError as exc:
        return render.redirect(request, "/spaces", fmt.sentence(exc.message))
    return render.redirect(request, "/spaces", f"Removed {network} from space {space}.")
