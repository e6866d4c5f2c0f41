"""Talking to the real LXD over HTTPS from tests, the way vmhost must.

- :func:`make_client_cert`: a self-signed client certificate made with ``cryptography``
  (RSA 2048 by default for speed; production uses 4096, which one test exercises).
- :func:`trust` / :func:`untrust`: ``lxc config trust add <file>`` / ``remove`` (as root, over
  the unix socket), the way an operator trusts vmhost.
- :func:`pin_server_cert`: trust on first use: fetch LXD's certificate, store it in a file.
- :func:`connect`: a pylxd client pinned to that certificate.

The TLS trap: ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` are set on
these machines, and ``requests`` lets them override the session's ``verify`` (pylxd would then
fingerprint the first CA of the system bundle instead of LXD's certificate). pylxd's
``Client(session=...)`` takes a session built by ``pylxd.client.get_session_for_url()`` ("call
sites can use this to customise the session before passing into a Client"); we build it with the
pinned certificate and set ``session.trust_env = False`` so the environment is ignored.
"""

from __future__ import annotations

import contextlib
import datetime
import ssl
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pylxd
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pylxd.client import get_session_for_url

DEFAULT_ADDRESS = "127.0.0.1:8443"
CLIENT_TIMEOUT = 30.0
LXC_TIMEOUT = 60.0


@dataclass(frozen=True)
class ClientCert:
    """A client certificate and key on disk, and the certificate's SHA-256 fingerprint."""

    cert_path: Path
    key_path: Path
    fingerprint: str

    @property
    def pair(self) -> tuple[str, str]:
        """``(cert, key)`` as pylxd and requests take it."""
        return (str(self.cert_path), str(self.key_path))


def fingerprint(cert: x509.Certificate) -> str:
    """LXD's fingerprint of a certificate: SHA-256 of its DER, lower-case hex."""
    return cert.fingerprint(hashes.SHA256()).hex()


def file_fingerprint(path: Path) -> str:
    """LXD's fingerprint of the PEM certificate in ``path``."""
    return fingerprint(x509.load_pem_x509_certificate(path.read_bytes()))


def make_client_cert(
    directory: Path, name: str = "vmhost-tests", key_size: int = 2048
) -> ClientCert:
    """Write ``<name>.crt``/``<name>.key`` (self-signed, client auth, 10 years) in directory."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name}@vmhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(key, hashes.SHA512())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    key_path.touch(mode=0o600)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return ClientCert(cert_path, key_path, fingerprint(cert))


def _lxc(*args: str) -> str:
    done = subprocess.run(
        ["lxc", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=LXC_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"lxc {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def trust(cert: ClientCert, name: str | None = None) -> None:
    """``lxc config trust add <file> --name <name>``: LXD now trusts this client."""
    _lxc("config", "trust", "add", str(cert.cert_path), "--name", name or cert.cert_path.stem)


def untrust(cert: ClientCert) -> None:
    """Remove the certificate from LXD's trust store (absent is fine)."""
    with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
        _lxc("config", "trust", "remove", cert.fingerprint)


def split_address(address: str) -> tuple[str, int]:
    """``"host:port"`` (IPv6 in brackets) as a tuple."""
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def pin_server_cert(address: str, path: Path) -> str:
    """Fetch LXD's server certificate (trust on first use) into ``path``; its fingerprint."""
    pem = ssl.get_server_certificate(split_address(address), timeout=CLIENT_TIMEOUT)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(pem)
    return file_fingerprint(path)


def connect(cert: ClientCert, server_cert: Path, address: str = DEFAULT_ADDRESS) -> pylxd.Client:
    """A pylxd client over HTTPS, pinned to ``server_cert``, blind to CA-bundle variables."""
    endpoint = f"https://{address}"
    session = get_session_for_url(endpoint, verify=str(server_cert), cert=cert.pair)
    session.trust_env = False
    return pylxd.Client(
        endpoint=endpoint,
        cert=cert.pair,
        verify=str(server_cert),
        timeout=CLIENT_TIMEOUT,
        session=session,
    )


@contextlib.contextmanager
def trusted_client(
    directory: Path, address: str = DEFAULT_ADDRESS, key_size: int = 2048
) -> Iterator[pylxd.Client]:
    """A fresh certificate, trusted for the block, and a pinned client using it."""
    cert = make_client_cert(directory, f"vmhost-tests-{uuid.uuid4().hex[:8]}", key_size)
    server_cert = directory / "lxd-server.crt"
    pin_server_cert(address, server_cert)
    trust(cert)
    try:
        yield connect(cert, server_cert, address)
    finally:
        untrust(cert)
