"""The driver tier's end-of-run report: what the LXD driver's calls took on the real daemon."""

from __future__ import annotations

import lxd_helpers
import pytest


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per timed driver call of this run (nothing when none ran)."""
    if not lxd_helpers.TIMINGS:
        return
    terminalreporter.section("LXD driver timings")
    for what, seconds in lxd_helpers.TIMINGS.items():
        terminalreporter.write_line(f"{what}: {seconds * 1000:.0f} ms")
