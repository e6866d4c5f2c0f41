"""Browser sessions: log in with an API token, kept in an encrypted, signed cookie.

The cookie (``HttpOnly``, ``SameSite=Lax``, ``Secure`` over HTTPS) holds the token and the
session's CSRF secret, sealed with a Fernet key (AES + HMAC, with a timestamp for the session's
lifetime) kept in the data directory with mode 600. Every request authenticates the token again,
so a revoked or expired token ends the session at once. Every form carries the CSRF secret and
every POST is refused without it; changes also need an admin token, checked here on the server,
whatever the page showed.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import os
import secrets
import urllib.parse
from typing import Literal

import fastapi
from cryptography.fernet import Fernet, InvalidToken

from vmhost import pki
from vmhost.service import AuthenticationError, Identity, Services

COOKIE = "vmhost_session"
LOGIN_COOKIE = "vmhost_login"
FLASH_COOKIE = "vmhost_flash"
KEY_FILE = "web-session.key"
SESSION_TTL_S = 12 * 3600
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(Exception):  # noqa: N818 (control flow: the answer is the login page)
    """No valid session: the answer is the login page (saying why, when there is a reason)."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


class Forbidden(Exception):  # noqa: N818 (answered as a 403 page)
    """A change refused: read-only token, or a form that did not come from this site."""


READ_ONLY = (
    "This token is read-only: it can see everything but change nothing. "
    "Log in with an admin token to make changes."
)
BAD_FORM = (
    "This form has expired or did not come from this site (its security token is missing or "
    "wrong). Reload the page and try again."
)


@dataclasses.dataclass(frozen=True, slots=True)
class Session:
    """Who is logged in and the secret their forms carry."""

    identity: Identity
    csrf: str

    @property
    def is_admin(self) -> bool:
        """Admin tokens may change things; read-only tokens see everything."""
        return self.identity.is_admin


class Sessions:
    """Seals and opens session cookies with the key in the data directory."""

    def __init__(self, data_dir: str) -> None:
        self._fernet = Fernet(pki.load_or_create_secret(os.path.join(data_dir, KEY_FILE)))

    def seal(self, token: str) -> tuple[str, str]:
        """A cookie value for a new session of ``token``, and the session's CSRF secret."""
        csrf = secrets.token_urlsafe(24)
        body = json.dumps({"t": token, "c": csrf}).encode()
        return self._fernet.encrypt(body).decode("ascii"), csrf

    def open(self, cookie: str) -> tuple[str, str]:
        """The token and CSRF secret of a cookie (LoginRequired when forged or too old)."""
        try:
            data = json.loads(self._fernet.decrypt(cookie.encode("ascii"), ttl=SESSION_TTL_S))
            return str(data["t"]), str(data["c"])
        except (InvalidToken, UnicodeError, ValueError, KeyError, TypeError):
            raise LoginRequired("Your session has expired. Log in again.") from None

    def seal_text(self, text: str) -> str:
        """A short message for the next page (flash), unforgeable."""
        return self._fernet.encrypt(text.encode()).decode("ascii")

    def open_text(self, value: str) -> str:
        """The message of ``seal_text`` ('' when forged or older than a minute)."""
        try:
            return self._fernet.decrypt(value.encode("ascii"), ttl=60).decode()
        except (InvalidToken, UnicodeError, ValueError):
            return ""


def services(request: fastapi.Request) -> Services:
    """The process's services."""
    svc: Services = request.app.state.services
    return svc


def sessions(request: fastapi.Request) -> Sessions:
    """The process's session sealer (made on first use)."""
    state = request.app.state
    found: Sessions | None = getattr(state, "web_sessions", None)
    if found is None:
        found = Sessions(services(request).ctx.settings.data_dir)
        state.web_sessions = found
    return found


def current(request: fastapi.Request) -> Session:
    """The logged-in session (LoginRequired otherwise)."""
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        raise LoginRequired()
    token, csrf = sessions(request).open(cookie)
    try:
        identity = services(request).tokens.authenticate(token)
    except AuthenticationError as exc:
        text = str(exc)
        raise LoginRequired(f"{text[:1].upper()}{text[1:]}. Log in again.") from None
    return Session(identity, csrf)


def check_csrf(request: fastapi.Request, session: Session, submitted: str | None) -> None:
    """Refuse a POST whose CSRF secret (form field or header) is missing or wrong, or that
    comes from another origin."""
    given = submitted or request.headers.get(CSRF_HEADER, "")
    if not given or not hmac.compare_digest(given, session.csrf):
        raise Forbidden(BAD_FORM)
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        if urllib.parse.urlsplit(origin).netloc != host:
            raise Forbidden(BAD_FORM)


def check_admin(session: Session) -> None:
    """Refuse a change from a read-only token."""
    if not session.is_admin:
        raise Forbidden(READ_ONLY)


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this site only."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def set_cookie(
    response: fastapi.Response,
    request: fastapi.Request,
    name: str,
    value: str,
    *,
    max_age: int | None,
    samesite: Literal["lax", "strict"] = "lax",
    path: str = "/",
) -> None:
    """One of the UI's cookies with its protections: HttpOnly, SameSite, Secure over HTTPS."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite=samesite,
        secure=request.url.scheme == "https",
        path=path,
    )


def set_session_cookie(
    response: fastapi.Response, request: fastapi.Request, value: str, max_age: int | None
) -> None:
    """The session cookie (``set_cookie``)."""
    set_cookie(response, request, COOKIE, value, max_age=max_age)
