"""Fakes shared by the charm tests: a recording command runner, a loopback health server, and
the charm's one workload seam (`fake`: `workload.Workload` replaced by `fakes.FakeWorkload`)."""

from __future__ import annotations

import http.server
import pathlib
import threading
from collections.abc import Iterator

import pytest
import workload
from fakes import FakeWorkload


class FakeRunner:
    """Stands in for `workload.run`: records commands and keeps the state they would change."""

    def __init__(self, *, installed: bool = False, active: bool = False):
        self.installed = installed
        self.active = active
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, *args: str, check: bool = True, env: object = None) -> str:
        self.calls.append(args)
        match args:
            case ("dpkg-query", *_):
                return "install ok installed" if self.installed else ""
            case ("apt-get", "install", *_):
                self.installed = True
            case ("systemctl", "is-active", _):
                return "active\n" if self.active else "inactive\n"
            case ("systemctl", "restart", _):
                self.active = True
            case ("systemctl", "disable", "--now", _):
                self.active = False
        return ""

    def commands(self, program: str) -> list[tuple[str, ...]]:
        """The recorded calls of one program, without the program name."""
        return [call[1:] for call in self.calls if call[0] == program]


class HealthServer:
    """An HTTP server on a free loopback port that answers every GET with `status`."""

    def __init__(self) -> None:
        self.status = 200
        self.paths: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.paths.append(self.path)
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"status": "ok"}')

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> HealthServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def runner() -> FakeRunner:
    """A fresh fake runner (nothing installed, service inactive)."""
    return FakeRunner()


@pytest.fixture
def health_server() -> Iterator[HealthServer]:
    """A running loopback health server."""
    with HealthServer() as server:
        yield server


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> FakeWorkload:
    """The charm's workload, replaced: an installed, running, healthy service (one seam)."""
    stand_in = FakeWorkload(tmp_path / "charm")
    monkeypatch.setattr(workload, "Workload", lambda charm_dir: stand_in)
    return stand_in
