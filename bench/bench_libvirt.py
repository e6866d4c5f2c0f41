"""vmhost against the real libvirt (``qemu:///system``, KVM): compose overhead, refresh at scale.

(a) Compose + decompose of one tiny VM (1 vCPU, 128 MiB, one 64 MiB qcow2 disk on the pool
    ``vmhost-test``, one NIC on ``vmhost-net0``) through ``Services`` (SQLite in a temporary
    directory) against the same work done with libvirt-python directly: create the volume,
    ``defineXML`` (the same domain vmhost defines), ``create``, wait for running, ``destroy``,
    ``undefine``, delete the volume. ``--rounds`` rounds each, interleaved, after one warm-up
    round each; medians and vmhost's overhead in %. The raw baseline keeps one connection for
    every round (as a script would); a second one opens a connection per compose and per
    decompose, as vmhost does (one driver per operation).
(b) Refresh of a host with ``--domains`` defined (not started) domains, made here with raw
    libvirt calls, each with one small qcow2 volume (or none with ``--diskless``), disks given
    by file path as hand-made domains usually are: the first ``HostsService.refresh`` (which
    adopts them all), then the median of ``--refreshes`` refreshes, and ``driver.discover()``
    with and without opening the connection. ``--profile`` prints where one refresh spends its
    time (cProfile, libvirt calls and the rest). ``--rtt-ms 1`` also times ``discover()`` as a
    remote host would cost, through a local proxy in front of libvirtd's UNIX socket that delays
    every message by half that round trip, one call at a time and with the driver's workers.

Everything it makes (domains and volumes named ``vmhost-b<run>-*``, the data directory) is
removed at the end, also after a failure, within a bounded time. Needs the libvirt that
``scripts/setup-hosts`` prepares. Only the local daemon is contacted. Run from the repository
root::

    .venv/bin/python bench/bench_libvirt.py [--rounds 10] [--domains 500] [--refreshes 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import os
import pstats
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import libvirt

from vmhost import model
from vmhost.drivers import base
from vmhost.drivers.libvirt.driver import LibvirtDriver
from vmhost.drivers.libvirt.scan import FETCH_WORKERS
from vmhost.service import Services, Settings

URI = os.environ.get("VMHOST_LIBVIRT_URI", "qemu:///system")
POOL = "vmhost-test"
NET = "vmhost-net0"
MIB = 1024**2
DISK_BYTES = 64 * MIB
# Nested KVM on AMD cannot start host-model guests that ask for arch-capabilities (see the
# driver's docstring); the raw domain below asks for the same CPU as vmhost's.
CPU_FEATURES_DISABLE = os.environ.get("VMHOST_LIBVIRT_CPU_FEATURES_DISABLE", "arch-capabilities")
OPTIONS = {"cpu_features_disable": CPU_FEATURES_DISABLE, "running_timeout_s": 30}
RUNNING_TIMEOUT_S = 30.0
POLL_S = 0.05  # as the driver polls
CLEANUP_BUDGET_S = 600.0
RUN = secrets.token_hex(3)
PREFIX = f"vmhost-b{RUN}"


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:>9.1f}"


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# -- the raw libvirt baseline ------------------------------------------------------------------


def volume_xml(name: str, capacity: int) -> str:
    return f"""<volume>
  <name>{name}</name>
  <capacity unit='bytes'>{capacity}</capacity>
  <allocation unit='bytes'>0</allocation>
  <target><format type='qcow2'/></target>
</volume>"""


def cpu_xml() -> str:
    features = "".join(
        f"<feature policy='disable' name='{f.strip()}'/>"
        for f in CPU_FEATURES_DISABLE.split(",")
        if f.strip()
    )
    return f"<cpu mode='host-model'><topology sockets='1' cores='1' threads='1'/>{features}</cpu>"


def raw_domain_xml(name: str, disk: str, *, by_path: bool = False, nic: bool = True) -> str:
    """The domain vmhost's designer makes for the same request (same devices, same CPU)."""
    if not disk:
        disk_xml = ""
    elif by_path:
        disk_xml = f"""<disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{disk}'/>
      <target dev='vda' bus='virtio'/>
    </disk>"""
    else:
        disk_xml = f"""<disk type='volume' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source pool='{POOL}' volume='{disk}'/>
      <target dev='vda' bus='virtio'/>
      <serial>{disk}</serial>
    </disk>"""
    nic_xml = (
        f"<interface type='network'><source network='{NET}'/><model type='virtio'/></interface>"
        if nic
        else ""
    )
    return f"""<domain type='kvm'>
  <name>{name}</name>
  <uuid>{uuid.uuid4()}</uuid>
  <memory unit='MiB'>128</memory>
  <currentMemory unit='MiB'>128</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <os><type arch='x86_64'>hvm</type><boot dev='network'/><boot dev='hd'/></os>
  <features><acpi/><apic/></features>
  {cpu_xml()}
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>restart</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    {disk_xml}
    {nic_xml}
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <memballoon model='virtio'/>
  </devices>
</domain>"""


def raw_compose(conn: Any, name: str) -> None:
    pool = conn.storagePoolLookupByName(POOL)
    pool.createXML(volume_xml(f"{name}-root", DISK_BYTES), 0)
    domain = conn.defineXML(raw_domain_xml(name, f"{name}-root"))
    domain.create()
    deadline = time.monotonic() + RUNNING_TIMEOUT_S
    while domain.state()[0] != libvirt.VIR_DOMAIN_RUNNING:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not reach running within {RUNNING_TIMEOUT_S} s")
        time.sleep(POLL_S)


def raw_decompose(conn: Any, name: str) -> None:
    domain = conn.lookupByName(name)
    domain.destroy()
    domain.undefineFlags(
        libvirt.VIR_DOMAIN_UNDEFINE_NVRAM | libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
    )
    conn.storagePoolLookupByName(POOL).storageVolLookupByName(f"{name}-root").delete(0)


@contextlib.contextmanager
def connection() -> Iterator[Any]:
    conn = libvirt.open(URI)
    try:
        yield conn
    finally:
        conn.close()


# -- vmhost --------------------------------------------------------------------------------------


class Bench:
    """Services on a temporary SQLite database, the local libvirt added as a host."""

    def __init__(self) -> None:
        self.data_dir = tempfile.mkdtemp(prefix="vmhost-bench-libvirt-")
        self.services = Services.create(Settings(data_dir=self.data_dir))
        self.driver_s: list[float] = []  # time spent inside driver calls (timed drivers)
        factory = self.services.ctx.driver_factory

        def timed_factory(conn: base.HostConnection) -> base.HostDriver:
            return _TimedDriver(factory(conn), self.driver_s)

        self.services.ctx.driver_factory = timed_factory

    def add_host(self, name: str, refresh: bool = True) -> int:
        detail = self.services.hosts.add(
            model.HostSettings(name=name, type=model.HostType.LIBVIRT, address=URI),
            options=OPTIONS,
            refresh=refresh,
        )
        if refresh and detail.host.status != model.HostStatus.READY.value:
            raise RuntimeError(f"host not ready: {detail.host.last_error}")
        return int(detail.host.id)

    def close(self) -> None:
        self.services.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)


class _TimedDriver:
    """A driver whose compose/decompose/discover time is recorded (the rest is vmhost's)."""

    def __init__(self, inner: base.HostDriver, sink: list[float]) -> None:
        self._inner = inner
        self._sink = sink

    def __enter__(self) -> _TimedDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self._inner.close()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in ("compose", "decompose", "discover"):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return attr(*args, **kwargs)
            finally:
                self._sink.append(time.perf_counter() - start)

        return call


def compose_request(host_id: int, name: str) -> model.ComposeRequest:
    return model.ComposeRequest(
        cores=1,
        memory_mib=128,
        disks=(model.DiskRequest(DISK_BYTES, pool=POOL),),
        interfaces=(model.InterfaceRequest(network=NET),),
        hostname=name,
        host_id=host_id,
    )


# -- (a) compose + decompose ---------------------------------------------------------------------


def bench_compose(bench: Bench, rounds: int) -> dict[str, Any]:
    host_id = bench.add_host("kvm")
    times: dict[str, dict[str, list[float]]] = {
        k: {"compose": [], "decompose": [], "driver": []}
        for k in ("vmhost", "raw", "raw-new-conn")
    }
    shared = libvirt.open(URI)
    try:

        def vmhost_round(i: int, keep: bool) -> None:
            name = f"{PREFIX}-v{i}"
            bench.driver_s.clear()
            start = time.perf_counter()
            result = bench.services.vms.compose(compose_request(host_id, name))
            composed = time.perf_counter()
            if result.vm.power_state != "running":
                raise RuntimeError(f"{name} is {result.vm.power_state}")
            bench.services.vms.decompose(result.vm.id)
            done = time.perf_counter()
            if keep:
                times["vmhost"]["compose"].append(composed - start)
                times["vmhost"]["decompose"].append(done - composed)
                times["vmhost"]["driver"].append(sum(bench.driver_s))

        def raw_round(i: int, keep: bool, fresh: bool) -> None:
            key = "raw-new-conn" if fresh else "raw"
            name = f"{PREFIX}-{'f' if fresh else 'r'}{i}"
            start = time.perf_counter()
            if fresh:
                with connection() as conn:
                    raw_compose(conn, name)
            else:
                raw_compose(shared, name)
            composed = time.perf_counter()
            if fresh:
                with connection() as conn:
                    raw_decompose(conn, name)
            else:
                raw_decompose(shared, name)
            done = time.perf_counter()
            if keep:
                times[key]["compose"].append(composed - start)
                times[key]["decompose"].append(done - composed)

        for i in range(rounds + 1):  # round 0 warms up every path
            keep = i > 0
            vmhost_round(i, keep)
            raw_round(i, keep, fresh=False)
            raw_round(i, keep, fresh=True)
            if keep:
                ours = times["vmhost"]["compose"][-1] + times["vmhost"]["decompose"][-1]
                raw = times["raw"]["compose"][-1] + times["raw"]["decompose"][-1]
                log(f"  round {i}: vmhost {ours * 1e3:.0f} ms, raw {raw * 1e3:.0f} ms")
    finally:
        shared.close()
    summary: dict[str, Any] = {"rounds": rounds}
    for key, t in times.items():
        totals = [c + d for c, d in zip(t["compose"], t["decompose"], strict=True)]
        summary[key] = {
            "compose_s": median(t["compose"]),
            "decompose_s": median(t["decompose"]),
            "total_s": median(totals),
            "driver_s": median(t["driver"]) if t["driver"] else None,
            "totals_s": totals,
        }
    return summary


# -- (b) refresh with many domains ---------------------------------------------------------------


def make_domains(count: int, diskless: bool, by_volume: bool) -> None:
    """``count`` defined, stopped domains (with one 1 MiB qcow2 volume each unless diskless),
    disks given by file path or (``by_volume``) as ``<source pool= volume=>``."""
    start = time.perf_counter()
    with connection() as conn:
        pool = conn.storagePoolLookupByName(POOL)
        for i in range(count):
            name = f"{PREFIX}-d{i:04d}"
            disk = ""
            if not diskless:
                vol = pool.createXML(volume_xml(f"{name}.qcow2", MIB), 0)
                disk = vol.name() if by_volume else vol.path()
            conn.defineXML(raw_domain_xml(name, disk, by_path=not by_volume, nic=i % 2 == 0))
            if (i + 1) % 100 == 0:
                log(f"  {i + 1} domains defined ({time.perf_counter() - start:.1f} s)")


def bench_refresh(
    bench: Bench,
    count: int,
    refreshes: int,
    diskless: bool,
    by_volume: bool,
    profile: bool,
    rtt_ms: float = 0.0,
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "domains": count,
        "diskless": diskless,
        "by_volume": by_volume,
        "refreshes": refreshes,
    }
    host_id = bench.add_host("kvm-many", refresh=False)
    services = bench.services
    start = time.perf_counter()
    services.hosts.refresh(host_id)
    result["refresh_before_s"] = time.perf_counter() - start
    base_vms = len(services.vms.list(host_id))

    log(f"making {count} domains{' (diskless)' if diskless else ' with one volume each'} ...")
    start = time.perf_counter()
    make_domains(count, diskless, by_volume)
    result["make_s"] = time.perf_counter() - start

    start = time.perf_counter()
    detail = services.hosts.refresh(host_id)
    result["refresh_first_s"] = time.perf_counter() - start
    if detail.host.status != model.HostStatus.READY.value:
        raise RuntimeError(f"refresh failed: {detail.host.last_error}")
    adopted = len(services.vms.list(host_id)) - base_vms
    if adopted != count:
        raise RuntimeError(f"{adopted} domains adopted, expected {count}")
    result["adopted"] = adopted
    usage = detail.view.usage
    result["usage_other"] = {
        "vms": usage.vms.other,
        "vcpus": usage.vcpus.other,
        "memory_mib": usage.memory_mib.other,
        "disk_bytes": usage.disk_bytes.other,
    }

    refresh_runs = []
    for _ in range(refreshes):
        start = time.perf_counter()
        services.hosts.refresh(host_id)
        refresh_runs.append(time.perf_counter() - start)
    result["refresh_s"] = median(refresh_runs)
    result["refresh_runs_s"] = refresh_runs

    # driver.discover() variants, interleaved round by round (the machine's load drifts)
    connection_ = services.ctx.connection(host_id)
    variants: dict[str, dict[str, Any]] = {
        "discover_connected_s": {},
        "discover_no_pool_refresh_s": {"refresh_pools": False},
        "discover_workers_s": {"discovery_workers": FETCH_WORKERS},
    }
    drivers = {
        key: LibvirtDriver(
            base.HostConnection(connection_.type, URI, options={**connection_.options, **extra})
        )
        for key, extra in variants.items()
    }
    runs: dict[str, list[float]] = {key: [] for key in ("discover_fresh_s", *variants)}
    try:
        inventory = drivers["discover_connected_s"].discover()  # connect, capabilities
        for driver in drivers.values():
            driver.discover()
        for _ in range(refreshes):
            start = time.perf_counter()
            fresh = LibvirtDriver(connection_)
            try:
                fresh.discover()
            finally:
                fresh.close()
            runs["discover_fresh_s"].append(time.perf_counter() - start)
            for key, driver in drivers.items():
                start = time.perf_counter()
                driver.discover()
                runs[key].append(time.perf_counter() - start)
    finally:
        for driver in drivers.values():
            driver.close()
    result.update({key: median(values) for key, values in runs.items()})
    mine = [vm for vm in inventory.vms if vm.name.startswith(PREFIX)]
    result["discovered"] = len(mine)
    result["discovered_with_sizes"] = sum(1 for vm in mine if any(d.size_bytes for d in vm.disks))

    if rtt_ms > 0:
        log(f"discover() through a link with {rtt_ms:g} ms round trips ...")
        result["latency"] = {"rtt_ms": rtt_ms, **bench_latency(rtt_ms, refreshes)}
    if profile:
        result["profile"] = profile_refresh(services, host_id)
    return result


def profile_refresh(services: Services, host_id: int) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    services.hosts.refresh(host_id)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(25)
    out.write("\nlibvirt calls (tottime):\n")
    stats.sort_stats("tottime").print_stats(r"libvirt\.py", 12)
    return out.getvalue()


# -- a slow link to libvirtd (UNIX socket to UNIX socket, nothing leaves the machine) ---------


class LatencyProxy:
    """``qemu+unix:///system?socket=<path>`` reaches libvirtd with ``rtt_ms`` added per round
    trip: every chunk is forwarded ``rtt_ms / 2`` after it arrives, in order, so calls in flight
    overlap as they would on a network."""

    def __init__(self, rtt_ms: float, upstream: str = "/run/libvirt/libvirt-sock") -> None:
        self.delay = rtt_ms / 2000
        self.upstream = upstream
        self.directory = tempfile.mkdtemp(prefix="vmhost-bench-proxy-")
        self.path = os.path.join(self.directory, "libvirt-sock")
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name="latency-proxy", daemon=True)

    @property
    def uri(self) -> str:
        return f"qemu+unix:///system?socket={self.path}"

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                self.loop.call_later(self.delay, writer.write, data)
        finally:
            self.loop.call_later(self.delay * 2, writer.close)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_unix_connection(self.upstream)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_unix_server(self._handle, self.path))
        self.ready.set()
        try:
            self.loop.run_forever()
        finally:
            server.close()
            tasks = asyncio.all_tasks(self.loop)
            for task in tasks:
                task.cancel()
            self.loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            self.loop.close()

    def __enter__(self) -> LatencyProxy:
        self.thread.start()
        if not self.ready.wait(10):
            raise RuntimeError("the latency proxy did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        shutil.rmtree(self.directory, ignore_errors=True)


def bench_latency(rtt_ms: float, refreshes: int) -> dict[str, float]:
    """discover() over a slow link: one call at a time, then as many as for a remote host."""
    result = {}
    with LatencyProxy(rtt_ms) as proxy:
        for key, workers in (("one_at_a_time_s", 1), ("workers_s", FETCH_WORKERS)):
            options: dict[str, Any] = {**OPTIONS, "discovery_workers": workers}
            driver = LibvirtDriver(
                base.HostConnection(model.HostType.LIBVIRT, proxy.uri, options=options)
            )
            try:
                driver.discover()
                runs = []
                for _ in range(refreshes):
                    start = time.perf_counter()
                    driver.discover()
                    runs.append(time.perf_counter() - start)
                result[key] = median(runs)
            finally:
                driver.close()
    return result


# -- cleanup -------------------------------------------------------------------------------------


def remove_everything(deadline_s: float = CLEANUP_BUDGET_S) -> list[str]:
    """Undefine every domain and delete every volume named PREFIX; what was left behind."""
    deadline = time.monotonic() + deadline_s
    left: list[str] = []
    try:
        conn = libvirt.open(URI)
    except libvirt.libvirtError as exc:
        return [f"cannot connect: {exc}"]
    try:
        for domain in conn.listAllDomains(0):
            name = domain.name()
            if not name.startswith(PREFIX):
                continue
            if time.monotonic() > deadline:
                left.append(name)
                continue
            try:
                if domain.isActive():
                    domain.destroy()
                domain.undefineFlags(
                    libvirt.VIR_DOMAIN_UNDEFINE_NVRAM | libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
                )
            except libvirt.libvirtError as exc:
                left.append(f"{name}: {exc}")
        pool = conn.storagePoolLookupByName(POOL)
        pool.refresh(0)
        for vol in pool.listAllVolumes(0):
            name = vol.name()
            if not name.startswith(PREFIX):
                continue
            if time.monotonic() > deadline:
                left.append(name)
                continue
            try:
                vol.delete(0)
            except libvirt.libvirtError as exc:
                left.append(f"{name}: {exc}")
    finally:
        conn.close()
    return left


# -- report --------------------------------------------------------------------------------------


def report(a: dict[str, Any] | None, b: dict[str, Any] | None) -> None:
    if a:
        print(
            f"\n(a) compose + decompose of 1 VM (1 vCPU, 128 MiB, 1 x 64 MiB qcow2, 1 NIC), "
            f"KVM, median of {a['rounds']} rounds"
        )
        print(f"{'what':<40}{'compose ms':>11}{'decomp. ms':>11}{'total ms':>10}{'driver ms':>11}")
        labels = {
            "vmhost": "vmhost Services (SQLite)",
            "raw": "libvirt-python, one connection",
            "raw-new-conn": "libvirt-python, connection per op",
        }
        for key, label in labels.items():
            row = a[key]
            driver = f"{row['driver_s'] * 1000:>11.1f}" if row["driver_s"] is not None else ""
            print(
                f"{label:<40}{row['compose_s'] * 1000:>11.1f}{row['decompose_s'] * 1000:>11.1f}"
                f"{row['total_s'] * 1000:>10.1f}{driver}"
            )
        ours = a["vmhost"]["total_s"]
        for key in ("raw", "raw-new-conn"):
            ref = a[key]["total_s"]
            print(
                f"vmhost overhead vs {labels[key]}: {ours * 1000 - ref * 1000:+.1f} ms "
                f"({(ours - ref) / ref * 100:+.1f} %; target <= 10 %)"
            )
        service_only = ours - a["vmhost"]["driver_s"]
        print(
            f"of vmhost's total, outside the driver (DB, scheduler, claim/record/release): "
            f"{service_only * 1000:.1f} ms"
        )
    if b:
        n = b["domains"]
        kind = "diskless"
        if not b["diskless"]:
            kind = "1 qcow2 volume each, " + (
                "<source pool volume>" if b["by_volume"] else "by path"
            )
        print(f"\n(b) refresh of a host with {n} defined, stopped domains ({kind})")
        rows = [
            ("making the domains (raw libvirt, not vmhost)", b["make_s"]),
            ("HostsService.refresh before (0 of ours)", b["refresh_before_s"]),
            (f"HostsService.refresh, first (adopts {n})", b["refresh_first_s"]),
            (f"HostsService.refresh, median of {b['refreshes']} (target < 1000)", b["refresh_s"]),
            ("driver.discover(), new driver (connect + caps)", b["discover_fresh_s"]),
            (
                "driver.discover(), open connection (local default: 1 at a time)",
                b["discover_connected_s"],
            ),
            (
                "driver.discover(), open connection, refresh_pools=false",
                b["discover_no_pool_refresh_s"],
            ),
            (
                f"driver.discover(), open connection, discovery_workers={FETCH_WORKERS}",
                b["discover_workers_s"],
            ),
        ]
        if "latency" in b:
            lat = b["latency"]
            link = f"driver.discover() over a {lat['rtt_ms']:g} ms RTT link"
            rows += [
                (f"{link}, one call at a time", lat["one_at_a_time_s"]),
                (f"{link}, {FETCH_WORKERS} at a time (remote default)", lat["workers_s"]),
            ]
        print(f"{'what':<70}{'ms':>9}")
        for label, seconds in rows:
            print(f"{label:<70}{ms(seconds)}")
        print(
            f"discovered {b['discovered']} of ours, {b['discovered_with_sizes']} with disk sizes; "
            f"other use counted: {b['usage_other']}"
        )
        if "profile" in b:
            print("\nprofile of one HostsService.refresh:\n" + b["profile"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10, help="compose rounds per path")
    parser.add_argument("--domains", type=int, default=500, help="domains for the refresh run")
    parser.add_argument("--refreshes", type=int, default=5)
    parser.add_argument("--diskless", action="store_true", help="domains without volumes")
    parser.add_argument(
        "--disk-source",
        choices=("path", "volume"),
        default="path",
        help="how the domains name their volume: by file path (as hand-made domains usually "
        "do; libvirt reports their size) or by pool and volume (as vmhost's own do; their "
        "size is looked up in the pool)",
    )
    parser.add_argument("--profile", action="store_true", help="profile one refresh")
    parser.add_argument(
        "--rtt-ms",
        type=float,
        default=0.0,
        help="also time discover() through a local proxy adding this round-trip time",
    )
    parser.add_argument("--skip-compose", action="store_true")
    parser.add_argument("--skip-refresh", action="store_true")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)

    a = b = None
    benches: list[Bench] = []
    try:
        if not args.skip_compose:
            log(f"(a) {args.rounds} rounds of compose + decompose per path ...")
            benches.append(Bench())
            a = bench_compose(benches[-1], args.rounds)
        if not args.skip_refresh:
            log(f"(b) refresh with {args.domains} domains ...")
            benches.append(Bench())  # its own database: a host is added once per address
            b = bench_refresh(
                benches[-1],
                args.domains,
                args.refreshes,
                args.diskless,
                args.disk_source == "volume",
                args.profile,
                args.rtt_ms,
            )
    finally:
        for bench in benches:
            bench.close()
        log("removing every domain and volume named " + PREFIX + " ...")
        start = time.perf_counter()
        left = remove_everything()
        log(f"  done in {time.perf_counter() - start:.1f} s")
        if left:
            log(f"LEFT BEHIND ({len(left)}): " + ", ".join(left[:20]))
    report(a, b)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"compose": a, "refresh": b}, f, indent=2, default=str)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
