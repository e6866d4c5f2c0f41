"""Logging in with an API token, and out."""

from __future__ import annotations

import hmac
import secrets

import fastapi
from fastapi.responses import Response
from starlette.datastructures import FormData

from vmhost.service import AuthenticationError

from . import format as fmt
from . import render
from .forms import Form, form_data
from .session import (
    COOKIE,
    LOGIN_COOKIE,
    SESSION_TTL_S,
    LoginRequired,
    Session,
    check_csrf,
    current,
    safe_next,
    services,
    sessions,
    set_cookie,
    set_session_cookie,
)

router = render.router()


def _login_page(
    request: fastapi.Request, next_url: str, why: str = "", error: str = "", status: int = 200
) -> Response:
    nonce = secrets.token_urlsafe(16)
    response = render.page(
        request,
        None,
        "login.html",
        status,
        next_url=safe_next(next_url),
        why=why,
        error=error,
        nonce=nonce,
    )
    # login CSRF: the form's nonce must match this cookie (double submit)
    set_cookie(
        response, request, LOGIN_COOKIE, nonce, max_age=3600, samesite="strict", path="/login"
    )
    return response


@router.get("/login")
def login_form(request: fastapi.Request, next: str = "/", why: str = "") -> Response:  # noqa: A002
    """The login page (already logged in: straight on)."""
    try:
        current(request)
        return render.redirect(request, safe_next(next))
    except LoginRequired:
        return _login_page(request, next, why[:300])


@router.post("/login")
def login(request: fastapi.Request, data: FormData = fastapi.Depends(form_data)) -> Response:
    """Check the token; a good one opens a session."""
    form = Form(data)
    next_url = safe_next(form.text("next"))
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    if not nonce or not hmac.compare_digest(nonce, form.text("nonce")):
        return _login_page(
            request,
            next_url,
            error="The login form expired (or cookies are off). Paste the token again.",
            status=400,
        )
    token = form.text("token")
    if not token:
        return _login_page(request, next_url, error="Paste an API token.", status=400)
    try:
        identity = services(request).tokens.authenticate(token)
    except AuthenticationError as exc:
        return _login_page(request, next_url, error=fmt.sentence(str(exc)), status=400)
    value, _csrf = sessions(request).seal(token)
    role = "admin" if identity.is_admin else "read-only"
    response = render.redirect(request, next_url, f"Logged in as {identity.name} ({role}).")
    set_session_cookie(response, request, value, SESSION_TTL_S)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


def _session_or_none(request: fastapi.Request) -> Session | None:
    try:
        return current(request)
    except LoginRequired:
        return None


@router.post("/logout")
def logout(request: fastapi.Request, data: FormData = fastapi.Depends(form_data)) -> Response:
    """End the session (the token itself stays valid)."""
    session = _session_or_none(request)
    if session is not None:
        check_csrf(request, session, Form(data).text("csrf_token"))
    response = render.redirect(request, "/login?why=You+are+logged+out.")
    response.delete_cookie(COOKIE, path="/")
    return response
