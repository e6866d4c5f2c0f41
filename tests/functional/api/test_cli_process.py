"""``vmhost`` as a real process: what its start-up imports, and a reader that stops early."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from api_support import LiveServer
from typer.testing import CliRunner

from vmhost.cli import main as cli_main

HEAVY = ("httpx", "pydantic", "rich", "yaml", "platformdirs", "vmhost.client", "vmhost.schemas")


def _loaded_after(argv: list[str]) -> list[str]:
    code = (
        "import json, sys\n"
        "from vmhost.cli.main import main\n"
        f"code = main({argv!r})\n"
        "print(json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return list(json.loads(done.stderr.strip().splitlines()[-1]))


def test_help_imports_no_heavy_module() -> None:
    """``vmhost --help`` imports neither the HTTP client, the wire models, Rich nor YAML (they
    took 1.7 s); bench/bench_cli.py measures the start-up itself."""
    loaded = _loaded_after(["--help"])
    heavy = [m for m in loaded if m.startswith(HEAVY)]
    assert heavy == [], heavy
    # A group is imported when it is used.
    loaded = _loaded_after(["vm-host", "--help"])
    assert "vmhost.cli.hosts" in loaded and "vmhost.cli.vms" not in loaded


def test_lazy_groups_are_the_modules_own() -> None:
    import importlib

    out = CliRunner().invoke(cli_main.app, ["--help"]).stdout
    for name, module, attribute, text, hidden in cli_main.LAZY_GROUPS:
        typer_app = getattr(importlib.import_module(f"vmhost.cli.{module}"), attribute)
        assert typer_app.info.help == text, name
        assert (f"  {name} " in out) is not hidden, name
    result = CliRunner().invoke(cli_main.app, ["token", "--help"])
    assert result.exit_code == 0 and "revoke" in result.stdout


def _vmhost(args: list[str], env: dict[str, str], closed_stdout: bool) -> Any:
    command = [sys.executable, "-c", "import sys; from vmhost.cli.main import main; "
               "sys.exit(main(sys.argv[1:]))", *args]  # fmt: skip
    if not closed_stdout:
        return subprocess.run(command, env=env, capture_output=True, timeout=60)
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before the first byte (| head -0)
    try:
        return subprocess.run(
            command, env=env, stdout=write_end, stderr=subprocess.PIPE, timeout=60
        )
    finally:
        os.close(write_end)


@pytest.fixture
def logged_in(live_server: LiveServer, tmp_path: Any) -> dict[str, str]:
    env = {**os.environ, "VMHOST_CONFIG_DIR": str(tmp_path / "config"), "COLUMNS": "120"}
    env.pop("VMHOST_PROFILE", None)
    done = _vmhost(["login", "admin", live_server.url, live_server.admin_token], env, False)
    assert done.returncode == 0, done.stderr
    done = _vmhost(
        ["-q", "vm-hosts", "create", "--type", "fake", "--address", "fake://numa", "--name", "h1"],
        env,
        False,
    )
    assert done.returncode == 0, done.stderr
    return env


@pytest.mark.parametrize(
    "args",
    [
        ["vm-hosts", "read"],  # a Rich table
        ["vm-hosts", "read", "-f", "json"],  # JSON
        ["vm-hosts", "read", "-f", "yaml"],  # YAML
        ["vm-host", "read", "h1"],  # JSON of one host
        ["profiles"],
    ],
)
def test_a_reader_that_stops_early_ends_the_command_quietly(
    logged_in: dict[str, str], args: list[str]
) -> None:
    done = _vmhost(args, logged_in, closed_stdout=True)
    assert done.stderr == b"", done.stderr.decode()
    assert done.returncode == 1
    # The same command with a reader prints its answer and succeeds.
    done = _vmhost(args, logged_in, closed_stdout=False)
    assert (done.returncode == 0 and b"h1" in done.stdout + done.stderr) or args == ["profiles"]
