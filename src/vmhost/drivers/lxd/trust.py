"""Getting vmhost's client certificate trusted once, with an LXD trust token or (not
recommended) the trust password; neither is stored."""

from __future__ import annotations

from typing import NoReturn

import requests
from pylxd import exceptions as lxd_exceptions

from vmhost import pki
from vmhost.drivers import base

from .client import LxdClient, lxd_message
from .endpoint import unreachable


def _trust(connection: base.HostConnection, secret: str, *, token: bool) -> str:
    with LxdClient(connection, require_trusted=False) as client:
        fp = pki.fingerprint(connection.client_cert_pem)
        if client.trusted:
            return fp
        try:
            client.pylxd.authenticate(secret, use_token_auth=token)
        except lxd_exceptions.LXDAPIException as exc:
            message = lxd_message(exc)
            if "already in trust store" not in message:
                kind = "trust token" if token else "trust password"
                _raise_auth(client, f"the {kind} was not accepted: {message}", message)
        except (lxd_exceptions.ClientConnectionFailed, requests.RequestException) as exc:
            raise unreachable(client.endpoint, exc) from None
        client.host_info = client.hello()
        if not client.trusted:
            _raise_auth(client, "still not trusted after presenting the secret", "untrusted")
        return fp


def _raise_auth(client: LxdClient, message: str, host_message: str) -> NoReturn:
    raise base.DriverAuthError(f"LXD at {client.address}: {message}", host_message=host_message)


def trust_with_token(connection: base.HostConnection, token: str) -> str:
    """Present a trust token (``lxc config trust add --name vmhost``) once; the fingerprint.

    Recommended over passwords. The token is used once and stored nowhere.
    """
    return _trust(connection, token.strip(), token=True)


def trust_with_password(connection: base.HostConnection, password: str) -> str:
    """Present ``core.trust_password`` once; the fingerprint now trusted.

    Not recommended: LXD 6.1 removed trust passwords, and a password lets anyone who learns it
    add certificates. Prefer the certificate (``lxc config trust add``) or a trust token.
    The password is used once and stored nowhere.
    """
    return _trust(connection, password, token=False)
