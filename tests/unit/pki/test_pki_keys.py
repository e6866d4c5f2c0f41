"""vmhost.pki: generation, import checks, fingerprints, trust commands, sealing."""

from __future__ import annotations

import datetime
import hashlib
import os
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from vmhost import model, pki


@pytest.fixture(scope="module")
def pair() -> pki.KeyPair:
    return pki.generate(pki.client_cn("lxd1", "prod"))


@pytest.fixture(scope="module")
def other_pair() -> pki.KeyPair:
    return pki.generate("other@vmhost", key_size=2048)


def _key(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def test_generated_pair_is_rsa4096_sha512_ten_years(pair: pki.KeyPair) -> None:
    cert = x509.load_pem_x509_certificate(pair.certificate_pem.encode())
    assert _key(pair.key_pem).key_size == 4096
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA512)
    assert cert.subject == cert.issuer
    info = pair.info
    assert info.cn == "lxd1@vmhost-prod"
    assert info.generated_by_vmhost
    assert 3649 <= info.days_left() <= 3650
    assert pair.key_pem.startswith("-----BEGIN PRIVATE KEY-----")


def test_fingerprint_is_lxd_format(pair: pki.KeyPair) -> None:
    der = x509.load_pem_x509_certificate(pair.certificate_pem.encode()).public_bytes(
        serialization.Encoding.DER
    )
    fp = pki.fingerprint(pair.certificate_pem)
    assert fp == hashlib.sha256(der).hexdigest()
    assert len(fp) == 64 and fp == fp.lower() and ":" not in fp
    assert pair.fingerprint == fp


def test_key_never_in_repr(pair: pki.KeyPair) -> None:
    assert "PRIVATE KEY" not in repr(pair)


@pytest.mark.parametrize(
    ("hostname", "manager", "expected"),
    [
        ("lxd1", "prod", "lxd1@vmhost-prod"),
        ("", "prod", "vmhost-prod"),
        ("lxd1", "", "lxd1@vmhost"),
        ("h" * 80, "prod", "h" * (64 - len("@vmhost-prod")) + "@vmhost-prod"),
    ],
)
def test_client_cn(hostname: str, manager: str, expected: str) -> None:
    cn = pki.client_cn(hostname, manager)
    assert cn == expected
    assert len(cn) <= 64


def test_load_pair_round_trip(pair: pki.KeyPair) -> None:
    loaded = pki.load_pair(pair.certificate_pem, pair.key_pem)
    assert loaded.fingerprint == pair.fingerprint
    # both in one blob, as MAAS accepted it
    assert pki.load_pair(pair.certificate_pem + pair.key_pem).fingerprint == pair.fingerprint
    # bytes, CRLF and surrounding junk are fine
    crlf = ("junk\r\n" + pair.certificate_pem.replace("\n", "\r\n")).encode()
    assert pki.load_pair(crlf, pair.key_pem).fingerprint == pair.fingerprint


def test_load_pair_traditional_rsa_and_ec_keys(pair: pki.KeyPair) -> None:
    traditional = _key(pair.key_pem).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    assert traditional.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert pki.load_pair(pair.certificate_pem, traditional).fingerprint == pair.fingerprint

    ec_key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "ec@lxd")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(ec_key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(ec_key, hashes.SHA384())
    )
    loaded = pki.load_pair(
        cert.public_bytes(serialization.Encoding.PEM),
        ec_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    assert loaded.info.cn == "ec@lxd"
    assert not loaded.info.generated_by_vmhost


@pytest.mark.parametrize("fmt", ["pkcs8", "traditional"])
def test_passphrase_key_refused(pair: pki.KeyPair, fmt: str) -> None:
    key = _key(pair.key_pem).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8
        if fmt == "pkcs8"
        else serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.BestAvailableEncryption(b"secret"),
    )
    with pytest.raises(pki.PassphraseKeyError) as err:
        pki.load_pair(pair.certificate_pem, key)
    assert "protected by a passphrase" in str(err.value)
    assert "openssl rsa -in key.pem -out key-nopass.pem" in str(err.value)
    assert list(err.value.fields) == ["key"]
    assert isinstance(err.value, pki.PkiError)
    assert isinstance(err.value, model.InvalidInputError)


def test_mismatched_pair_refused(pair: pki.KeyPair, other_pair: pki.KeyPair) -> None:
    with pytest.raises(pki.MismatchedPairError) as err:
        pki.load_pair(pair.certificate_pem, other_pair.key_pem)
    assert str(err.value) == "the certificate does not belong to this private key"
    assert set(err.value.fields) == {"certificate", "key"}


@pytest.mark.parametrize(
    ("cert", "key", "field", "text"),
    [
        ("garbage", None, "certificate", "is not a PEM certificate"),
        ("", None, "certificate", "is not a PEM certificate"),
        (None, "garbage", "key", "is not a PEM private key"),
        (None, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "key", "PEM"),
        (
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            None,
            "certificate",
            "is not a PEM certificate",
        ),
    ],
)
def test_not_pem_refused(
    pair: pki.KeyPair, cert: str | None, key: str | None, field: str, text: str
) -> None:
    with pytest.raises(pki.NotPemError) as err:
        pki.load_pair(
            pair.certificate_pem if cert is None else cert, pair.key_pem if key is None else key
        )
    assert text in str(err.value)
    assert list(err.value.fields) == [field]
    assert "AAAA" not in str(err.value)


def test_key_in_certificate_field_is_not_a_certificate(pair: pki.KeyPair) -> None:
    with pytest.raises(pki.NotPemError) as err:
        pki.load_pair(pair.key_pem, pair.key_pem)
    assert list(err.value.fields) == ["certificate"]
    assert "PRIVATE" not in str(err.value).split("expected")[0]


def test_expired_certificate_refused() -> None:
    old = pki.generate(
        "old@vmhost", days=1, key_size=2048, now=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    )
    with pytest.raises(pki.ExpiredCertificateError) as err:
        pki.load_pair(old.certificate_pem, old.key_pem)
    assert "expired on 2020-01-02" in str(err.value)


def test_small_rsa_key_refused() -> None:
    with pytest.raises(ValueError, match="at least 2048"):
        pki.generate("x", key_size=1024)


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        (("/tmp/vmhost.crt",), {}, "lxc config trust add /tmp/vmhost.crt"),
        (("/tmp/my cert.crt",), {}, "lxc config trust add '/tmp/my cert.crt'"),
        (
            ("vmhost.crt",),
            {"projects": ["vmhost", "ci"], "name": "vmhost"},
            "lxc config trust add vmhost.crt --name vmhost --restricted --projects vmhost,ci",
        ),
        (
            ("https://vmhost.example/api/v1/vm-hosts/3/certificate",),
            {},
            "curl -sSf https://vmhost.example/api/v1/vm-hosts/3/certificate"
            " | lxc config trust add -",
        ),
        (("c.crt",), {"remote": "lxd1"}, "lxc config trust add lxd1: c.crt"),
    ],
)
def test_trust_command(args: tuple[str], kwargs: dict[str, object], expected: str) -> None:
    assert pki.trust_command(*args, **kwargs) == expected  # type: ignore[arg-type]


def test_seal_round_trip(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(tmp_path, "data", "secret.key")
    key = pki.load_or_create_secret(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert pki.load_or_create_secret(path) == key  # second call reads the same key
    token = pki.seal("-----BEGIN PRIVATE KEY-----\nabc\n", key)
    assert "abc" not in token and "PRIVATE" not in token
    assert pki.unseal(token, key) == "-----BEGIN PRIVATE KEY-----\nabc\n"


def test_unseal_with_other_key_fails(tmp_path: os.PathLike[str]) -> None:
    key1 = pki.load_or_create_secret(os.path.join(tmp_path, "a"))
    key2 = pki.load_or_create_secret(os.path.join(tmp_path, "b"))
    token = pki.seal("x", key1)
    with pytest.raises(pki.SealError, match="cannot be decrypted"):
        pki.unseal(token, key2)
    with pytest.raises(pki.SealError):
        pki.unseal("not a token", key1)


def test_secret_file_readable_by_others_refused(tmp_path: os.PathLike[str]) -> None:
    path = os.path.join(tmp_path, "secret.key")
    pki.load_or_create_secret(path)
    os.chmod(path, 0o644)
    with pytest.raises(pki.SealError, match="chmod 600"):
        pki.load_or_create_secret(path)
    os.chmod(path, 0o600)
    with open(path, "wb") as f:
        f.write(b"short")
    with pytest.raises(pki.SealError, match="not a valid key"):
        pki.load_or_create_secret(path)
