"""The vmhost service on this machine: packages, systemd unit, files, readiness, admin token.

This module does not import ops: it can be used, and is tested, without Juju. The charm passes
plain values in. Commands go through a `Runner` and files go under the paths of a `Workload`
(the unit file, the data directory), so tests hand in a fake runner and temporary paths. Every
call to the service's API goes through `service_client` (`Workload.api`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import pathlib
import sqlite3
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Protocol

import jinja2
import probes
import service_client

from vmhost import pki

logger = logging.getLogger(__name__)

SERVICE_NAME = "vmhost"
UNIT_PATH = pathlib.Path("/etc/systemd/system/vmhost.service")
DATA_DIR = pathlib.Path("/var/lib/vmhost")
LOG_DIR = pathlib.Path("/var/log/vmhost")
LOG_FILE = LOG_DIR / "vmhost.log"
#: The charm's own admin token (created with `vmhost-server token create`).
ADMIN_TOKEN_NAME = "juju-charm"  # noqa: S105 (a name, not a secret)
# libvirt-python in the charm's venv is compiled against libvirt and loads libvirt.so.0.
APT_PACKAGES = ("libvirt0",)
TEMPLATES_DIR = pathlib.Path(__file__).parent / "templates"


class Runner(Protocol):
    """Runs a command and returns its standard output."""

    def __call__(
        self, *args: str, check: bool = True, env: Mapping[str, str] | None = None
    ) -> str:
        """Run `args` (with `env` added to the environment); with `check`, raise
        `subprocess.CalledProcessError` on failure."""
        ...


def run(*args: str, check: bool = True, env: Mapping[str, str] | None = None) -> str:
    """The real runner: `subprocess.run`, non-interactive for apt. Only the command is logged
    (never `env`, which may hold a database password, nor the output, which may be a token)."""
    logger.debug("running %s", " ".join(args))
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive", **(env or {})}
    result = subprocess.run(args, capture_output=True, text=True, check=check, env=environment)
    return result.stdout


class WorkloadError(Exception):
    """A machine-side step failed; `str()` is one line without secrets."""


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
    tls: bool = False
    data_dir: pathlib.Path = DATA_DIR

    @property
    def python(self) -> pathlib.Path:
        """The charm venv's interpreter (dispatch links it on the unit's first hook)."""
        return self.charm_dir / "venv" / "bin" / "python"

    @property
    def tls_paths(self) -> tuple[pathlib.Path, pathlib.Path]:
        """Where the TLS certificate and key are written."""
        return self.data_dir / "tls" / "cert.pem", self.data_dir / "tls" / "key.pem"

    def environment(self) -> dict[str, str]:
        """The service's environment (`vmhost.settings.Settings` reads `VMHOST_*`).

        The database URL is there only when there is one (SQLite in the data directory
        otherwise). With a shared PostgreSQL database the schema is migrated by the leader's
        charm (`migrate`), never by several services starting at once.
        """
        environment = {
            "PYTHONPATH": str(self.charm_dir / "src"),
            "VMHOST_DATA_DIR": str(self.data_dir),
            "VMHOST_LOG_LEVEL": self.log_level.upper(),
            "VMHOST_POLICY": self.scheduling_policy,
            "VMHOST_DEFAULT_CPU_OVER_COMMIT_RATIO": str(self.default_cpu_over_commit_ratio),
            "VMHOST_DEFAULT_MEMORY_OVER_COMMIT_RATIO": str(self.default_memory_over_commit_ratio),
            "VMHOST_MIGRATE_AT_START": "false" if self.database_url else "true",
        }
        if self.database_url:
            environment["VMHOST_DATABASE_URL"] = self.database_url
        return environment

    def exec_start(self) -> str:
        """The service's command line."""
        command = (
            f"{self.python} -m vmhost.server --host 0.0.0.0 --port {self.port}"
            f" --data-dir {self.data_dir}"
        )
        if self.tls:
            cert, key = self.tls_paths
            command += f" --tls-cert {cert} --tls-key {key}"
        return command

    def url(self) -> str:
        """The API on loopback."""
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"


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
        exec_start=config.exec_start(),
        data_dir=config.data_dir,
        log_dir=LOG_DIR,
        log_file=LOG_FILE,
    )


def write_private(path: pathlib.Path, content: str) -> bool:
    """Write a file only root can read (mode 0600, atomically); True if it changed."""
    if path.exists() and path.read_text() == content:
        return False
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(content)
    temporary.chmod(0o600)
    temporary.replace(path)
    return True


def write_unit(content: str, path: pathlib.Path | None = None) -> bool:
    """Write the unit file (mode 0600: it may hold a database password); True if it changed."""
    return write_private(path or UNIT_PATH, content)


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


def postgresql_url(*, endpoints: str, username: str, password: str, database: str) -> str:
    """An SQLAlchemy (psycopg 3) URL for the first of the comma-separated `host:port` endpoints."""
    host = endpoints.split(",")[0].strip()
    user = urllib.parse.quote(username, safe="")
    secret = urllib.parse.quote(password, safe="")
    name = urllib.parse.quote(database, safe="")
    return f"postgresql+psycopg://{user}:{secret}@{host}/{name}"


class Workload:
    """The vmhost service on this machine; the charm's one handle on the unit and the service.

    `runner`, `unit_path` and `data_dir` default to the machine's; tests pass their own.
    """

    def __init__(
        self,
        charm_dir: pathlib.Path,
        *,
        runner: Runner | None = None,
        unit_path: pathlib.Path | None = None,
        data_dir: pathlib.Path | None = None,
    ) -> None:
        self.charm_dir = charm_dir
        self._runner = runner or run
        self._unit_path = unit_path or UNIT_PATH
        self.data_dir = data_dir or DATA_DIR

    def install(self) -> None:
        """Install the packages the service needs (nothing when they are there)."""
        install_packages(missing_packages(self._runner), self._runner)

    def service_config(
        self,
        *,
        port: int,
        log_level: str,
        scheduling_policy: str,
        default_cpu_over_commit_ratio: float,
        default_memory_over_commit_ratio: float,
        database_url: str | None = None,
        tls: bool = False,
    ) -> ServiceConfig:
        """A `ServiceConfig` for this charm directory and data directory."""
        return ServiceConfig(
            charm_dir=self.charm_dir,
            port=port,
            log_level=log_level,
            scheduling_policy=scheduling_policy,
            default_cpu_over_commit_ratio=default_cpu_over_commit_ratio,
            default_memory_over_commit_ratio=default_memory_over_commit_ratio,
            database_url=database_url,
            tls=tls,
            data_dir=self.data_dir,
        )

    def configure(
        self, config: ServiceConfig, *, sealing_key: str, tls: tuple[str, str] | None
    ) -> bool:
        """Write the manager secret and the TLS pair, then the unit; (re)start the service
        when any of them changed or it is not running. True when it was (re)started."""
        changed = write_private(self.data_dir / pki.sealing.SECRET_FILE_NAME, sealing_key)
        cert_path, key_path = config.tls_paths
        if tls is not None:
            changed |= write_private(cert_path, tls[0])
            changed |= write_private(key_path, tls[1])
        if changed:
            with contextlib.suppress(OSError):
                self._unit_path.unlink()  # a changed file restarts the service
        return configure(config, unit_path=self._unit_path, runner=self._runner)

    def is_active(self) -> bool:
        """Whether systemd runs the service."""
        return is_active(self._runner)

    def is_ready(self, port: int, *, tls: bool) -> bool:
        """Whether the service answers its health endpoint."""
        return probes.is_ready(port, tls=tls)

    def wait_ready(self, port: int, *, tls: bool) -> bool:
        """Wait (bounded) for the health endpoint."""
        return probes.wait_ready(port, tls=tls)

    def port_taken(self, port: int, *, tls: bool) -> bool:
        """Whether another program holds `port` (our own service answering there does not)."""
        return not probes.port_free(port) and not probes.is_ready(port, tls=tls)

    def remove(self) -> None:
        """Stop and remove the service (the data directory stays)."""
        remove(unit_path=self._unit_path, runner=self._runner)

    def sealing_key(self) -> str | None:
        """The manager secret the service made on an earlier start, if any."""
        path = self.data_dir / pki.sealing.SECRET_FILE_NAME
        return path.read_text().strip() if path.exists() else None

    def sqlite_host_count(self) -> int:
        """How many VM hosts the unit's SQLite database holds (0 when there is none)."""
        path = self.data_dir / "vmhost.db"
        if not path.exists():
            return 0
        try:
            with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
                return int(db.execute("SELECT count(*) FROM hosts").fetchone()[0])
        except sqlite3.Error:
            return 0  # no schema yet

    def _server(self, config: ServiceConfig, *args: str) -> str:
        environment = config.environment()
        try:
            return self._runner(str(config.python), "-m", "vmhost.server", *args, env=environment)
        except subprocess.CalledProcessError as exc:
            detail = (exc.stderr or "").strip().splitlines()
            raise WorkloadError(
                f"vmhost-server {args[0]} {args[1]} failed: {detail[-1] if detail else exc}"
            ) from None

    def migrate(self, config: ServiceConfig) -> None:
        """Create or migrate the database schema (the leader's job on a shared database)."""
        self._server(config, "db", "upgrade", "--data-dir", str(self.data_dir))

    def create_admin_token(self, config: ServiceConfig) -> str:
        """A new admin token for the charm, straight in the database (the one before it, if
        any, is revoked). The token is returned, never logged."""
        data_dir = str(self.data_dir)
        with contextlib.suppress(WorkloadError):  # there was none
            self._server(config, "token", "revoke", ADMIN_TOKEN_NAME, "--data-dir", data_dir)
        output = self._server(
            config, "token", "create", ADMIN_TOKEN_NAME, "--role", "admin", "--data-dir", data_dir
        )
        return output.strip()

    def api(self, config: ServiceConfig, token: str) -> service_client.ServiceApi:
        """The service's API on loopback (TLS not verified: see `probes.is_ready`)."""
        return service_client.ServiceApi(config.url(), token, verify=not config.tls)
