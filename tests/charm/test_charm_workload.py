"""Tests of charm/workload.py without Juju: a fake runner, a temporary unit path, real HTTP."""

from __future__ import annotations

import pathlib
import socket
import stat
import time

import probes
import pytest
import workload


def service_config(tmp_path: pathlib.Path, **changes: object) -> workload.ServiceConfig:
    values: dict[str, object] = {
        "charm_dir": tmp_path / "charm",
        "port": 5240,
        "log_level": "info",
        "scheduling_policy": "spread",
        "default_cpu_over_commit_ratio": 1.5,
        "default_memory_over_commit_ratio": 1.0,
    }
    values.update(changes)
    return workload.ServiceConfig(**values)  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_render_unit_runs_the_service_from_the_charm_venv(tmp_path):
    unit = workload.render_unit(service_config(tmp_path))

    charm_dir = tmp_path / "charm"
    exec_start = (
        f"ExecStart={charm_dir}/venv/bin/python -m vmhost.server"
        " --host 0.0.0.0 --port 5240 --data-dir /var/lib/vmhost"
    )
    assert exec_start in unit.splitlines()
    assert f'Environment="PYTHONPATH={charm_dir}/src"' in unit.splitlines()
    assert 'Environment="VMHOST_POLICY=spread"' in unit.splitlines()
    assert 'Environment="VMHOST_LOG_LEVEL=INFO"' in unit.splitlines()  # logging's spelling
    assert 'Environment="VMHOST_DEFAULT_CPU_OVER_COMMIT_RATIO=1.5"' in unit.splitlines()
    assert "StateDirectory=vmhost" in unit.splitlines()
    assert "VMHOST_DATABASE_URL" not in unit
    assert "{" not in unit  # every template expression was rendered


def test_render_unit_quotes_the_database_url_for_systemd(tmp_path):
    url = 'postgresql+psycopg://u:a%b"c\\d@10.0.0.1:5432/vmhost'

    unit = workload.render_unit(service_config(tmp_path, database_url=url))

    expected = 'Environment="VMHOST_DATABASE_URL=postgresql+psycopg://u:a%%b\\"c\\\\d@10.0.0.1:5432/vmhost"'
    assert expected in unit.splitlines()


def test_systemd_assignment_refuses_line_breaks():
    with pytest.raises(ValueError, match="line break"):
        workload.systemd_assignment("X", "a\nExecStartPre=/bin/false")


def test_write_unit_reports_changes_and_keeps_the_file_private(tmp_path):
    path = tmp_path / "vmhost.service"

    assert workload.write_unit("one\n", path) is True
    assert workload.write_unit("one\n", path) is False
    assert workload.write_unit("two\n", path) is True
    assert path.read_text() == "two\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["vmhost.service"]


def test_configure_reloads_enables_and_restarts(tmp_path, runner):
    path = tmp_path / "vmhost.service"

    restarted = workload.configure(service_config(tmp_path), unit_path=path, runner=runner)

    assert restarted is True
    assert runner.commands("systemctl") == [
        ("daemon-reload",),
        ("enable", "vmhost"),
        ("restart", "vmhost"),
    ]
    assert "--port 5240" in path.read_text()


def test_configure_leaves_a_running_unchanged_service_alone(tmp_path, runner):
    path = tmp_path / "vmhost.service"
    workload.configure(service_config(tmp_path), unit_path=path, runner=runner)
    runner.calls.clear()

    restarted = workload.configure(service_config(tmp_path), unit_path=path, runner=runner)

    assert restarted is False
    assert runner.commands("systemctl") == [("enable", "vmhost"), ("is-active", "vmhost")]


def test_configure_starts_a_stopped_unchanged_service(tmp_path, runner):
    path = tmp_path / "vmhost.service"
    workload.configure(service_config(tmp_path), unit_path=path, runner=runner)
    runner.active = False

    assert workload.configure(service_config(tmp_path), unit_path=path, runner=runner) is True
    assert runner.commands("systemctl")[-1] == ("restart", "vmhost")


def test_packages_are_installed_only_when_missing(runner):
    assert workload.missing_packages(runner) == ["libvirt0"]
    workload.install_packages(["libvirt0"], runner)
    assert workload.missing_packages(runner) == []

    runner.calls.clear()
    workload.install_packages([], runner)
    assert runner.calls == []


def test_remove_disables_and_deletes_the_unit(tmp_path, runner):
    path = tmp_path / "vmhost.service"
    path.write_text("x")

    workload.remove(unit_path=path, runner=runner)

    assert not path.exists()
    assert runner.commands("systemctl") == [("disable", "--now", "vmhost"), ("daemon-reload",)]


def test_is_ready_probes_the_health_endpoint(health_server):
    assert probes.is_ready(health_server.port) is True
    assert health_server.paths == ["/api/v1/health"]

    health_server.status = 503
    assert probes.is_ready(health_server.port) is False


def test_is_ready_ignores_proxy_settings(health_server, monkeypatch):
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)

    assert probes.is_ready(health_server.port) is True


def test_wait_ready_gives_up_after_its_attempts():
    port = free_port()  # nothing listens here
    started = time.monotonic()

    assert probes.wait_ready(port, attempts=3, interval=0.05) is False
    assert time.monotonic() - started < 5


def test_wait_ready_returns_once_the_service_answers(health_server):
    assert probes.wait_ready(health_server.port, attempts=3, interval=0.05) is True


def test_postgresql_url_quotes_credentials_and_takes_the_first_endpoint():
    url = workload.postgresql_url(
        endpoints="10.0.0.1:5432, 10.0.0.2:5432",
        username="relation-7",
        password="p@ss/w:rd",
        database="vmhost",
    )

    assert url == "postgresql+psycopg://relation-7:p%40ss%2Fw%3Ard@10.0.0.1:5432/vmhost"


CHARM_DIR = pathlib.Path(workload.__file__).parent


def _imports(name: str) -> set[str]:
    import ast

    tree = ast.parse((CHARM_DIR / name).read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize(
    "name", ["workload.py", "service_client.py", "keys.py", "results.py", "charm_config.py"]
)
def test_the_workload_side_does_not_import_ops(name):
    assert not {i for i in _imports(name) if i == "ops" or i.startswith("ops.")}


def test_only_service_client_talks_to_the_service():
    talking = {
        path.name
        for path in CHARM_DIR.glob("*.py")
        if {"vmhost.client", "httpx", "vmhost_provider.allocate"} & _imports(path.name)
    }
    assert talking == {"service_client.py"}
