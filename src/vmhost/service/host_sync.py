"""Refresh: discover a host and bring its records and accounts in line with what it has.

VMs found on the host that vmhost did not compose are *adopted* (recorded, their resources
counted as "other"); adopted VMs gone from the host are dropped; composed VMs gone are marked
``missing`` (their resources are given back) and ``ready`` again when they come back.
"""

from __future__ import annotations

import dataclasses
import logging
import time

from vmhost import model, store
from vmhost.drivers import base
from vmhost.model.accounting import NodeView

from . import accounts
from .context import Context

log = logging.getLogger("vmhost.service.host_sync")


def driver_error(exc: base.DriverError) -> tuple[model.HostStatus, str]:
    """The host status a driver error means, and what to tell the operator."""
    if isinstance(exc, base.DriverAuthError):
        return model.HostStatus.UNTRUSTED, str(exc)
    if isinstance(exc, base.DriverAddressError):  # the stored address names no host
        return model.HostStatus.ERROR, str(exc)
    if isinstance(exc, base.DriverConnectionError):
        return model.HostStatus.UNREACHABLE, str(exc)
    return model.HostStatus.ERROR, str(exc)


def refresh(ctx: Context, host_id: int, raise_errors: bool = True) -> None:
    """Discover the host and record what it has (module doc). A host that cannot be asked
    keeps its records, with its status and the driver's error; with ``raise_errors`` the
    error is raised (HostProblemError) too."""
    with ctx.db.write() as conn:
        store.hosts.host(conn, host_id)
        store.hosts.set_status(conn, host_id, model.HostStatus.REFRESHING)
    try:
        with ctx.driver(host_id) as driver:
            inventory = driver.discover()
    except base.DriverError as exc:
        status, message = driver_error(exc)
        with ctx.db.write() as conn:
            store.hosts.set_status(conn, host_id, status, message)
        log.warning("refresh of VM host %s failed: %s", host_id, message)
        if raise_errors:
            raise model.HostProblemError(message) from exc
        return
    except Exception as exc:
        # a driver that broke its contract (e.g. a parser's ValueError): the host is not left
        # "refreshing", the operator is told, and the traceback goes to the log only
        message = f"the driver failed ({type(exc).__name__}); details are in the server log"
        with ctx.db.write() as conn:
            store.hosts.set_status(conn, host_id, model.HostStatus.ERROR, message)
        log.exception("refresh of VM host %s failed in its driver", host_id)
        if raise_errors:
            raise model.HostProblemError(message) from exc
        return
    try:
        accounts.with_cas_retry(ctx.db, lambda conn: _sync(conn, host_id, inventory))
    except Exception as exc:
        # never leave a host "refreshing": say what failed, then let the caller know
        with ctx.db.write() as conn:
            store.hosts.set_status(conn, host_id, model.HostStatus.ERROR, f"refresh failed: {exc}")
        log.exception("refresh of VM host %s failed while recording what it found", host_id)
        if raise_errors or not isinstance(exc, model.VmHostError):
            raise


def _sync(conn: store.Connection, host_id: int, inv: model.HostInventory) -> None:
    view = store.candidates.load_view(conn, host_id, spaces={})
    # The new inventory, with the old usage: adopted allocations are computed against it.
    found = {(vm.project, vm.name): vm for vm in inv.vms}
    provisional = dataclasses.replace(
        view,
        cores=inv.cores,
        memory_mib=inv.memory_mib,
        numa=tuple(
            NodeView(n.index, n.cores, n.memory_mib, n.hugepages) for n in inv.numa_or_default()
        ),
    )
    for vm, old_alloc in store.vms.list_vms(conn, host_id):
        seen = found.pop((vm.project, vm.name), None)
        if seen is None:
            _gone(conn, vm, host_id)
        elif vm.origin is model.VmOrigin.ADOPTED:
            alloc = accounts.adopted_allocation(provisional, seen)
            fresh = adopted_vm(vm.id, host_id, seen)
            if alloc != old_alloc or dataclasses.replace(fresh, created_at=vm.created_at) != vm:
                store.vms.update_vm(conn, fresh, alloc)
        elif vm.state is not model.VmState.CLAIMED:
            fresh = _seen_again(vm, seen, view.usage.pinned)
            if fresh != vm:  # write only what changed: refresh of 100s of VMs stays cheap
                store.vms.update_vm(conn, fresh)
    for seen in found.values():
        alloc = accounts.adopted_allocation(provisional, seen)
        store.vms.insert_vm(conn, adopted_vm(0, host_id, seen), alloc)
    usage = accounts.recount(conn, host_id)
    external = {
        p.name: max(p.used_bytes - (usage.pools[p.name].total if p.name in usage.pools else 0), 0)
        for p in inv.storage_pools
    }
    pool_names = [p.name for p in inv.storage_pools]
    default_pool = view.default_pool
    if default_pool not in pool_names:
        default_pool = (
            "default" if "default" in pool_names else (pool_names[0] if pool_names else None)
        )
    values = {
        **store.rows.discovered_values(inv),
        "inventory": store.rows.inventory_to_json(inv, external),
        "default_storage_pool": default_pool,
        "status": model.HostStatus.READY.value,
        "last_error": "",
        "refreshed_at": time.time(),
    }
    fresh_view = store.rows.view_from_row(
        {**store.hosts.row_values(conn, host_id), **values, "usage": usage.to_json()}, {}
    )
    values.update(accounts.usage_values(fresh_view, usage))
    store.hosts.cas_update_host(conn, host_id, view.generation, values)


def _gone(conn: store.Connection, vm: model.Vm, host_id: int) -> None:
    """A recorded VM the host no longer has."""
    if vm.state in (model.VmState.CLAIMED, model.VmState.RESERVED):
        # a compose in flight (or a crash: reconcile settles it); a MAAS reservation is not on
        # the host until it is deployed (model/machine.py)
        return
    if vm.origin is model.VmOrigin.ADOPTED:
        store.vms.delete_vm(conn, vm.id)
    elif vm.state is not model.VmState.MISSING:
        log.warning("VM %s vanished from host %s behind vmhost's back", vm.name, host_id)
        store.vms.update_vm(
            conn,
            dataclasses.replace(
                vm,
                state=model.VmState.MISSING,
                power_state="unknown",
                error="the VM disappeared from the host behind vmhost's back",
            ),
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


def adopted_vm(vm_id: int, host_id: int, seen: model.DiscoveredVm) -> model.Vm:
    """The record of a VM found on the host."""
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
        disks=seen.disks,
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
