"""Certificates against the real LXD: generated and imported pairs, the exact trust command,
trust tokens and passwords, server-certificate pinning, and the TLS environment trap."""

from __future__ import annotations

import datetime
import http.server
import os
import stat
import subprocess
import threading
from collections.abc import Iterator

import lxd_helpers as h
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from vmhost import pki
from vmhost.drivers import base
from vmhost.drivers.lxd import client as lxd_client
from vmhost.drivers.lxd import driver as lxd_driver
from vmhost.drivers.lxd import endpoint as lxd_endpoint
from vmhost.drivers.lxd import trust as lxd_trust

pytestmark = [pytest.mark.lxd, pytest.mark.timeout(300)]

_reason = h.skip_reason()
if _reason:
    pytest.skip(_reason, allow_module_level=True)


@pytest.fixture()
def cleanup() -> Iterator[list[str]]:
    """Fingerprints to remove from LXD's trust store after the test."""
    fingerprints: list[str] = []
    yield fingerprints
    for fp in fingerprints:
        h.untrust(fp)


def discover_ok(conn: base.HostConnection) -> None:
    drv = lxd_driver.LxdDriver(conn)
    try:
        inv = drv.discover()
        assert inv.storage_pools
    finally:
        drv.close()


def test_generated_certificate_untrusted_then_trusted_with_the_exact_command(
    tmp_path: os.PathLike[str], cleanup: list[str]
) -> None:
    pair = h.new_pair("cmd")
    cleanup.append(pair.fingerprint)
    conn = h.connection(pair)
    with pytest.raises(base.DriverAuthError) as err:
        discover_ok(conn)
    message = str(err.value)
    assert pair.fingerprint in message
    assert "lxc config trust add vmhost.crt" in message
    assert h.ADDRESS in message
    assert "PRIVATE" not in message

    # the operator saves the certificate and runs exactly the command shown
    with open(os.path.join(tmp_path, "vmhost.crt"), "w", encoding="ascii") as f:
        f.write(pair.certificate_pem)
    assert isinstance(err.value, lxd_client.UntrustedCertificateError)
    assert err.value.fingerprint == pair.fingerprint
    command = err.value.command
    subprocess.run(["bash", "-c", command], cwd=tmp_path, check=True, timeout=60)
    assert pair.fingerprint in h.trusted_fingerprints()
    discover_ok(conn)


def test_trust_command_with_certificate_url(cleanup: list[str]) -> None:
    """``curl <url> | lxc config trust add -`` works as shown (served on loopback)."""
    pair = h.new_pair("url")
    cleanup.append(pair.fingerprint)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pair.certificate_pem.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/api/v1/vm-hosts/7/certificate"
        conn = h.connection(pair, certificate_url=url)
        with pytest.raises(base.DriverAuthError) as err:
            discover_ok(conn)
        assert isinstance(err.value, lxd_client.UntrustedCertificateError)
        command = err.value.command
        assert command == f"curl -sSf {url} | lxc config trust add - --name vmhost"
        assert command in str(err.value)
        subprocess.run(["bash", "-o", "pipefail", "-c", command], check=True, timeout=60)
    finally:
        server.shutdown()
        thread.join(timeout=10)
    discover_ok(conn)


def test_imported_ec_pair_works(cleanup: list[str]) -> None:
    """A pair made outside vmhost (EC P-384, as lxc makes its own) is imported and used."""
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, f"root@imported-{h.RUN}")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([x509.OID_CLIENT_AUTH]), critical=False)
        .sign(key, hashes.SHA384())
    )
    pair = pki.load_pair(
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ),
    )
    assert not pair.info.generated_by_vmhost
    cleanup.append(h.trust(pair, f"vmhost-imported-{h.RUN}"))
    discover_ok(h.connection(pair))


def test_generated_certificate_accepted_and_listed_by_lxd(cleanup: list[str]) -> None:
    pair = h.new_pair("listed")
    cleanup.append(h.trust(pair, f"vmhost-listed-{h.RUN}"))
    listed = {c["fingerprint"]: c for c in h.query("/1.0/certificates?recursion=1")}
    assert pair.fingerprint in listed  # same fingerprint format as LXD
    assert listed[pair.fingerprint]["type"] == "client"
    discover_ok(h.connection(pair))


def test_bad_material_refused_with_own_messages() -> None:
    pair = h.new_pair("bad")
    other = pki.generate("other@vmhost", key_size=2048)
    encrypted = serialization.load_pem_private_key(pair.key_pem.encode(), None).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    cases = [
        ((pair.certificate_pem, encrypted), pki.PassphraseKeyError, "protected by a passphrase"),
        ((pair.certificate_pem, other.key_pem), pki.MismatchedPairError, "does not belong"),
        (("hello", pair.key_pem), pki.NotPemError, "not a PEM certificate"),
        ((pair.certificate_pem, "hello"), pki.NotPemError, "not a PEM private key"),
    ]
    for (cert, key), error, text in cases:
        with pytest.raises(error, match=text):
            pki.load_pair(cert, key)
        # the driver refuses the same material before talking to LXD, with the same words
        conn = h.connection(pair)
        conn = base.HostConnection(
            conn.type,
            conn.address,
            client_cert_pem=cert if isinstance(cert, str) else cert.decode(),
            client_key_pem=key if isinstance(key, str) else key.decode(),
            server_cert_pem=conn.server_cert_pem,
        )
        with pytest.raises(base.DriverAuthError, match=text):
            lxd_driver.LxdDriver(conn).discover()


def test_trust_token(cleanup: list[str]) -> None:
    pair = h.new_pair("token")
    cleanup.append(pair.fingerprint)
    out = h.lxc("config", "trust", "add", "--name", f"vmhost-token-{h.RUN}")
    token = [line for line in out.splitlines() if line.strip()][-1].strip()
    conn = h.connection(pair)
    with pytest.raises(base.DriverAuthError):
        discover_ok(conn)
    assert lxd_trust.trust_with_token(conn, token) == pair.fingerprint
    assert pair.fingerprint in h.trusted_fingerprints()
    discover_ok(conn)
    assert lxd_trust.trust_with_token(conn, token) == pair.fingerprint  # already: fine
    # a used token does not trust another certificate
    stranger = h.new_pair("stranger")
    with pytest.raises(base.DriverAuthError, match="trust token was not accepted"):
        lxd_trust.trust_with_token(h.connection(stranger), token)
    assert stranger.fingerprint not in h.trusted_fingerprints()


def test_trust_password(cleanup: list[str]) -> None:
    pair = h.new_pair("password")
    cleanup.append(pair.fingerprint)
    password = f"pw-{h.RUN}"
    h.lxc("config", "set", "core.trust_password", password)
    try:
        conn = h.connection(pair)
        with pytest.raises(base.DriverAuthError, match="trust password was not accepted"):
            lxd_trust.trust_with_password(conn, "wrong")
        assert pair.fingerprint not in h.trusted_fingerprints()
        assert lxd_trust.trust_with_password(conn, password) == pair.fingerprint
        discover_ok(conn)
    finally:
        h.lxc("config", "unset", "core.trust_password")


def test_pinned_server_certificate_mismatch(cleanup: list[str]) -> None:
    pair = h.new_pair("pin")
    cleanup.append(h.trust(pair, f"vmhost-pin-{h.RUN}"))
    impostor = pki.generate("impostor", key_size=2048).certificate_pem
    conn = h.connection(pair)
    conn = base.HostConnection(
        conn.type,
        conn.address,
        client_cert_pem=conn.client_cert_pem,
        client_key_pem=conn.client_key_pem,
        server_cert_pem=impostor,
    )
    with pytest.raises(base.DriverAuthError, match="different TLS certificate"):
        discover_ok(conn)
    # the real one, fetched on first use, is LXD's own
    fetched = lxd_endpoint.fetch_server_certificate(h.ADDRESS)
    assert fetched.fingerprint == h.query("/1.0")["environment"]["certificate_fingerprint"]


def test_environment_cannot_override_the_pin(
    monkeypatch: pytest.MonkeyPatch, cleanup: list[str]
) -> None:
    """The TLS trap: CA-bundle and proxy variables must not change where or how we connect."""
    pair = h.new_pair("env")
    cleanup.append(h.trust(pair, f"vmhost-env-{h.RUN}"))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    discover_ok(h.connection(pair))
    drv = lxd_driver.LxdDriver(h.connection(pair))
    try:
        assert drv.client.session.trust_env is False
    finally:
        drv.close()


def test_key_files_private_and_removed_on_close(cleanup: list[str]) -> None:
    pair = h.new_pair("files")
    cleanup.append(h.trust(pair, f"vmhost-files-{h.RUN}"))
    drv = lxd_driver.LxdDriver(h.connection(pair))
    directory = drv.client._dir
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    for name in os.listdir(directory):
        assert stat.S_IMODE(os.stat(os.path.join(directory, name)).st_mode) == 0o600
    drv.close()
    assert not os.path.exists(directory)
