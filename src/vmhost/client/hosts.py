"""``client.hosts``: VM hosts (MAAS's vm-hosts) and what each one has."""

from __future__ import annotations

import builtins

from vmhost import schemas

from .base import Manager, P, seg
from .errors import build


class HostsManager(Manager):
    """``/api/v1/vm-hosts``."""

    def list(self) -> builtins.list[schemas.VmHost]:
        """Every VM host."""
        return self._list(f"{P}/vm-hosts", schemas.VmHost)

    def get(self, key: int | str) -> schemas.VmHost:
        """One host by id or name."""
        return self._get(f"{P}/vm-hosts/{seg(key)}", schemas.VmHost)

    def create(self, body: schemas.VmHostCreate) -> schemas.VmHost:
        """Add a host and discover it."""
        return self._send("POST", f"{P}/vm-hosts", schemas.VmHost, body)

    def start_create(self, body: schemas.VmHostCreate) -> schemas.Operation:
        """Add a host in the background."""
        return self._start("POST", f"{P}/vm-hosts", body)

    def update(self, key: int | str, body: schemas.VmHostUpdate) -> schemas.VmHost:
        """Change a host (keys not given keep their values)."""
        return self._send("PUT", f"{P}/vm-hosts/{seg(key)}", schemas.VmHost, body)

    def delete(self, key: int | str, decompose: bool | None = None) -> schemas.Deleted:
        """Remove a host (``decompose`` when it has VMs composed by vmhost)."""
        path = f"{P}/vm-hosts/{seg(key)}"
        return self._send("DELETE", path, schemas.Deleted, decompose=decompose)

    def start_delete(self, key: int | str, decompose: bool | None = None) -> schemas.Operation:
        """Remove a host in the background."""
        return self._start("DELETE", f"{P}/vm-hosts/{seg(key)}", decompose=decompose)

    def refresh(self, key: int | str) -> schemas.VmHost:
        """Rediscover a host."""
        return self._send("POST", f"{P}/vm-hosts/{seg(key)}/refresh", schemas.VmHost)

    def start_refresh(self, key: int | str) -> schemas.Operation:
        """Rediscover a host in the background."""
        return self._start("POST", f"{P}/vm-hosts/{seg(key)}/refresh")

    def compose(self, key: int | str, body: schemas.ComposeBody) -> schemas.ComposeResult:
        """Compose a VM on this host (``client.vms.compose`` picks the best host)."""
        path = f"{P}/vm-hosts/{seg(key)}/compose"
        return self._send("POST", path, schemas.ComposeResult, body)

    def start_compose(self, key: int | str, body: schemas.ComposeBody) -> schemas.Operation:
        """Compose on this host in the background."""
        return self._start("POST", f"{P}/vm-hosts/{seg(key)}/compose", body)

    def parameters(self, key: int | str) -> schemas.Parameters:
        """Connection parameters with secrets (admin)."""
        return self._get(f"{P}/vm-hosts/{seg(key)}/parameters", schemas.Parameters)

    def add_tag(self, key: int | str, tag: str) -> schemas.VmHost:
        """Add a tag."""
        body = build(schemas.TagRequest, tag=tag)
        return self._send("POST", f"{P}/vm-hosts/{seg(key)}/add-tag", schemas.VmHost, body)

    def remove_tag(self, key: int | str, tag: str) -> schemas.VmHost:
        """Remove a tag."""
        body = build(schemas.TagRequest, tag=tag)
        return self._send("POST", f"{P}/vm-hosts/{seg(key)}/remove-tag", schemas.VmHost, body)

    def certificate(self, key: int | str) -> schemas.Certificate:
        """An LXD host's client certificate and trust command."""
        return self._get(f"{P}/vm-hosts/{seg(key)}/certificate", schemas.Certificate)

    def certificate_pem(self, name: str) -> str:
        """The PEM from the unauthenticated URL."""
        return self._transport.request("GET", f"/vmhost-certificate/{seg(name)}").text

    def projects(self, key: int | str) -> builtins.list[schemas.Project]:
        """The host's LXD projects."""
        return self._list(f"{P}/vm-hosts/{seg(key)}/projects", schemas.Project)

    def resources(self, key: int | str) -> schemas.NumaResources:
        """Per-NUMA resources."""
        return self._get(f"{P}/vm-hosts/{seg(key)}/resources", schemas.NumaResources)

    def storage_pools(self, key: int | str) -> builtins.list[schemas.StoragePoolDetail]:
        """Storage pools with the split."""
        path = f"{P}/vm-hosts/{seg(key)}/storage-pools"
        return self._list(path, schemas.StoragePoolDetail)
