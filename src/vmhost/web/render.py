"""Rendering pages (Jinja2) and answering every error of a web route with a page.

``WebRoute`` is the web's counterpart of the API's error route: a missing or expired session
goes to the login page, a refused change is a 403 page, a domain error a page with its message
and status, anything else a 500 page with a reference (the traceback goes to the log only).
Requests made by the pages' scripts (``Accept: application/json``) get the same as JSON.
"""

from __future__ import annotations

import logging
import pathlib
import secrets
import urllib.parse
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

import fastapi
import fastapi.routing
import jinja2
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from vmhost import __version__, model

from . import format as fmt
from .session import (
    CSRF_FIELD,
    FLASH_COOKIE,
    Forbidden,
    LoginRequired,
    Session,
    current,
    sessions,
    set_cookie,
)

log = logging.getLogger("vmhost.web")

TEMPLATES = pathlib.Path(__file__).parent / "templates"

env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters.update(
    mib=fmt.mib,
    size=fmt.size,
    pagesize=fmt.page_size,
    ratio=fmt.ratio,
    count=fmt.count,
    plural=fmt.plural,
    cores=fmt.core_ranges,
    zip_pairs=fmt.pairs,
    is_ratio=fmt.is_ratio,
)
env.globals.update(version=__version__, csrf_field=CSRF_FIELD)


def wants_json(request: fastapi.Request) -> bool:
    """Whether the caller is a page's script (it asked for JSON)."""
    return "application/json" in request.headers.get("accept", "")


def page(
    request: fastapi.Request,
    session: Session | None,
    template: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A rendered page; the flash message of the previous action, if any, is shown once."""
    flash = ""
    cookie = request.cookies.get(FLASH_COOKIE)
    if cookie:
        flash = sessions(request).open_text(cookie)
    html = env.get_template(template).render(
        request=request,
        session=session,
        admin=session is not None and session.is_admin,
        csrf=session.csrf if session else "",
        flash=flash,
        path=request.url.path,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    if cookie:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def redirect(request: fastapi.Request, url: str, flash: str = "") -> RedirectResponse:
    """303 to ``url`` (a GET), with a message for the next page."""
    response = RedirectResponse(url, status_code=303)
    if flash:
        sealed = sessions(request).seal_text(flash)
        set_cookie(response, request, FLASH_COOKIE, sealed, max_age=60)
    return response


def error_answer(request: fastapi.Request, exc: BaseException) -> Response:
    """The page (or JSON) for an exception raised by a web route."""
    if isinstance(exc, LoginRequired):
        if wants_json(request):
            return JSONResponse({"message": exc.reason or "log in", "login": "/login"}, 401)
        query = {"next": request.url.path + (f"?{request.url.query}" if request.url.query else "")}
        if exc.reason:
            query["why"] = exc.reason
        return RedirectResponse(f"/login?{urllib.parse.urlencode(query)}", status_code=303)
    status, title, message = _describe(exc)
    if wants_json(request):
        return JSONResponse({"message": message}, status_code=status)
    return page(
        request, _session_or_none(request), "error.html", status, title=title, message=message
    )


def _session_or_none(request: fastapi.Request) -> Session | None:
    """The session, for the error page's menu (none when it is the problem)."""
    try:
        return current(request)
    except Exception:
        return None


def _describe(exc: BaseException) -> tuple[int, str, str]:
    if isinstance(exc, Forbidden):
        return 403, "Not allowed", str(exc)
    if isinstance(exc, model.NotFoundError):
        return 404, "Not found", f"{exc.message[:1].upper()}{exc.message[1:]}."
    if isinstance(exc, model.InvalidInputError):
        return 400, "Bad input", exc.message
    if isinstance(exc, model.NoCapacityError | model.ConflictError):
        return 409, "Conflict", exc.message
    if isinstance(exc, model.HostProblemError):
        return 503, "VM host problem", exc.message
    if isinstance(exc, model.VmHostError):
        return 500, "Error", exc.message
    reference = secrets.token_hex(4)
    log.error("internal error %s on a web page", reference, exc_info=exc)
    return (
        500,
        "Internal error",
        f"Something went wrong on the server (reference {reference}; details are in the "
        "server log). Nothing was changed by this page.",
    )


class WebRoute(fastapi.routing.APIRoute):
    """A route whose every exception becomes a page (or a JSON message for scripts)."""

    def get_route_handler(self) -> Callable[[fastapi.Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: fastapi.Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:  # the one place web errors become pages
                return error_answer(request, exc)

        return guarded


def router() -> fastapi.APIRouter:
    """A router for web pages (HTML answers, not in the API document)."""
    return fastapi.APIRouter(route_class=WebRoute, include_in_schema=False)


def field_errors(exc: model.InvalidInputError, known: Mapping[str, str]) -> dict[str, str]:
    """An input error as one message per form field (``known`` maps the service's field names
    to the form's); a message for no known field goes under ``_form``."""
    result: dict[str, str] = {}
    for name, messages in exc.fields.items():
        field = known.get(name, name if name in known.values() else "_form")
        result.setdefault(field, "; ".join(messages))
    if not result:
        result["_form"] = exc.message
    return result
