"""API tokens: created once (shown once), stored hashed, revocable, optionally expiring."""

from __future__ import annotations

import dataclasses
import enum
import logging
import re
import secrets
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
        log.info("revoked token %r", key)

    def authenticate(self, token: str | None) -> Identity:
        """Who holds ``token``; AuthenticationError when missing, unknown or expired."""
        if not token:
            raise AuthenticationError(
                "authentication required: send 'Authorization: Bearer <token>'"
            )
        with self.ctx.db.read() as conn:
            row = store.tokens.find_token(conn, token)
        if row is None:
            raise AuthenticationError("the token is not valid (unknown or revoked)")
        if row["expires_at"] is not None and row["expires_at"] <= time.time():
            raise AuthenticationError(f"the token {row['name']!r} has expired")
        return Identity(int(row["id"]), str(row["name"]), Role(row["role"]))

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
