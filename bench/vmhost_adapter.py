"""vmhost adapters for the Placement anchor benchmark (bench/README.md).

They go through vmhost's service layer exactly as a compose does (SQL prefilter, scheduler
filters + exact fit + weighers, one write transaction doing the generation compare-and-swap and
inserting the claim record), with durable claims:

* ``SqliteAdapter``: a SQLite file on disk (WAL, synchronous=NORMAL: a committed claim survives a
  process crash), as vmhost runs by default.
* ``PostgresAdapter``: a real PostgreSQL server; set ``VMHOST_BENCH_PG_URL``
  (``bench/run_placement.sh`` starts a throwaway one).

``place`` is find + durable claim (what Placement's ``GET /allocation_candidates`` + ``PUT
/allocations`` do); the driver call that follows a claim in a real compose is not part of the
workload (Placement has none).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from typing import Any

from vmhost import model
from vmhost.drivers import fake
from vmhost.scheduler import capacity
from vmhost.service import Services, Settings

GB = 1000**3


def _inventory(host: dict[str, Any]) -> dict[str, Any]:
    if host["numa_cells"]:
        cells = host["numa_cells"]
        nodes = []
        first = 0
        for i, cell in enumerate(cells):
            vcpu = cell["inventory"]["VCPU"]["total"]
            nodes.append(
                {
                    "index": i,
                    "cores": list(range(first, first + vcpu)),
                    "memory_mib": cell["inventory"]["MEMORY_MB"]["total"],
                }
            )
            first += vcpu
        cores = first
        memory = sum(n["memory_mib"] for n in nodes)
        disk = host["inventory"]["DISK_GB"]["total"]
    else:
        inv = host["inventory"]
        cores, memory, disk = (
            inv["VCPU"]["total"],
            inv["MEMORY_MB"]["total"],
            inv["DISK_GB"]["total"],
        )
        nodes = []
    return {
        "cores": cores,
        "memory_mib": memory,
        "numa_nodes": nodes,
        "storage_pools": [
            {"name": "default", "type": "dir", "path": "/x", "total_bytes": disk * GB}
        ],
    }


def _ratios(host: dict[str, Any]) -> tuple[float, float]:
    inv = host["numa_cells"][0]["inventory"] if host["numa_cells"] else host["inventory"]
    return inv["VCPU"]["allocation_ratio"], inv["MEMORY_MB"]["allocation_ratio"]


class SqliteAdapter:
    """vmhost service layer on a SQLite file."""

    name = "vmhost-sqlite"

    def __init__(self) -> None:
        self.tmp = tempfile.mkdtemp(prefix="vmhost-bench-", dir=os.environ.get("VMHOST_BENCH_DIR"))
        self.services = self._services()
        self.info = {
            "layer": "vmhost.service (VmsService.claim: SQL prefilter + scheduler + CAS claim)",
            "db": self.services.ctx.db.url.split("@")[-1],
            "durable": "each claim committed in its own transaction",
        }
        self.uuid_by_id: dict[int, str] = {}
        self.vm_by_consumer: dict[str, int] = {}

    def _services(self) -> Services:
        return Services.create(Settings(data_dir=self.tmp, database_url=self._url()))

    def _url(self) -> str:
        return ""

    def setup(self, hosts: list[dict[str, Any]]) -> None:
        fake.reset()
        for host in hosts:
            cpu, mem = _ratios(host)
            detail = self.services.hosts.add(
                model.HostSettings(
                    name=host["name"],
                    type=model.HostType.FAKE,
                    address=f"fake://{host['uuid']}",
                    cpu_over_commit_ratio=cpu,
                    memory_over_commit_ratio=mem,
                ),
                options={"inventory": _inventory(host)},
            )
            self.uuid_by_id[detail.view.id] = host["uuid"]

    @staticmethod
    def _request(request: dict[str, Any], name: str = "") -> model.ComposeRequest:
        return model.ComposeRequest(
            cores=request["VCPU"],
            memory_mib=request["MEMORY_MB"],
            disks=(model.DiskRequest(request["DISK_GB"] * GB),),
            numa_affinity=bool(request.get("numa")),
            hostname=None,
            no_interfaces=True,  # Placement's workload has no NICs (nor do these hosts)
        )

    def candidates(self, request: dict[str, Any], limit: int | None) -> int:
        result = self.services.claims.candidates(self._request(request), limit)
        if not request.get("numa"):
            return len(result.candidates)
        # Placement counts one candidate per NUMA cell that fits; count the same way.
        count = 0
        for cand in result.candidates:
            view = cand.view
            for node in view.numa:
                cores_ok = (
                    capacity.node_core_capacity(view, node)
                    - view.usage.node_vcpus.get(node.index, 0)
                    >= request["VCPU"]
                )
                mem_ok = (
                    capacity.node_memory_capacity_mib(view, node)
                    - view.usage.node_memory_mib.get(node.index, 0)
                    >= request["MEMORY_MB"]
                )
                count += cores_ok and mem_ok
            if limit is not None and count >= limit:
                return limit
        return count

    def place(
        self, consumer_id: str, request: dict[str, Any], limit: int | None
    ) -> dict[str, Any] | None:
        t0 = time.perf_counter()
        try:
            claim = self.services.claims.claim(self._request(request), consumer_id)
        except Exception as exc:  # NoCandidate
            if type(exc).__name__ == "NoCandidate":
                return None
            raise
        self.vm_by_consumer[consumer_id] = claim.vm.id
        return {
            "host": self.uuid_by_id[claim.vm.host_id],
            "find_claim_s": time.perf_counter() - t0,
        }

    def release(self, consumer_id: str) -> None:
        self.services.claims.release(self.vm_by_consumer.pop(consumer_id))

    def usage_totals(self) -> dict[str, int]:
        totals = {"VCPU": 0, "MEMORY_MB": 0, "DISK_GB": 0}
        for detail in self.services.hosts.list():
            u = detail.view.usage
            totals["VCPU"] += u.vcpus.total
            totals["MEMORY_MB"] += u.memory_mib.total
            totals["DISK_GB"] += u.disk_bytes.total // GB
        return totals

    def close(self) -> None:
        self.services.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


class PostgresAdapter(SqliteAdapter):
    """vmhost service layer on PostgreSQL (``VMHOST_BENCH_PG_URL``); a fresh database per run."""

    name = "vmhost-postgresql"

    def setup(self, hosts: list[dict[str, Any]]) -> None:
        super().setup(hosts)
        # The planner's statistics, as a running server has them: autovacuum analyzes a table
        # that grew this much within autovacuum_naptime (1 minute). Measured right after the
        # load, the candidate query is planned for an empty table: every host read and sorted
        # instead of the first rows of ix_hosts_candidate_order (4.3 ms instead of 0.14 ms of
        # execution at 1,000 hosts, EXPLAIN ANALYZE).
        with self.services.ctx.db.write() as conn:
            conn.exec_driver_sql("ANALYZE")

    def _url(self) -> str:
        import sqlalchemy as sa

        base = os.environ.get("VMHOST_BENCH_PG_URL")
        if not base:
            raise RuntimeError("set VMHOST_BENCH_PG_URL (bench/run_placement.sh starts a server)")
        db = f"bench_{os.getpid()}_{int(time.time() * 1000) % 10**9}"
        engine = sa.create_engine(
            base.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
        )
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{db}"')
        engine.dispose()
        return base.rsplit("/", 1)[0] + "/" + db
