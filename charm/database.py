"""The `database` endpoint, requirer side of the `postgresql_client` interface (v0).

Our own implementation, in this one module: the packaged successor of data-platform-libs
(`dpcharmlibs-interfaces` 1.x) writes the v1 contract (`version: v1`, a `requests` list), which
PostgreSQL charms still on `data_interfaces` v0 do not read; every provider reads v0.

Wire format (strings, as the PostgreSQL charm writes them; absent keys mean "not yet"):

    requirer app databag:  database = "vmhost"
                           requested-secrets = '["username", "password", "tls", "tls-ca"]'
    provider app databag:  endpoints = "10.0.0.1:5432,10.0.0.2:5432"   (primary first)
                           database = "vmhost"
                           secret-user = "secret:..."  (a secret with `username`, `password`)
                           username, password   (instead of secret-user, by old providers)

Only the leader writes. Remote data that does not parse is logged and read as "not yet".
"""

from __future__ import annotations

import dataclasses
import json
import logging

import ops
import pydantic

logger = logging.getLogger(__name__)

REQUESTED_SECRETS = ("username", "password", "tls", "tls-ca")


class ProviderData(pydantic.BaseModel):
    """What the PostgreSQL charm publishes (every field may be absent)."""

    model_config = pydantic.ConfigDict(extra="ignore", populate_by_name=True)

    endpoints: str | None = None
    database: str | None = None
    secret_user: str | None = pydantic.Field(default=None, alias="secret-user")
    username: str | None = None
    password: str | None = None


@dataclasses.dataclass(frozen=True)
class Credentials:
    """Enough to connect: the primary's `host:port`, the database and a user."""

    endpoint: str
    database: str
    username: str
    password: str


class DatabaseNotReadyError(Exception):
    """The database integration exists but cannot be used yet; `str()` says why."""


class DatabaseRequirer(ops.Object):
    """Asks for a database (leader) and reads its credentials."""

    def __init__(self, charm: ops.CharmBase, relation_name: str, database: str):
        super().__init__(charm, relation_name)
        self._relation_name = relation_name
        self._database = database

    @property
    def relation(self) -> ops.Relation | None:
        """The integration, if there is one."""
        return self.model.get_relation(self._relation_name)

    def request(self) -> None:
        """Write the request in our application databag (leader only; idempotent)."""
        relation = self.relation
        if relation is None:
            return
        relation.data[self.model.app].update(
            {"database": self._database, "requested-secrets": json.dumps(REQUESTED_SECRETS)}
        )

    def credentials(self) -> Credentials | None:
        """The credentials, or None without the integration.

        Raises:
            DatabaseNotReadyError: related, but the provider has not answered (fully) yet, its
                answer does not parse, or its secret cannot be read yet.
        """
        relation = self.relation
        if relation is None:
            return None
        if relation.app is None:
            raise DatabaseNotReadyError("waiting for the PostgreSQL application")
        raw = dict(relation.data[relation.app])
        try:
            data = ProviderData.model_validate(raw)
        except pydantic.ValidationError as error:
            logger.warning("ignoring malformed %s data: %s", self._relation_name, error)
            raise DatabaseNotReadyError("the PostgreSQL answer does not parse yet") from None
        username, password = data.username, data.password
        if data.secret_user:
            try:
                content = self.model.get_secret(id=data.secret_user).get_content(refresh=True)
            except (ops.SecretNotFoundError, ops.ModelError):
                raise DatabaseNotReadyError(
                    "cannot read the PostgreSQL credentials secret yet"
                ) from None
            username, password = content.get("username"), content.get("password")
        endpoint = (data.endpoints or "").split(",")[0].strip()
        if not (endpoint and username and password):
            raise DatabaseNotReadyError("waiting for PostgreSQL credentials")
        return Credentials(endpoint, data.database or self._database, username, password)
