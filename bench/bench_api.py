"""API read latency with 1,000 VM hosts and 10,000 VMs.

Measures ``GET /api/v1/vm-hosts/{id}`` (p50/p99 over random hosts) and ``GET /api/v1/vm-hosts``
(the whole list), authenticated with a token, against targets p50 < 5 ms and list < 300 ms.

The store is filled through the service, in a child process: fake hosts whose inventory is
given by ``options={"inventory": ...}``; on each, ``--adopted`` VMs are created on the (fake)
hypervisor before the host is added, so its discovery adopts them, and ``--composed`` more are
composed through the scheduler and claims. Defaults: 1,000 hosts x (9 adopted + 1 composed) =
10,000 VMs. The measuring process then opens that store as ``vmhost-server`` does at start
(services, app, ``gc.freeze()`` of what start-up allocated), so its heap is a server's, not a
loader's.

Transport: ``--transport testclient`` (default) calls the app in-process through Starlette's
TestClient (ASGI, no sockets; each call hops between the caller's thread and the app's event
loop); ``--transport asgi`` calls it in-process from one event loop (httpx's ASGITransport: no
sockets and no hop but the one to the route's worker thread, as a server runs it);
``--transport http`` serves it with uvicorn on 127.0.0.1 and uses httpx over loopback;
``--transport raw`` calls the ASGI app itself from one event loop with a ready-made request and
collects what it sends (no client library: what the server's own request path costs, in-process,
as a server runs it after the HTTP parser).

    PYTHONPATH=src .venv/bin/python bench/bench_api.py [--hosts 1000] [--json-out r.json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx

from vmhost import model
from vmhost.api.app import create_app
from vmhost.drivers import base, fake
from vmhost.service import Services, Settings

GIB = 1024
Get = Callable[[str], Awaitable[httpx.Response]]


def inventory(i: int) -> dict[str, Any]:
    """A 2-node host; sizes vary a little so hosts are not identical."""
    cores = 32 + 8 * (i % 4)
    half = cores // 2
    return {
        "cores": cores,
        "memory_mib": 256 * GIB,
        "numa_nodes": [
            {"index": n, "cores": list(range(n * half, (n + 1) * half)), "memory_mib": 128 * GIB}
            for n in range(2)
        ],
        "storage_pools": [
            {"name": "default", "type": "dir", "path": "/var/lib/vm", "total_bytes": 4 * 10**12}
        ],
        "networks": [{"name": "br0", "kind": "bridge"}],
    }


def fill(services: Services, hosts: int, adopted: int, composed: int) -> dict[str, float]:
    """Add hosts (each discovering its adopted VMs), then compose; returns timings."""
    t0 = time.perf_counter()
    for i in range(hosts):
        address = f"fake://bench/{i}"
        options = {"inventory": inventory(i)}
        conn = base.HostConnection(type=model.HostType.FAKE, address=address, options=options)
        for j in range(adopted):
            fake.add_vm_behind_our_back(
                conn,
                model.DiscoveredVm(
                    f"found-{i}-{j}",
                    cores=1 + j % 4,
                    memory_mib=1024 * (1 + j % 8),
                    disks=(model.DiscoveredDisk("root", 20 * 10**9, "default"),),
                    power_state="running",
                ),
            )
        services.hosts.add(
            model.HostSettings(
                name=f"host-{i:04d}",
                type=model.HostType.FAKE,
                address=address,
                cpu_over_commit_ratio=2.0,
            ),
            options=options,
        )
    t1 = time.perf_counter()
    ids = [d.view.id for d in services.hosts.list()]
    for n in range(composed * len(ids)):
        services.vms.compose(
            model.ComposeRequest(
                cores=2, memory_mib=4096, host_id=ids[n % len(ids)], hostname=f"c{n}"
            )
        )
    t2 = time.perf_counter()
    return {"add_hosts_s": t1 - t0, "compose_s": t2 - t1}


def free_port() -> int:
    """A free loopback port."""
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def transport(kind: str, app: Any, token: str) -> AsyncIterator[Get]:
    """A GET function over the chosen transport, awaited in the measuring event loop (the one
    loop of the run: its worker threads live as long as it does, as in a server)."""
    headers = {"Authorization": f"Bearer {token}"}
    if kind == "testclient":
        from fastapi.testclient import TestClient

        with TestClient(app) as client:

            async def through_client(path: str) -> httpx.Response:
                return client.get(path, headers=headers)

            yield through_client
        return
    if kind == "asgi":
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench", headers=headers
        ) as asgi_client:
            yield asgi_client.get
        return
    if kind == "raw":
        auth = [(b"host", b"bench"), (b"authorization", headers["Authorization"].encode())]

        async def call(path: str) -> httpx.Response:
            route, _, query = path.partition("?")
            scope = {
                "type": "http",
                "asgi": {"version": "3.0"},
                "http_version": "1.1",
                "method": "GET",
                "scheme": "http",
                "path": route,
                "raw_path": route.encode(),
                "query_string": query.encode(),
                "root_path": "",
                "headers": auth,
                "client": ("127.0.0.1", 50000),
                "server": ("bench", 80),
            }
            sent: list[dict[str, Any]] = []

            async def receive() -> dict[str, Any]:
                return {"type": "http.request", "body": b"", "more_body": False}

            async def send(message: dict[str, Any]) -> None:
                sent.append(message)

            await app(scope, receive, send)
            body = b"".join(m.get("body", b"") for m in sent[1:])
            return httpx.Response(sent[0]["status"], content=body)

        yield call
        return
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as http_client:

            async def over_http(path: str) -> httpx.Response:
                return http_client.get(path)

            yield over_http
    finally:
        server.should_exit = True
        thread.join(10)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


async def measure(get: Get, path: str, n: int, status: int = 200) -> list[float]:
    """Latencies of ``n`` GETs, in ms (each must answer ``status``)."""
    times = []
    for _ in range(n):
        t = time.perf_counter()
        response = await get(path)
        times.append((time.perf_counter() - t) * 1000)
        if response.status_code != status:
            raise SystemExit(f"GET {path}: {response.status_code} {response.text[:200]}")
    return times


async def reads(
    args: argparse.Namespace, app: Any, token: str, host_ids: list[int], vms: int
) -> tuple[list[float], list[float], list[float]]:
    """GETs of one host, each followed by the floor (a 404 of an unknown path outside /api/:
    no token check, no route, no worker thread), then GETs of the whole list; in ms."""
    rng = random.Random(42)
    one: list[float] = []
    floor: list[float] = []
    async with transport(args.transport, app, token) as get:
        await measure(get, f"/api/v1/vm-hosts/{host_ids[0]}", 50)  # warm up
        await measure(get, "/api/v1/vm-hosts", 2)
        for _ in range(args.gets):
            one += await measure(get, f"/api/v1/vm-hosts/{rng.choice(host_ids)}", 1)
            floor += await measure(get, "/no-such-path", 1, status=404)
        listing = await measure(get, "/api/v1/vm-hosts", args.lists)
        body = (await get("/api/v1/vm-hosts")).json()
        assert len(body) == len(host_ids)
        assert sum(h["vm_count"]["total"] for h in body) == vms
    return one, floor, listing


def compose_timings(services: Services, host_ids: list[int], n: int) -> dict[str, float]:
    """p50 ms of ``n`` named composes through the service (each checks that no VM has the
    name: one index read since migration 0008, a scan of every VM before) and of the check
    alone (``validate``); the VMs are decomposed again, so the store stays as filled."""
    rng = random.Random(7)
    composes, checks, made = [], [], []
    for k in range(n):
        request = model.ComposeRequest(
            cores=1, memory_mib=1024, host_id=rng.choice(host_ids), hostname=f"b{os.getpid()}-{k}"
        )
        t = time.perf_counter()
        services.vms.validate(request)
        checks.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        made.append(services.vms.compose(request).vm.id)
        composes.append((time.perf_counter() - t) * 1000)
    for vm_id in made:
        services.vms.decompose(vm_id)
    return {
        "compose_p50": statistics.median(composes),
        "validate_p50": statistics.median(checks),
        "n": n,
    }


def fill_in_child(args: argparse.Namespace, data_dir: str) -> dict[str, float]:
    """Fill the store in a separate process (so this one starts like a server)."""
    command = [
        sys.executable,
        os.path.abspath(__file__),
        "--fill-only",
        "--data-dir",
        data_dir,
        "--hosts",
        str(args.hosts),
        "--adopted",
        str(args.adopted),
        "--composed",
        str(args.composed),
    ]
    child = subprocess.run(command, check=True, capture_output=True, text=True)
    times: dict[str, float] = json.loads(child.stdout.strip().splitlines()[-1])
    return times


def main(argv: list[str] | None = None) -> int:
    """Fill, measure, print (and optionally write JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--adopted", type=int, default=9, help="VMs found on each host")
    parser.add_argument("--composed", type=int, default=1, help="VMs composed on each host")
    parser.add_argument("--gets", type=int, default=2000, help="GETs of one host")
    parser.add_argument("--lists", type=int, default=30, help="GETs of the whole list")
    parser.add_argument(
        "--composes", type=int, default=30, help="named composes through the service"
    )
    parser.add_argument(
        "--transport", choices=["raw", "testclient", "asgi", "http"], default="testclient"
    )
    parser.add_argument("--data-dir", help="reuse this store (filled when empty)")
    parser.add_argument("--json-out")
    parser.add_argument("--fill-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    data_dir = args.data_dir or tempfile.mkdtemp(prefix="vmhost-bench-api-")
    if args.fill_only:
        services = Services.create(Settings(data_dir=data_dir, log_level="WARNING"))
        times = fill(services, args.hosts, args.adopted, args.composed)
        services.close()
        print(json.dumps(times))
        return 0
    if os.path.exists(os.path.join(data_dir, "vmhost.db")):
        fill_times = {"add_hosts_s": 0.0, "compose_s": 0.0}
    else:
        fill_times = fill_in_child(args, data_dir)

    services = Services.create(Settings(data_dir=data_dir, log_level="WARNING"))
    _, token = services.tokens.create(f"bench-{os.getpid()}", "readonly")
    vms = len(services.vms.list())
    host_ids = [d.view.id for d in services.hosts.list()]
    print(
        f"store: {len(host_ids)} hosts and {vms} VMs (filled in {fill_times['add_hosts_s']:.1f} s "
        f"adding hosts that adopt VMs + {fill_times['compose_s']:.1f} s composing); SQLite in "
        f"{data_dir}",
        file=sys.stderr,
    )
    app = create_app(services)
    gc.collect()
    gc.freeze()  # as vmhost-server does once started
    one, floor, listing = asyncio.run(reads(args, app, token, host_ids, vms))
    composed = compose_timings(services, host_ids, args.composes) if args.composes else {}
    assert len(services.vms.list()) == vms
    services.close()

    result: dict[str, Any] = {
        "transport": args.transport,
        "hosts": len(host_ids),
        "vms": vms,
        "get_host_ms": {
            "p50": statistics.median(one),
            "p99": percentile(one, 99),
            "mean": statistics.fmean(one),
            "n": len(one),
        },
        "list_hosts_ms": {
            "p50": statistics.median(listing),
            "p99": percentile(listing, 99),
            "max": max(listing),
            "n": len(listing),
        },
        "floor_404_ms": {"p50": statistics.median(floor), "n": len(floor)},
        "compose_ms": composed,
        "targets": {"get_host_p50_ms": 5, "list_hosts_ms": 300},
        **fill_times,
    }
    g, lst = result["get_host_ms"], result["list_hosts_ms"]
    result["meets_targets"] = g["p50"] < 5 and lst["p50"] < 300
    print(
        f"[{args.transport}] GET /api/v1/vm-hosts/{{id}}: p50 {g['p50']:.2f} ms, "
        f"p99 {g['p99']:.2f} ms (n={g['n']}; target p50 < 5 ms)"
    )
    print(
        f"[{args.transport}] GET /api/v1/vm-hosts ({len(host_ids)} hosts): p50 {lst['p50']:.1f} "
        f"ms, p99 {lst['p99']:.1f} ms (n={lst['n']}; target < 300 ms)"
    )
    print(
        f"[{args.transport}] floor, GET of an unknown path (404): p50 "
        f"{result['floor_404_ms']['p50']:.2f} ms (n={len(floor)})"
    )
    if composed:
        print(
            f"service compose with a hostname ({vms} VMs): p50 {composed['compose_p50']:.2f} "
            f"ms, its validate alone p50 {composed['validate_p50']:.2f} ms (n={args.composes})"
        )
    print("targets met" if result["meets_targets"] else "TARGETS MISSED")
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
    return 0 if result["meets_targets"] else 1


if __name__ == "__main__":
    sys.exit(main())
