"""Discovery's per-item libvirt calls (domain XML, volume sizes) made a few at a time.

Against libvirt's in-process ``test:///default`` host (no daemon) with more domains than
``scan.FETCH_THRESHOLD``, each with a disk given by pool and volume (the case libvirt's
domain stats cannot size for a stopped domain): the inventory is the same one at a time and
with workers, and each volume is sized once. Plus ``fetch_all``'s order and errors, and a domain
undefined between the listing and its XML read, and the default (one at a time on the local
socket, several for a remote host).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import libvirt
import pytest

from vmhost import model
from vmhost.drivers import base
from vmhost.drivers.libvirt import scan
from vmhost.drivers.libvirt.driver import LibvirtDriver

POOL = "default-pool"
MIB = 1024**2
COUNT = scan.FETCH_THRESHOLD + 8


def domain_xml(name: str, volume: str) -> str:
    return f"""<domain type='test'>
  <name>{name}</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <disk type='volume' device='disk'>
      <source pool='{POOL}' volume='{volume}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
  </devices>
</domain>"""


@pytest.fixture
def host() -> Iterator[Any]:
    """A fresh test host with COUNT stopped domains, domain i on an (i + 1) MiB volume."""
    conn = libvirt.open("test:///default")
    try:
        pool = conn.storagePoolLookupByName(POOL)
        for i in range(COUNT):
            pool.createXML(
                f"<volume><name>scan-{i}.img</name>"
                f"<capacity unit='bytes'>{(i + 1) * MIB}</capacity></volume>",
                0,
            )
            conn.defineXML(domain_xml(f"scan-{i}", f"scan-{i}.img"))
        yield conn
    finally:
        conn.close()


def ours(inventory: model.HostInventory) -> list[model.DiscoveredVm]:
    return sorted((v for v in inventory.vms if v.name.startswith("scan-")), key=lambda v: v.name)


def test_scan_with_workers_finds_the_same_as_one_at_a_time(host: Any) -> None:
    one = scan.scan(host, workers=1).inventory
    four = scan.scan(host, workers=4).inventory
    assert ours(one) == ours(four)
    assert one == four
    found = {v.name: v for v in ours(four)}
    assert len(found) == COUNT
    for i in range(COUNT):
        vm = found[f"scan-{i}"]
        assert vm.power_state == "stopped"
        assert [(d.name, d.pool, d.volume, d.size_bytes) for d in vm.disks] == [
            ("vda", POOL, f"scan-{i}.img", (i + 1) * MIB)
        ]


def test_the_driver_option_reaches_the_scan(host: Any) -> None:
    drivers = [
        LibvirtDriver(
            base.HostConnection(
                model.HostType.LIBVIRT, "test:///default", options={"discovery_workers": w}
            )
        )
        for w in (1, 4)
    ]
    assert [d.discovery_workers for d in drivers] == [1, 4]
    try:
        # test:///default is one host per process while a connection is open: same domains
        one, four = (ours(d.discover()) for d in drivers)
        assert one == four and len(one) == COUNT
    finally:
        for d in drivers:
            d.close()


class CountingVolume:
    def __init__(self, name: str, calls: list[str]) -> None:
        self._name = name
        self._calls = calls

    def name(self) -> str:
        return self._name

    def info(self) -> list[int]:
        self._calls.append(self._name)
        return [0, len(self._name) * MIB, 0]


class CountingPool:
    def __init__(self, calls: list[str], names: list[str]) -> None:
        self.calls = calls
        self.names = names
        self.listings = 0

    def isActive(self) -> bool:
        return True

    def listAllVolumes(self, flags: int = 0) -> list[CountingVolume]:
        self.listings += 1
        return [CountingVolume(n, self.calls) for n in self.names]


class CountingConn:
    def __init__(self, pool: CountingPool) -> None:
        self.pool = pool

    def storagePoolLookupByName(self, name: str) -> CountingPool:
        if name != "p":
            raise libvirt.libvirtError(f"no pool {name}")
        return self.pool


def test_volume_sizes_are_listed_once_per_pool_and_asked_once_per_volume() -> None:
    calls: list[str] = []
    names = [f"v{i:03d}" for i in range(COUNT)]
    pool = CountingPool(calls, names)
    sizes = scan._VolumeSizes(CountingConn(pool), workers=4)
    wanted = [("p", n) for n in names] * 2 + [("gone", "x"), ("p", "absent"), ("", "")]
    sizes.prefetch(wanted)
    assert pool.listings == 1
    assert sorted(calls) == names  # each volume once, duplicates not asked again
    assert sizes.size("p", "v001") == 4 * MIB
    assert sizes.size("gone", "x") == 0 and sizes.size("p", "absent") == 0
    assert sizes.size("", "") == 0
    assert sorted(calls) == names  # answered from what was fetched


def test_fetch_all_keeps_order_and_runs_a_few_at_a_time() -> None:
    running = 0
    peak = 0
    lock = threading.Lock()

    def slow(i: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.002)
        with lock:
            running -= 1
        return i * i

    items = list(range(COUNT))
    assert scan.fetch_all(slow, items, workers=4) == [i * i for i in items]
    assert 1 < peak <= 4
    peak = 0
    assert scan.fetch_all(slow, items[:3], workers=4) == [0, 1, 4]  # few: in line
    assert peak == 1


def test_fetch_all_raises_the_first_error() -> None:
    def fail_on_seven(i: int) -> int:
        if i == 7:
            raise ValueError("seven")
        return i

    with pytest.raises(ValueError, match="seven"):
        scan.fetch_all(fail_on_seven, list(range(COUNT)), workers=4)


def test_a_domain_undefined_before_its_xml_is_read_is_skipped(host: Any) -> None:
    real = host.getAllDomainStats

    class Gone:
        def XMLDesc(self, flags: int = 0) -> str:
            exc = libvirt.libvirtError("Domain not found")
            exc.err = (libvirt.VIR_ERR_NO_DOMAIN, 0, "Domain not found", 2, None, None,
                       None, 0, 0)  # fmt: skip
            raise exc

    class Conn:
        def getAllDomainStats(self, stats: int, flags: int) -> list[tuple[Any, dict[str, Any]]]:
            records = list(real(stats, flags))
            return [*records[:5], (Gone(), {"state.state": 5}), *records[5:]]

    for workers in (1, 4):
        found = scan.scan_domains(Conn(), workers)
        assert len(found) == len(real(libvirt.VIR_DOMAIN_STATS_STATE, 0))
        assert len([p for p, _, _ in found if p.name.startswith("scan-")]) == COUNT


@pytest.mark.parametrize(
    ("address", "workers"),
    [
        ("qemu:///system", 1),
        ("qemu+unix:///system?socket=/run/libvirt/libvirt-sock", 1),
        ("test:///default", 1),
        ("qemu+ssh://root@10.0.0.5/system", scan.FETCH_WORKERS),
        ("qemu+tls://kvm1.example/system", scan.FETCH_WORKERS),
        ("qemu+tcp://127.0.0.1:16509/system", scan.FETCH_WORKERS),
        ("qemu://kvm1.example/system", scan.FETCH_WORKERS),
    ],
)
def test_default_workers_local_socket_one_remote_several(address: str, workers: int) -> None:
    driver = LibvirtDriver(base.HostConnection(model.HostType.LIBVIRT, address))
    assert driver.discovery_workers == workers  # nothing is opened until a call
    explicit = LibvirtDriver(
        base.HostConnection(model.HostType.LIBVIRT, address, options={"discovery_workers": 3})
    )
    assert explicit.discovery_workers == 3
