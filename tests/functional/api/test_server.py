"""``vmhost-server``: token and database commands, and serving over TLS on 127.0.0.1."""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from api_support import free_port
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from vmhost import client, server


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = server.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_token_commands_and_db_upgrade(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path / "data")
    code, out, err = _run(capsys, "db", "upgrade", "--data-dir", data)
    assert code == 0 and "up to date" in err
    code, out, err = _run(capsys, "--data-dir", data, "token", "create", "ops", "--role", "admin")
    assert code == 0
    token = out.strip()
    assert token.startswith("vmh_") and "shown once" in err and token not in err
    code, out, err = _run(capsys, "token", "create", "ops", "--data-dir", data)
    assert code == 1 and err == "vmhost-server: error: a token named 'ops' already exists\n"
    code, out, _ = _run(capsys, "token", "list", "--data-dir", data)
    assert code == 0 and "ops" in out and "admin" in out and token not in out
    code, _, err = _run(capsys, "token", "revoke", "ops", "--data-dir", data)
    assert code == 0 and "Revoked" in err
    code, _, err = _run(capsys, "token", "revoke", "ops", "--data-dir", data)
    assert code == 1 and "does not exist" in err


def test_tls_options_must_come_together(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "--data-dir", str(tmp_path), "--tls-cert", "x.pem")
    assert code == 1 and "--tls-cert and --tls-key go together" in err
    code, _, err = _run(
        capsys, "--data-dir", str(tmp_path), "--tls-cert", "/no/c.pem", "--tls-key", "/no/k.pem"
    )
    assert code == 1 and "no such file: /no/c.pem" in err


def _server_pair(directory: Any) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = str(directory / "server.crt"), str(directory / "server.key")
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return cert_path, key_path


def test_serves_https_with_tls_options(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path / "data")
    server.main(["--data-dir", data, "token", "create", "tls", "--role", "readonly"])
    token = capsys.readouterr().out.strip()
    cert, key = _server_pair(tmp_path)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vmhost.server",
            "--data-dir",
            data,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--tls-cert",
            cert,
            "--tls-key",
            key,
            "--log-level",
            "WARNING",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"https://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        trusted = ssl.create_default_context(cafile=cert)
        while True:
            try:
                httpx.get(f"{url}/api/v1/health", verify=trusted, timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        with client.VmHostClient(url, token, verify=cert) as api:
            assert api.whoami().name == "tls"
            assert api.hosts.list() == []
        untrusting = client.VmHostClient(url, token)  # the system CAs do not know the server
        with pytest.raises(client.ConnectionFailedError):
            untrusting.whoami()
        untrusting.close()
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert proc.returncode in (0, -15)


def test_serve_without_migrating_needs_the_schema(
    tmp_path: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """VMHOST_MIGRATE_AT_START=false: a fresh database is refused in one line, not migrated."""
    data = str(tmp_path / "data")
    monkeypatch.setenv("VMHOST_MIGRATE_AT_START", "false")

    code, _, err = _run(capsys, "--data-dir", data, "--port", str(free_port()))

    assert code == 1
    assert err == (
        "vmhost-server: error: the database has no schema yet and VMHOST_MIGRATE_AT_START is "
        "false: run `vmhost-server db upgrade` first\n"
    )
    assert _run(capsys, "db", "upgrade", "--data-dir", data)[0] == 0
