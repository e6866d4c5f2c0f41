"""The Juju provider: parse + translate throughput, and allocate-or-compose latency.

Run: ``.venv/bin/python bench/bench_provider.py [--seconds S] [--repeat R] [--hosts 1000]
[--allocations 300] [--no-allocate] [--json-out r.json]``.

**Pure path.**
A mix of realistic constraint strings (what ``juju deploy``/``add-machine`` users write, from
the empty string to every supported key), some with MAAS-grammar ``storage`` and
``interfaces`` extras, is parsed with :func:`vmhost_provider.constraints.parse` and translated
with :func:`vmhost_provider.translate.translate` (known spaces and pools given, as the plugin
does). Each phase runs for about ``--seconds`` and the best of ``--repeat`` rounds is printed
as constraint strings per second, plus the time per string. Validation is timed too, as the
plugin runs it between the two.

**Allocate-or-compose** (:func:`vmhost_provider.allocate.allocate_or_compose`) with
``--hosts`` fake VM hosts (default 1,000; 4 zones, a quarter tagged ``ssd``, bridges ``br0``
and ``br-db`` with space ``db`` mapped to ``br-db``) on a SQLite store, the API in-process
through Starlette's TestClient and the provider through ``vmhost.client`` (its real path, no
sockets). Per call, p50/p99 in ms, for a mix of constraint strings:

* ``compose``: warm pool off, a VM is composed on the best host (one ``POST /vms``);
* ``reuse``: warm pool on, a matching idle VM exists and is allocated (idle list, host read,
  ``POST /vms/{id}/allocate``);
* ``miss + compose``: warm pool on, idle VMs exist but none matches, so one is composed;
* ``no capacity``: no host can take it (the server ranks every host to say why), nothing made;
  ``cores=2 mem=100T``, which the SQL prefilter already refuses on every host;
* ``no capacity, every host read``: ``cores=2 mem=4G tags=gpu``, which every host passes in SQL
  and the scheduler's tags filter refuses, so the claim reads every host before the answer;
* ``release``: decompose through the API.

The service's own compose on the same store (no HTTP, no provider) is the reference.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import platform
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from vmhost_provider.allocate import NoCapacity, allocate_or_compose, release
from vmhost_provider.constraints import Constraints, parse
from vmhost_provider.translate import translate
from vmhost_provider.validation import vmhost_validator

from vmhost.client import VmHostClient
from vmhost.service import Services

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import inprocess
from latency import summary, timed

# (constraints, storage, interfaces)
MIX: list[tuple[str, str | None, str | None]] = [
    ("", None, None),
    ("mem=4G", None, None),
    ("cores=2 mem=8G", None, None),
    ("cores=4 mem=16G root-disk=50G", None, None),
    ("arch=amd64 cores=8 mem=32G root-disk=100G root-disk-source=nvme", None, None),
    ("mem=2G spaces=db", None, None),
    ("cores=2 mem=4G spaces=internal,storage,^dmz", None, None),
    ("tags=gpu,^slow zones=az1,az2,az3", None, None),
    ("virt-type=container cores=1 mem=1G", None, None),
    ("cpu-cores=4 mem=8192M root-disk=32768M zones=az1", None, None),
    ("instance-type=m5.large cpu-power=200 mem=4G", None, None),
    (
        "arch=arm64 cores=16 mem=64G root-disk=200G tags=ceph,^old spaces=ceph-public,"
        "ceph-cluster,^dmz zones=az1,az2 virt-type=virtual-machine",
        None,
        None,
    ),
    ("cores=4 mem=8G", "root:40(ssd),data:100(fast)", None),
    ("mem=8G spaces=db", None, "0:space=db,type=sriov;1:network=br1"),
    (
        "cores=8 mem=16G spaces=internal",
        "root:60(ssd),osd1:500(hdd),osd2:500(hdd)",
        "eth0:space=internal,type=bridge;storage:space=storage,not_space=dmz",
    ),
    ("zones=Availability\\ zone\\ 1 mem=3.5G root-disk=1T", None, None),
]
SPACES = frozenset({"db", "internal", "storage", "dmz", "ceph-public", "ceph-cluster"})
POOLS = frozenset({"ssd", "hdd", "nvme", "default"})


def _rate(func: Callable[[], None], n: int, seconds: float, repeat: int) -> float:
    """Best-of-``repeat`` calls per second of ``func`` (which handles ``n`` strings)."""
    loops = 1
    while True:  # calibrate so one round lasts about ``seconds``
        start = time.perf_counter()
        for _ in range(loops):
            func()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds / 5:
            loops = max(1, int(loops * seconds / elapsed))
            break
        loops *= 2
    rates = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(loops):
            func()
        rates.append(loops * n / (time.perf_counter() - start))
    return max(rates)


# -- allocate-or-compose --------------------------------------------------------------------------

GIB = 1024
#: What Juju users ask for (every one fits many hosts; spaces/zones/tags narrow the choice).
ALLOCATE_MIX = [
    "cores=2 mem=4G",
    "cores=1 mem=2G root-disk=20G",
    "cores=4 mem=8G spaces=db",
    "cores=2 mem=4G zones=z2,z3",
    "cores=2 mem=2G tags=ssd",
    "mem=8G spaces=db,^public tags=^old zones=z1",
]
#: Warm-pool misses: nothing idle is this big, so each call lists, checks and composes.
MISS_MIX = ["cores=6 mem=12G", "cores=8 mem=16G spaces=db"]


def host_inventory(i: int) -> dict[str, Any]:
    """A 2-node host, sizes varying a little."""
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
        "networks": [{"name": "br0", "kind": "bridge"}, {"name": "br-db", "kind": "bridge"}],
    }


def fill(services: Services, hosts: int) -> float:
    """Zones, hosts and the space mapping; seconds taken."""
    start = time.perf_counter()
    for zone in ("z1", "z2", "z3", "z4"):
        services.zones.create(zone)
    for i in range(hosts):
        inprocess.add_fake_host(
            services,
            f"host-{i:04d}",
            f"fake://bench-provider/{i}",
            host_inventory(i),
            zone=f"z{1 + i % 4}",
            tags=("ssd",) if i % 4 == 0 else (),
        )
    services.spaces.set("db", "br-db")
    services.spaces.set("public", "br0")
    return time.perf_counter() - start


def allocate_bench(hosts: int, allocations: int) -> dict[str, Any]:
    """Fill a store, then time each allocate-or-compose path; per-path latencies in ms."""
    from fastapi.testclient import TestClient

    from vmhost.api import convert

    services = inprocess.store("vmhost-bench-provider-")
    fill_s = fill(services, hosts)
    _, token = services.tokens.create("bench", "admin")
    app = inprocess.server_app(services)
    times: dict[str, list[float]] = {
        "service compose (reference)": [],
        "compose": [],
        "reuse": [],
        "miss + compose": [],
        "no capacity": [],
        "no capacity, every host read": [],
        "release": [],
    }
    with TestClient(app) as http, VmHostClient("http://testserver", token, http=http) as api:
        for n in range(5):  # warm up
            allocate_or_compose(api, ALLOCATE_MIX[n % len(ALLOCATE_MIX)], owner="warm-up")
        # the reference: the service's compose, same store, same requests (no HTTP)
        for n in range(allocations):
            body = translate(parse(ALLOCATE_MIX[n % len(ALLOCATE_MIX)]), known_spaces=None)
            request = convert.compose_request(body, None)
            ms, _ = timed(lambda r=request: services.vms.compose(r))
            times["service compose (reference)"].append(ms)
        made: list[int] = []
        for n in range(allocations):
            cons = ALLOCATE_MIX[n % len(ALLOCATE_MIX)]
            ms, got = timed(lambda c=cons, o=f"juju:{n}": allocate_or_compose(api, c, owner=o))
            times["compose"].append(ms)
            made.append(got.vm_id)
        for vm_id in made:  # all of them idle: the warm pool
            release(api, vm_id, warm_pool=True)
        for n in range(allocations // 2):
            cons = MISS_MIX[n % len(MISS_MIX)]
            ms, got = timed(
                lambda c=cons, o=f"miss:{n}": allocate_or_compose(api, c, owner=o, warm_pool=True)
            )
            assert not got.reused, cons
            times["miss + compose"].append(ms)
        for n in range(allocations):
            cons = ALLOCATE_MIX[n % len(ALLOCATE_MIX)]
            ms, got = timed(
                lambda c=cons, o=f"reuse:{n}": allocate_or_compose(api, c, owner=o, warm_pool=True)
            )
            assert got.reused, cons
            times["reuse"].append(ms)
        for path, cons in (
            ("no capacity", "cores=2 mem=100T"),
            ("no capacity, every host read", "cores=2 mem=4G tags=gpu"),
        ):
            for _ in range(max(20, allocations // 10)):
                start = time.perf_counter()
                try:
                    allocate_or_compose(api, cons, owner="none")
                except NoCapacity:
                    times[path].append((time.perf_counter() - start) * 1000)
                else:
                    raise SystemExit(f"no capacity expected for {cons!r}")
        for vm_id in made[: max(20, allocations // 3)]:
            ms, _ = timed(lambda v=vm_id: release(api, v))
            times["release"].append(ms)
        vms = len(api.vms.list())
    services.close()
    return {
        "hosts": hosts,
        "vms_at_end": vms,
        "fill_s": round(fill_s, 1),
        "latency_ms": {name: summary(values) for name, values in times.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--hosts", type=int, default=1000, help="fake hosts for allocate")
    parser.add_argument("--allocations", type=int, default=300, help="calls per path")
    parser.add_argument("--no-allocate", action="store_true", help="pure path only")
    parser.add_argument("--allocate-only", action="store_true", help="allocate latency only")
    parser.add_argument("--json-out")
    args = parser.parse_args()
    result: dict[str, Any] = {}
    if not args.allocate_only:
        result["pure"] = pure_bench(args)
    if not args.no_allocate:
        result["allocate"] = report_allocate(args)
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)


def report_allocate(args: argparse.Namespace) -> dict[str, Any]:
    """Run and print the allocate-or-compose latencies."""
    result = allocate_bench(args.hosts, args.allocations)
    print(
        f"\nallocate-or-compose with {result['hosts']} fake hosts (filled in "
        f"{result['fill_s']} s), SQLite, API in-process (TestClient) via vmhost.client; "
        f"{result['vms_at_end']} VMs at the end"
    )
    print(f"{'path':<30} {'p50 ms':>8} {'p99 ms':>8} {'n':>6}")
    for name, row in result["latency_ms"].items():
        print(f"{name:<30} {row['p50']:>8.2f} {row['p99']:>8.2f} {row['n']:>6}")
    sys.stdout.flush()
    return result


def pure_bench(args: argparse.Namespace) -> dict[str, float]:
    """Parse/validate/translate throughput (printed); strings per second per phase."""

    texts = [text for text, _, _ in MIX]
    parsed: list[Constraints] = [parse(text) for text in texts]
    extras = [(storage, interfaces) for _, storage, interfaces in MIX]
    validator = vmhost_validator()
    n = len(MIX)

    def parse_all() -> None:
        for text in texts:
            parse(text)

    def validate_all() -> None:
        for cons in parsed:
            validator.validate(cons)

    def translate_all() -> None:
        for cons, (storage, interfaces) in zip(parsed, extras, strict=True):
            translate(
                cons,
                storage=storage,
                interfaces=interfaces,
                known_spaces=SPACES,
            )

    def parse_translate_all() -> None:
        for text, (storage, interfaces) in zip(texts, extras, strict=True):
            translate(
                parse(text),
                storage=storage,
                interfaces=interfaces,
                known_spaces=SPACES,
            )

    def full_all() -> None:
        for text, (storage, interfaces) in zip(texts, extras, strict=True):
            cons = parse(text)
            validator.validate(cons)
            translate(
                cons,
                storage=storage,
                interfaces=interfaces,
                known_spaces=SPACES,
            )

    print(
        f"vmhost provider bench: {n} constraint strings "
        f"(mean {statistics.mean(len(t) for t in texts):.0f} chars, "
        f"{sum(1 for s, i in extras if s or i)} with storage/interfaces extras); "
        f"Python {platform.python_version()} on {platform.machine()}; "
        f"best of {args.repeat} x ~{args.seconds:g} s"
    )
    print(f"{'phase':<34} {'strings/s':>12} {'us/string':>10}")
    rates: dict[str, float] = {}
    for name, func in (
        ("parse", parse_all),
        ("validate", validate_all),
        ("translate", translate_all),
        ("parse + translate", parse_translate_all),
        ("parse + validate + translate", full_all),
    ):
        rate = _rate(func, n, args.seconds, args.repeat)
        rates[name] = rate
        print(f"{name:<34} {rate:>12,.0f} {1e6 / rate:>10.1f}")
    sys.stdout.flush()
    return rates


if __name__ == "__main__":
    main()
