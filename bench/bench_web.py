"""Web UI render time: the host list with 1,000 hosts and 10,000 VMs, and a host with 500 VMs.

Measures, logged in through the login form, the server's answer to ``GET /`` (the first page of
the host list: 50 hosts with their meters), a sorted and filtered later page, and the VMs and
NUMA tabs of a host holding 500 VMs; p50/p99 in ms, against the target p50 < 50 ms for the
host list. The reference, measured in the same process: the API's ``GET /api/v1/vm-hosts``
(every host, JSON) and ``GET /api/v1/vm-hosts/{id}`` of the same big host.

The store is filled as ``bench_api.py`` fills it (a child process: 1,000 fake hosts x 9 adopted
+ 1 composed VMs), plus one host with ``--big`` VMs found on it; the measuring process then
starts like ``vmhost-server`` (services, app, ``gc.freeze()``).

    PYTHONPATH=src .tox/web/bin/python bench/bench_web.py [--hosts 1000] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_api

from vmhost import model
from vmhost.api.app import create_app
from vmhost.drivers import base, fake
from vmhost.service import Services, Settings

BIG = "bench-big"


def add_big_host(services: Services, vms: int) -> int:
    """A host with ``vms`` VMs found on it (2 NUMA nodes, some VMs pinned)."""
    address = "fake://bench/big"
    inventory = {
        "cores": 256,
        "memory_mib": 4096 * 1024,
        "numa_nodes": [
            {"index": n, "cores": list(range(n * 128, (n + 1) * 128)), "memory_mib": 2048 * 1024}
            for n in range(2)
        ],
        "storage_pools": [
            {"name": "default", "type": "dir", "path": "/srv", "total_bytes": 100 * 10**12}
        ],
        "networks": [{"name": "br0", "kind": "bridge"}],
    }
    conn = base.HostConnection(
        type=model.HostType.FAKE, address=address, options={"inventory": inventory}
    )
    for j in range(vms):
        pinned = (j,) if j < 64 else ()
        fake.add_vm_behind_our_back(
            conn,
            model.DiscoveredVm(
                f"big-{j:03d}",
                cores=1,
                memory_mib=1024,
                pinned_cores=pinned,
                numa_node=0 if pinned else None,
                disks=(model.DiscoveredDisk("root", 10 * 10**9, "default"),),
                power_state="running" if j % 3 else "stopped",
            ),
        )
    detail = services.hosts.add(
        model.HostSettings(name=BIG, type=model.HostType.FAKE, address=address),
        options={"inventory": inventory},
    )
    return detail.view.id


def login(client: Any, token: str) -> None:
    """Log in through the form as a browser does."""
    page = client.get("/login")
    nonce = re.search(r'name="nonce" value="([^"]+)"', page.text)
    assert nonce, "no login form"
    answer = client.post(
        "/login",
        data={"token": token, "nonce": nonce.group(1), "next": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:200]


def measure(get: Callable[[str], Any], path: str, n: int, needle: str) -> list[float]:
    """Latencies in ms of ``n`` GETs of ``path`` (each must answer 200 and show ``needle``)."""
    times = []
    for _ in range(n):
        t = time.perf_counter()
        answer = get(path)
        times.append((time.perf_counter() - t) * 1000)
        if answer.status_code != 200 or needle not in answer.text:
            raise SystemExit(f"GET {path}: {answer.status_code} {answer.text[:300]}")
    return times


def summary(times: list[float]) -> dict[str, float]:
    """p50, p99 and mean."""
    return {
        "p50": statistics.median(times),
        "p99": bench_api.percentile(times, 99),
        "mean": statistics.fmean(times),
        "n": len(times),
    }


def main(argv: list[str] | None = None) -> int:
    """Fill (once), measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--adopted", type=int, default=9)
    parser.add_argument("--composed", type=int, default=1)
    parser.add_argument("--big", type=int, default=500, help="VMs on the big host")
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--data-dir", help="reuse this store (filled when empty)")
    parser.add_argument("--json-out")
    args = parser.parse_args(argv)

    data_dir = args.data_dir or tempfile.mkdtemp(prefix="vmhost-bench-web-")
    if not os.path.exists(os.path.join(data_dir, "vmhost.db")):
        bench_api.fill_in_child(args, data_dir)
    services = Services.create(Settings(data_dir=data_dir, log_level="WARNING"))
    names = services.hosts.names()
    big = next((i for i, n in names.items() if n == BIG), None)
    if big is None:
        big = add_big_host(services, args.big)
    vms = len(services.vms.list())
    big_vms = len(services.vms.list(host_id=big))
    _, token = services.tokens.create(f"bench-web-{os.getpid()}", "readonly")
    app = create_app(services)
    gc.collect()
    gc.freeze()  # as vmhost-server does once started
    from fastapi.testclient import TestClient

    headers = {"Authorization": f"Bearer {token}"}
    result: dict[str, Any] = {"hosts": len(names) + (0 if BIG in names.values() else 1)}
    result.update(vms=vms, big_host_vms=big_vms)
    with TestClient(app) as client:
        login(client, token)
        pages = {
            "host_list_first_page": ("/", "Showing 1–50 of"),
            "host_list_sorted_page_7": ("/?sort=free-memory&order=desc&page=7", "Page 7 of"),
            "host_list_filtered": ("/?q=host-09&sort=vms", "Showing 1–50 of 100"),
            "big_host_vms_tab": (f"/hosts/{big}/vms", "big-499"),
            "big_host_numa_tab": (f"/hosts/{big}/resources", "NUMA node 1"),
        }
        for path, needle in pages.values():
            measure(client.get, path, 3, needle)  # warm up
        for key, (path, needle) in pages.items():
            result[key] = summary(measure(client.get, path, args.runs, needle))

        def api(path: str) -> Any:
            return client.get(path, headers=headers)

        result["api_list_all_hosts"] = summary(measure(api, "/api/v1/vm-hosts", 10, BIG))
        result["api_read_big_host"] = summary(
            measure(api, f"/api/v1/vm-hosts/{big}", args.runs, BIG)
        )
    services.close()
    first = result["host_list_first_page"]["p50"]
    result["target_host_list_p50_ms"] = 50
    result["meets_target"] = first < 50
    print(f"store: {result['hosts']} hosts, {vms} VMs; big host {big_vms} VMs ({data_dir})")
    for key in (*pages, "api_list_all_hosts", "api_read_big_host"):
        s = result[key]
        print(f"{key:26} p50 {s['p50']:7.1f} ms   p99 {s['p99']:7.1f} ms   (n={s['n']})")
    ratio = result["api_list_all_hosts"]["p50"] / first
    print(
        f"host list page p50 {first:.1f} ms (target < 50 ms): {ratio:.1f}x faster than the API's"
    )
    print("target met" if result["meets_target"] else "TARGET MISSED")
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
    return 0 if result["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
