"""The MAAS API for Juju: allocate latency, and ``GET machines/?agent_name=`` with 1,000 machines.

Run: ``PYTHONPATH=src .venv/bin/python bench/bench_maas.py [--hosts 50] [--machines 1000]
[--models 50] [--lists 200] [--json-out r.json]``.

A SQLite store with ``--hosts`` fake hosts (64 cores, 512 GiB each, bridge ``br0`` with space
``db``), the app in-process through Starlette's TestClient (no sockets), every MAAS request
signed as Juju's gomaasapi signs it (OAuth PLAINTEXT) with urlencoded bodies.

* **allocate**: ``POST machines/?op=allocate`` with ``cpu_count=1 mem=1024 agent_name=<model>``
  (each composes a machine: nothing idle matches), ``--machines`` times, ``--models`` agent
  names in turn. The **reference**, interleaved call by call on the same store: vmhost's own
  ``POST /api/v1/vms`` composing the same VM allocated to an owner (``cores=1``,
  ``memory_mib=1024``, ``owner=<model>``).
* **list**: with the machines made (``--machines`` MAAS machines plus as many reference VMs),
  ``GET machines/?agent_name=<model>`` (one model's machines, as Juju's instance poller asks),
  ``GET machines/?agent_name=<model>&id=<system_id>`` (Juju's wait for one machine) and
  ``GET machines/`` (all of them: ``ControllerInstances``); the **reference** is
  ``GET /api/v1/vms?owner=<model>``, the same number of VMs of one owner, interleaved.

Each figure is p50/p99 in ms; the ratio is p50(MAAS) / p50(reference) from the same run.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import platform
import sys
import time
from typing import Any

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
from support.maas_auth import go_header

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import inprocess
from latency import summary, timed

from vmhost.service import Services

GIB = 1024
PREFIX = "/MAAS/api/2.0"


def inventory() -> dict[str, Any]:
    """A roomy fake host: 1,000 one-core machines fit on a few dozen of them."""
    return {
        "cores": 64,
        "memory_mib": 512 * GIB,
        "storage_pools": [
            {"name": "default", "type": "dir", "path": "/var/lib/vm", "total_bytes": 40 * 10**12}
        ],
        "networks": [{"name": "br0", "kind": "bridge", "cidr": "10.30.0.0/16"}],
    }


def expect(response: Any, status: int = 200) -> Any:
    """The JSON of a response that must have ``status``."""
    if response.status_code != status:
        raise SystemExit(
            f"{response.request.method} {response.request.url}: {response.status_code} "
            f"{response.text[:300]}"
        )
    return response.json()


def fill(services: Services, hosts: int) -> float:
    """Hosts and the space mapping; seconds taken."""
    start = time.perf_counter()
    for i in range(hosts):
        name, address = f"maas-bench-{i:03d}", f"fake://bench-maas/{i}"
        inprocess.add_fake_host(services, name, address, inventory(), cpu_over_commit_ratio=1.0)
    services.spaces.set("db", "br0")
    return time.perf_counter() - start


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Fill, allocate (MAAS and reference interleaved), then list; latencies in ms."""
    from fastapi.testclient import TestClient

    services = inprocess.store("vmhost-bench-maas-")
    fill_s = fill(services, args.hosts)
    record, token = services.tokens.create("bench-juju", "admin")
    key = f"{record.name}:{record.id}:{token}"
    bearer = {"Authorization": f"Bearer {token}"}
    app = inprocess.server_app(services)
    times: dict[str, list[float]] = {
        "allocate (MAAS)": [],
        "compose to an owner (reference)": [],
        "machines/?agent_name= (MAAS)": [],
        "machines/?agent_name=&id= (MAAS)": [],
        "vms?owner= (reference)": [],
        "machines/ all (MAAS)": [],
    }
    models = [f"model-{m:03d}" for m in range(args.models)]
    first: dict[str, str] = {}
    with TestClient(app) as http:

        def allocate(agent: str) -> Any:
            return http.post(
                f"{PREFIX}/machines/?op=allocate",
                data={"cpu_count": "1", "mem": "1024", "agent_name": agent},
                headers={"Authorization": go_header(key)},
            )

        def compose(owner: str) -> Any:
            return http.post(
                "/api/v1/vms",
                json={"cores": 1, "memory_mib": 1024, "owner": owner},
                headers=bearer,
            )

        for n in range(args.machines):
            agent = models[n % len(models)]
            ms, got = timed(lambda a=agent: allocate(a))
            machine = expect(got)
            first.setdefault(agent, machine["system_id"])
            times["allocate (MAAS)"].append(ms)
            ms, got = timed(lambda o=f"ref-{agent}": compose(o))
            expect(got, 201 if got.status_code == 201 else 200)
            times["compose to an owner (reference)"].append(ms)

        per_model = args.machines // len(models)
        for n in range(args.lists):
            agent = models[n % len(models)]
            ms, got = timed(
                lambda a=agent: http.get(
                    f"{PREFIX}/machines/",
                    params={"agent_name": a},
                    headers={"Authorization": go_header(key)},
                )
            )
            assert len(expect(got)) == per_model
            times["machines/?agent_name= (MAAS)"].append(ms)
            ms, got = timed(
                lambda a=agent: http.get(
                    f"{PREFIX}/machines/",
                    params={"agent_name": a, "id": first[a]},
                    headers={"Authorization": go_header(key)},
                )
            )
            assert len(expect(got)) == 1
            times["machines/?agent_name=&id= (MAAS)"].append(ms)
            ms, got = timed(
                lambda a=agent: http.get(
                    "/api/v1/vms", params={"owner": f"ref-{a}"}, headers=bearer
                )
            )
            assert len(expect(got)) == per_model
            times["vms?owner= (reference)"].append(ms)
        for _ in range(max(5, args.lists // 20)):
            ms, got = timed(
                lambda: http.get(f"{PREFIX}/machines/", headers={"Authorization": go_header(key)})
            )
            assert len(expect(got)) == args.machines
            times["machines/ all (MAAS)"].append(ms)
    services.close()
    latency = {name: summary(values) for name, values in times.items()}
    ratio = {
        "allocate / compose": round(
            latency["allocate (MAAS)"]["p50"] / latency["compose to an owner (reference)"]["p50"],
            2,
        ),
        "machines/?agent_name= / vms?owner=": round(
            latency["machines/?agent_name= (MAAS)"]["p50"]
            / latency["vms?owner= (reference)"]["p50"],
            2,
        ),
    }
    return {
        "hosts": args.hosts,
        "machines": args.machines,
        "models": len(models),
        "machines_per_model": per_model,
        "fill_s": round(fill_s, 1),
        "latency_ms": latency,
        "ratio_p50": ratio,
        "python": platform.python_version(),
    }


def main(argv: list[str] | None = None) -> int:
    """Parse, run, print (and optionally write JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--machines", type=int, default=1000)
    parser.add_argument("--models", type=int, default=50, help="agent names (Juju models)")
    parser.add_argument("--lists", type=int, default=200, help="GETs of each list kind")
    parser.add_argument("--json-out")
    args = parser.parse_args(argv)
    if args.machines % args.models:
        parser.error("--machines must be a multiple of --models")
    result = run(args)
    print(
        f"bench_maas: {result['machines']} MAAS machines + as many reference VMs on "
        f"{result['hosts']} fake hosts ({result['models']} models of "
        f"{result['machines_per_model']}), SQLite, TestClient in-process"
    )
    for name, figures in result["latency_ms"].items():
        print(f"  {name:<36} p50 {figures['p50']:>8.2f} ms  p99 {figures['p99']:>8.2f} ms")
    for name, value in result["ratio_p50"].items():
        print(f"  ratio p50 {name}: {value}")
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
