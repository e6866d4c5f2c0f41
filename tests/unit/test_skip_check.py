"""The skip check of ``scripts/test`` (issue 12 item 24): each tox environment records what it
skipped (``tests/conftest.py`` with ``support/skips.py``), and the check fails the run when a
test other than the Juju-controller ones skipped. Shown on a deliberate skip: a throwaway
test tree run by a real pytest with the same hooks, then the check ``scripts/test`` runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from support import skips

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
CHECK = [sys.executable, str(TESTS / "support" / "skips.py"), "check"]

CONFTEST = """
from support.skips import pytest_collectreport, pytest_runtest_logreport, pytest_sessionstart
"""
DELIBERATE = """
import pytest

def test_runs():
    assert 1 + 1 == 2

def test_deliberately_skipped():
    pytest.skip("deliberate: no such daemon")
"""
JUJU = """
import pytest

pytestmark = pytest.mark.skipif(True, reason="no Juju controller")

def test_deploy():
    raise AssertionError("never runs")
"""


def _run_session(root: Path, env_dir: Path, *paths: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TOX_ENV_DIR": str(env_dir), "PYTHONPATH": str(TESTS)}
    env.pop("VMHOST_SKIPS_FILE", None)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(root),
            "-c",
            str(root / "pytest.ini"),
            *paths,
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _tree(root: Path) -> None:
    (root / "pytest.ini").write_text("[pytest]\n")
    (root / "conftest.py").write_text(CONFTEST)
    (root / "tests" / "integration").mkdir(parents=True)
    (root / "tests" / "unit").mkdir()
    (root / "tests" / "integration" / "test_deploy.py").write_text(JUJU)
    (root / "tests" / "unit" / "test_deliberate.py").write_text(DELIBERATE)


def test_a_deliberate_skip_fails_the_check(tmp_path: Path) -> None:
    _tree(tmp_path)
    tox = tmp_path / ".tox"
    start = time.time()
    session = _run_session(tmp_path, tox / "unit", "tests")
    assert session.returncode == 0, session.stdout + session.stderr  # pytest itself passes
    records = skips.read([tox], since=start)["unit"]
    assert {r["nodeid"] for r in records} == {
        "tests/unit/test_deliberate.py::test_deliberately_skipped",
        "tests/integration/test_deploy.py::test_deploy",
    }
    checked = subprocess.run(
        [*CHECK, "--since", str(int(start)), str(tox)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 1, checked.stdout
    assert (
        "NOT ALLOWED: tests/unit/test_deliberate.py::test_deliberately_skipped: "
        "deliberate: no such daemon"
    ) in checked.stdout
    assert "test_deploy" not in checked.stdout.replace("1 allowed", "")


def test_only_the_juju_controller_tests_may_skip(tmp_path: Path) -> None:
    _tree(tmp_path)
    tox = tmp_path / ".tox"
    start = time.time()
    session = _run_session(tmp_path, tox / "integration", "tests/integration")
    assert session.returncode == 0, session.stdout + session.stderr
    checked = subprocess.run(
        [*CHECK, "--since", str(int(start)), str(tox)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout
    assert "integration: 1 skipped, 1 allowed" in checked.stdout
    assert skips.ALLOWED == ("tests/integration/test_deploy.py::",)


def test_a_run_records_afresh_and_old_records_are_not_read(tmp_path: Path) -> None:
    _tree(tmp_path)
    tox = tmp_path / ".tox"
    _run_session(tmp_path, tox / "unit", "tests/unit")
    assert skips.read([tox])["unit"]  # the deliberate skip
    (tmp_path / "tests" / "unit" / "test_deliberate.py").write_text("def test_ok():\n    pass\n")
    _run_session(tmp_path, tox / "unit", "tests/unit")
    assert skips.read([tox]) == {"unit": []}  # rewritten at the session's start
    assert skips.read([tox], since=time.time() + 60) == {}  # not this run's


def test_scripts_test_runs_the_check_after_tox() -> None:
    script = (REPO / "scripts" / "test").read_text()
    tox_at = script.index(".venv/bin/tox run")
    check_at = script.index("tests/support/skips.py check")
    assert tox_at < check_at and "|| status=1" in script[check_at:]
