"""Key material the charm makes or checks (no ops import): the manager's sealing key, the
client pair the `lxd` integration presents, and the operator's TLS pair."""

from __future__ import annotations

import base64
import os

from vmhost import pki


def tls_problem(certificate: str, key: str) -> str | None:
    """Why a TLS certificate and key cannot serve the API (one line), or None."""
    try:
        pki.load_pair(certificate, key)
    except pki.PkiError as exc:
        return str(exc)
    return None


def new_sealing_key() -> str:
    """A new manager secret (the Fernet key `vmhost.pki.sealing` expects), as text."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def new_client_pair(app_name: str) -> tuple[str, str]:
    """A client certificate and key for the `lxd` integration (LXD trusts it by relation)."""
    pair = pki.generate(f"{app_name}@vmhost-juju")
    return pair.certificate_pem, pair.key_pem
