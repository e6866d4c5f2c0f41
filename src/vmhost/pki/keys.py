"""Client key + self-signed certificate: generation, import checks, fingerprints.

LXD trusts clients by certificate. vmhost makes one per host (RSA 4096, SHA-512, 10 years,
``CN=<host>@vmhost-<manager>``, issuer ``O=vmhost``) or imports the operator's pair. Fingerprints
are LXD's: SHA-256 of the DER certificate, lower-case hex without colons.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import re
import shlex
from collections.abc import Sequence

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .errors import (
    ExpiredCertificateError,
    MismatchedPairError,
    NotPemError,
    PassphraseKeyError,
    UnsupportedKeyError,
)

VMHOST_ORGANIZATION = "vmhost"
DEFAULT_VALIDITY_DAYS = 3650
DEFAULT_KEY_SIZE = 4096
MIN_RSA_BITS = 2048
_CN_MAX = 64
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----", re.DOTALL)

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


@dataclasses.dataclass(frozen=True, slots=True)
class CertificateInfo:
    """What an operator may see about a certificate (never the key)."""

    cn: str
    fingerprint: str
    not_before: datetime.datetime
    not_after: datetime.datetime
    generated_by_vmhost: bool

    def days_left(self, now: datetime.datetime | None = None) -> int:
        """Whole days until expiry (MAAS's ``cert_expiration_days``); negative once expired."""
        now = now or datetime.datetime.now(datetime.UTC)
        return (self.not_after - now).days


@dataclasses.dataclass(frozen=True, slots=True)
class KeyPair:
    """A client certificate and its private key, both PEM. The key is never in the repr."""

    certificate_pem: str
    key_pem: str = dataclasses.field(repr=False)

    @property
    def fingerprint(self) -> str:
        """LXD's fingerprint of the certificate."""
        return fingerprint(self.certificate_pem)

    @property
    def info(self) -> CertificateInfo:
        """CN, fingerprint and validity of the certificate."""
        return describe(self.certificate_pem)


def client_cn(hostname: str, manager_name: str = "") -> str:
    """The certificate CN: ``<hostname>@vmhost-<manager>``, cut to 64 characters (as MAAS).

    The hostname is shortened, never the manager part, so the CN still says who we are.
    """
    suffix = f"vmhost-{manager_name}" if manager_name else "vmhost"
    suffix = suffix[: _CN_MAX - 2]
    if not hostname:
        return suffix
    room = _CN_MAX - len(suffix) - 1
    return f"{hostname[:room]}@{suffix}"


def generate(
    cn: str,
    *,
    days: int = DEFAULT_VALIDITY_DAYS,
    key_size: int = DEFAULT_KEY_SIZE,
    now: datetime.datetime | None = None,
) -> KeyPair:
    """A new RSA key and a self-signed client certificate for it (SHA-512)."""
    if key_size < MIN_RSA_BITS:
        raise ValueError(f"key_size must be at least {MIN_RSA_BITS}, not {key_size}")
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    now = now or datetime.datetime.now(datetime.UTC)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, cn[:_CN_MAX] or "vmhost"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, VMHOST_ORGANIZATION),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))  # tolerate clock skew
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=True,
                content_commitment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(key, hashes.SHA512())
    )
    return KeyPair(_cert_pem(cert), _key_pem(key))


def fingerprint(certificate_pem: str | bytes) -> str:
    """SHA-256 of the DER certificate, lower-case hex without colons (``lxc config trust``)."""
    cert = _load_certificate(certificate_pem)
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def describe(certificate_pem: str | bytes) -> CertificateInfo:
    """CN, fingerprint and validity of a PEM certificate."""
    cert = _load_certificate(certificate_pem)
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return CertificateInfo(
        cn=str(cns[0].value) if cns else "",
        fingerprint=hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        generated_by_vmhost=_made_by_vmhost(cert),
    )


def generated_by_vmhost(certificate_pem: str | bytes) -> bool:
    """Whether vmhost generated the certificate (its issuer is ``O=vmhost``)."""
    return _made_by_vmhost(_load_certificate(certificate_pem))


def load_pair(
    certificate_pem: str | bytes,
    key_pem: str | bytes = "",
    *,
    now: datetime.datetime | None = None,
) -> KeyPair:
    """Check an imported certificate + key and return them normalised.

    The key may also be pasted after the certificate with ``key_pem`` empty. Refused, each with
    its own error naming the field: text that is not PEM, a passphrase-protected key, an
    unsupported key type, an expired certificate, and a pair that does not belong together.
    """
    cert_text = _text(certificate_pem)
    key_text = _text(key_pem) or cert_text
    cert = _load_certificate(cert_text)
    key = _load_private_key(key_text)
    if _public_der(cert.public_key()) != _public_der(key.public_key()):
        raise MismatchedPairError()
    now = now or datetime.datetime.now(datetime.UTC)
    if cert.not_valid_after_utc < now:
        raise ExpiredCertificateError(cert.not_valid_after_utc.date().isoformat())
    return KeyPair(_cert_pem(cert), _key_pem(key))


def trust_command(
    certificate: str, *, name: str = "", projects: Sequence[str] = (), remote: str = ""
) -> str:
    """The exact command an operator runs on the LXD host to trust our certificate.

    ``certificate`` is a file path or an ``http(s)://`` URL vmhost serves it at. ``projects``
    restricts the certificate to those projects (then vmhost cannot create its project
    itself: create it first with ``lxc project create``).
    """
    args = ["lxc", "config", "trust", "add"]
    if remote:
        args.append(f"{remote}:")
    is_url = certificate.startswith(("http://", "https://"))
    args.append("-" if is_url else certificate)
    if name:
        args += ["--name", name]
    if projects:
        args += ["--restricted", "--projects", ",".join(projects)]
    command = shlex.join(args)
    if is_url:
        return f"curl -sSf {shlex.quote(certificate)} | {command}"
    return command


# -- helpers ---------------------------------------------------------------------------------


def _text(data: str | bytes) -> str:
    if isinstance(data, bytes):
        return data.decode("utf-8", errors="replace")
    return data


def _blocks(text: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(0)) for m in _PEM_BLOCK.finditer(text)]


def _load_certificate(data: str | bytes) -> x509.Certificate:
    blocks = [b for label, b in _blocks(_text(data)) if label == "CERTIFICATE"]
    if not blocks:
        raise NotPemError("certificate", "certificate")
    try:
        return x509.load_pem_x509_certificate(blocks[0].encode())
    except ValueError:
        raise NotPemError("certificate", "certificate") from None


def _load_private_key(text: str) -> PrivateKey:
    blocks = [(label, b) for label, b in _blocks(text) if label.endswith("PRIVATE KEY")]
    if not blocks:
        raise NotPemError("key", "private key")
    label, block = blocks[0]
    if label == "ENCRYPTED PRIVATE KEY" or "Proc-Type: 4,ENCRYPTED" in block:
        raise PassphraseKeyError()
    try:
        key = serialization.load_pem_private_key(block.encode(), password=None)
    except TypeError:  # "Password was not given but private key is encrypted"
        raise PassphraseKeyError() from None
    except (ValueError, UnsupportedAlgorithm):
        # never chain: the original exception may quote key material
        raise NotPemError("key", "private key") from None
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise UnsupportedKeyError(f"{key.key_size}-bit RSA")
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        return key
    if isinstance(key, dsa.DSAPrivateKey):
        raise UnsupportedKeyError("DSA")
    if isinstance(key, ed448.Ed448PrivateKey):
        raise UnsupportedKeyError("Ed448")
    raise UnsupportedKeyError(type(key).__name__)


def _public_der(public_key: object) -> bytes:
    if not hasattr(public_key, "public_bytes"):
        return b""
    der: bytes = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return der


def _made_by_vmhost(cert: x509.Certificate) -> bool:
    orgs = cert.issuer.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return any(o.value == VMHOST_ORGANIZATION for o in orgs)


def _cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _key_pem(key: PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
