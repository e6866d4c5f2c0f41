"""Latency figures shared by the benches that time one call at a time (``bench_maas.py``,
``bench_provider.py``): a call's milliseconds, the nearest-rank percentile and p50/p99/n."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def timed(func: Callable[[], Any]) -> tuple[float, Any]:
    """(ms, result) of one call."""
    start = time.perf_counter()
    result = func()
    return (time.perf_counter() - start) * 1000, result


def summary(values: list[float]) -> dict[str, float]:
    """p50/p99/n."""
    return {
        "p50": round(statistics.median(values), 2),
        "p99": round(percentile(values, 99), 2),
        "n": len(values),
    }
