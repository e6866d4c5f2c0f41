"""Find + durable claim from several worker processes on one database: do more workers give more
placements per second?

Each configuration starts from a fresh store of ``--hosts`` flat hosts (the anchor workload's
hosts: 64 cores x 4.0, 256 GiB x 1.5, 4000 GB; ``bench/vmhost_adapter.py``) and places
``--placements`` VMs of 4 VCPU / 8192 MiB / 20 GB through ``ClaimsService.claim`` with the
default policy (pack), split evenly over 1 process, then over ``--workers`` processes, all
started together. After each run every host is checked: its stored usage is the recount of its
VM records, nothing is over its capacity, and the VM count is the placements made.

With ``--repeats R`` the pair (1 process, then ``--workers``) runs R times in turn and the
medians are reported: on a shared 2-core machine one pair's ratio varies about 2x from run to
run. Each run also reports the CPU time the hypervisor took from this machine while it ran
(``steal``, from /proc/stat) and the whole machine's busy cores, which includes everyone else.

    VMHOST_BENCH_PG_URL=postgresql://... PYTHONPATH=src:bench python bench/bench_workers.py \
        [--db sqlite|postgresql] [--hosts 200] [--placements 800] [--workers 4] [--repeats 1]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import time
from typing import Any

import vmhost_adapter

from vmhost import model, store
from vmhost.scheduler import capacity
from vmhost.service import Services, Settings, accounts

GB = 1000**3
REQUEST = model.ComposeRequest(
    cores=4, memory_mib=8192, disks=(model.DiskRequest(20 * GB),), no_interfaces=True
)


def fleet(n: int) -> list[dict[str, Any]]:
    """The anchor's flat hosts."""
    inv = {
        "VCPU": {"total": 64, "allocation_ratio": 4.0},
        "MEMORY_MB": {"total": 262144, "allocation_ratio": 1.5},
        "DISK_GB": {"total": 4000, "allocation_ratio": 1.0},
    }
    return [
        {"name": f"host-{i:05d}", "uuid": f"u{i}", "inventory": inv, "numa_cells": []}
        for i in range(n)
    ]


def _backend_pids(services: Services) -> list[int]:
    """The PostgreSQL server processes of this worker's pooled connections (none on SQLite)."""
    if services.ctx.db.is_sqlite:
        return []
    with services.ctx.db.read() as conn:
        return [int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())]


def _cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds of local processes, from /proc (the server runs here)."""
    total = 0.0
    for pid in pids:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _machine_ticks() -> tuple[int, int, int]:
    """(busy, steal, all) ticks of every CPU so far, from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle, steal = fields[3] + fields[4], fields[7]  # idle + iowait; steal
    return sum(fields) - idle - steal, steal, sum(fields)


def _worker(url: str, data_dir: str, worker: int, count: int, start: Any, out: Any) -> None:
    services = Services.create(Settings(data_dir=data_dir, database_url=url, log_level="WARNING"))
    pids = _backend_pids(services)
    start.wait()
    t0 = time.perf_counter()
    cpu0, server0 = time.process_time(), _cpu_s(pids)
    failed = 0
    for i in range(count):
        try:
            services.claims.claim(REQUEST, f"w{worker}-{i}")
        except Exception:  # counted: NoCandidate or a ConflictError
            failed += 1
    wall = time.perf_counter() - t0
    cpu, server = time.process_time() - cpu0, _cpu_s(pids) - server0
    if _backend_pids(services) != pids:  # another pooled connection did part of the work
        server = float("nan")
    out.put((worker, wall, failed, cpu, server))
    services.close()


def check(services: Services, placed: int) -> dict[str, Any]:
    """Exact accounts on every host, none over capacity, every placement recorded."""
    with services.ctx.db.read() as conn:
        views = store.candidates.load_views(conn)
        exact = all(accounts.recount(conn, v.id) == v.usage for v in views)
        over = [
            v.name
            for v in views
            if capacity.free_vcpus(v) < 0
            or capacity.free_memory_mib(v) < 0
            or any(capacity.pool_free_bytes(v, p.name) < 0 for p in v.pools)
        ]
    vms = sum(v.usage.vms.total for v in views)
    return {
        "accounts_exact": exact,
        "hosts_over_capacity": over,
        "vms": vms,
        "ok": exact and not over and vms == placed,
    }


def run(db: str, hosts: int, placements: int, workers: int) -> dict[str, Any]:
    """One configuration on a fresh store."""
    adapter = (
        vmhost_adapter.PostgresAdapter if db == "postgresql" else vmhost_adapter.SqliteAdapter
    )()
    try:
        adapter.setup(fleet(hosts))
        url, data_dir = adapter.services.ctx.db.url, adapter.tmp
        adapter.services.ctx.db.dispose()
        ctx = multiprocessing.get_context("fork")
        start, out = ctx.Event(), ctx.Queue()
        share = placements // workers
        procs = [
            ctx.Process(target=_worker, args=(url, data_dir, w, share, start, out))
            for w in range(workers)
        ]
        for p in procs:
            p.start()
        time.sleep(2.0)  # every worker has opened its services
        ticks0 = _machine_ticks()
        t0 = time.perf_counter()
        start.set()
        results = [out.get(timeout=600) for _ in procs]
        wall = time.perf_counter() - t0
        busy, steal, total = (b - a for a, b in zip(ticks0, _machine_ticks(), strict=True))
        for p in procs:
            p.join(60)
        failed = sum(r[2] for r in results)
        placed = share * workers - failed
        client_cpu, server_cpu = sum(r[3] for r in results), sum(r[4] for r in results)
        verdict = check(adapter.services, placed)
        return {
            "db": db,
            "workers": workers,
            "placements": placed,
            "failed": failed,
            "wall_s": round(wall, 3),
            "placements_per_s": round(placed / wall, 1),
            # CPU per placement summed over the workers (and their PostgreSQL server processes),
            # and the cores that kept busy on average: on 2 cores, a run that already keeps
            # them busy cannot gain from more workers
            "client_cpu_ms_per_placement": round(1000 * client_cpu / max(placed, 1), 3),
            "server_cpu_ms_per_placement": round(1000 * server_cpu / max(placed, 1), 3),
            "cores_busy": round((client_cpu + server_cpu) / wall, 2),
            # everyone's: this run's processes and the rest of the machine's load
            "machine_cores_busy": round((os.cpu_count() or 1) * busy / max(total, 1), 2),
            "steal": round(steal / max(total, 1), 3),
            "load_1min": round(os.getloadavg()[0], 1),
            # each worker's time from the start to its last placement: on SQLite, workers that
            # end one after another took the write lock in turn, not side by side
            "worker_walls_s": sorted(round(r[1], 3) for r in results),
            **verdict,
        }
    finally:
        adapter.close()


def _cpu(row: dict[str, Any]) -> str:
    return f"{row['client_cpu_ms_per_placement']} + {row['server_cpu_ms_per_placement']}"


def _median(rows: list[dict[str, Any]], key: str) -> float:
    return round(statistics.median(r[key] for r in rows), 3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], action="append")
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--placements", type=int, default=800)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--json-out")
    args = parser.parse_args()
    rows = []
    for db in args.db or ["sqlite", "postgresql"]:
        ones, manys = [], []
        for _ in range(args.repeats):
            ones.append(run(db, args.hosts, args.placements, 1))
            manys.append(run(db, args.hosts, args.placements, args.workers))
            for r in (ones[-1], manys[-1]):
                print(json.dumps(r), file=sys.stderr)
        ratios = [
            m["placements_per_s"] / o["placements_per_s"] for o, m in zip(ones, manys, strict=True)
        ]
        one, many = ones[-1], manys[-1]
        rows.append(
            {
                "db": db,
                "one": one,
                "many": many,
                "runs": {"one": ones, "many": manys},
                "speedup": round(statistics.median(ratios), 2),
                "speedups": [round(r, 2) for r in ratios],
            }
        )
        one_s, many_s = _median(ones, "placements_per_s"), _median(manys, "placements_per_s")
        of = f" (medians of {args.repeats} pairs; ratios {rows[-1]['speedups']})"
        print(
            f"[{db}] 1 process {one_s}/s, {args.workers} processes {many_s}/s = "
            f"{rows[-1]['speedup']}x{of if args.repeats > 1 else ''}; CPU ms/placement "
            f"(client + server) {_cpu(one)} / {_cpu(many)}, cores busy {one['cores_busy']} / "
            f"{many['cores_busy']} (last pair); machine cores busy "
            f"{_median(ones, 'machine_cores_busy')} / {_median(manys, 'machine_cores_busy')}, "
            f"steal {_median(ones + manys, 'steal'):.1%}; accounts exact and nothing over "
            f"capacity: {all(r['ok'] for r in ones + manys)}"
        )
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=2)
    runs = [r for row in rows for r in row["runs"]["one"] + row["runs"]["many"]]
    return 0 if all(r["ok"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
