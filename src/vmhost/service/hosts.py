"""Use cases on VM hosts: add, update, refresh, delete, and their views."""

from __future__ import annotations

import builtins
import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from vmhost import model, pki, store
from vmhost.drivers import base
from vmhost.model.accounting import HostUsage, HostView, NodeView

from . import accounts
from .context import Context

log = logging.getLogger("vmhost.service.hosts")

SETTABLE = {
    "name",
    "address",
    "zone",
    "pool",
    "tags",
    "cpu_over_commit_ratio",
    "memory_over_commit_ratio",
    "reserved_cores",
    "reserved_memory_mib",
    "default_storage_pool",
    "default_macvlan_mode",
    "project",
}
SECRET_FIELDS = {"password", "client_key_pem", "client_cert_pem", "server_cert_pem", "options"}


@dataclasses.dataclass(frozen=True, slots=True)
class HostDetail:
    """A host's settings, inventory and accounts, as every surface shows them."""

    row: Mapping[str, Any]
    view: HostView


def _driver_error(exc: base.DriverError) -> tuple[model.HostStatus, str]:
    if isinstance(exc, base.DriverAuthError):
        return model.HostStatus.UNTRUSTED, str(exc)
    if isinstance(exc, base.DriverConnectionError):
        return model.HostStatus.UNREACHABLE, str(exc)
    return model.HostStatus.ERROR, str(exc)


class HostsService:
    """Add, change, refresh and remove VM hosts."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    # -- reading ------------------------------------------------------------------------

    def get(self, host_id: int) -> HostDetail:
        """One host, from one read of its row."""
        with self.ctx.db.read() as conn:
            row = store.hosts.host_row(conn, host_id)
            spaces = store.hosts.space_map(conn)
        return HostDetail(row, store.hosts.view_from_row(row, spaces))

    def list(self) -> builtins.list[HostDetail]:
        """Every host, by id, from one read of the host rows (the list endpoint's hot path)."""
        with self.ctx.db.read() as conn:
            rows = store.hosts.host_rows(conn)
            spaces = store.hosts.space_map(conn)
        return [HostDetail(r, store.hosts.view_from_row(r, spaces)) for r in rows]

    def resolve(self, key: int | str) -> int:
        """A host id from an id or a name."""
        if isinstance(key, int):
            return key
        if key.isascii() and key.isdigit() and len(key) < 19:
            return int(key)
        with self.ctx.db.read() as conn:
            return store.hosts.host_id_by_name(conn, key)

    def parameters(self, host_id: int) -> dict[str, Any]:
        """Every connection parameter, secrets included (admin only)."""
        c = self.ctx.connection(host_id)
        return {
            "type": c.type.value,
            "power_address": c.address,
            "project": c.project,
            "certificate": c.client_cert_pem,
            "key": c.client_key_pem,
            "server_certificate": c.server_cert_pem,
            "password": c.password,
        }

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
        get the certificate trusted and never stored. A discovery failure keeps the host, with
        its status and the host's own error (as MAAS did), so the operator can trust the
        certificate and refresh.
        """
        if settings.type is model.HostType.LXD and not settings.project:
            settings = dataclasses.replace(settings, project="default")
        if settings.type is model.HostType.LXD:
            client_cert_pem, client_key_pem = self._client_pair(
                settings, client_cert_pem, client_key_pem
            )
        with self.ctx.db.read() as conn:
            self._check_names(conn, settings.zone, settings.pool)
            if conn.execute(
                sa.select(store.tables.hosts.c.id).where(
                    store.tables.hosts.c.name == settings.name
                )
            ).first():
                raise model.ConflictError(f"a VM host named {settings.name!r} already exists")
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
                log.info("pinned the certificate of %s (sha256 %s)", settings.address, fp)
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
            "options": dict(options or {}),
        }
        with self.ctx.db.write() as conn:
            self._check_names(conn, settings.zone, settings.pool)
            host_id = store.hosts.insert_host(conn, settings, creds)
        log.info("added VM host %s (%s %s)", settings.name, settings.type.value, settings.address)
        if refresh:
            detail = self.refresh(host_id, raise_errors=False)
            if detail.row["status"] in (model.HostStatus.UNREACHABLE, model.HostStatus.ERROR):
                # An address that does not answer is bad input: nothing is kept (DESIGN §8). A host
                # that answers but does not trust us yet is kept, so the operator can trust the
                # certificate shown and refresh.
                with self.ctx.db.write() as conn:
                    store.hosts.delete_host(conn, host_id)
                raise model.HostProblemError(detail.row["last_error"])
        return self.get(host_id)

    def _client_pair(
        self, settings: model.HostSettings, cert_pem: str, key_pem: str
    ) -> tuple[str, str]:
        if bool(cert_pem) != bool(key_pem):
            missing = "key" if cert_pem else "certificate"
            raise model.InvalidInputError.for_field(
                missing,
                f"import both the certificate and its private key (the {missing} is missing)",
            )
        if cert_pem:
            pki.load_pair(cert_pem, key_pem)  # raises field errors: passphrase, mismatch, not PEM
            return cert_pem, key_pem
        pair = pki.generate(pki.client_cn(settings.name, self.ctx.settings.manager_name))
        return pair.certificate_pem, pair.key_pem

    def _check_names(self, conn: sa.Connection, zone: str | None, pool: str | None) -> None:
        errors = accounts.unknown_names(conn, (("zone", zone), ("pool", pool)))
        if errors:
            first = next(iter(errors.values()))[0]
            raise model.InvalidInputError(first, errors)

    def update(self, host_id: int, changes: Mapping[str, Any]) -> HostDetail:
        """Change settings; validation first, nothing changes on bad input."""
        if "type" in changes:
            with self.ctx.db.read() as conn:
                current = store.hosts.host_row(conn, host_id)["type"]
            if changes["type"] != current:
                raise model.InvalidInputError.for_field(
                    "type",
                    "Cannot change the type of a VM host. Delete it and add it again with the "
                    "other type.",
                )
        _check_types(changes)
        unknown = set(changes) - SETTABLE - SECRET_FIELDS - {"type"}
        if unknown:
            raise model.InvalidInputError(
                f"unknown field(s): {', '.join(sorted(unknown))}",
                {k: ["unknown field"] for k in sorted(unknown)},
            )

        def work(conn: sa.Connection) -> None:
            row = store.hosts.host_row(conn, host_id)
            view = store.hosts.load_view(conn, host_id, spaces={})
            merged = {k: row[k] for k in SETTABLE}
            merged["tags"] = tuple(row["tags"])
            merged.update({k: v for k, v in changes.items() if k in SETTABLE})
            if isinstance(merged["tags"], list):
                merged["tags"] = tuple(merged["tags"])
            settings = model.HostSettings(type=model.HostType(row["type"]), **merged)
            self._check_names(conn, settings.zone, settings.pool)
            _check_reserved(view, settings)
            pool = settings.default_storage_pool
            if (
                pool is not None
                and pool != row["default_storage_pool"]
                and not view.storage_pool(pool)
            ):
                names = ", ".join(p.name for p in view.pools) or "none"
                raise model.InvalidInputError.for_field(
                    "default_storage_pool",
                    f"no storage pool {pool!r} on this host (pools: {names})",
                )
            if (
                settings.name != row["name"]
                and conn.execute(
                    sa.select(store.tables.hosts.c.id).where(
                        store.tables.hosts.c.name == settings.name
                    )
                ).first()
            ):
                raise model.ConflictError(f"a VM host named {settings.name!r} already exists")
            values: dict[str, Any] = {
                k: getattr(settings, k) for k in SETTABLE if k not in ("zone", "pool", "tags")
            }
            values["tags"] = list(settings.tags)
            values["zone_id"] = store.hosts.named_id(conn, "zone", settings.zone)
            values["pool_id"] = store.hosts.named_id(conn, "pool", settings.pool)
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
            secrets = {
                "password_sealed": self.ctx.seal(changes["password"])
                if "password" in changes
                else None,
                "client_key_sealed": self.ctx.seal(changes["client_key_pem"])
                if "client_key_pem" in changes
                else None,
                "client_cert_pem": changes.get("client_cert_pem"),
                "server_cert_pem": changes.get("server_cert_pem"),
                "options": changes.get("options"),
            }
            secrets = {k: v for k, v in secrets.items() if v is not None}
            if "client_key_pem" in changes or "client_cert_pem" in changes:
                stored = store.hosts.credentials(conn, host_id)
                cert = changes.get("client_cert_pem", stored.get("client_cert_pem", ""))
                key = changes.get("client_key_pem") or self.ctx.unseal(
                    stored.get("client_key_sealed", "")
                )
                pki.load_pair(cert, key)  # field errors: passphrase, mismatch, not PEM
            if secrets:
                store.hosts.update_credentials(conn, host_id, secrets)

        accounts.with_cas_retry(self.ctx.db, work)
        return self.get(host_id)

    def add_tag(self, host_id: int, tag: str) -> HostDetail:
        """Add a tag (no-op when present)."""
        model.validate_tag(tag)
        tags = list(self.get(host_id).row["tags"])
        if tag not in tags:
            tags.append(tag)
        return self.update(host_id, {"tags": tuple(tags)})

    def remove_tag(self, host_id: int, tag: str) -> HostDetail:
        """Remove a tag (no-op when absent)."""
        tags = [t for t in self.get(host_id).row["tags"] if t != tag]
        return self.update(host_id, {"tags": tuple(tags)})

    # -- refresh ---------------------------------------------------------------------------

    def refresh(self, host_id: int, raise_errors: bool = True) -> HostDetail:
        """Discover the host and bring records and accounts in line with what it has."""
        with self.ctx.db.write() as conn:
            store.hosts.host_row(conn, host_id)
            store.hosts.set_status(conn, host_id, model.HostStatus.REFRESHING)
        driver: base.HostDriver | None = None
        try:
            driver = self.ctx.driver(host_id)
            inventory = driver.discover()
        except base.DriverError as exc:
            status, message = _driver_error(exc)
            with self.ctx.db.write() as conn:
                store.hosts.set_status(conn, host_id, status, message)
            log.warning("refresh of VM host %s failed: %s", host_id, message)
            if raise_errors:
                raise model.HostProblemError(message) from exc
            return self.get(host_id)
        finally:
            if driver is not None:
                driver.close()
        try:
            accounts.with_cas_retry(self.ctx.db, lambda conn: self._sync(conn, host_id, inventory))
        except Exception as exc:
            # never leave a host "refreshing": say what failed, then let the caller know
            with self.ctx.db.write() as conn:
                store.hosts.set_status(
                    conn, host_id, model.HostStatus.ERROR, f"refresh failed: {exc}"
                )
            log.exception("refresh of VM host %s failed while recording what it found", host_id)
            if raise_errors or not isinstance(exc, model.VmHostError):
                raise
        return self.get(host_id)

    def _sync(self, conn: sa.Connection, host_id: int, inv: model.HostInventory) -> None:
        view = store.hosts.load_view(conn, host_id, spaces={})
        # The new inventory, with the old usage: adopted allocations are computed against it.
        found = {(vm.project, vm.name): vm for vm in inv.vms}
        provisional = dataclasses.replace(
            view,
            cores=inv.cores,
            memory_mib=inv.memory_mib,
            numa=tuple(
                NodeView(n.index, n.cores, n.memory_mib, n.hugepages)
                for n in inv.numa_or_default()
            ),
        )
        for vm, old_alloc in store.vms.list_vms(conn, host_id):
            seen = found.pop((vm.project, vm.name), None)
            if seen is None:
                if vm.state is model.VmState.CLAIMED:
                    continue  # a compose in flight (or a crash: reconcile settles it)
                if vm.origin is model.VmOrigin.ADOPTED:
                    store.vms.delete_vm(conn, vm.id)
                elif vm.state is not model.VmState.MISSING:
                    log.warning(
                        "VM %s vanished from host %s behind vmhost's back", vm.name, host_id
                    )
                    store.vms.update_vm(
                        conn,
                        dataclasses.replace(
                            vm,
                            state=model.VmState.MISSING,
                            power_state="unknown",
                            error="the VM disappeared from the host behind vmhost's back",
                        ),
                    )
                continue
            if vm.origin is model.VmOrigin.ADOPTED:
                alloc = accounts.adopted_allocation(provisional, seen)
                fresh = _adopted_vm(vm.id, host_id, seen)
                if (
                    alloc != old_alloc
                    or dataclasses.replace(fresh, created_at=vm.created_at) != vm
                ):
                    store.vms.update_vm(conn, fresh, alloc)
            elif vm.state is not model.VmState.CLAIMED:
                fresh = _seen_again(vm, seen, view.usage.pinned)
                if fresh != vm:  # write only what changed: refresh of 100s of VMs stays cheap
                    store.vms.update_vm(conn, fresh)
        for seen in found.values():
            alloc = accounts.adopted_allocation(provisional, seen)
            store.vms.insert_vm(conn, _adopted_vm(0, host_id, seen), alloc)
        usage = accounts.recount(conn, host_id)
        external = {
            p.name: max(
                p.used_bytes - (usage.pools[p.name].total if p.name in usage.pools else 0), 0
            )
            for p in inv.storage_pools
        }
        inventory_json = store.hosts.inventory_to_json(inv, external)
        default_pool = view.default_pool
        pool_names = [p.name for p in inv.storage_pools]
        if default_pool not in pool_names:
            default_pool = (
                "default" if "default" in pool_names else (pool_names[0] if pool_names else None)
            )
        values: dict[str, Any] = {
            "cores": inv.cores,
            "memory_mib": inv.memory_mib,
            "cpu_speed_mhz": inv.cpu_speed_mhz,
            "architectures": list(inv.architectures),
            "version": inv.version,
            "can_run_vms": inv.can_run_vms,
            "can_run_containers": inv.can_run_containers,
            "vm_unsupported_reason": inv.vm_unsupported_reason,
            "inventory": inventory_json,
            "default_storage_pool": default_pool,
            "status": model.HostStatus.READY.value,
            "last_error": "",
            "refreshed_at": time.time(),
        }
        fresh_row = {**store.hosts.host_row(conn, host_id), **values, "usage": usage.to_json()}
        fresh_view = store.hosts.view_from_row(fresh_row, {})
        values.update(accounts.usage_values(fresh_view, usage))
        store.hosts.cas_update_host(conn, host_id, view.generation, values)

    # -- delete ------------------------------------------------------------------------------

    def delete(self, host_id: int, decompose: bool | None = None) -> builtins.list[str]:
        """Remove a host. With VMs composed here, say whether to decompose them (True) or leave
        them on the host (False); returns the errors met while decomposing."""
        with self.ctx.db.read() as conn:
            store.hosts.host_row(conn, host_id)
            composed = store.vms.list_vms(conn, host_id, origin=model.VmOrigin.COMPOSED)
        if composed and decompose is None:
            raise model.InvalidInputError.for_field(
                "decompose",
                f"the VM host has {len(composed)} VM(s) composed by vmhost: pass decompose=true "
                "to delete them with the host, or decompose=false to leave them on the hypervisor",
            )
        errors: list[str] = []
        if composed and decompose:
            driver = self.ctx.driver(host_id)
            try:
                for vm, _ in composed:
                    try:
                        driver.decompose(vm.name, vm.disks)
                    except base.DriverError as exc:
                        errors.append(f"{vm.name}: {exc}")
            finally:
                driver.close()
        with self.ctx.db.write() as conn:
            store.hosts.delete_host(conn, host_id)
        return errors


_TEXT_FIELDS = ("name", "address", "zone", "pool", "project", "password", "client_cert_pem")
_OPTIONAL_TEXT_FIELDS = ("default_storage_pool", "default_macvlan_mode")


def _check_types(changes: Mapping[str, Any]) -> None:
    """Wrong types are input errors naming the field, before anything is read or written."""
    for key in _TEXT_FIELDS:
        if key in changes and not isinstance(changes[key], str):
            raise model.InvalidInputError.for_field(key, f"must be text, not {changes[key]!r}")
    for key in _OPTIONAL_TEXT_FIELDS:
        if key in changes and not isinstance(changes[key], str | None):
            raise model.InvalidInputError.for_field(
                key, f"must be text or null, not {changes[key]!r}"
            )
    tags = changes.get("tags", ())
    if not isinstance(tags, list | tuple) or not all(isinstance(x, str) for x in tags):
        raise model.InvalidInputError.for_field("tags", f"must be a list of tags, not {tags!r}")


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


def _seen_again(vm: model.Vm, seen: model.DiscoveredVm, pinned_now: frozenset[int]) -> model.Vm:
    """A composed VM's record after the host showed it again (back to ready if it was missing)."""
    error = ""
    if vm.state is model.VmState.MISSING and vm.pinned_cores:
        clash = sorted(set(vm.pinned_cores) & pinned_now)
        if clash:
            # counted again; say so, since those cores now serve two VMs
            error = f"came back after its pinned cores {clash} were given to other VMs"
            log.warning("VM %s on host %s %s", vm.name, vm.host_id, error)
    return dataclasses.replace(
        vm,
        state=model.VmState.READY if vm.state is model.VmState.MISSING else vm.state,
        power_state=seen.power_state,
        uuid=seen.uuid or vm.uuid,
        addresses=seen.addresses,
        error=error,
    )


def _adopted_vm(vm_id: int, host_id: int, seen: model.DiscoveredVm) -> model.Vm:
    return model.Vm(
        id=vm_id,
        host_id=host_id,
        name=seen.name,
        origin=model.VmOrigin.ADOPTED,
        state=model.VmState.READY,
        cores=seen.cores,
        memory_mib=seen.memory_mib,
        pinned_cores=tuple(seen.pinned_cores),
        hugepages_backed=seen.hugepages_backed,
        numa_node=seen.numa_node,
        disks=tuple(model.VmDisk(d.name, d.size_bytes, d.pool, d.volume) for d in seen.disks),
        interfaces=tuple(
            model.VmInterface(n.name, n.network, n.kind, n.mac_address) for n in seen.nics
        ),
        instance_type=model.InstanceType(seen.instance_type)
        if seen.instance_type in ("virtual-machine", "container")
        else model.InstanceType.VIRTUAL_MACHINE,
        power_state=seen.power_state,
        project=seen.project,
        uuid=seen.uuid,
        addresses=seen.addresses,
    )


def host_usage(detail: HostDetail) -> HostUsage:
    """Shortcut for surfaces."""
    return detail.view.usage


__all__: Sequence[str] = ["HostDetail", "HostsService", "host_usage"]
