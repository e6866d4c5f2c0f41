"""Nothing skips but the Juju-controller tests: record every skip, and fail the run on others.

A fresh machine set up by ``scripts/setup-hosts`` runs every test except the
Jubilant tests, which need a Juju controller that cannot run here. A skip elsewhere means the
set-up missed something, so it must fail CI, not scroll by.

* As a pytest plugin (``tests/conftest.py`` imports its hooks), each session writes the tests it
  skipped, one JSON object a line (``nodeid``, ``reason``), to ``$TOX_ENV_DIR/vmhost-skips.jsonl``
  (``VMHOST_SKIPS_FILE`` overrides; neither set: nothing is written). The file is rewritten at
  each session's start, so an environment that ran and skipped nothing leaves an empty file.
* As a script, ``python tests/support/skips.py check [--since EPOCH] DIR...`` reads the files
  of the environments under each ``DIR`` (``.tox``) written since ``EPOCH`` and exits 1, naming
  each test and its reason, when any skipped test is not in :data:`ALLOWED` (``scripts/test``
  runs it after tox).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

FILE_NAME = "vmhost-skips.jsonl"

#: The tests allowed to skip, by node-id prefix: only the Jubilant tests, which need a Juju
#: controller (none can run on these machines: no juju client, no snap).
ALLOWED: tuple[str, ...] = ("tests/integration/test_deploy.py::",)


def skips_file() -> Path | None:
    """Where this session records its skips (None: not under tox, nothing recorded)."""
    explicit = os.environ.get("VMHOST_SKIPS_FILE")
    if explicit:
        return Path(explicit)
    env_dir = os.environ.get("TOX_ENV_DIR")
    return Path(env_dir) / FILE_NAME if env_dir else None


# --- the pytest hooks (tests/conftest.py imports them) -----------------------------------------


def pytest_sessionstart(session: Any) -> None:
    """Start this session's record empty."""
    path = skips_file()
    if path is not None and not hasattr(session.config, "workerinput"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")


def pytest_runtest_logreport(report: Any) -> None:
    """Append a skipped test (in setup, call or a module-level skip) to the record."""
    path = skips_file()
    if path is None or not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = ""
    if isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
        reason = str(report.longrepr[2]).removeprefix("Skipped: ")
    with path.open("a") as f:
        f.write(json.dumps({"nodeid": report.nodeid, "reason": reason}) + "\n")


def pytest_collectreport(report: Any) -> None:
    """A module skipped as a whole at collection (``allow_module_level``) counts too."""
    pytest_runtest_logreport(report)


# --- the check ----------------------------------------------------------------------------------


def not_allowed(records: list[dict[str, str]], allowed: tuple[str, ...] = ALLOWED) -> list[str]:
    """One line per recorded skip that is not allowed."""
    return [
        f"{r['nodeid']}: {r['reason']}"
        for r in records
        if not any(r["nodeid"].startswith(prefix) for prefix in allowed)
    ]


def read(directories: list[Path], since: float = 0.0) -> dict[str, list[dict[str, str]]]:
    """{environment: its skips} from the record files under ``directories`` written since
    ``since`` (seconds since the epoch)."""
    found: dict[str, list[dict[str, str]]] = {}
    for directory in directories:
        for path in sorted(directory.glob(f"*/{FILE_NAME}")):
            if path.stat().st_mtime + 1 < since:
                continue  # an environment this run did not touch
            lines = path.read_text().splitlines()
            found[path.parent.name] = [json.loads(line) for line in lines if line.strip()]
    return found


def check(directories: list[Path], since: float = 0.0) -> int:
    """Print what skipped; 1 when a test other than an allowed one did."""
    failures = 0
    for env, records in read(directories, since).items():
        bad = not_allowed(records)
        allowed = len(records) - len(bad)
        print(f"skips: {env}: {len(records)} skipped, {allowed} allowed (Juju controller)")
        for line in bad:
            print(f"skips: {env}: NOT ALLOWED: {line}")
        failures += len(bad)
    if failures:
        print(
            f"skips: {failures} test(s) skipped that must run here: fix the set-up "
            "(scripts/setup-hosts) or the test; only the Juju-controller tests may skip "
            "(tests/support/skips.py ALLOWED)"
        )
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    """``check [--since EPOCH] DIR...``."""
    parser = argparse.ArgumentParser(prog="skips.py", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    checker = sub.add_parser("check", help="fail when a test other than the allowed ones skipped")
    checker.add_argument("--since", type=float, default=0.0)
    checker.add_argument("directories", nargs="+", type=Path)
    args = parser.parse_args(argv)
    return check(args.directories, args.since)


if __name__ == "__main__":
    sys.exit(main())
