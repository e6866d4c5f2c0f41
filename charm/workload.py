"""The vmhost service on this machine: packages, systemd unit, readiness and an API adapter.

This module does not import ops: it can be used, and is tested, without Juju. The charm passes
plain values in. Commands go through a `Runner` and the unit file goes to `UNIT_PATH`, both looked
up when a function runs (or passed in), so tests can hand in a fake runner and a temporary path.
"""

from __future__ import annotations

import dataclasses
import http.client
import logging
import os
import pathlib
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Protocol

import jinja2
import tenacity

logger = logging.getLogger(__name__)

SERVICE_NAME = "vmhost"
UNIT_PATH = pathlib.Path("/etc/systemd/system/vmhost.service")
DATA_DIR = pathlib.Path("/var/lib/vmhost")
HEALTH_PATH = "/api/v1/health"
# libvirt-python in the charm's venv is compiled against libvirt and loads libvirt.so.0.
APT_PACKAGES = ("libvirt0",)
TEMPLATES_DIR = pathlib.Path(__file__).parent / "templates"

# Actions whose REST routes are not there yet (the API is being built alongside, issue 3).
API_PENDING = frozenset({"add-host", "get-certificate", "compose", "refresh", "create-token"})


class Runner(Protocol):
    """Runs a command and returns its standard output."""

    def __call__(self, *args: str, check: bool = True) -> str:
        """Run `args`; with `check`, raise `subprocess.CalledProcessError` on failure."""
        ...


def run(*args: str, check: bool = True) -> str:
    """The real runner: `subprocess.run`, non-interactive for apt."""
    logger.debug("running %s", " ".join(args))
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    result = subprocess.run(args, capture_output=True, text=True, check=check, env=environment)
    return result.stdout


class ApiUnavailableError(Exception):
    """The vmhost service cannot do what an action asks (yet)."""


@dataclasses.dataclass(frozen=True)
class ServiceConfig:
    """Everything the systemd unit depends on."""

    charm_dir: pathlib.Path
    port: int
    log_level: str
    scheduling_policy: str
    default_cpu_over_commit_ratio: float
    default_memory_over_commit_ratio: float
    database_url: str | None = None

    @property
    def python(self) -> pathlib.Path:
        """The charm venv's interpreter (dispatch links it on the unit's first hook)."""
        return self.charm_dir / "venv" / "bin" / "python"

    def environment(self) -> dict[str, str]:
        """The service's environment (`vmhost.settings.Settings` reads `VMHOST_*`).

        The database URL is there only when there is one (SQLite in the data directory
        otherwise). The default over-commit ratios are passed for the setting the service
        will read; `Settings` ignores them until it has those fields.
        """
        environment = {
            "PYTHONPATH": str(self.charm_dir / "src"),
            "VMHOST_LOG_LEVEL": self.log_level.upper(),
            "VMHOST_POLICY": self.scheduling_policy,
            "VMHOST_DEFAULT_CPU_OVER_COMMIT_RATIO": str(self.default_cpu_over_commit_ratio),
            "VMHOST_DEFAULT_MEMORY_OVER_COMMIT_RATIO": str(self.default_memory_over_commit_ratio),
        }
        if self.database_url:
            environment["VMHOST_DATABASE_URL"] = self.database_url
        return environment


def missing_packages(runner: Runner | None = None) -> list[str]:
    """The packages of `APT_PACKAGES` that dpkg does not report as installed."""
    runner = runner or run
    missing: list[str] = []
    for package in APT_PACKAGES:
        status = runner("dpkg-query", "--show", "--showformat=${Status}", package, check=False)
        if status.strip() != "install ok installed":
            missing.append(package)
    return missing


def install_packages(packages: list[str], runner: Runner | None = None) -> None:
    """Install `packages` with apt (nothing to do for an empty list)."""
    if not packages:
        return
    runner = runner or run
    runner("apt-get", "update", "--quiet")
    runner("apt-get", "install", "--yes", "--quiet", "--no-install-recommends", *packages)


def systemd_assignment(name: str, value: str) -> str:
    """Quote `name=value` for an `Environment=` line: escape backslash, quote and `%`."""
    if any(character in value for character in "\n\r\0"):
        raise ValueError(f"{name} cannot contain a line break or NUL")
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return f'"{name}={escaped}"'


def render_unit(config: ServiceConfig) -> str:
    """The systemd unit text for `config`."""
    environment = jinja2.Environment(  # noqa: S701 - a systemd unit, not HTML
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = environment.get_template("vmhost.service.j2")
    return template.render(
        environment=config.environment(),
        systemd_assignment=systemd_assignment,
        python=config.python,
        port=config.port,
        data_dir=DATA_DIR,
    )


def write_unit(content: str, path: pathlib.Path | None = None) -> bool:
    """Write the unit file (mode 0600: it may hold a database password); True if it changed."""
    path = path or UNIT_PATH
    if path.exists() and path.read_text() == content:
        return False
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(content)
    temporary.chmod(0o600)
    temporary.replace(path)
    return True


def is_active(runner: Runner | None = None) -> bool:
    """Whether systemd reports the service as active."""
    runner = runner or run
    return runner("systemctl", "is-active", SERVICE_NAME, check=False).strip() == "active"


def configure(
    config: ServiceConfig, *, unit_path: pathlib.Path | None = None, runner: Runner | None = None
) -> bool:
    """Render and write the unit, enable the service, (re)start it when needed.

    Returns:
        True if the service was (re)started, so the caller should wait for it to be ready.
    """
    runner = runner or run
    changed = write_unit(render_unit(config), unit_path)
    if changed:
        runner("systemctl", "daemon-reload")
    runner("systemctl", "enable", SERVICE_NAME)
    if changed or not is_active(runner):
        runner("systemctl", "restart", SERVICE_NAME)
        return True
    return False


def remove(*, unit_path: pathlib.Path | None = None, runner: Runner | None = None) -> None:
    """Stop and disable the service and delete its unit file (the data directory stays)."""
    runner = runner or run
    runner("systemctl", "disable", "--now", SERVICE_NAME, check=False)
    (unit_path or UNIT_PATH).unlink(missing_ok=True)
    runner("systemctl", "daemon-reload")


def health_url(port: int) -> str:
    """The service's health endpoint on loopback."""
    return f"http://127.0.0.1:{port}{HEALTH_PATH}"


def is_ready(port: int, timeout: float = 2.0) -> bool:
    """One probe of the health endpoint, ignoring any proxy settings: True on HTTP 200."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(health_url(port), timeout=timeout) as response:
            return bool(response.status == http.client.OK)
    except (OSError, http.client.HTTPException):  # urllib.error.URLError is an OSError
        return False


def wait_ready(port: int, *, attempts: int = 10, interval: float = 1.0) -> bool:
    """Probe the health endpoint until it answers, at most `attempts` times; True if it did."""
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(attempts),
        wait=tenacity.wait_fixed(interval),
        retry=tenacity.retry_if_result(lambda ready: not ready),
        retry_error_callback=lambda _: False,
    )
    return bool(retrying(is_ready, port))


def postgresql_url(*, endpoints: str, username: str, password: str, database: str) -> str:
    """An SQLAlchemy (psycopg 3) URL for the first of the comma-separated `host:port` endpoints."""
    host = endpoints.split(",")[0].strip()
    user = urllib.parse.quote(username, safe="")
    secret = urllib.parse.quote(password, safe="")
    name = urllib.parse.quote(database, safe="")
    return f"postgresql+psycopg://{user}:{secret}@{host}/{name}"


def run_action(action: str, params: Mapping[str, object], *, port: int) -> dict[str, str]:
    """Carry out a charm action through the service's API and return the action's results.

    Raises:
        ApiUnavailableError: the API route for this action does not exist yet.
    """
    if action in API_PENDING:
        raise ApiUnavailableError(
            f"{action} is not available until the API lands: "
            f"the vmhost service on port {port} has no route for it yet"
        )
    raise ValueError(f"unknown action {action!r} (parameters {sorted(params)})")
