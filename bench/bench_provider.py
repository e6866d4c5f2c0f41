"""Throughput of the Juju provider's pure path: parse + translate constraint strings.

Run: ``.venv/bin/python bench/bench_provider.py [--seconds S] [--repeat R]``.

A mix of realistic constraint strings (what ``juju deploy``/``add-machine`` users write, from
the empty string to every supported key), some with MAAS-grammar ``storage`` and
``interfaces`` extras, is parsed with :func:`vmhost_provider.constraints.parse` and translated
with :func:`vmhost_provider.translate.translate` (known spaces and pools given, as the plugin
does). Each phase runs for about ``--seconds`` and the best of ``--repeat`` rounds is printed
as constraint strings per second, plus the time per string. Validation is timed too, as the
plugin runs it between the two.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable

from vmhost_provider.constraints import Constraints, parse
from vmhost_provider.translate import translate
from vmhost_provider.validation import vmhost_validator

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

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
                known_pools=POOLS,
            )

    def parse_translate_all() -> None:
        for text, (storage, interfaces) in zip(texts, extras, strict=True):
            translate(
                parse(text),
                storage=storage,
                interfaces=interfaces,
                known_spaces=SPACES,
                known_pools=POOLS,
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
                known_pools=POOLS,
            )

    print(
        f"vmhost provider bench: {n} constraint strings "
        f"(mean {statistics.mean(len(t) for t in texts):.0f} chars, "
        f"{sum(1 for s, i in extras if s or i)} with storage/interfaces extras); "
        f"Python {platform.python_version()} on {platform.machine()}; "
        f"best of {args.repeat} x ~{args.seconds:g} s"
    )
    print(f"{'phase':<34} {'strings/s':>12} {'us/string':>10}")
    for name, func in (
        ("parse", parse_all),
        ("validate", validate_all),
        ("translate", translate_all),
        ("parse + translate", parse_translate_all),
        ("parse + validate + translate", full_all),
    ):
        rate = _rate(func, n, args.seconds, args.repeat)
        print(f"{name:<34} {rate:>12,.0f} {1e6 / rate:>10.1f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
