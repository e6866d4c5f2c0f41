"""Client keys and certificates for LXD hosts, and sealing of private keys at rest.

Imports only ``vmhost.model``. Private keys never appear in messages, logs or reprs.
"""

from .errors import (
    ExpiredCertificateError,
    MismatchedPairError,
    NotPemError,
    PassphraseKeyError,
    PkiError,
    SealError,
    UnsupportedKeyError,
)
from .keys import (
    CertificateInfo,
    KeyPair,
    client_cn,
    describe,
    fingerprint,
    generate,
    generated_by_vmhost,
    load_pair,
    trust_command,
)
from .sealing import load_or_create_secret, seal, unseal

__all__ = [
    "CertificateInfo",
    "ExpiredCertificateError",
    "KeyPair",
    "MismatchedPairError",
    "NotPemError",
    "PassphraseKeyError",
    "PkiError",
    "SealError",
    "UnsupportedKeyError",
    "client_cn",
    "describe",
    "fingerprint",
    "generate",
    "generated_by_vmhost",
    "load_or_create_secret",
    "load_pair",
    "seal",
    "trust_command",
    "unseal",
]
