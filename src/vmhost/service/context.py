"""The service's shared context: database, settings, sealing key and driver factory."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from typing import Any, TypedDict, Unpack

from vmhost import model, pki, store
from vmhost.drivers import base, registry
from vmhost.settings import Settings

log = logging.getLogger("vmhost.service")


class Hooks(TypedDict, total=False):
    """The context's stand-ins a caller may give (tests: fake drivers, stubbed first contact)."""

    driver_factory: Callable[[base.HostConnection], base.HostDriver]
    fetch_server_certificate: Callable[[base.HostConnection], tuple[str, str]]
    trust: Callable[..., str]


@dataclasses.dataclass
class Context:
    """Everything a use case needs; built once per process."""

    settings: Settings
    db: store.Database
    secret: bytes
    driver_factory: Callable[[base.HostConnection], base.HostDriver] = registry.driver_for
    # trust on first use and one-time trust: through the context so tests can stand in for them
    fetch_server_certificate: Callable[[base.HostConnection], tuple[str, str]] = (
        registry.fetch_server_certificate
    )
    trust: Callable[..., str] = registry.trust

    @classmethod
    def create(cls, settings: Settings, migrate: bool = True, **hooks: Unpack[Hooks]) -> Context:
        """Open (and migrate) the database and load the sealing key."""
        store.private_dir(settings.data_dir)
        db = store.Database(settings.resolved_database_url())
        if migrate:
            store.upgrade(db)
        with db.write() as conn:
            store.catalog.ensure_defaults(conn)
        secret = pki.sealing.load_or_create_secret(os.path.join(settings.data_dir, "secret.key"))
        return cls(settings=settings, db=db, secret=secret, **hooks)

    def connection(self, host_id: int) -> base.HostConnection:
        """How to reach a host, secrets unsealed (never logged)."""
        with self.db.read() as conn:
            host = store.hosts.host(conn, host_id)
            creds = store.hosts.credentials(conn, host_id)
        return base.HostConnection(
            type=host.type,
            address=host.address,
            name=host.name,
            project=host.project,
            client_cert_pem=creds.get("client_cert_pem", ""),
            client_key_pem=self.unseal(creds.get("client_key_sealed", "")),
            server_cert_pem=creds.get("server_cert_pem", ""),
            password=self.unseal(creds.get("password_sealed", "")),
            options=_options(host, creds),
        )

    def driver(self, host_id: int) -> base.HostDriver:
        """A driver connected to the host."""
        return self.driver_factory(self.connection(host_id))

    def seal(self, text: str) -> str:
        """Encrypt a secret for storage ('' stays '')."""
        return pki.sealing.seal(text, self.secret) if text else ""

    def unseal(self, token: str) -> str:
        """Decrypt a stored secret."""
        return pki.sealing.unseal(token, self.secret) if token else ""


def _options(host: model.Host, creds: dict[str, Any]) -> dict[str, Any]:
    """Driver options: the stored ones plus host settings drivers act on."""
    options = dict(creds.get("options") or {})
    if host.default_macvlan_mode:
        options.setdefault("default_macvlan_mode", host.default_macvlan_mode)
    return options
