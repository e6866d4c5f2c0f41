"""Repository functions of the MAAS API's catalogue: its files (``files/``, Juju's provider
state), the stable numeric ids it gives spaces, subnets and boot resources, and the hosts'
networks its subnets are made of. Every function takes the caller's connection: the service
owns the transaction."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from . import tables as t


@dataclasses.dataclass(frozen=True, slots=True)
class StoredFile:
    """A file of ``files/`` (``content`` is empty in lists)."""

    filename: str
    content: bytes
    created_at: float
    size_bytes: int


@dataclasses.dataclass(frozen=True, slots=True)
class HostNetwork:
    """A network of a host as its last discovery found it."""

    host_id: int
    host: str
    network: str
    kind: str
    cidr: str


# --- files -----------------------------------------------------------------------------------


def put_file(conn: sa.Connection, filename: str, content: bytes, now: float) -> None:
    """Store a file; one of the same name is replaced (as MAAS does)."""
    conn.execute(sa.delete(t.maas_files).where(t.maas_files.c.filename == filename))
    conn.execute(
        sa.insert(t.maas_files).values(filename=filename, content=content, created_at=now)
    )


def get_file(conn: sa.Connection, filename: str) -> StoredFile | None:
    """One file with its content, or None."""
    row = conn.execute(sa.select(t.maas_files).where(t.maas_files.c.filename == filename)).first()
    if row is None:
        return None
    content = bytes(row.content)
    return StoredFile(str(row.filename), content, float(row.created_at), len(content))


def list_files(conn: sa.Connection, prefix: str = "") -> list[StoredFile]:
    """Files whose name starts with ``prefix`` (exactly: no pattern), by name, without their
    content."""
    size = sa.func.length(t.maas_files.c.content).label("size")
    query = sa.select(t.maas_files.c.filename, t.maas_files.c.created_at, size)
    if prefix:
        query = query.where(sa.func.substr(t.maas_files.c.filename, 1, len(prefix)) == prefix)
    rows = conn.execute(query.order_by(t.maas_files.c.filename))
    return [StoredFile(str(r.filename), b"", float(r.created_at), int(r.size or 0)) for r in rows]


def delete_file(conn: sa.Connection, filename: str) -> bool:
    """Delete a file; whether there was one."""
    result = conn.execute(sa.delete(t.maas_files).where(t.maas_files.c.filename == filename))
    return bool(result.rowcount)


# --- stable ids ------------------------------------------------------------------------------


def stable_ids(conn: sa.Connection, kind: str, keys: Iterable[str]) -> dict[str, int]:
    """The ids of ``keys`` of ``kind`` that have one."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return {}
    rows = conn.execute(
        sa.select(t.maas_ids.c.key, t.maas_ids.c.id).where(
            t.maas_ids.c.kind == kind, t.maas_ids.c.key.in_(wanted)
        )
    )
    return {str(r.key): int(r.id) for r in rows}


def assign_ids(conn: sa.Connection, kind: str, keys: Iterable[str]) -> dict[str, int]:
    """The ids of ``keys``, giving the next ids to those that have none (a key keeps its id
    for ever; ids are never reused). Safe when another transaction assigns the same keys."""
    wanted = list(dict.fromkeys(keys))
    missing = [k for k in wanted if k not in stable_ids(conn, kind, wanted)]
    if missing:
        insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(
            t.maas_ids
        )
        conn.execute(
            insert.on_conflict_do_nothing(index_elements=["kind", "key"]),
            [{"kind": kind, "key": k} for k in missing],
        )
    return stable_ids(conn, kind, wanted)


def key_of(conn: sa.Connection, kind: str, item_id: int) -> str | None:
    """The key that has ``item_id``, or None."""
    row = conn.execute(
        sa.select(t.maas_ids.c.key).where(t.maas_ids.c.kind == kind, t.maas_ids.c.id == item_id)
    ).first()
    return None if row is None else str(row.key)


# --- hosts' networks -------------------------------------------------------------------------


def host_networks(
    conn: sa.Connection, host_ids: Collection[int] | None = None
) -> list[HostNetwork]:
    """Every host's networks (from its stored inventory), by host id then network name; only
    those of ``host_ids`` when given (the other hosts' inventories are not read)."""
    query = sa.select(t.hosts.c.id, t.hosts.c.name, t.hosts.c.inventory).order_by(t.hosts.c.id)
    if host_ids is not None:
        query = query.where(t.hosts.c.id.in_(sorted(set(host_ids))))
    rows = conn.execute(query)
    found: list[HostNetwork] = []
    for row in rows:
        networks = (row.inventory or {}).get("networks") or []
        for name, kind, cidr in sorted((*n, "", "", "")[:3] for n in networks):
            found.append(HostNetwork(int(row.id), str(row.name), str(name), str(kind), str(cidr)))
    return found


@dataclasses.dataclass(frozen=True, slots=True)
class HostImages:
    """What a host can run: its architectures, and its connection options (which hold its
    series -> image map; never a secret: those are sealed apart)."""

    host_id: int
    architectures: tuple[str, ...]
    options: dict[str, object]


def host_images(conn: sa.Connection) -> list[HostImages]:
    """Every host's architectures and options, by id."""
    query = (
        sa.select(t.hosts.c.id, t.hosts.c.architectures, t.host_credentials.c.options)
        .select_from(t.hosts.outerjoin(t.host_credentials))
        .order_by(t.hosts.c.id)
    )
    return [
        HostImages(
            int(r.id),
            tuple(str(a) for a in (r.architectures or ())),
            dict(r.options) if isinstance(r.options, dict) else {},
        )
        for r in conn.execute(query)
    ]
