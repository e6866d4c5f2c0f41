"""The raw durable-claim limit for the Placement anchor benchmark (bench/README.md).

What a claim costs the database and its driver alone, with no ORM, no scheduler and no view:
per placement, one transaction holding one compare-and-swap ``UPDATE`` of the host's generation
and usage and one ``INSERT`` of the claim record, committed before the next starts. The host is
chosen in memory (first fit over the fleet in order, as a counter), so the loop measures only
the durable write, as vmhost's claim does after it has chosen:

* ``RawSqlite``: the standard library's sqlite3 on a file, WAL, synchronous=NORMAL, as vmhost
  runs SQLite (``src/vmhost/store/engine.py``).
* ``RawPostgres``: psycopg on ``VMHOST_BENCH_PG_URL`` (fsync on), a fresh database per run.

Usage is read back from the claim rows (``usage_totals``) so the driver verifies it as it does
for every implementation. Its ``candidates`` is an indexed ``SELECT ... LIMIT`` (no ranking).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import time
from typing import Any

_SCHEMA = (
    "CREATE TABLE hosts (id INTEGER PRIMARY KEY, generation INTEGER NOT NULL, "
    "vcpus INTEGER NOT NULL, memory_mb INTEGER NOT NULL, disk_gb INTEGER NOT NULL, "
    "used_vcpus INTEGER NOT NULL, used_memory_mb INTEGER NOT NULL, used_disk_gb INTEGER NOT NULL)",
    "CREATE TABLE claims (id {serial}, consumer TEXT NOT NULL UNIQUE, host_id INTEGER NOT NULL "
    "REFERENCES hosts(id), vcpus INTEGER NOT NULL, memory_mb INTEGER NOT NULL, "
    "disk_gb INTEGER NOT NULL)",
)
_CAS = (
    "UPDATE hosts SET generation = {p}, used_vcpus = used_vcpus + {p}, "
    "used_memory_mb = used_memory_mb + {p}, used_disk_gb = used_disk_gb + {p} "
    "WHERE id = {p} AND generation = {p}"
)
_INSERT = (
    "INSERT INTO claims (consumer, host_id, vcpus, memory_mb, disk_gb) "
    "VALUES ({p}, {p}, {p}, {p}, {p})"
)


def _usable(host: dict[str, Any]) -> tuple[int, int, int]:
    inv = host["inventory"]
    if host["numa_cells"]:
        cells = [c["inventory"] for c in host["numa_cells"]]
        vcpus = sum(int(c["VCPU"]["total"] * c["VCPU"]["allocation_ratio"]) for c in cells)
        mem = sum(int(c["MEMORY_MB"]["total"] * c["MEMORY_MB"]["allocation_ratio"]) for c in cells)
    else:
        vcpus = int(inv["VCPU"]["total"] * inv["VCPU"]["allocation_ratio"])
        mem = int(inv["MEMORY_MB"]["total"] * inv["MEMORY_MB"]["allocation_ratio"])
    return vcpus, mem, int(inv["DISK_GB"]["total"] * inv["DISK_GB"]["allocation_ratio"])


class RawSqlite:
    """CAS update + insert per transaction on a SQLite file, nothing else."""

    name = "raw-claim-sqlite"
    param = "?"

    def __init__(self) -> None:
        self.tmp = tempfile.mkdtemp(prefix="vmhost-raw-", dir=os.environ.get("VMHOST_BENCH_DIR"))
        self.conn = self._connect()
        self.info = {"layer": "one CAS UPDATE + one INSERT per committed transaction"}
        self.free: list[list[int]] = []  # [id, generation, vcpus, mem, disk] free, in order
        self.by_consumer: dict[str, tuple[int, int, int, int]] = {}
        self.cursor = 0

    def _connect(self) -> Any:
        conn = sqlite3.connect(os.path.join(self.tmp, "raw.db"), isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    def _begin(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def _commit(self) -> None:
        self.conn.execute("COMMIT")

    def _sql(self, text: str) -> str:
        return text.format(p=self.param, serial=self._serial())

    def _serial(self) -> str:
        return "INTEGER PRIMARY KEY"

    def setup(self, hosts: list[dict[str, Any]]) -> None:
        self._begin()
        for statement in _SCHEMA:
            self.conn.execute(self._sql(statement))
        for i, host in enumerate(hosts, 1):
            vcpus, mem, disk = _usable(host)
            self.conn.execute(
                self._sql("INSERT INTO hosts VALUES ({p}, 0, {p}, {p}, {p}, 0, 0, 0)"),
                (i, vcpus, mem, disk),
            )
            self.free.append([i, 0, vcpus, mem, disk])
        self._commit()
        self.cas, self.insert = self._sql(_CAS), self._sql(_INSERT)

    def candidates(self, request: dict[str, Any], limit: int | None) -> int:
        query = self._sql(
            "SELECT id FROM hosts WHERE vcpus - used_vcpus >= {p} AND "
            "memory_mb - used_memory_mb >= {p} AND disk_gb - used_disk_gb >= {p} ORDER BY id"
        )
        params: tuple[int, ...] = (request["VCPU"], request["MEMORY_MB"], request["DISK_GB"])
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        return len(self.conn.execute(query, params).fetchall())

    def place(self, consumer_id: str, request: dict[str, Any], limit: int | None) -> Any:
        want = (request["VCPU"], request["MEMORY_MB"], request["DISK_GB"])
        while self.cursor < len(self.free):
            host = self.free[self.cursor]
            if host[2] >= want[0] and host[3] >= want[1] and host[4] >= want[2]:
                break
            self.cursor += 1
        else:
            return None
        t0 = time.perf_counter()
        self._begin()
        cur = self.conn.execute(self.cas, (host[1] + 1, *want, host[0], host[1]))
        if cur.rowcount != 1:
            raise RuntimeError("raw CAS lost a race nobody runs")
        self.conn.execute(self.insert, (consumer_id, host[0], *want))
        self._commit()
        host[1] += 1
        host[2] -= want[0]
        host[3] -= want[1]
        host[4] -= want[2]
        self.by_consumer[consumer_id] = (host[0], *want)
        return {"host": host[0], "claim_s": time.perf_counter() - t0}

    def release(self, consumer_id: str) -> None:
        host_id, vcpus, mem, disk = self.by_consumer.pop(consumer_id)
        self._begin()
        self.conn.execute(self._sql("DELETE FROM claims WHERE consumer = {p}"), (consumer_id,))
        self.conn.execute(
            self._sql(
                "UPDATE hosts SET generation = generation + 1, used_vcpus = used_vcpus - {p}, "
                "used_memory_mb = used_memory_mb - {p}, used_disk_gb = used_disk_gb - {p} "
                "WHERE id = {p}"
            ),
            (vcpus, mem, disk, host_id),
        )
        self._commit()
        host = self.free[host_id - 1]
        host[1] += 1
        host[2] += vcpus
        host[3] += mem
        host[4] += disk
        self.cursor = 0

    def usage_totals(self) -> dict[str, int]:
        row = self.conn.execute(
            "SELECT COALESCE(SUM(vcpus), 0), COALESCE(SUM(memory_mb), 0), "
            "COALESCE(SUM(disk_gb), 0) FROM claims"
        ).fetchone()
        hosts = self.conn.execute(
            "SELECT SUM(used_vcpus), SUM(used_memory_mb), SUM(used_disk_gb) FROM hosts"
        ).fetchone()
        if tuple(row) != tuple(hosts):
            raise RuntimeError(f"raw usage {hosts} differs from its claims {row}")
        return {"VCPU": int(row[0]), "MEMORY_MB": int(row[1]), "DISK_GB": int(row[2])}

    def close(self) -> None:
        self.conn.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


class RawPostgres(RawSqlite):
    """The same on PostgreSQL through psycopg (``VMHOST_BENCH_PG_URL``), a fresh database."""

    name = "raw-claim-postgresql"
    param = "%s"

    def _connect(self) -> Any:
        import psycopg

        base = os.environ.get("VMHOST_BENCH_PG_URL")
        if not base:
            raise RuntimeError("set VMHOST_BENCH_PG_URL (bench/run_placement.sh starts a server)")
        db = f"raw_{os.getpid()}_{int(time.time() * 1000) % 10**9}"
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{db}"')
        return psycopg.connect(base.rsplit("/", 1)[0] + "/" + db, autocommit=True)

    def _serial(self) -> str:
        return "BIGSERIAL PRIMARY KEY"

    def _begin(self) -> None:
        self.conn.execute("BEGIN")

    def close(self) -> None:
        self.conn.close()
