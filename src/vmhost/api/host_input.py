"""The vm-host request bodies as the service's typed input: ``VmHostCreate`` to
``model.HostSettings`` (with the server's defaults) and ``VmHostUpdate`` to
``model.HostChanges``. Bad input raises ``InvalidInputError`` naming the field, before anything
is started."""

from __future__ import annotations

import re
import secrets
import urllib.parse
from typing import TypeVar

from vmhost import model, pki, schemas
from vmhost.service import Services

from . import convert

T = TypeVar("T")
_NOT_NAME = re.compile(r"[^a-zA-Z0-9._-]+")


def host_type(maas_type: str) -> model.HostType:
    """The driver of a MAAS vm-host type (``lxd``, ``virsh``)."""
    return model.HostType(schemas.DRIVER_FOR_TYPE[maas_type])


def default_name(address: str) -> str:
    """A new host's name when none is given: from the address's host name."""
    try:
        parsed = urllib.parse.urlsplit(address if "://" in address else f"//{address}")
    except ValueError:  # not a URL: the service refuses the address, naming the field
        return f"vmhost-{secrets.token_hex(3)}"
    base = _NOT_NAME.sub("-", parsed.hostname or parsed.path or "").strip("-._")[:50]
    return base or f"vmhost-{secrets.token_hex(3)}"


def server_certificate(kind: model.HostType, pem: str | None) -> str:
    """An LXD server certificate given to pin: checked to be one PEM certificate."""
    if not pem:
        return ""
    if kind is not model.HostType.LXD:
        raise model.InvalidInputError.for_field(
            "server_certificate", "only LXD hosts have a server certificate to pin"
        )
    try:
        pki.fingerprint(pem)
    except (pki.PkiError, ValueError):
        raise model.InvalidInputError.for_field(
            "server_certificate", "not a PEM certificate (-----BEGIN CERTIFICATE-----)"
        ) from None
    return pem


def _or_default(ratio: float | None, default: float) -> float:
    """A new host's over-commit ratio: the one given, else the server's default (settings)."""
    return default if ratio is None else ratio


def settings(body: schemas.VmHostCreate, svc: Services) -> model.HostSettings:
    """A new host's settings; absent keys take the server's defaults."""
    kind = host_type(body.type)
    address = body.the_address
    defaults = svc.ctx.settings
    settings = model.HostSettings(
        name=body.name if body.name is not None else default_name(address),
        type=kind,
        address=address,
        zone=body.zone or model.DEFAULT_ZONE,
        pool=body.pool or model.DEFAULT_POOL,
        tags=convert.tags(body.tags) or (),
        cpu_over_commit_ratio=_or_default(
            body.cpu_over_commit_ratio, defaults.default_cpu_over_commit_ratio
        ),
        memory_over_commit_ratio=_or_default(
            body.memory_over_commit_ratio, defaults.default_memory_over_commit_ratio
        ),
        reserved_cores=body.reserved_cores,
        reserved_memory_mib=body.reserved_memory_mib,
        default_storage_pool=body.default_storage_pool,
        default_macvlan_mode=body.default_macvlan_mode,
        project=body.project
        if body.project is not None
        else ("default" if kind is model.HostType.LXD else ""),
    )
    if body.password and body.power_pass and body.password != body.power_pass:
        raise model.InvalidInputError.for_field(
            "power_pass", "give the password once, as password (LXD) or power_pass (virsh)"
        )
    return settings


def _given(value: T | None) -> T | model.Unset:
    """A key of the body: None (not given) keeps the host's value."""
    return model.UNSET if value is None else value


def changes(body: schemas.VmHostUpdate, current: model.Host, svc: Services) -> model.HostChanges:
    """What an update changes; keys not given are ``UNSET`` (kept)."""
    password = body.password if body.password is not None else body.power_pass
    creds = None
    if body.certificate is not None or body.key is not None:
        creds = svc.certificates.client_credentials(
            current.type, body.certificate or "", body.key or ""
        )
    return model.HostChanges(
        type=_given(host_type(body.type) if body.type else None),
        name=_given(body.name),
        address=_given(body.power_address or body.address),
        zone=_given(body.zone),
        pool=_given(body.pool),
        tags=_given(convert.tags(body.tags)),
        cpu_over_commit_ratio=_given(body.cpu_over_commit_ratio),
        memory_over_commit_ratio=_given(body.memory_over_commit_ratio),
        reserved_cores=_given(body.reserved_cores),
        reserved_memory_mib=_given(body.reserved_memory_mib),
        default_storage_pool=_given(body.default_storage_pool),
        default_macvlan_mode=body.default_macvlan_mode
        if "default_macvlan_mode" in body.model_fields_set
        else model.UNSET,
        project=_given(body.project),
        password=_given(password),
        client_cert_pem=creds.certificate_pem if creds else model.UNSET,
        client_key_pem=creds.key_pem if creds else model.UNSET,
        options=model.UNSET if body.options is None else dict(body.options),
    )
