"""Credentials never reach the access log: query strings are redacted before uvicorn logs them.

A token belongs in the ``Authorization`` header, and a ``?token=...`` is refused (401), but
uvicorn's access log writes the request line as it came, query string included. The filter
installed on the ``uvicorn.access`` logger replaces the value of every query parameter whose
name says it is a secret (``token``, ``access_token``, ``oauth_signature``, ``password``,
``api_key``...) by ``REDACTED``; :func:`redact` does the same for any other log line that
carries a request target.
"""

from __future__ import annotations

import logging
import re
import urllib.parse

REDACTED = "REDACTED"
ACCESS_LOGGER = "uvicorn.access"
_SECRET_NAME = re.compile(r"token|pass|secret|key|signature|auth|credential|session", re.I)


def redact(target: str) -> str:
    """A request target (path and query) with the values of secret parameters replaced."""
    path, mark, query = target.partition("?")
    if not mark:
        return target
    parts = []
    for item in query.split("&"):
        name, equals, _value = item.partition("=")
        if equals and _SECRET_NAME.search(urllib.parse.unquote_plus(name)):
            item = f"{name}={REDACTED}"
        parts.append(item)
    return f"{path}?{'&'.join(parts)}"


class RedactQueryFilter(logging.Filter):
    """Redact the request targets among a log record's arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(
            isinstance(a, str) and "?" in a for a in record.args
        ):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install() -> None:
    """Put the filter on uvicorn's access logger (once)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, RedactQueryFilter) for f in logger.filters):
        logger.addFilter(RedactQueryFilter())
