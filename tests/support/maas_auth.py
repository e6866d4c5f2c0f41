"""The ``Authorization: OAuth`` headers the two real MAAS clients send, made from a MAAS API key
(``NAME:ID:TOKEN``): shared by the functional and driver tests and ``bench/bench_maas.py``."""

from __future__ import annotations

import secrets
import time
import urllib.parse


def go_header(key: str) -> str:
    """The header gomaasapi sends (``oauth.go``): values ``url.QueryEscape``d, realm
    ``MAAS+API``, signature ``%26<secret>``."""
    consumer, token, secret = key.split(":", 2)
    params = {
        "oauth_nonce": secrets.token_hex(8),
        "oauth_signature_method": "PLAINTEXT",
        "oauth_version": "1.0",
        "realm": "MAAS API",
        "oauth_consumer_key": consumer,
        "oauth_token": token,
        "oauth_signature": "&" + secret,
        "oauth_timestamp": str(int(time.time())),
    }
    quoted = (f'{k}="{urllib.parse.quote_plus(v)}"' for k, v in params.items())
    return "OAuth " + ", ".join(quoted)


def libmaas_header(key: str) -> str:
    """The header python-libmaas sends (oauthlib PLAINTEXT, RFC 3986 percent-encoding)."""
    consumer, token, secret = key.split(":", 2)
    pairs = [
        ("realm", "OAuth"),
        ("oauth_nonce", secrets.token_hex(8)),
        ("oauth_timestamp", str(int(time.time()))),
        ("oauth_version", "1.0"),
        ("oauth_signature_method", "PLAINTEXT"),
        ("oauth_consumer_key", consumer),
        ("oauth_token", token),
        ("oauth_signature", "&" + secret),
    ]
    return "OAuth " + ", ".join(f'{k}="{urllib.parse.quote(v, safe="")}"' for k, v in pairs)
