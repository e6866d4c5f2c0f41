"""Item 5 of the MAAS work: the server listens on several addresses (loopback and the VMs'
bridges, as ``scripts/run`` does), every API still needing a token on each; an address that
cannot be bound is one line and exit 1."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from api_support import free_port

from vmhost import server
from vmhost.settings import Settings


def test_listen_hosts_are_split_and_checked() -> None:
    assert Settings(listen_host="127.0.0.1, 127.0.0.2,127.0.0.1").listen_hosts() == (
        "127.0.0.1",
        "127.0.0.2",
    )
    with pytest.raises(ValueError, match="listen_host"):
        Settings(listen_host="127.0.0.1,,127.0.0.2")


def test_an_address_that_cannot_be_bound_is_one_line(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # 192.0.2.250 (TEST-NET-1) is on no interface of a test machine: bind fails, nothing is sent
    port = free_port()
    code = server.main(
        ["--data-dir", str(tmp_path), "--host", "127.0.0.1,192.0.2.250", "--port", str(port)]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"vmhost-server: error: cannot listen on 192.0.2.250:{port}: ")
    assert len(err.splitlines()) == 1
    # a name is never looked up
    code = server.main(
        ["--data-dir", str(tmp_path), "--host", "vmhost.invalid", "--port", str(port)]
    )
    assert code == 1 and "cannot listen on vmhost.invalid" in capsys.readouterr().err


def test_serves_on_every_listen_address(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path / "data")
    server.main(["--data-dir", data, "token", "create", "two", "--role", "admin"])
    token = capsys.readouterr().out.strip()
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    argv = [sys.executable, "-m", "vmhost.server", "--data-dir", data]
    argv += ["--host", "127.0.0.1,127.0.0.2", "--port", str(port), "--log-level", "WARNING"]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        for address in ("127.0.0.1", "127.0.0.2"):
            url = f"http://{address}:{port}"
            while True:
                try:
                    assert httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise
                    time.sleep(0.1)
            assert httpx.get(f"{url}/api/v1/vm-hosts", timeout=5).status_code == 401
            who = httpx.get(
                f"{url}/api/v1/whoami", headers={"Authorization": f"Bearer {token}"}, timeout=5
            )
            assert who.status_code == 200 and who.json()["name"] == "two"
        with pytest.raises(httpx.TransportError):  # and nowhere else on loopback
            httpx.get(f"http://127.0.0.3:{port}/api/v1/health", timeout=2)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert proc.returncode in (0, -15)
