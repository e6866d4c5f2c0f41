"""A real ``vmhost-server`` on a free 127.0.0.1 port, arranged for MAAS clients.

The server runs as its own process, started the way an operator starts it (``python -m
vmhost.server`` = the ``vmhost-server`` entry point) on a fresh SQLite data directory. Before it
starts, an admin token is made in that data directory; its MAAS API key is
``<token name>:<token id>:<token>`` (``vmhost tokens create --maas-key`` prints the same). The
hosts, zone and space are then arranged through vmhost's own API:

- zone ``az1`` with two fake hosts (``fake://dhcp/...``: 4 cores, 8 GiB, 100 GB, bridge
  ``br0`` on 10.20.0.0/24 whose VMs get an IPv4 address), tagged ``virtual-ok``;
- space ``db`` mapped to ``br0`` on every host.

Nothing here skips: a MAAS client that cannot run is a failure, with the reason.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from vmhost.service import Services, Settings

ZONE = "az1"
SPACE = "db"
HOST_TAG = "virtual-ok"
HOSTS = ("maas-h1", "maas-h2")
START_TIMEOUT_S = 60.0


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclasses.dataclass(frozen=True)
class MaasServer:
    """The running server: where it listens, its keys, and what it was arranged with."""

    url: str  # http://127.0.0.1:PORT
    api_key: str  # MAAS API key of an admin token
    admin_token: str  # the same token for vmhost's own API
    readonly_key: str  # MAAS API key of a read-only token
    log: Path
    zone: str = ZONE
    space: str = SPACE
    hosts: tuple[str, ...] = HOSTS

    @property
    def maas_url(self) -> str:
        """The endpoint a Juju cloud names: http://ADDRESS:PORT/MAAS."""
        return f"{self.url}/MAAS"

    def api(self) -> httpx.Client:
        """A client of vmhost's own API with the admin token (no proxy from the environment)."""
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self.admin_token}"},
            trust_env=False,
            timeout=30,
        )

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's log, for failure messages."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def oauth_header(api_key: str) -> str:
    """The ``Authorization`` header gomaasapi sends (PLAINTEXT, signature ``&secret``)."""
    consumer, token, secret = api_key.split(":")
    pairs = {
        "realm": "MAAS+API",
        "oauth_version": "1.0",
        "oauth_signature_method": "PLAINTEXT",
        "oauth_consumer_key": consumer,
        "oauth_token": token,
        "oauth_signature": "%26" + secret,
        "oauth_nonce": uuid.uuid4().hex,
        "oauth_timestamp": str(int(time.time())),
    }
    return "OAuth " + ", ".join(f'{k}="{v}"' for k, v in pairs.items())


def _arrange(server: MaasServer) -> None:
    with server.api() as api:
        checked = [
            api.post("/api/v1/zones", json={"name": ZONE, "description": "MAAS clients' zone"})
        ]
        for name in HOSTS:
            checked.append(
                api.post(
                    "/api/v1/vm-hosts",
                    json={
                        "type": "fake",
                        "power_address": f"fake://dhcp/{name}",
                        "name": name,
                        "zone": ZONE,
                        "tags": [HOST_TAG],
                    },
                )
            )
        checked.append(api.post("/api/v1/spaces", json={"space": SPACE, "network": "br0"}))
        for response in checked:
            if response.is_error:
                pytest.fail(
                    f"arranging the MAAS server: {response.request.method} "
                    f"{response.request.url.path}: {response.status_code} {response.text[:300]}"
                )


def _keys(data_dir: Path) -> tuple[str, str, str]:
    services = Services.create(Settings(data_dir=str(data_dir), log_level="WARNING"))
    try:
        admin, admin_token = services.tokens.create("juju-maas", "admin")
        reader, reader_token = services.tokens.create("maas-reader", "readonly")
    finally:
        services.close()
    return (
        f"{admin.name}:{admin.id}:{admin_token}",
        admin_token,
        f"{reader.name}:{reader.id}:{reader_token}",
    )


def _environment(data_dir: Path, port: int) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "PYTHONPATH", "TMPDIR")
    environment = {k: v for k, v in os.environ.items() if k in keep}
    environment.update(
        VMHOST_DATA_DIR=str(data_dir),
        VMHOST_LISTEN_HOST="127.0.0.1",
        VMHOST_LISTEN_PORT=str(port),
        VMHOST_LOG_LEVEL="INFO",
    )
    return environment


@pytest.fixture(scope="module")
def maas_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MaasServer]:
    """A ``vmhost-server`` process on 127.0.0.1 with fake hosts in a zone and a space."""
    directory = tmp_path_factory.mktemp("maas-server")
    data_dir = directory / "data"
    api_key, admin_token, readonly_key = _keys(data_dir)
    port = free_port()
    log_path = directory / "server.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "vmhost.server", "serve"],
        env=_environment(data_dir, port),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = MaasServer(f"http://127.0.0.1:{port}", api_key, admin_token, readonly_key, log_path)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        with httpx.Client(trust_env=False, timeout=2) as probe:
            while True:
                if process.poll() is not None:
                    pytest.fail(f"vmhost-server exited {process.returncode}:\n{server.log_tail()}")
                try:
                    if probe.get(f"{server.url}/api/v1/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"vmhost-server did not answer in {START_TIMEOUT_S} s")
                time.sleep(0.1)
        _arrange(server)
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        log.close()
