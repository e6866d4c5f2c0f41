"""Use cases on VM hosts: add, update, refresh, delete, and reading them."""

from __future__ import annotations

import builtins
import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from vmhost import model, pki, store
from vmhost.drivers import base, registry
from vmhost.model import host_options, resources
from vmhost.model.accounting import HostView

from . import accounts, host_sync
from .certificates import CertificatesService
from .context import Context

log = logging.getLogger("vmhost.service.hosts")


@dataclasses.dataclass(frozen=True, slots=True)
class HostDetail:
    """A host's record, and its inventory and accounts, as every surface shows them."""

    host: model.Host
    view: HostView


@dataclasses.dataclass(frozen=True, slots=True)
class Counts:
    """Totals for metrics: (status, type, hosts) and (origin, state, VMs)."""

    hosts: list[tuple[str, str, int]]
    vms: list[tuple[str, str, int]]


class HostsService:
    """Add, change, refresh and remove VM hosts."""

    def __init__(self, ctx: Context, certificates: CertificatesService | None = None) -> None:
        self.ctx = ctx
        self.certificates = certificates or CertificatesService(ctx)

    # -- reading ------------------------------------------------------------------------

    def get(self, host_id: int) -> HostDetail:
        """One host, from one read of its row."""
        with self.ctx.db.read() as conn:
            return HostDetail(*store.hosts.detail(conn, host_id))

    def list(self) -> builtins.list[HostDetail]:
        """Every host, by id, from one read of the host rows (the list endpoint's hot path)."""
        with self.ctx.db.read() as conn:
            return [HostDetail(h, v) for h, v in store.hosts.details(conn)]

    def host_id_by_name(self, name: str) -> int:
        """A host's id from its name (NotFoundError naming it)."""
        with self.ctx.db.read() as conn:
            return store.hosts.host_id_by_name(conn, name)

    def names(self, host_ids: Sequence[int] | None = None) -> dict[int, str]:
        """{host id: name}, cheaply (no inventory)."""
        with self.ctx.db.read() as conn:
            return store.catalog.host_names(conn, host_ids)

    def counts(self) -> Counts:
        """Hosts by status and type, VMs by origin and state."""
        with self.ctx.db.read() as conn:
            return Counts(*store.hosts.counts(conn))

    def parameters(self, host_id: int) -> dict[str, Any]:
        """Every connection parameter, secrets included (admin only)."""
        c = self.ctx.connection(host_id)
        with self.ctx.db.read() as conn:
            options = store.hosts.credentials(conn, host_id).get("options") or {}
        return {
            "options": dict(options),
            "type": c.type.value,
            "power_address": c.address,
            "project": c.project,
            "certificate": c.client_cert_pem,
            "key": c.client_key_pem,
            "server_certificate": c.server_cert_pem,
            "password": c.password,
        }

    def projects(self, host_id: int) -> builtins.list[resources.Project]:
        """The host's projects (LXD) with their use; [] for hosts without projects."""
        with self.ctx.db.read() as conn:
            store.hosts.host(conn, host_id)
        try:
            with self.ctx.driver(host_id) as driver:
                return builtins.list(driver.list_projects())
        except base.DriverError as exc:
            raise model.HostProblemError(f"cannot list projects: {exc}") from exc

    # -- adding and changing -----------------------------------------------------------------

    def add(
        self,
        settings: model.HostSettings,
        *,
        client_cert_pem: str = "",
        client_key_pem: str = "",
        server_cert_pem: str = "",
        password: str = "",
        trust_token: str = "",
        options: Mapping[str, Any] | None = None,
        refresh: bool = True,
    ) -> HostDetail:
        """Register a host, then discover it.

        LXD: without an imported pair, vmhost generates the host's own key and certificate; an
        imported pair must match and have no passphrase. The server certificate is pinned on
        first contact. A trust token (or, not recommended, the trust password) is used once to
        get the certificate trusted and never stored. A host that answers but does not trust
        us yet is kept, with its status and the host's own error (as MAAS did), so the
        operator can trust the certificate and refresh; one that does not answer is not added.
        """
        address = registry.normalise_address(settings.type, settings.address)  # before all
        options = host_options.parse(settings.type, options or {})
        settings = dataclasses.replace(settings, address=address)
        if settings.type is model.HostType.LXD and not settings.project:
            settings = dataclasses.replace(settings, project="default")
        if settings.type is model.HostType.LXD:
            pair = self.certificates.pair_for(settings.name, client_cert_pem, client_key_pem)
            client_cert_pem, client_key_pem = pair.certificate_pem, pair.key_pem
        with self.ctx.db.read() as conn:
            _check_names(conn, settings.zone, settings.pool)
            store.hosts.check_name_free(conn, settings.name)
        connection = base.HostConnection(
            type=settings.type,
            address=settings.address,
            name=settings.name,
            project=settings.project,
            client_cert_pem=client_cert_pem,
            client_key_pem=client_key_pem,
            server_cert_pem=server_cert_pem,
        )
        if settings.type is model.HostType.LXD and not server_cert_pem:
            try:
                server_cert_pem, fp = self.ctx.fetch_server_certificate(connection)
                log.info("pinned the certificate of %s (sha256 %s)", address, fp)
            except base.DriverError as exc:
                raise model.HostProblemError(str(exc)) from exc
            connection = dataclasses.replace(connection, server_cert_pem=server_cert_pem)
        if trust_token or (password and settings.type is model.HostType.LXD):
            try:
                self.ctx.trust(connection, token=trust_token, password=password)
            except base.DriverError as exc:
                raise model.HostProblemError(
                    f"could not get the certificate trusted: {exc}"
                ) from exc
            if settings.type is model.HostType.LXD:
                password = ""  # used once, never stored
        creds = {
            "client_cert_pem": client_cert_pem,
            "client_key_sealed": self.ctx.seal(client_key_pem),
            "server_cert_pem": server_cert_pem,
            "password_sealed": self.ctx.seal(password),
            "options": options,
        }
        with self.ctx.db.write() as conn:
            _check_names(conn, settings.zone, settings.pool)
            host_id = store.hosts.insert_host(conn, settings, creds)
        shown = registry.redact_address(address)  # a libvirt URI may hold a password
        log.info("added VM host %s (%s %s)", settings.name, settings.type.value, shown)
        if refresh:
            try:
                detail = self.refresh(host_id, raise_errors=False)
            except BaseException:
                self._forget(host_id)  # a failed add leaves nothing
                raise
            if detail.host.status in (model.HostStatus.UNREACHABLE, model.HostStatus.ERROR):
                # An address that does not answer is bad input: nothing is kept.
                self._forget(host_id)
                raise model.HostProblemError(detail.host.last_error)
        with self.ctx.db.write() as conn:
            # after the refresh, so that the statistics describe the host as it is kept
            store.hosts.keep_statistics(conn)
        return self.get(host_id)

    def _forget(self, host_id: int) -> None:
        """Remove a host that was just added (its records only: nothing was composed)."""
        with self.ctx.db.write() as conn:
            store.hosts.delete_host(conn, host_id)

    def update(self, host_id: int, changes: model.HostChanges) -> HostDetail:
        """Change settings and credentials; validation first, nothing changes on bad input. A
        new address, password or client certificate is tried at once (the host is refreshed;
        it keeps the change either way)."""
        if changes.type is not model.UNSET:
            with self.ctx.db.read() as conn:
                current = store.hosts.host(conn, host_id).type
            if changes.type != current:
                raise model.InvalidInputError.for_field(
                    "type",
                    "Cannot change the type of a VM host. Delete it and add it again with the "
                    "other type.",
                )
        accounts.with_cas_retry(self.ctx.db, lambda conn: self._apply(conn, host_id, changes))
        if changes.reconnects:
            return self.refresh(host_id, raise_errors=False)
        return self.get(host_id)

    def _apply(self, conn: store.Connection, host_id: int, changes: model.HostChanges) -> None:
        host, view = store.hosts.detail(conn, host_id, spaces={})
        settings = changes.applied_to(host.settings())
        if isinstance(changes.address, str):  # checked before anything is written
            address = registry.normalise_address(settings.type, changes.address)
            settings = dataclasses.replace(settings, address=address)
        _check_names(conn, settings.zone, settings.pool)
        _check_reserved(view, settings)
        pool = settings.default_storage_pool
        if pool is not None and pool != host.default_storage_pool and not view.storage_pool(pool):
            names = ", ".join(p.name for p in view.pools) or "none"
            raise model.InvalidInputError.for_field(
                "default_storage_pool", f"no storage pool {pool!r} on this host (pools: {names})"
            )
        if settings.name != host.name:
            store.hosts.check_name_free(conn, settings.name, except_id=host_id)
        values = store.rows.settings_values(settings)
        values["zone_id"] = store.catalog.named_id(conn, "zone", settings.zone)
        values["pool_id"] = store.catalog.named_id(conn, "pool", settings.pool)
        new_view = dataclasses.replace(
            view,
            cpu_over_commit_ratio=settings.cpu_over_commit_ratio,
            memory_over_commit_ratio=settings.memory_over_commit_ratio,
            reserved_cores=settings.reserved_cores,
            reserved_memory_mib=settings.reserved_memory_mib,
            default_pool=settings.default_storage_pool,
        )
        values.update(accounts.usage_values(new_view, view.usage))
        store.hosts.cas_update_host(conn, host_id, view.generation, values)
        secrets = self._sealed_credentials(conn, host, changes)
        if secrets:
            store.hosts.update_credentials(conn, host_id, secrets)

    def _sealed_credentials(
        self, conn: store.Connection, host: model.Host, changes: model.HostChanges
    ) -> dict[str, Any]:
        """The credential columns a change sets (secrets sealed); the pair is checked; options
        are merged into the stored ones (a key set to None is removed)."""
        host_id = host.id
        values: dict[str, Any] = {}
        if isinstance(changes.password, str):
            values["password_sealed"] = self.ctx.seal(changes.password)
        if isinstance(changes.client_key_pem, str):
            values["client_key_sealed"] = self.ctx.seal(changes.client_key_pem)
        if isinstance(changes.client_cert_pem, str):
            values["client_cert_pem"] = changes.client_cert_pem
        if isinstance(changes.server_cert_pem, str):
            values["server_cert_pem"] = changes.server_cert_pem
        if isinstance(changes.options, dict):
            given = host_options.parse(host.type, changes.options, removals=True)
            stored_options = store.hosts.credentials(conn, host_id).get("options") or {}
            values["options"] = host_options.merged(stored_options, given)
        if "client_key_sealed" in values or "client_cert_pem" in values:
            stored = store.hosts.credentials(conn, host_id)
            cert = values.get("client_cert_pem", stored.get("client_cert_pem", ""))
            key = changes.client_key_pem if isinstance(changes.client_key_pem, str) else ""
            key = key or self.ctx.unseal(stored.get("client_key_sealed", ""))
            pki.load_pair(cert, key)  # field errors: passphrase, mismatch, not PEM
        return values

    def add_tag(self, host_id: int, tag: str) -> HostDetail:
        """Add a tag (no-op when present)."""
        model.validate_tag(tag)
        tags = self.get(host_id).host.tags
        return self.update(host_id, model.HostChanges(tags=tags if tag in tags else (*tags, tag)))

    def remove_tag(self, host_id: int, tag: str) -> HostDetail:
        """Remove a tag (no-op when absent)."""
        tags = tuple(t for t in self.get(host_id).host.tags if t != tag)
        return self.update(host_id, model.HostChanges(tags=tags))

    # -- refresh and delete ------------------------------------------------------------------

    def refresh(self, host_id: int, raise_errors: bool = True) -> HostDetail:
        """Discover the host and bring records and accounts in line with what it has."""
        host_sync.refresh(self.ctx, host_id, raise_errors)
        return self.get(host_id)

    def delete(self, host_id: int, decompose: bool | None = None) -> builtins.list[str]:
        """Remove a host. With VMs composed here, say whether to decompose them (True) or leave
        them on the host (False); returns the errors met while decomposing."""
        with self.ctx.db.read() as conn:
            store.hosts.host(conn, host_id)
            composed = store.vms.list_vms(conn, host_id, origin=model.VmOrigin.COMPOSED)
        if composed and decompose is None:
            raise model.InvalidInputError.for_field(
                "decompose",
                f"the VM host has {len(composed)} VM(s) composed by vmhost: pass decompose=true "
                "to delete them with the host, or decompose=false to leave them on the hypervisor",
            )
        errors: builtins.list[str] = []
        if composed and decompose:
            with self.ctx.driver(host_id) as driver:
                for vm, _ in composed:
                    try:
                        driver.decompose(vm.name, vm.disks)
                    except base.DriverError as exc:
                        errors.append(f"{vm.name}: {exc}")
        with self.ctx.db.write() as conn:
            store.hosts.delete_host(conn, host_id)
        return errors


def _check_names(conn: store.Connection, zone: str | None, pool: str | None) -> None:
    errors = accounts.unknown_names(conn, (("zone", zone), ("pool", pool)))
    if errors:
        first = next(iter(errors.values()))[0]
        raise model.InvalidInputError(first, errors)


def _check_reserved(view: HostView, settings: model.HostSettings) -> None:
    if view.cores and settings.reserved_cores > view.cores:
        raise model.InvalidInputError.for_field(
            "reserved_cores",
            f"{settings.reserved_cores} reserved cores is more than the host's {view.cores}",
        )
    if view.memory_mib and settings.reserved_memory_mib > view.memory_mib:
        raise model.InvalidInputError.for_field(
            "reserved_memory_mib",
            f"{settings.reserved_memory_mib} MiB reserved is more than the host's "
            f"{view.memory_mib} MiB",
        )
