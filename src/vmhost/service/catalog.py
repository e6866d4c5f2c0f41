"""Use cases on the catalogue around hosts: zones, resource pools and network spaces. Thin:
validation here, storage in ``store``."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

from vmhost import model, store

from .context import Context

MAX_DESCRIPTION = 1000


# --- zones and resource pools ----------------------------------------------------------------


class NamedService:
    """Zones (``kind="zone"``) or resource pools (``kind="pool"``)."""

    def __init__(self, ctx: Context, kind: str) -> None:
        self.ctx = ctx
        self.kind = kind
        self.what = "zone" if kind == "zone" else "resource pool"

    @staticmethod
    def _key(key: int | str) -> int | str:
        return int(key) if isinstance(key, str) and key.isascii() and key.isdigit() else key

    def list(self) -> builtins.list[dict[str, Any]]:
        """Every zone/pool with ``id, name, description, hosts`` (how many hosts it holds)."""
        with self.ctx.db.read() as conn:
            return store.catalog.list_named(conn, self.kind)

    def get(self, key: int | str) -> dict[str, Any]:
        """One by id or name."""
        with self.ctx.db.read() as conn:
            return store.catalog.get_named(conn, self.kind, self._key(key))

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
            new_id = store.catalog.create_named(conn, self.kind, name, description)
            return store.catalog.get_named(conn, self.kind, new_id)

    def update(self, key: int | str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Rename and/or re-describe; the default cannot be renamed."""
        values: dict[str, Any] = {}
        if changes.get("name") is not None:
            values["name"] = model.validate_name("name", changes["name"])
        if changes.get("description") is not None:
            values["description"] = self._description(changes["description"])
        with self.ctx.db.write() as conn:
            item = store.catalog.get_named(conn, self.kind, self._key(key))
            if values:
                store.catalog.update_named(conn, self.kind, item["id"], values)
            return store.catalog.get_named(conn, self.kind, item["id"])

    def delete(self, key: int | str) -> dict[str, Any]:
        """Delete an empty one (not the default); returns what was deleted."""
        with self.ctx.db.write() as conn:
            item = store.catalog.get_named(conn, self.kind, self._key(key))
            store.catalog.delete_named(conn, self.kind, item["id"])
            return item


# --- network spaces ---------------------------------------------------------------------------


class SpacesService:
    """Which host network a Juju/MAAS space means (on every host, or on one host)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def list(self) -> builtins.list[dict[str, Any]]:
        """Every mapping: ``id, space, network, host_id, host`` (host name or None = all)."""
        with self.ctx.db.read() as conn:
            mappings = store.catalog.list_spaces(conn)
            # the names of the hosts a mapping is scoped to, not of every host
            scoped = sorted({m["host_id"] for m in mappings if m["host_id"] is not None})
            names = store.catalog.host_names(conn, scoped) if scoped else {}
        return [
            {**m, "host": names.get(m["host_id"]) if m["host_id"] is not None else None}
            for m in mappings
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
                view = store.candidates.load_view(conn, host_id, spaces={})
                names = [n for n, _ in view.networks] + [s.name for s in view.sriov]
                if names and network not in names:
                    raise model.InvalidInputError.for_field(
                        "network",
                        f"VM host {view.name!r} has no network {network!r} "
                        f"(networks: {', '.join(names)})",
                    )
            store.catalog.set_space(conn, space, network, host_id)
            names_by_id = store.catalog.host_names(conn)
            for m in store.catalog.list_spaces(conn):
                if (m["space"], m["network"], m["host_id"]) == (space, network, host_id):
                    return {**m, "host": names_by_id.get(host_id) if host_id else None}
        raise AssertionError("space mapping vanished")  # pragma: no cover

    def unset(self, space: str, network: str | None = None) -> int:
        """Remove a space's mappings (all, or one network's); NotFoundError when none."""
        with self.ctx.db.write() as conn:
            removed = store.catalog.unset_space(conn, space, network)
        if not removed:
            raise model.NotFoundError("space", space if network is None else f"{space}/{network}")
        return removed
