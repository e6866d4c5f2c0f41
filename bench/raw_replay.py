"""What SQLite itself costs for vmhost's own claim statements, against vmhost and the raw loop.

``raw_claims.RawSqlite`` (bench/raw_claims.py) is the limit of a durable claim on two narrow
tables with no secondary index. vmhost's claim writes its real rows: the host's JSON usage and
prefilter columns (``ix_hosts_candidate_order`` changes with them) and a VM record with its
JSON spec and allocation and five indexes (src/vmhost/store/tables.py). This script separates
the database's part of a vmhost placement from vmhost's Python, in one process on one fleet:

1. ``vmhost``: find + durable claim through the service, as ``run_placement.sh``'s
   vmhost-sqlite (``vmhost_adapter.SqliteAdapter``), after a warm-up;
2. the same number of placements again with SQLite's trace callback on, recording every
   statement as SQLite ran it (parameters expanded), on a copy of the store taken before;
3. ``replay``: those statements run again with sqlite3 on that copy, one after the other (no
   ORM, no scheduler, no view: the SQL alone, WAL and synchronous=NORMAL as vmhost runs), with
   the find's ``SELECT`` and without it (the durable writes only);
4. ``raw-claim-sqlite`` (``raw_claims.RawSqlite``) on the same fleet.

Run: ``PYTHONPATH=src bench/venv/bin/python bench/raw_replay.py [--hosts 1000]
[--placements 1000] [--rounds 3]`` (the Placement anchor, ``bench_placement.py``, is found as
``run_placement.sh`` finds it). Each round prints placements/s for the four; the best round of
each is the summary, with vmhost's share of each limit and the share of raw-claim-sqlite that the
replayed statements themselves reach (the ceiling of a placement on vmhost's schema).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import sqlite3
import sys
import time
from collections.abc import Callable
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
ANCHOR = pathlib.Path(
    os.environ.get("VMHOST_PLACEMENT_BENCH", HERE.parent.parent / "shared" / "bench" / "placement")
)
sys.path[:0] = [str(ANCHOR), str(HERE)]

import bench_placement  # noqa: E402 (the anchor, found above)
import raw_claims  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy import event  # noqa: E402
from vmhost_adapter import SqliteAdapter  # noqa: E402

PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA foreign_keys=ON", "PRAGMA synchronous=NORMAL")


def _rate(count: int, work: Callable[[], None]) -> float:
    start = time.perf_counter()
    work()
    return count / (time.perf_counter() - start)


def _snapshot(database: str, engine: sa.Engine, target: str) -> None:
    """Copy the store as it is now (every pooled connection closed, the WAL checkpointed)."""
    engine.dispose()
    with sqlite3.connect(database) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(database, target)


def _replay(database: str, statements: list[str]) -> float:
    conn = sqlite3.connect(database, isolation_level=None)
    for pragma in PRAGMAS:
        conn.execute(pragma)
    # warm the page cache as vmhost's pooled connections are (every table read once)
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        conn.execute(f'SELECT * FROM "{table}"').fetchall()

    def run() -> None:
        for statement in statements:
            conn.execute(statement).fetchall()

    try:
        return _rate(1, run)
    finally:
        conn.close()


def one_round(hosts: int, placements: int, tag: str) -> dict[str, float]:
    fleet = bench_placement.make_fleet(hosts, "flat")
    request = bench_placement.REQUEST["flat"]
    adapter = SqliteAdapter()
    adapter.setup(fleet)
    try:
        for i in range(50):
            adapter.place(f"{tag}-warm{i}", request, 1)

        def loop(prefix: str) -> Callable[[], None]:
            def run() -> None:
                for i in range(placements):
                    if adapter.place(f"{tag}-{prefix}{i}", request, 1) is None:
                        raise RuntimeError("the fleet is full: use more --hosts")

            return run

        vmhost = _rate(placements, loop("timed"))
        engine = adapter.services.ctx.db.engine
        database = engine.url.database
        if database is None:
            raise RuntimeError("the adapter's store is not a file")
        copy_with_find, copy_writes = f"{database}.replay-find", f"{database}.replay-writes"
        _snapshot(database, engine, copy_with_find)
        shutil.copy(copy_with_find, copy_writes)
        traced: list[str] = []

        @event.listens_for(engine, "connect")
        def _trace(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.set_trace_callback(traced.append)

        loop("traced")()
        event.remove(engine, "connect", _trace)
        statements = [s for s in traced if not s.startswith("PRAGMA")]
        writes = [s for s in statements if not s.startswith("SELECT")]
        replay_find = placements * _replay(copy_with_find, statements)
        replay_writes = placements * _replay(copy_writes, writes)
        per_placement = len(statements) / placements
    finally:
        adapter.close()
    raw = raw_claims.RawSqlite()
    raw.setup(fleet)
    try:

        def raw_loop() -> None:
            for i in range(placements):
                raw.place(f"{tag}-raw{i}", request, 1)

        raw_rate = _rate(placements, raw_loop)
    finally:
        raw.close()
    return {
        "vmhost": vmhost,
        "replay find+claim": replay_find,
        "replay claim writes": replay_writes,
        "raw-claim-sqlite": raw_rate,
        "statements per placement": per_placement,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--placements", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    best: dict[str, float] = {}
    for r in range(args.rounds):
        result = one_round(args.hosts, args.placements, f"r{r}")
        print(
            f"round {r}: "
            + ", ".join(f"{k} {v:,.1f}" for k, v in result.items())
            + f" (load {os.getloadavg()[0]:.1f})"
        )
        for key, value in result.items():
            best[key] = max(best.get(key, 0.0), value)
    print(f"best of {args.rounds} rounds, {args.hosts} hosts, {args.placements} placements:")
    vmhost = best["vmhost"]
    for key in ("vmhost", "replay find+claim", "replay claim writes", "raw-claim-sqlite"):
        share = "" if key == "vmhost" else f"  vmhost = {vmhost / best[key] * 100:.1f} % of it"
        print(f"  {key:22s} {best[key]:>10,.1f} placements/s{share}")
    print(f"  statements per placement: {best['statements per placement']:.1f}")
    ceiling = best["replay find+claim"] / best["raw-claim-sqlite"] * 100
    print(
        f"  vmhost's own statements alone, with no Python between them, reach {ceiling:.1f} % "
        "of raw-claim-sqlite: the most vmhost's placement could reach against it"
    )


if __name__ == "__main__":
    main()
