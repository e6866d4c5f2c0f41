"""``/``: the VM hosts, filtered, sorted and paged, each with its resource meters."""

from __future__ import annotations

import enum
import urllib.parse
from collections.abc import Mapping
from typing import TypeVar

import fastapi
from fastapi.responses import Response

from vmhost import model
from vmhost.service import HostListQuery, HostSort
from vmhost.service.host_list import MAX_PER_PAGE

from . import render
from .hostinfo import host_info
from .session import Session, current, services

router = render.router()

SORT_LABELS = {
    HostSort.NAME: "Name",
    HostSort.TYPE: "Type",
    HostSort.STATUS: "Status",
    HostSort.ZONE: "Zone",
    HostSort.POOL: "Resource pool",
    HostSort.VMS: "VMs",
    HostSort.FREE_CORES: "Free cores",
    HostSort.FREE_MEMORY: "Free memory",
    HostSort.FREE_STORAGE: "Free storage (largest pool)",
}
PER_PAGE = 50
E = TypeVar("E", bound=enum.StrEnum)


def _int(text: str, default: int, low: int, high: int) -> int:
    try:
        return min(max(int(text), low), high)
    except ValueError:
        return default


def parse_query(params: Mapping[str, str]) -> tuple[HostListQuery, list[str]]:
    """The list's query from the URL; values it cannot use are dropped, with a notice."""
    notices: list[str] = []

    def enum_value(name: str, kind: type[E]) -> E | None:
        text = params.get(name, "")
        if not text:
            return None
        try:
            return kind(text)
        except ValueError:
            notices.append(f"Unknown {name} {text!r} ignored.")
            return None

    sort_text = params.get("sort", HostSort.NAME.value)
    try:
        sort = HostSort(sort_text)
    except ValueError:
        notices.append(f"Unknown sort {sort_text!r} ignored.")
        sort = HostSort.NAME
    query = HostListQuery(
        zone=params.get("zone") or None,
        pool=params.get("pool") or None,
        tag=params.get("tag") or None,
        status=enum_value("status", model.HostStatus),
        type=enum_value("type", model.HostType),
        text=params.get("q", "").strip()[:100],
        sort=sort,
        descending=params.get("order") == "desc",
        page=_int(params.get("page", "1"), 1, 1, 10**6),
        per_page=_int(params.get("per_page", str(PER_PAGE)), PER_PAGE, 1, MAX_PER_PAGE),
    )
    return query, notices


def page_url(params: Mapping[str, str], **changes: object) -> str:
    """This list's URL with some parameters changed (empty ones left out)."""
    merged = {**params, **{k: str(v) for k, v in changes.items()}}
    kept = {k: v for k, v in merged.items() if v and not (k == "page" and v == "1")}
    return "/?" + urllib.parse.urlencode(kept) if kept else "/"


@router.get("/")
def host_list(request: fastapi.Request) -> Response:
    """The host list."""
    session: Session = current(request)
    params = dict(request.query_params)
    query, notices = parse_query(params)
    listing = services(request).host_list.page(query)
    if query.page > listing.pages:
        query, _ = parse_query({**params, "page": str(listing.pages)})
        listing = services(request).host_list.page(query)
    filtered = any(params.get(k) for k in ("zone", "pool", "tag", "status", "type", "q"))
    return render.page(
        request,
        session,
        "hosts.html",
        hosts=[host_info(d) for d in listing.hosts],
        listing=listing,
        query=query,
        params=params,
        notices=notices,
        filtered=filtered,
        sorts=SORT_LABELS,
        page_url=lambda **changes: page_url(params, **changes),
        first=(listing.page - 1) * listing.per_page + 1,
        last=min(listing.page * listing.per_page, listing.matching),
    )
