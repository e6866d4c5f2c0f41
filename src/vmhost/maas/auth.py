"""OAuth 1.0 PLAINTEXT, as Juju's gomaasapi and python-libmaas send it.

A MAAS API key is ``consumer_key:token_key:token_secret``; vmhost's is made from an API token:
``<token name>:<token id>:<token>`` (``vmhost tokens create --maas-key``; a token never contains
``:``). PLAINTEXT sends the secret itself as ``oauth_signature="&<secret>"`` (the consumer
secret is empty), so the token is authenticated as any other (stored hashed) and its name and id
must be those of the key. Neither client signs with HMAC; a request that does is refused.

Each failure is a 401 with a readable text (gomaasapi turns a 401 into ``PermissionError``);
the header's secret never reaches a log or an answer.
"""

from __future__ import annotations

import dataclasses
import hmac
import re
import urllib.parse

import anyio.to_thread
import fastapi

from vmhost.service import AuthenticationError, Identity, Services

from .errors import ADMIN_ONLY, MaasError

KEY_SEPARATOR = ":"
_PAIR = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"([^"]*)"\s*(?:,|$)')
_REQUIRED = ("oauth_consumer_key", "oauth_token", "oauth_signature")
INVALID_KEY = "Authorization Error: Invalid API key."


def maas_api_key(name: str, token_id: int, token: str) -> str:
    """The MAAS API key of a vmhost token."""
    return KEY_SEPARATOR.join((name, str(token_id), token))


@dataclasses.dataclass(frozen=True, slots=True)
class MaasPrincipal:
    """Who made a MAAS request: the token's identity (admin, or read-only: reads only)."""

    identity: Identity

    @property
    def username(self) -> str:
        """The MAAS user name: the token's name."""
        return self.identity.name

    @property
    def is_admin(self) -> bool:
        """Whether it may allocate, deploy, release and change things."""
        return self.identity.is_admin


@dataclasses.dataclass(frozen=True, slots=True)
class OAuthCredentials:
    """The parts of a PLAINTEXT ``Authorization: OAuth`` header that matter."""

    consumer_key: str
    token_key: str
    secret: str  # the token secret (the signature without its leading "&")


def _unauthorized(text: str) -> MaasError:
    return MaasError(
        401, f"Authorization Error: {text}", {"WWW-Authenticate": 'OAuth realm="MAAS API"'}
    )


def parse_authorization(header: str | None) -> OAuthCredentials:
    """The credentials of an ``Authorization`` header; MaasError 401 when missing or malformed."""
    if not header or not header.strip():
        raise _unauthorized(
            "no credentials: send 'Authorization: OAuth ...' made from a MAAS API key."
        )
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "oauth":
        raise _unauthorized(f"the Authorization scheme must be OAuth, not {scheme[:20]!r}.")
    params: dict[str, str] = {}
    position = 0
    rest = rest.strip()
    while position < len(rest):
        match = _PAIR.match(rest, position)
        if match is None:
            raise _unauthorized('the OAuth header is malformed (expected key="value" pairs).')
        params[match.group(1)] = urllib.parse.unquote_plus(match.group(2))
        position = match.end()
    method = params.get("oauth_signature_method", "")
    if method != "PLAINTEXT":
        shown = method[:20] if method else "missing"
        raise _unauthorized(f"oauth_signature_method must be PLAINTEXT, not {shown!r}.")
    missing = [k for k in _REQUIRED if not params.get(k)]
    if missing:
        raise _unauthorized(f"the OAuth header lacks {', '.join(missing)}.")
    consumer_secret, sep, secret = params["oauth_signature"].partition("&")
    if not sep or consumer_secret or not secret:
        raise _unauthorized("the PLAINTEXT signature must be '&' followed by the token secret.")
    return OAuthCredentials(params["oauth_consumer_key"], params["oauth_token"], secret)


def authenticate(services: Services, credentials: OAuthCredentials) -> MaasPrincipal:
    """The principal of ``credentials``; MaasError 401 for an unknown key or a wrong secret."""
    try:
        identity = services.tokens.authenticate(credentials.secret)
    except AuthenticationError as exc:
        expired = "expired" in str(exc)
        raise _unauthorized(
            "the API key has expired." if expired else "Invalid API key."
        ) from None
    expected = f"{identity.name}{KEY_SEPARATOR}{identity.token_id}"
    given = f"{credentials.consumer_key}{KEY_SEPARATOR}{credentials.token_key}"
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise MaasError(401, INVALID_KEY, {"WWW-Authenticate": 'OAuth realm="MAAS API"'})
    return MaasPrincipal(identity)


async def require_maas_token(request: fastapi.Request) -> MaasPrincipal:
    """FastAPI dependency: the request's principal (401 unless its OAuth header is valid)."""
    credentials = parse_authorization(request.headers.get("authorization"))
    services: Services = request.app.state.services
    principal = await anyio.to_thread.run_sync(authenticate, services, credentials)
    request.state.maas_principal = principal
    return principal


async def require_maas_admin(request: fastapi.Request) -> MaasPrincipal:
    """FastAPI dependency: an admin principal (a read-only token gets 403)."""
    principal = await require_maas_token(request)
    if not principal.is_admin:
        raise MaasError(403, ADMIN_ONLY)
    return principal


Token = fastapi.Depends(require_maas_token)
"""A route's dependency (or a parameter's default): any valid MAAS token."""
Admin = fastapi.Depends(require_maas_admin)
"""Likewise: an admin token."""
