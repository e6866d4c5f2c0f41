"""Use cases on the catalogue around hosts: zones, resource pools, network spaces, API tokens,
LXD client certificates and projects. Thin: validation here, storage in ``store``."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import logging
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from vmhost import model, pki, store
from vmhost.drivers import base

from .context import Context

log = logging.getLogger("vmhost.service.catalog")

MAX_DESCRIPTION = 1000
MAX_TOKEN_LIFETIME_S = 100 * 365 * 86400
TOKEN_PREFIX = "vmh_"  # noqa: S105 (a prefix, not a secret)


# --- zones and resource pools ----------------------------------------------------------------


class NamedService:
    """Zones (``kind="zone"``) or resource pools (``kind="pool"``)."""

    def __init__(self, ctx: Context, kind: str) -> None:
        self.ctx = ctx
        self.kind = kind
        self.what = "zone" if kind == "zone" else "resource pool"

    @staticmethod
    def _key(key: int | str) -> int | str:
        return int(key) if isinstance(key, str) and key.isdigit() else key

    def list(self) -> list[dict[str, Any]]:
        """Every zone/pool with ``id, name, description, hosts`` (how many hosts it holds)."""
        with self.ctx.db.read() as conn:
            return store.hosts.list_named(conn, self.kind)

    def get(self, key: int | str) -> dict[str, Any]:
        """One by id or name."""
        with self.ctx.db.read() as conn:
            return store.hosts.get_named(conn, self.kind, self._key(key))

    def _description(self, description: object) -> str:
        if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
            raise model.InvalidInputError.for_field(
                "description", f"must be text of at most {MAX_DESCRIPTION} characters"
            )
        return description

    def create(self, name: str, description: str = "") -> dict[str, Any]:
        """A new one; a duplicate name is a ConflictError."""
        model.validate_name("name", name)
        self._description(description)
        with self.ctx.db.write() as conn:
            new_id = store.hosts.create_named(conn, self.kind, name, description)
            return store.hosts.get_named(conn, self.kind, new_id)

    def update(self, key: int | str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Rename and/or re-describe; the default cannot be renamed."""
        values: dict[str, Any] = {}
        if changes.get("name") is not None:
            values["name"] = model.validate_name("name", changes["name"])
        if changes.get("description") is not None:
            values["description"] = self._description(changes["description"])
        with self.ctx.db.write() as conn:
            item = store.hosts.get_named(conn, self.kind, self._key(key))
            if values:
                store.hosts.update_named(conn, self.kind, item["id"], values)
            return store.hosts.get_named(conn, self.kind, item["id"])

    def delete(self, key: int | str) -> dict[str, Any]:
        """Delete an empty one (not the default); returns what was deleted."""
        with self.ctx.db.write() as conn:
            item = store.hosts.get_named(conn, self.kind, self._key(key))
            store.hosts.delete_named(conn, self.kind, item["id"])
            return item


# --- network spaces ---------------------------------------------------------------------------


class SpacesService:
    """Which host network a Juju/MAAS space means (on every host, or on one host)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def list(self) -> list[dict[str, Any]]:
        """Every mapping: ``id, space, network, host_id, host`` (host name or None = all)."""
        with self.ctx.db.read() as conn:
            names = _host_names(conn)
            return [
                {**m, "host": names.get(m["host_id"]) if m["host_id"] is not None else None}
                for m in store.hosts.list_spaces(conn)
            ]

    def set(self, space: str, network: str, host_id: int | None = None) -> dict[str, Any]:
        """Map ``network`` to ``space`` (idempotent). With a host, the network must exist there."""
        model.validate_name("space", space)
        if not network or len(network) > 255 or any(c.isspace() for c in network):
            raise model.InvalidInputError.for_field(
                "network", f"{network!r} is not a network name"
            )
        with self.ctx.db.write() as conn:
            if host_id is not None:
                view = store.hosts.load_view(conn, host_id, spaces={})
                names = [n for n, _ in view.networks] + [s.name for s in view.sriov]
                if names and network not in names:
                    raise model.InvalidInputError.for_field(
                        "network",
                        f"VM host {view.name!r} has no network {network!r} "
                        f"(networks: {', '.join(names)})",
                    )
            store.hosts.set_space(conn, space, network, host_id)
            names_by_id = _host_names(conn)
            for m in store.hosts.list_spaces(conn):
                if (m["space"], m["network"], m["host_id"]) == (space, network, host_id):
                    return {**m, "host": names_by_id.get(host_id) if host_id else None}
        raise AssertionError("space mapping vanished")  # pragma: no cover

    def unset(self, space: str, network: str | None = None) -> int:
        """Remove a space's mappings (all, or one network's); NotFoundError when none."""
        with self.ctx.db.write() as conn:
            removed = store.hosts.unset_space(conn, space, network)
        if not removed:
            raise model.NotFoundError("space", space if network is None else f"{space}/{network}")
        return removed


# --- API tokens -------------------------------------------------------------------------------


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


class AuthenticationError(Exception):
    """A missing, unknown or expired token (the API answers 401). Never carries the token."""


class TokensService:
    """API tokens: created once (shown once), stored hashed, revocable, optionally expiring."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def create(
        self, name: str, role: str, expires_in_s: float | None = None
    ) -> tuple[dict[str, Any], str]:
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
            or expires_in_s > 100 * 365 * 86400
        ):
            raise model.InvalidInputError.for_field(
                "expires_in_s", "must be a positive number of seconds (at most 100 years)"
            )
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        expires_at = time.time() + expires_in_s if expires_in_s is not None else None
        with self.ctx.db.write() as conn:
            token_id = store.tokens.insert_token(conn, name, role_value.value, token, expires_at)
            record = next(r for r in store.tokens.list_tokens(conn) if r["id"] == token_id)
        log.info("created %s token %r (id %s)", role_value.value, name, token_id)
        return _token_record(record), token

    def list(self) -> list[dict[str, Any]]:
        """Every token's record (never the token or its hash)."""
        with self.ctx.db.read() as conn:
            return [_token_record(r) for r in store.tokens.list_tokens(conn)]

    def revoke(self, key: int | str) -> None:
        """Delete a token by id or name."""
        if isinstance(key, str) and key.isdigit():
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
            record = store.tokens.find_token(conn, token)
        if record is None:
            raise AuthenticationError("the token is not valid (unknown or revoked)")
        if record["expires_at"] is not None and record["expires_at"] <= time.time():
            raise AuthenticationError(f"the token {record['name']!r} has expired")
        return Identity(int(record["id"]), str(record["name"]), Role(record["role"]))


def _token_record(row: Mapping[str, Any]) -> dict[str, Any]:
    expires_at = row.get("expires_at")
    return {
        "id": row["id"],
        "name": row["name"],
        "role": row["role"],
        "prefix": row["prefix"],
        "created_at": row["created_at"],
        "expires_at": expires_at,
        "expired": expires_at is not None and expires_at <= time.time(),
    }


# --- LXD client certificates and projects ---------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class ClientCredentials:
    """What a host authenticates with (the key is never shown or logged)."""

    certificate_pem: str = ""
    key_pem: str = dataclasses.field(default="", repr=False)


class HostExtrasService:
    """Certificates, projects and small lookups the surfaces need around hosts."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def client_credentials(
        self, host_type: model.HostType, certificate: str = "", key: str = ""
    ) -> ClientCredentials:
        """Check a client certificate + key given for a host (LXD only; the pair must match and
        have no passphrase). Nothing given: nothing to check (``HostsService.add`` generates
        the pair of a new LXD host)."""
        if host_type is not model.HostType.LXD:
            if certificate or key:
                field = "certificate" if certificate else "key"
                raise model.InvalidInputError.for_field(
                    field, "only LXD hosts authenticate with a client certificate"
                )
            return ClientCredentials()
        if not certificate and not key:
            return ClientCredentials()
        if key and not certificate:
            raise model.InvalidInputError.for_field(
                "certificate", "a private key was given without its certificate"
            )
        pair = pki.load_pair(certificate, key)
        return ClientCredentials(pair.certificate_pem, pair.key_pem)

    def certificate(self, host_id: int, fetch_url: str = "") -> dict[str, Any]:
        """An LXD host's client certificate: PEM, fingerprint, CN, validity, and the command
        that makes the LXD host trust it (from ``fetch_url`` when given)."""
        with self.ctx.db.read() as conn:
            row = store.hosts.host_row(conn, host_id)
            creds = store.hosts.credentials(conn, host_id)
        pem = creds.get("client_cert_pem") or ""
        if not pem:
            raise model.NotFoundError("client certificate of VM host", row["name"])
        info = pki.describe(pem)
        name = row["name"]
        projects = [row["project"]] if row["project"] else []
        return {
            "host_id": host_id,
            "name": name,
            "certificate": pem,
            "cn": info.cn,
            "fingerprint": info.fingerprint,
            "not_before": info.not_before.isoformat(),
            "not_after": info.not_after.isoformat(),
            "days_left": info.days_left(datetime.datetime.now(datetime.UTC)),
            "generated_by_vmhost": info.generated_by_vmhost,
            "fetch_url": fetch_url,
            "trust_command": pki.trust_command(fetch_url or "vmhost.crt", name=name),
            "trust_command_restricted": pki.trust_command(
                fetch_url or "vmhost.crt", name=name, projects=projects
            )
            if projects
            else "",
            "trust_heredoc": f"lxc config trust add - <<EOF\n{pem.rstrip()}\nEOF",
        }

    def certificate_pem(self, name: str) -> str:
        """Only the PEM of a host's client certificate, by host name (the anonymous URL)."""
        with self.ctx.db.read() as conn:
            host_id = store.hosts.host_id_by_name(conn, name)
            pem = str(store.hosts.credentials(conn, host_id).get("client_cert_pem") or "")
        if not pem:
            raise model.NotFoundError("client certificate of VM host", name)
        return pem

    def projects(self, host_id: int) -> list[dict[str, Any]]:
        """The host's projects (LXD) with their use; [] for hosts without projects."""
        with self.ctx.db.read() as conn:
            store.hosts.host_row(conn, host_id)
        try:
            driver = self.ctx.driver(host_id)
            try:
                projects = driver.list_projects()
            finally:
                driver.close()
        except base.DriverError as exc:
            raise model.HostProblemError(f"cannot list projects: {exc}") from exc
        return [dataclasses.asdict(p) for p in projects]

    def refs(self) -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, Any]]]:
        """Zones and resource pools by id (without host counts: cheap)."""
        t = store.tables
        with self.ctx.db.read() as conn:
            zones = conn.execute(sa.select(t.zones)).all()
            pools = conn.execute(sa.select(t.resource_pools)).all()
        return (
            {int(r.id): dict(r._mapping) for r in zones},
            {int(r.id): dict(r._mapping) for r in pools},
        )

    def host_id_by_name(self, name: str) -> int:
        """A host's id from its name (NotFoundError naming it)."""
        with self.ctx.db.read() as conn:
            return store.hosts.host_id_by_name(conn, name)

    def host_names(self, host_ids: Sequence[int] | None = None) -> dict[int, str]:
        """{host id: name}, cheaply (no inventory)."""
        with self.ctx.db.read() as conn:
            return _host_names(conn, host_ids)

    def storage_pool_names(self) -> set[str]:
        """Names of every storage pool on any host."""
        with self.ctx.db.read() as conn:
            return {p.name for v in store.hosts.load_views(conn) for p in v.pools}

    def counts(self) -> dict[str, Any]:
        """Totals for metrics: hosts by status and type, VMs by origin and state."""
        t = store.tables
        with self.ctx.db.read() as conn:
            hosts = conn.execute(
                sa.select(t.hosts.c.status, t.hosts.c.type, sa.func.count()).group_by(
                    t.hosts.c.status, t.hosts.c.type
                )
            ).all()
            vms = conn.execute(
                sa.select(t.vms.c.origin, t.vms.c.state, sa.func.count()).group_by(
                    t.vms.c.origin, t.vms.c.state
                )
            ).all()
        return {
            "hosts": [(str(s), str(ty), int(n)) for s, ty, n in hosts],
            "vms": [(str(o), str(s), int(n)) for o, s, n in vms],
        }


def _host_names(conn: sa.Connection, host_ids: Sequence[int] | None = None) -> dict[int, str]:
    t = store.tables
    query = sa.select(t.hosts.c.id, t.hosts.c.name)
    if host_ids is not None:
        query = query.where(t.hosts.c.id.in_(list(host_ids)))
    return {int(r.id): str(r.name) for r in conn.execute(query)}
