"""API tokens: created once (shown once), stored hashed, revocable, optionally expiring."""

from __future__ import annotations

import dataclasses
import enum
import logging
import re
import secrets
import threading
import time
from collections.abc import Mapping
from typing import Any

from vmhost import model, store

from .context import Context

log = logging.getLogger("vmhost.service.tokens")

MAX_TOKEN_LIFETIME_S = 100 * 365 * 86400
TOKEN_PREFIX = "vmh_"  # noqa: S105 (a prefix, not a secret)
# the names of the admin tokens that ``vmhost.local`` (``scripts/run``) mints
LOCAL_TOKEN_NAME = re.compile(r"^run-\d{8}-\d{6}$")
# verified tokens kept per process (by hash); more than this many distinct ones empty the cache
MAX_VERIFIED = 1024


class Role(enum.StrEnum):
    """What a token may do."""

    ADMIN = "admin"
    READONLY = "readonly"


@dataclasses.dataclass(frozen=True, slots=True)
class Identity:
    """Who made a request."""

    token_id: int
    name: str
    role: Role

    @property
    def is_admin(self) -> bool:
        """Admin tokens may change things."""
        return self.role is Role.ADMIN


@dataclasses.dataclass(frozen=True, slots=True)
class TokenRecord:
    """What is known of a token (never the token or its hash)."""

    id: int
    name: str
    role: str
    prefix: str
    created_at: float
    expires_at: float | None
    expired: bool


class AuthenticationError(Exception):
    """A missing, unknown or expired token (the API answers 401). Never carries the token."""


class TokensService:
    """API tokens: created once (shown once), stored hashed, revocable, optionally expiring."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        # Tokens this process found valid, by hash: (identity, expires_at), kept only while the
        # revocation marker (store.tokens.revocation_marker: SQLite only) holds the generation
        # they were verified under; any revocation, by any process, replaces it.
        self._marker = store.tokens.revocation_marker(ctx.db.url)
        self._lock = threading.Lock()
        self._verified: dict[str, tuple[Identity, float | None]] = {}
        self._generation: str | None = None

    def create(
        self, name: str, role: str, expires_in_s: float | None = None
    ) -> tuple[TokenRecord, str]:
        """A new token: its record and the token itself (which is not stored)."""
        model.validate_name("name", name)
        try:
            role_value = Role(role)
        except ValueError:
            raise model.InvalidInputError.for_field(
                "role", f"{role!r} is not one of admin, readonly"
            ) from None
        if expires_in_s is not None and (
            isinstance(expires_in_s, bool)
            or not expires_in_s > 0
            or expires_in_s > MAX_TOKEN_LIFETIME_S
        ):
            raise model.InvalidInputError.for_field(
                "expires_in_s", "must be a positive number of seconds (at most 100 years)"
            )
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        expires_at = time.time() + expires_in_s if expires_in_s is not None else None
        with self.ctx.db.write() as conn:
            token_id = store.tokens.insert_token(conn, name, role_value.value, token, expires_at)
            row = next(r for r in store.tokens.list_tokens(conn) if r["id"] == token_id)
        log.info("created %s token %r (id %s)", role_value.value, name, token_id)
        return _record(row), token

    def list(self) -> list[TokenRecord]:
        """Every token's record (never the token or its hash)."""
        with self.ctx.db.read() as conn:
            return [_record(r) for r in store.tokens.list_tokens(conn)]

    def revoke(self, key: int | str) -> None:
        """Delete a token by id or name."""
        if isinstance(key, str) and key.isascii() and key.isdigit():
            key = int(key)
        with self.ctx.db.write() as conn:
            store.tokens.delete_token(conn, key)
        self._revoked()
        log.info("revoked token %r", key)

    def authenticate(self, token: str | None) -> Identity:
        """Who holds ``token``; AuthenticationError when missing, unknown or expired."""
        if not token:
            raise AuthenticationError(
                "authentication required: send 'Authorization: Bearer <token>'"
            )
        identity = self.cached(token)
        if identity is not None:
            return identity
        generation = self._current_generation()
        with self.ctx.db.read() as conn:
            row = store.tokens.find_token(conn, token)
        if row is None:
            raise AuthenticationError("the token is not valid (unknown or revoked)")
        expires_at = float(row["expires_at"]) if row["expires_at"] is not None else None
        if expires_at is not None and expires_at <= time.time():
            raise AuthenticationError(f"the token {row['name']!r} has expired")
        identity = Identity(int(row["id"]), str(row["name"]), Role(row["role"]))
        if generation is not None:
            self._remember(store.tokens.token_hash(token), identity, expires_at, generation)
        return identity

    def cached(self, token: str | None) -> Identity | None:
        """Who holds ``token`` if this process verified it since the last revocation by any
        process and it has not expired since: no database read, one read of a 32-byte file
        (cheap enough for the event loop). None: ask :meth:`authenticate`."""
        if not token or self._marker is None:
            return None
        generation = self._current_generation()
        if generation is None:
            return None
        key = store.tokens.token_hash(token)
        with self._lock:
            if generation != self._generation:
                self._verified.clear()
                self._generation = generation
                return None
            entry = self._verified.get(key)
        if entry is None:
            return None
        identity, expires_at = entry
        if expires_at is not None and expires_at <= time.time():
            return None  # authenticate says that it has expired
        return identity

    def _current_generation(self) -> str | None:
        if self._marker is None:
            return None
        return store.tokens.revocation_generation(self._marker)

    def _remember(
        self, key: str, identity: Identity, expires_at: float | None, generation: str
    ) -> None:
        """Keep a token verified under ``generation`` unless a revocation came meanwhile."""
        if self._current_generation() != generation:
            return
        with self._lock:
            if generation != self._generation:
                self._verified.clear()
                self._generation = generation
            if len(self._verified) >= MAX_VERIFIED:
                self._verified.clear()
            self._verified[key] = (identity, expires_at)

    def _revoked(self) -> None:
        """After a revocation's commit: forget every verified token here, and tell the other
        processes by a new marker generation."""
        with self._lock:
            self._verified.clear()
            self._generation = None
        if self._marker is not None:
            store.tokens.mark_revocation(self._marker)

    def local_admin(self, current: str | None) -> tuple[str, bool]:
        """The admin token of this machine's operator (``scripts/run``): ``current`` while it
        is a valid admin token, else a new one (named ``run-<date>-<time>``, not expiring).
        Either way every other token an earlier run minted is revoked, with ``current`` when
        it is replaced. Returns the token and whether it is new."""
        keep: int | None = None
        if current:
            try:
                identity = self.authenticate(current)
                keep = identity.token_id if identity.is_admin else None
            except AuthenticationError:
                keep = None
        with self.ctx.db.write() as conn:
            replaced = store.tokens.find_token(conn, current) if current else None
            stale = [
                r["id"]
                for r in store.tokens.list_tokens(conn)
                if r["id"] != keep
                and (LOCAL_TOKEN_NAME.match(r["name"]) or (replaced and r["id"] == replaced["id"]))
            ]
            for token_id in stale:
                store.tokens.delete_token(conn, token_id)
        if stale:
            self._revoked()
            log.info("revoked %d admin token(s) of earlier runs", len(stale))
        if keep is not None and current:
            return current, False
        _, token = self.create(time.strftime("run-%Y%m%d-%H%M%S"), Role.ADMIN)
        return token, True


def _record(row: Mapping[str, Any]) -> TokenRecord:
    expires_at = row.get("expires_at")
    expires = float(expires_at) if expires_at is not None else None
    return TokenRecord(
        id=int(row["id"]),
        name=str(row["name"]),
        role=str(row["role"]),
        prefix=str(row["prefix"]),
        created_at=float(row["created_at"]),
        expires_at=expires,
        expired=expires is not None and expires <= time.time(),
    )
