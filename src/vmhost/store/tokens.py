"""API tokens, stored as SHA-256 hashes (the token itself is shown once, at creation), and
the revocation marker that tells every process sharing a SQLite database that one was revoked."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import tempfile
import time
from typing import Any

import sqlalchemy as sa

from vmhost import model

from . import tables as t
from .engine import inserted_id


def token_hash(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def insert_token(
    conn: sa.Connection, name: str, role: str, token: str, expires_at: float | None
) -> int:
    """Store a new token's hash."""
    if conn.execute(sa.select(t.tokens.c.id).where(t.tokens.c.name == name)).first():
        raise model.ConflictError(f"a token named {name!r} already exists")
    return inserted_id(
        conn.execute(
            sa.insert(t.tokens).values(
                name=name,
                role=role,
                prefix=token[:8],
                hash=token_hash(token),
                created_at=time.time(),
                expires_at=expires_at,
            )
        )
    )


def find_token(conn: sa.Connection, token: str) -> dict[str, Any] | None:
    """The token's record if the token is known."""
    row = conn.execute(sa.select(t.tokens).where(t.tokens.c.hash == token_hash(token))).first()
    return dict(row._mapping) if row else None


def list_tokens(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every token without its hash."""
    rows = conn.execute(sa.select(t.tokens).order_by(t.tokens.c.id))
    return [{k: v for k, v in r._mapping.items() if k != "hash"} for r in rows]


def delete_token(conn: sa.Connection, key: int | str) -> None:
    """Revoke a token by id or name."""
    col = t.tokens.c.id if isinstance(key, int) else t.tokens.c.name
    if conn.execute(sa.delete(t.tokens).where(col == key)).rowcount != 1:
        raise model.NotFoundError("token", key)


def revocation_marker(url: str) -> str | None:
    """The file beside a SQLite database that every revocation replaces (``<db>-revocations``):
    each process that can revoke a token opens that database, so it reaches the file too.
    None for PostgreSQL (processes on several machines share no file) and in-memory SQLite."""
    parsed = sa.engine.make_url(url)
    path = parsed.database
    if not parsed.drivername.startswith("sqlite") or not path:
        return None
    if path == ":memory:" or path.startswith("file:") or parsed.query.get("mode") == "memory":
        return None
    return f"{os.path.abspath(path)}-revocations"


def revocation_generation(marker: str) -> str | None:
    """The marker's current generation ("" before any revocation); None when it cannot be read
    (then nothing may be trusted without the database)."""
    try:
        with open(marker, encoding="ascii") as f:
            return f.read(64)
    except FileNotFoundError:
        return ""
    except (OSError, ValueError):
        return None


def mark_revocation(marker: str) -> None:
    """Give the marker a new random generation, atomically (a new file renamed over it)."""
    fd, temporary = tempfile.mkstemp(prefix=".revocations-", dir=os.path.dirname(marker))
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_hex(16))
        os.replace(temporary, marker)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
