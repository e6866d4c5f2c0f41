"""The certificate error tree: bad input, so each names the field it is about."""

from __future__ import annotations

from vmhost import model


class PkiError(model.InvalidInputError):
    """A certificate or key that vmhost cannot use."""


class NotPemError(PkiError):
    """The text is not a PEM certificate / private key."""

    def __init__(self, field: str, what: str) -> None:
        message = (
            f"the {field} is not a PEM {what} "
            f"(expected a block starting with '-----BEGIN {what.upper()}-----')"
        )
        super().__init__(message, {field: [message]})


class PassphraseKeyError(PkiError):
    """The private key is encrypted; vmhost needs it in clear (it seals it itself)."""

    def __init__(self) -> None:
        message = (
            "the private key is protected by a passphrase; remove it with "
            "`openssl rsa -in key.pem -out key-nopass.pem` (or `openssl pkey`) and import again"
        )
        super().__init__(message, {"key": [message]})


class MismatchedPairError(PkiError):
    """The certificate was not made for this private key."""

    def __init__(self) -> None:
        message = "the certificate does not belong to this private key"
        super().__init__(message, {"certificate": [message], "key": [message]})


class UnsupportedKeyError(PkiError):
    """A key type LXD does not accept for client certificates."""

    def __init__(self, kind: str) -> None:
        message = f"{kind} keys are not supported; use an RSA (2048 bits or more) or EC key"
        super().__init__(message, {"key": [message]})


class ExpiredCertificateError(PkiError):
    """The certificate's validity period is over (LXD refuses it)."""

    def __init__(self, not_after: str) -> None:
        message = f"the certificate expired on {not_after}; generate or import a valid one"
        super().__init__(message, {"certificate": [message]})


class SealError(model.VmHostError):
    """A sealed secret cannot be opened, or the manager secret file is unusable.

    Not bad input: the manager's own secret changed or is misconfigured.
    """
