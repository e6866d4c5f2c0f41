"""vmhost against the real LXD (HTTPS on 127.0.0.1:8443): refresh at scale, compose overhead.

(a) Refresh of a host with N instances (containers made by this script from the ``vmhost-test``
    image, not started, in a dedicated project): time per ``HostsService.refresh`` (median of
    ``--refreshes``), time per ``driver.discover()`` (with and without opening the connection),
    and the HTTP round trips per refresh (every request on every pylxd session is counted).
(b) Compose + decompose of one container with 2 disks and 2 NICs through ``Services`` against the
    same work done with pylxd calls directly (create volume, create instance, start and wait,
    read back, stop, delete, delete volume), ``--rounds`` rounds each, interleaved; medians and
    vmhost's overhead in %. The pylxd baseline keeps one client for all rounds (as a script
    would); a second baseline opens a new client per step, as vmhost opens one per operation.

Everything it makes (project, instances, volumes, the trust entry, the data directory) is
removed at the end, also after a failure. Needs root (``lxc config trust add``) and the LXD that
``scripts/setup-hosts`` prepares. Run from the repository root::

    .venv/bin/python bench/bench_lxd.py [--instances 200] [--refreshes 5] [--rounds 10]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pylxd
import pylxd.client

from vmhost import model
from vmhost.drivers import base
from vmhost.service import Services, Settings

ADDRESS = "127.0.0.1:8443"
POOL = "default"
BRIDGES = ("vmhbr0", "vmhbr1")
IMAGE = "vmhost-test"
MB = 1000**2
LXC_TIMEOUT = 120.0
OP_TIMEOUT = 120  # seconds LXD may take for one operation (create, delete)
BATCH = 25  # instance operations in flight at once


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def lxc(*args: str, check: bool = True, stdin: str | None = None) -> str:
    done = subprocess.run(
        ["lxc", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=LXC_TIMEOUT,
        check=False,
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"lxc {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


# -- counting HTTP round trips ----------------------------------------------------------------


class Counter:
    """Counts requests on every session pylxd (and so vmhost's driver) creates."""

    def __init__(self) -> None:
        self.requests = 0
        self.sessions = 0
        self.by_path: collections.Counter[str] = collections.Counter()
        self._original = pylxd.client.get_session_for_url

    def install(self) -> None:
        original = self._original

        def counted_session(url: str, verify: Any = None, cert: Any = None) -> Any:
            session = original(url, verify=verify, cert=cert)
            self.sessions += 1
            request = session.request

            def counted(method: str, request_url: str, *args: Any, **kwargs: Any) -> Any:
                self.requests += 1
                path = str(request_url).split("://", 1)[-1].split("/", 1)[-1].split("?")[0]
                self.by_path[f"{method} /{path}"] += 1
                return request(method, request_url, *args, **kwargs)

            session.request = counted
            return session

        pylxd.client.get_session_for_url = counted_session

    def uninstall(self) -> None:
        pylxd.client.get_session_for_url = self._original

    @contextlib.contextmanager
    def counting(self) -> Iterator[dict[str, Any]]:
        """Requests and new sessions (= TLS connections) made inside the block."""
        out: dict[str, Any] = {}
        requests, sessions, paths = self.requests, self.sessions, self.by_path.copy()
        yield out
        out["requests"] = self.requests - requests
        out["sessions"] = self.sessions - sessions
        out["paths"] = dict(self.by_path - paths)


# -- the bench environment --------------------------------------------------------------------


class Bench:
    """Services on a temporary SQLite, one LXD host in a dedicated project, a pylxd client."""

    def __init__(self, project: str) -> None:
        self.project = project
        self.data_dir = tempfile.mkdtemp(prefix="vmhost-bench-lxd-")
        self.services = Services.create(Settings(data_dir=self.data_dir))
        self.fingerprint = ""
        self.host_id = 0
        self.client: pylxd.Client | None = None
        self._tmp = tempfile.mkdtemp(prefix="vmhost-bench-pylxd-")

    def add_host(self) -> None:
        detail = self.services.hosts.add(
            model.HostSettings(
                name="bench-lxd",
                type=model.HostType.LXD,
                address=f"https://{ADDRESS}",
                project=self.project,
            ),
            options={"image": IMAGE},
            refresh=False,
        )
        self.host_id = int(detail.host.id)
        cert = self.services.certificates.certificate(self.host_id)
        with tempfile.NamedTemporaryFile("w", suffix=".crt") as f:
            f.write(cert.certificate)
            f.flush()
            lxc("config", "trust", "add", f.name, "--name", f"vmhost-bench-{self.project}")
        self.fingerprint = cert.fingerprint
        detail = self.services.hosts.refresh(self.host_id)  # creates the project
        if detail.host.status != "ready":
            raise RuntimeError(f"host not ready: {detail.host.last_error}")

    def pylxd_client(self) -> pylxd.Client:
        """pylxd over HTTPS with the host's own certificate, pinned server certificate."""
        conn = self.services.ctx.connection(self.host_id)
        paths = {}
        for name, text in (
            ("client.crt", conn.client_cert_pem),
            ("client.key", conn.client_key_pem),
            ("server.crt", conn.server_cert_pem),
        ):
            path = os.path.join(self._tmp, name)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(text)
            paths[name] = path
        endpoint = f"https://{ADDRESS}"
        cert = (paths["client.crt"], paths["client.key"])
        session = pylxd.client.get_session_for_url(endpoint, verify=paths["server.crt"], cert=cert)
        session.trust_env = False  # REQUESTS_CA_BUNDLE would replace the pinned certificate
        return pylxd.Client(
            endpoint=endpoint,
            cert=cert,
            verify=paths["server.crt"],
            session=session,
            timeout=30,
            project=self.project,
        )

    def close(self) -> None:
        """Remove everything made here (best effort, each step bounded)."""
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.api.session.close()
        with contextlib.suppress(Exception):
            self.services.close()
        with contextlib.suppress(Exception):
            wipe_project(self.project)
        if self.fingerprint:
            lxc("config", "trust", "remove", self.fingerprint, check=False)
        shutil.rmtree(self.data_dir, ignore_errors=True)
        shutil.rmtree(self._tmp, ignore_errors=True)


def wipe_project(project: str) -> None:
    projects = {p["name"] for p in json.loads(lxc("project", "list", "-f", "json"))}
    if project not in projects:
        return
    for inst in json.loads(lxc("list", "--project", project, "-f", "json")):
        lxc("delete", "--force", inst["name"], "--project", project, check=False)
    for vol in json.loads(
        lxc("storage", "volume", "list", POOL, "--project", project, "-f", "json")
    ):
        if vol.get("type") == "custom":
            lxc(
                "storage", "volume", "delete", POOL, vol["name"], "--project", project, check=False
            )
    lxc("project", "delete", project, check=False)


def run_operations(client: pylxd.Client, calls: list[Callable[[], Any]]) -> None:
    """Start async operations in batches and wait for each (bounded)."""
    for start in range(0, len(calls), BATCH):
        ops = []
        for call in calls[start : start + BATCH]:
            ops.append(call().json()["operation"].rsplit("/", 1)[-1])
        for op in ops:
            meta = client.api.operations[op].wait.get(params={"timeout": OP_TIMEOUT}).json()
            status = (meta.get("metadata") or {}).get("status")
            if status != "Success":
                raise RuntimeError(f"LXD operation {op}: {meta.get('metadata')}")


def make_instances(client: pylxd.Client, count: int) -> None:
    config = {"limits.cpu": "1", "limits.memory": "64MiB"}
    source = {"type": "image", "alias": IMAGE}

    def create(i: int) -> Callable[[], Any]:
        body = {"name": f"n{i}", "source": source, "config": config}
        return lambda: client.api.instances.post(json=body)

    run_operations(client, [create(i) for i in range(count)])


def delete_instances(client: pylxd.Client, count: int) -> None:
    def delete(i: int) -> Callable[[], Any]:
        return lambda: client.api.instances[f"n{i}"].delete()

    run_operations(client, [delete(i) for i in range(count)])


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f}"


# -- (a) refresh at scale ---------------------------------------------------------------------


def bench_refresh(
    bench: Bench, counter: Counter, instances: int, refreshes: int
) -> dict[str, Any]:
    services, host_id = bench.services, bench.host_id
    assert bench.client is not None
    result: dict[str, Any] = {"instances": instances}

    def discover_connected() -> list[float]:
        driver = services.ctx.driver(host_id)
        try:
            driver.discover()  # connect, create-project check
            return [timed(driver.discover) for _ in range(refreshes)]
        finally:
            driver.close()

    def discover_fresh() -> None:
        driver = services.ctx.driver(host_id)
        try:
            driver.discover()
        finally:
            driver.close()

    empty = [timed(lambda: services.hosts.refresh(host_id)) for _ in range(refreshes)]
    result["refresh_empty_s"] = statistics.median(empty)

    log(f"creating {instances} containers in project {bench.project} ...")
    result["create_s"] = timed(lambda: make_instances(bench.client, instances))
    log(f"  {result['create_s']:.1f} s")

    with counter.counting() as first_count:
        result["refresh_adopting_s"] = timed(lambda: services.hosts.refresh(host_id))
    detail = services.hosts.get(host_id)
    adopted = [v for v in services.vms.list(host_id) if v.project == bench.project]
    if len(adopted) != instances or detail.view.usage.vms.other < instances:
        raise RuntimeError(f"refresh adopted {len(adopted)} of {instances} instances")
    result["refresh_adopting_requests"] = first_count["requests"]

    times = []
    counts = []
    for _ in range(refreshes):
        with counter.counting() as count:
            times.append(timed(lambda: services.hosts.refresh(host_id)))
        counts.append(count)
    result["refresh_s"] = statistics.median(times)
    result["refresh_all_s"] = times
    result["refresh_requests"] = statistics.median(c["requests"] for c in counts)
    result["refresh_sessions"] = statistics.median(c["sessions"] for c in counts)
    result["refresh_paths"] = counts[-1]["paths"]
    result["discover_fresh_s"] = statistics.median(timed(discover_fresh) for _ in range(refreshes))
    result["discover_connected_s"] = statistics.median(discover_connected())
    with counter.counting() as dcount:
        discover_fresh()
    result["discover_fresh_requests"] = dcount["requests"]

    log(f"deleting {instances} containers ...")
    result["delete_s"] = timed(lambda: delete_instances(bench.client, instances))
    services.hosts.refresh(host_id)
    left = [v for v in services.vms.list(host_id) if v.project == bench.project]
    if left:
        raise RuntimeError(f"{len(left)} records left after deleting the containers")
    return result


# -- (b) compose + decompose overhead ---------------------------------------------------------


def compose_request(host_id: int, name: str) -> model.ComposeRequest:
    return model.ComposeRequest(
        cores=1,
        memory_mib=128,
        instance_type=model.InstanceType.CONTAINER,
        disks=(model.DiskRequest(1000 * MB, pool=POOL), model.DiskRequest(300 * MB, pool=POOL)),
        interfaces=(
            model.InterfaceRequest(network=BRIDGES[0]),
            model.InterfaceRequest(network=BRIDGES[1]),
        ),
        hostname=name,
        host_id=host_id,
    )


def pylxd_payload(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The volume and instance LXD is asked for: the same as vmhost sends."""
    volume = {
        "name": f"{name}-disk1",
        "type": "custom",
        "content_type": "filesystem",
        "config": {"size": str(300 * MB)},
    }
    instance = {
        "name": name,
        "type": "container",
        "profiles": [],
        "config": {"limits.cpu": "1", "limits.memory": "128MiB"},
        "devices": {
            "root": {"type": "disk", "path": "/", "pool": POOL, "size": str(1000 * MB)},
            "disk1": {
                "type": "disk",
                "pool": POOL,
                "source": f"{name}-disk1",
                "path": "/mnt/disk1",
            },
            "eth0": {"type": "nic", "name": "eth0", "nictype": "bridged", "parent": BRIDGES[0]},
            "eth1": {"type": "nic", "name": "eth1", "nictype": "bridged", "parent": BRIDGES[1]},
        },
        "source": {"type": "image", "alias": IMAGE},
    }
    return volume, instance


def pylxd_compose(client: pylxd.Client, name: str) -> None:
    volume, instance = pylxd_payload(name)
    client.storage_pools.get(POOL).volumes.create(volume, wait=True)
    inst = client.instances.create(instance, wait=True)
    inst.start(wait=True)  # waits for the operation, then reads the instance back (MACs)
    if inst.status != "Running" or not inst.config.get("volatile.eth1.hwaddr"):
        raise RuntimeError(f"pylxd: {name} is {inst.status}")


def pylxd_decompose(client: pylxd.Client, name: str) -> None:
    inst = client.instances.get(name)
    inst.stop(force=True, wait=True)
    inst.delete(wait=True)
    client.storage_pools.get(POOL).volumes.get("custom", f"{name}-disk1").delete()


class TimedDrivers:
    """Wraps the service's driver factory to time the driver calls (connection included)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.seconds = 0.0
        self._factory = services.ctx.driver_factory

    def __enter__(self) -> TimedDrivers:
        factory = self._factory

        def make(connection: base.HostConnection) -> base.HostDriver:
            started = time.perf_counter()
            driver = factory(connection)
            outer = self

            class Timed:
                def __enter__(self) -> Any:
                    return self

                def __exit__(self, *exc: object) -> None:
                    self.close()

                def __getattr__(self, name: str) -> Any:
                    attr = getattr(driver, name)
                    if not callable(attr):
                        return attr

                    def call(*args: Any, **kwargs: Any) -> Any:
                        t0 = time.perf_counter()
                        try:
                            return attr(*args, **kwargs)
                        finally:
                            outer.seconds += time.perf_counter() - t0

                    return call

            self.seconds += time.perf_counter() - started
            return Timed()

        self.services.ctx.driver_factory = make
        return self

    def __exit__(self, *exc: object) -> None:
        self.services.ctx.driver_factory = self._factory


def bench_compose(bench: Bench, counter: Counter, rounds: int) -> dict[str, Any]:
    services, host_id = bench.services, bench.host_id
    assert bench.client is not None
    samples: dict[str, list[float]] = collections.defaultdict(list)
    requests: dict[str, list[int]] = collections.defaultdict(list)
    tag = uuid.uuid4().hex[:4]

    def vmhost_round(i: int) -> None:
        name = f"bv{tag}{i}"
        with TimedDrivers(services) as drivers, counter.counting() as count:
            started = time.perf_counter()
            result = services.vms.compose(compose_request(host_id, name))
            samples["vmhost compose"].append(time.perf_counter() - started)
        samples["vmhost compose (driver part)"].append(drivers.seconds)
        requests["vmhost compose"].append(count["requests"])
        vm = result.vm
        if vm.power_state != "running" or not all(n.mac_address for n in vm.interfaces):
            raise RuntimeError(f"vmhost: {vm}")
        with TimedDrivers(services) as drivers, counter.counting() as count:
            started = time.perf_counter()
            services.vms.decompose(vm.id)
            samples["vmhost decompose"].append(time.perf_counter() - started)
        samples["vmhost decompose (driver part)"].append(drivers.seconds)
        requests["vmhost decompose"].append(count["requests"])

    def pylxd_round(i: int, client: pylxd.Client | None, key: str) -> None:
        name = f"b{key[0]}{tag}{i}"
        with counter.counting() as count:
            started = time.perf_counter()
            c = client or bench.pylxd_client()
            pylxd_compose(c, name)
            samples[f"{key} compose"].append(time.perf_counter() - started)
        requests[f"{key} compose"].append(count["requests"])
        with counter.counting() as count:
            started = time.perf_counter()
            c = client or bench.pylxd_client()
            pylxd_decompose(c, name)
            samples[f"{key} decompose"].append(time.perf_counter() - started)
        requests[f"{key} decompose"].append(count["requests"])

    # warm up each path once (image cache, connection pools, imports), not measured
    vmhost_round(-1)
    pylxd_round(-1, bench.client, "pylxd")
    samples.clear()
    requests.clear()
    for i in range(rounds):
        log(f"  round {i + 1}/{rounds}")
        vmhost_round(i)
        pylxd_round(i, bench.client, "pylxd")
        pylxd_round(i, None, "pylxd-new-client")
    if [i["name"] for i in json.loads(lxc("list", "--project", bench.project, "-f", "json"))]:
        raise RuntimeError("instances left after the compose rounds")
    if services.hosts.get(host_id).view.usage.vms.allocated != 0:
        raise RuntimeError("accounts not back to zero")
    out: dict[str, Any] = {"rounds": rounds}
    for key, values in samples.items():
        out[f"{key}_s"] = statistics.median(values)
    for key, counts in requests.items():
        out[f"{key}_requests"] = statistics.median(counts)
    for impl in ("vmhost", "pylxd", "pylxd-new-client"):
        totals = [
            c + d
            for c, d in zip(samples[f"{impl} compose"], samples[f"{impl} decompose"], strict=True)
        ]
        out[f"{impl} total_s"] = statistics.median(totals)
    return out


# -- report -----------------------------------------------------------------------------------


def report(a: dict[str, Any] | None, b: dict[str, Any] | None) -> None:
    if a:
        n = a["instances"]
        print(f"\n(a) refresh of an LXD host, {n} instances in its project (median of runs)")
        print(f"{'what':<48}{'ms':>9}{'HTTP':>7}")
        print(f"{'HostsService.refresh, 0 instances':<48}{ms(a['refresh_empty_s'])}")
        print(
            f"{'HostsService.refresh, first (adopts ' + str(n) + ')':<48}"
            f"{ms(a['refresh_adopting_s'])}{a['refresh_adopting_requests']:>7}"
        )
        print(
            f"{'HostsService.refresh, ' + str(n) + ' instances':<48}{ms(a['refresh_s'])}"
            f"{a['refresh_requests']:>7.0f}"
        )
        print(
            f"{'driver.discover() incl. connecting':<48}{ms(a['discover_fresh_s'])}"
            f"{a['discover_fresh_requests']:>7}"
        )
        print(f"{'driver.discover() on an open connection':<48}{ms(a['discover_connected_s'])}")
        print(
            f"refresh: {a['refresh_requests']:.0f} HTTP requests on "
            f"{a['refresh_sessions']:.0f} new connection(s); by path:"
        )
        for path, count in sorted(a["refresh_paths"].items()):
            print(f"  {count:>3}  {path}")
        print(
            f"(setup: {n} containers created in {a['create_s']:.1f} s, "
            f"deleted in {a['delete_s']:.1f} s)"
        )
    if b:
        print(f"\n(b) compose + decompose, 1 container, 2 disks + 2 NICs, {b['rounds']} rounds")
        print(f"{'what':<34}{'compose ms':>11}{'decomp. ms':>11}{'total ms':>10}{'HTTP':>9}")
        for impl in ("vmhost", "pylxd", "pylxd-new-client"):
            http = f"{b[f'{impl} compose_requests']:.0f}+{b[f'{impl} decompose_requests']:.0f}"
            print(
                f"{impl:<34}{ms(b[f'{impl} compose_s']):>11}{ms(b[f'{impl} decompose_s']):>11}"
                f"{ms(b[f'{impl} total_s']):>10}{http:>9}"
            )
        print(
            f"{'  vmhost: driver calls only':<34}"
            f"{ms(b['vmhost compose (driver part)_s']):>11}"
            f"{ms(b['vmhost decompose (driver part)_s']):>11}"
        )
        for base_impl in ("pylxd", "pylxd-new-client"):
            parts = []
            for what in ("compose", "decompose", "total"):
                ours = b[f"vmhost {what}_s"]
                theirs = b[f"{base_impl} {what}_s"]
                parts.append(f"{what} {100 * (ours - theirs) / theirs:+.0f}%")
            print(f"vmhost overhead vs {base_impl}: " + ", ".join(parts))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--refreshes", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--skip-refresh", action="store_true")
    parser.add_argument("--skip-compose", action="store_true")
    parser.add_argument("--json-out", help="also write the figures here")
    args = parser.parse_args(argv)
    if shutil.which("lxc") is None:
        log("lxc is not installed: run scripts/setup-hosts")
        return 2
    project = f"vmhost-bench-{uuid.uuid4().hex[:6]}"
    counter = Counter()
    counter.install()
    bench = Bench(project)
    a = b = None
    try:
        bench.add_host()
        bench.client = bench.pylxd_client()
        if not args.skip_refresh:
            log("(a) refresh")
            a = bench_refresh(bench, counter, args.instances, args.refreshes)
        if not args.skip_compose:
            log("(b) compose + decompose")
            b = bench_compose(bench, counter, args.rounds)
    finally:
        counter.uninstall()
        bench.close()
    report(a, b)
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump({"refresh": a, "compose": b}, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
