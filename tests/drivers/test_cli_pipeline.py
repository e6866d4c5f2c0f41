"""MAAS users' pipeline, unchanged, against a real LXD host registered in vmhost:

    vmhost vm-host read ID | jq -r '(["NAME","TYPE",...] | ...), (.storage_pools[] | ...) | @tsv' \
        | column -t

The server runs on 127.0.0.1 (uvicorn in a thread) over a temporary SQLite database; the LXD host
is the local LXD over HTTPS, its certificate trusted with ``lxc config trust add`` as an operator
does. The ``vmhost`` CLI is the installed console script, run by bash with a real pipe.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator

import lxd_helpers as h
import pytest
import uvicorn

from vmhost import model, pki
from vmhost.api.app import create_app
from vmhost.service import Services, Settings

pytestmark = [pytest.mark.lxd, pytest.mark.timeout(300)]

_reason = h.skip_reason() or (None if shutil.which("jq") else "jq is not installed")
if _reason:
    pytest.skip(_reason, allow_module_level=True)

PROJECT = f"vmhost-cli-{h.RUN}"
JQ = (
    '(["NAME","TYPE","PATH","TOTAL","USED","AVAIL"] | (., map(length*"-"))), '
    "(.storage_pools[] | [.name, .type, .path, .total, .used, .available]) | @tsv"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, int]]:
    """(URL, admin token, host id) of a live server with the local LXD registered."""
    services = Services.create(Settings(data_dir=str(tmp_path_factory.mktemp("cli"))))
    fingerprint = ""
    try:
        detail = services.hosts.add(
            model.HostSettings(
                name="lxd-cli",
                type=model.HostType.LXD,
                address=f"https://{h.ADDRESS}",
                project=PROJECT,
            )
        )
        host_id = int(detail.host.id)
        cert = services.certificates.certificate(host_id).certificate
        with tempfile.NamedTemporaryFile("w", suffix=".crt") as f:
            f.write(cert)
            f.flush()
            h.lxc("config", "trust", "add", f.name, "--name", f"vmhost-cli-{h.RUN}")
        fingerprint = pki.fingerprint(cert)
        assert services.hosts.refresh(host_id).host.status == "ready"
        _, token = services.tokens.create("cli-admin", "admin")
        port = _free_port()
        srv = uvicorn.Server(
            uvicorn.Config(create_app(services), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=srv.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not srv.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", token, host_id
        srv.should_exit = True
        thread.join(timeout=10)
    finally:
        if fingerprint:
            h.untrust(fingerprint)
        h.wipe_project(PROJECT)
        services.close()


def _vmhost() -> str:
    found = shutil.which("vmhost", path=os.path.dirname(sys.executable))
    assert found, "the vmhost console script is not installed next to this Python"
    return found


def test_pool_table_pipeline(server: tuple[str, str, int], tmp_path) -> None:  # type: ignore[no-untyped-def]
    url, token, host_id = server
    env = {**os.environ, "VMHOST_CONFIG_DIR": str(tmp_path / "config")}
    vmhost = _vmhost()
    subprocess.run(
        [vmhost, "login", "ci", url, token], env=env, check=True, timeout=60, capture_output=True
    )
    pipeline = f"{vmhost} vm-host read {host_id} | jq -r '{JQ}' | column -t"
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", pipeline],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["NAME", "TYPE", "PATH", "TOTAL", "USED", "AVAIL"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert h.POOL in rows
    _, driver, path, total, used, avail = rows[h.POOL]
    assert driver == "dir"
    assert int(total) > 0 and int(used) >= 0 and int(avail) == int(total) - int(used)
    lxc_pools = {p["name"]: p for p in h.query("/1.0/storage-pools?recursion=1")}
    assert lxc_pools[h.POOL]["driver"] == driver
    assert path == lxc_pools[h.POOL]["config"].get("source", path)
    # the same numbers as the read-only storage-pools command's table
    table = subprocess.run(
        [vmhost, "vm-host", "storage-pools", str(host_id)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert table.returncode == 0, table.stderr
    assert h.POOL in table.stdout and "dir" in table.stdout
