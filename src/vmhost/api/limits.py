"""Limits on request bodies, checked before a route reads them.

- Every body (REST, MAAS, web) is at most :data:`MAX_BODY_BYTES`: a larger ``Content-Length``
  is answered 413 before anything is read, and a chunked body is counted as it arrives and
  refused as soon as it passes the limit, so no request makes the server hold more than that.
  (FastAPI's own ``max_body_size`` does the same but answers in plain text, over our JSON
  errors.) 2 MiB is the largest legitimate body with
  room to spare: a compose's ``user_data`` is at most 1,000,000 characters
  (``schemas.ComposeBody``), and MAAS clients send it base64-encoded in a form (4/3 as long).
- A body sent to the REST API (``/api/``) must be JSON: a form (``curl -d``) or text is
  answered 422 "send JSON (Content-Type: application/json)" rather than a validation error
  about the body's shape. The MAAS API (``/MAAS/``) and the web pages
  take forms and are not concerned.

Lists inside a body are bounded by the wire models (``schemas.MAX_ITEMS``).
"""

from __future__ import annotations

from typing import Any

import fastapi.exceptions
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import errors

MAX_BODY_BYTES = 2 * 1024 * 1024
JSON_ONLY_PREFIX = "/api/"
SEND_JSON = "send JSON (Content-Type: application/json)"


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (
        media.startswith(b"application/") and media.endswith(b"+json")
    )


def not_json(content_type: bytes) -> fastapi.exceptions.RequestValidationError:
    """The 422 answer for a body that is not JSON."""
    sent = content_type.decode("latin-1").split(";", 1)[0].strip() or "no Content-Type"
    return fastapi.exceptions.RequestValidationError(
        [{"type": "content_type", "loc": ("body",), "msg": f"{SEND_JSON}, not {sent}"}]
    )


def too_large() -> HTTPException:
    """The 413 answer."""
    return HTTPException(413, f"the request body is larger than {MAX_BODY_BYTES} bytes (2 MiB)")


class BodyLimits:
    """ASGI middleware: bodies at most :data:`MAX_BODY_BYTES`, and JSON under ``/api/``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {bytes(k).lower(): bytes(v) for k, v in scope.get("headers", ())}
        length = headers.get(b"content-length", b"").strip()
        refusal: Exception | None = None
        if length and not length.isdigit():
            refusal = HTTPException(400, "Content-Length is not a number")
        elif length and int(length) > MAX_BODY_BYTES:
            refusal = too_large()
        elif scope.get("path", "").startswith(JSON_ONLY_PREFIX):
            has_body = b"transfer-encoding" in headers or length not in (b"", b"0")
            content_type = headers.get(b"content-type", b"")
            if has_body and not _is_json(content_type):
                refusal = not_json(content_type)
        if refusal is not None:
            await errors.response(refusal)(scope, receive, send)
            return
        await self.app(scope, _counted(receive), send)


def _counted(receive: Receive) -> Receive:
    """``receive`` that refuses a body growing past the limit (a route answers the 413)."""
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > MAX_BODY_BYTES:
                raise too_large()
        return message

    return counted


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the 413 answer to every operation of an OpenAPI document that takes a body."""
    answer = {
        "description": f"The body is larger than {MAX_BODY_BYTES} bytes; nothing was changed",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}
        },
    }
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                operation.setdefault("responses", {}).setdefault("413", answer)
    return schema
