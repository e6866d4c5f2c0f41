"""vmhost as a Juju ``maas`` cloud: the ``clouds.yaml`` and ``credentials.yaml`` a Juju user
gives to ``juju add-cloud -f`` and ``juju add-credential -f`` (pure; the CLI's ``vmhost maas
cloud-yaml`` and the charm's ``maas-credentials`` action print them).

The MAAS API key is ``consumer:token:secret`` made from a vmhost token: the token's name, its
id and the token itself (a vmhost token never contains ``:``); ``src/vmhost/maas/auth.py``
checks it. Juju reaches the API at ``<endpoint>/api/2.0/``, so the endpoint is the server's URL
with ``/MAAS`` appended (Juju would take a bare host name to mean port 80).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import urllib.parse

import yaml

MAAS_PATH = "/MAAS"
DEFAULT_CLOUD = "vmhost"


class CloudError(ValueError):
    """A value that cannot go into the cloud definition (the message names it)."""


@dataclasses.dataclass(frozen=True, slots=True)
class JujuCloud:
    """The two files, as text."""

    cloud: str
    endpoint: str
    clouds_yaml: str
    credentials_yaml: str


def maas_key(token_name: str, token_id: int, token: str) -> str:
    """The MAAS API key (``maas-oauth``) of a vmhost token."""
    for what, value in (("token name", token_name), ("token", token)):
        if not value or ":" in value:
            raise CloudError(f"the {what} must be non-empty and free of ':'")
    return f"{token_name}:{token_id}:{token}"


def endpoint(url: str) -> str:
    """``http://ADDRESS:PORT/MAAS`` from the server's URL (or a bare ``ADDRESS:PORT``)."""
    text = url.strip().rstrip("/")
    if "://" not in text:
        text = f"http://{text}"
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port
    except ValueError:
        raise CloudError(f"address {url!r} is not ADDRESS[:PORT] or a URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CloudError(f"address {url!r} is not ADDRESS[:PORT] or an http(s) URL")
    path = parts.path.removesuffix(MAAS_PATH)
    host = parts.hostname
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, f"{path}{MAAS_PATH}", "", ""))


def is_loopback(url: str) -> bool:
    """Whether the endpoint's host is a loopback address (unreachable from the VMs)."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def juju_cloud(
    url: str, key: str, *, cloud: str = DEFAULT_CLOUD, credential: str | None = None
) -> JujuCloud:
    """Both files for the vmhost at ``url`` with the MAAS key ``key``."""
    if not cloud or any(c.isspace() or c in ":/" for c in cloud):
        raise CloudError(f"cloud name {cloud!r} must be one word without ':' or '/'")
    if key.count(":") != 2:
        raise CloudError("the MAAS key must be consumer:token:secret (exactly two ':')")
    url_maas = endpoint(url)
    clouds = {
        "clouds": {
            cloud: {
                "type": "maas",
                "description": "VMs composed on demand by vmhost",
                "auth-types": ["oauth1"],
                "endpoint": url_maas,
            }
        }
    }
    credentials = {
        "credentials": {
            cloud: {credential or f"{cloud}-oauth": {"auth-type": "oauth1", "maas-oauth": key}}
        }
    }
    return JujuCloud(
        cloud=cloud,
        endpoint=url_maas,
        clouds_yaml=yaml.safe_dump(clouds, sort_keys=False),
        credentials_yaml=yaml.safe_dump(credentials, sort_keys=False),
    )
