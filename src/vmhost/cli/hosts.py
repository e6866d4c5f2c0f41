"""``vmhost vm-hosts read|create`` and ``vmhost vm-host read|update|...  ID``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import typer

from vmhost import client, schemas

from . import common, host_details, output

hosts_app = typer.Typer(help="All VM hosts (MAAS: vm-hosts).", no_args_is_help=True)
host_app = typer.Typer(help="One VM host, by id or name (MAAS: vm-host).", no_args_is_help=True)

HOST_COLUMNS = (
    "ID",
    "NAME",
    "TYPE",
    "STATUS",
    "ZONE",
    "POOL",
    "CORES",
    "MEMORY",
    "STORAGE",
    "VMS",
)


def _usage(used: int, capacity: int, fmt: Any = str) -> str:
    return f"{fmt(used)}/{fmt(capacity)}"


def host_row(h: schemas.VmHost) -> list[Any]:
    """One table row: allocated+other of capacity for each resource."""
    r = h.resources
    return [
        h.id,
        h.name,
        h.type,
        h.status,
        h.zone.name,
        h.pool.name,
        _usage(r.cores.allocated + r.cores.other, r.cores.capacity),
        _usage(
            r.memory.allocated_mib + r.memory.other_mib, r.memory.capacity_mib, output.size_mib
        ),
        _usage(
            r.storage.allocated_bytes + r.storage.other_bytes + r.storage.external_bytes,
            r.storage.total_bytes,
            output.size_bytes,
        ),
        h.vm_count.total,
    ]


def _list(ctx: typer.Context, fmt: output.Format) -> None:
    hosts = common.api(ctx).hosts.list()
    output.print_list(hosts, fmt, HOST_COLUMNS, host_row)


@hosts_app.command("read")
def hosts_read(ctx: typer.Context, fmt: common.FormatOption = common.TABLE) -> None:
    """List VM hosts: used/capacity per resource (capacity after over-commit)."""
    _list(ctx, fmt)


@hosts_app.command("list", hidden=True)
def hosts_list(ctx: typer.Context, fmt: common.FormatOption = common.TABLE) -> None:
    """List VM hosts (same as read)."""
    _list(ctx, fmt)


@hosts_app.command("create")
def hosts_create(
    ctx: typer.Context,
    host_type: str = typer.Option(..., "--type", help="lxd, virsh (libvirt) or fake"),
    address: str = typer.Option(
        ..., "--address", "--power-address", help="https://host:8443, qemu+ssh://user@host/system"
    ),
    name: str | None = typer.Option(None, help="default: from the address"),
    zone: str | None = typer.Option(None),
    pool: str | None = typer.Option(None, help="resource pool"),
    tags: str | None = typer.Option(None, help="comma-separated"),
    cpu_over_commit_ratio: float | None = typer.Option(None, help="0 to 10"),
    memory_over_commit_ratio: float | None = typer.Option(None, help="0 to 10"),
    reserved_cores: int | None = typer.Option(None),
    reserved_memory_mib: int | None = typer.Option(None),
    default_storage_pool: str | None = typer.Option(None),
    project: str | None = typer.Option(None, help="LXD project (default: default)"),
    password: str | None = typer.Option(
        None, help="LXD trust password/token (not recommended) or virsh SSH password"
    ),
    certificate: str | None = typer.Option(None, help="LXD: client certificate PEM file"),
    key: str | None = typer.Option(None, help="LXD: its private key PEM file"),
    option: list[str] | None = typer.Option(
        None, "--option", help="connection option KEY=VALUE (repeatable; KEY= removes it)"
    ),
    image: str | None = typer.Option(
        None, help="LXD: the image composed instances start from (vmhost-test, ubuntu:24.04)"
    ),
) -> None:
    """Add a VM host and discover it; prints its JSON. For LXD without --certificate, vmhost
    makes a certificate: trust it with the command printed (also `vm-host certificate ID`)."""
    fields = host_fields(locals())  # the options above, by name
    host = common.run_operation(
        ctx,
        f"Adding VM host {name or address}",
        lambda api: api.hosts.start_create(client.build(schemas.VmHostCreate, **fields)),
        schemas.VmHost,
    )
    output.print_json(host)
    if host.status != "ready":
        output.message(f"VM host {host.name!r} is {host.status}: {host.last_error}")
        if host.type == "lxd":
            cert = common.api(ctx).hosts.certificate(host.id)
            output.message(f"Trust vmhost on the LXD host, then refresh:\n  {cert.trust_command}")


@host_app.command("read")
def host_read(ctx: typer.Context, host: common.HostId) -> None:
    """The VM host's JSON (MAAS's keys plus vmhost's)."""
    output.print_json(common.api(ctx).hosts.get(host))


@host_app.command("update")
def host_update(
    ctx: typer.Context,
    host: common.HostId,
    name: str | None = typer.Option(None),
    address: str | None = typer.Option(None, "--address", "--power-address"),
    zone: str | None = typer.Option(None),
    pool: str | None = typer.Option(None),
    tags: str | None = typer.Option(None, help="comma-separated; replaces the tags"),
    cpu_over_commit_ratio: float | None = typer.Option(None, help="0 to 10"),
    memory_over_commit_ratio: float | None = typer.Option(None, help="0 to 10"),
    reserved_cores: int | None = typer.Option(None),
    reserved_memory_mib: int | None = typer.Option(None),
    default_storage_pool: str | None = typer.Option(None),
    default_macvlan_mode: str | None = typer.Option(None),
    project: str | None = typer.Option(None),
    password: str | None = typer.Option(None),
    certificate: str | None = typer.Option(None, help="LXD: client certificate PEM file"),
    key: str | None = typer.Option(None, help="LXD: its private key PEM file"),
    host_type: str | None = typer.Option(None, "--type", hidden=True),
    option: list[str] | None = typer.Option(
        None, "--option", help="connection option KEY=VALUE (repeatable; KEY= removes it)"
    ),
    image: str | None = typer.Option(
        None, help="LXD: the image composed instances start from (vmhost-test, ubuntu:24.04)"
    ),
) -> None:
    """Change settings; what is not given is kept. Prints the host's JSON."""
    changes = host_fields(locals())  # the options above, by name
    body = client.build(schemas.VmHostUpdate, **changes)
    output.print_json(common.api(ctx).hosts.update(host, body))


@host_app.command("delete")
def host_delete(
    ctx: typer.Context,
    host: common.HostId,
    decompose: bool | None = typer.Option(
        None,
        "--decompose/--keep-vms",
        help="with VMs composed by vmhost: delete them too, or leave them on the hypervisor",
    ),
) -> None:
    """Remove the VM host (and, with --decompose, the VMs vmhost composed there)."""
    done = common.run_operation(
        ctx,
        f"Deleting VM host {host}",
        lambda api: api.hosts.start_delete(host, decompose),
        schemas.Deleted,
    )
    for problem in done.errors:
        output.message(f"warning: {problem}")
    output.message(f"Deleted VM host {done.name!r} (id {done.id}).")


@host_app.command("refresh")
def host_refresh(ctx: typer.Context, host: common.HostId) -> None:
    """Discover the host again; prints its JSON."""
    result = common.run_operation(
        ctx,
        f"Refreshing VM host {host}",
        lambda api: api.hosts.start_refresh(host),
        schemas.VmHost,
    )
    output.print_json(result)


#: the add and update commands' options named otherwise in the body; and those not in it
_BODY_NAMES = {"address": "power_address", "host_type": "type"}
_NOT_BODY = {"ctx", "host", "certificate", "key", "option", "image"}


def host_fields(options: Mapping[str, Any]) -> dict[str, Any]:
    """A vm-host body from an add or update command's options (its parameters, by name): the
    PEM files read, the connection options parsed."""
    fields = {_BODY_NAMES.get(k, k): v for k, v in options.items() if k not in _NOT_BODY}
    fields["certificate"] = common.read_file(options["certificate"], "certificate")
    fields["key"] = common.read_file(options["key"], "key")
    fields["options"] = common.parse_options(options["option"], options["image"])
    return fields


def compose_fields(options: Mapping[str, Any]) -> dict[str, Any]:
    """The compose request from a compose command's options (its parameters, by name)."""
    tags, pinned = options["tags"], options["pinned_cores"]
    return {
        "cores": options["cores"],
        "memory_mib": options["memory_mib"],
        "storage": options["storage"],
        "interfaces": options["interfaces"],
        "hostname": options["hostname"],
        "hugepages_backed": options["hugepages"] or None,
        "pinned_cores": common.parse_ints(pinned, "--pinned-cores"),
        "pin_cores": options["pin_cores"] or None,
        "numa_affinity": options["numa_affinity"] or None,
        "zone": options["zone"],
        "pool": options["pool"],
        "tags": [t for t in tags.split(",") if t] if tags else None,
        "instance_type": options["instance_type"],
        "architecture": options["architecture"],
        "user_data": common.read_file(options["user_data"], "user-data"),
    }


CORES = typer.Option(None, help="vCPUs (default 1)")
MEMORY = typer.Option(None, "--memory", "--memory-mib", help="MiB (default 2048, at least 1024)")
STORAGE = typer.Option(None, help="MAAS grammar: 'root:40(ssd),data:100' (decimal GB)")
INTERFACES = typer.Option(None, help="MAAS grammar: 'eth0:space=db;eth1:network=br0'")
HOSTNAME = typer.Option(None)
HUGEPAGES = typer.Option(False, "--hugepages", help="back memory with hugepages")
PINNED = typer.Option(None, help="host cores to pin to, e.g. 0,1 or 4-7")
PIN = typer.Option(False, "--pin-cores", help="pin to NUMA-local cores vmhost picks")
NUMA = typer.Option(False, "--numa-affinity", help="keep vCPUs and memory on one node")
ZONE = typer.Option(None)
POOL = typer.Option(None, help="resource pool")
TAGS = typer.Option(None, help="host tags required, comma-separated")
ITYPE = typer.Option(None, "--instance-type", help="virtual-machine or container")
ARCH = typer.Option(None)
USER_DATA = typer.Option(None, "--user-data", help="cloud-init user data file")


@host_app.command("compose")
def host_compose(
    ctx: typer.Context,
    host: common.HostId,
    cores: int | None = CORES,
    memory_mib: int | None = MEMORY,
    storage: str | None = STORAGE,
    interfaces: str | None = INTERFACES,
    hostname: str | None = HOSTNAME,
    hugepages: bool = HUGEPAGES,
    pinned_cores: str | None = PINNED,
    pin_cores: bool = PIN,
    numa_affinity: bool = NUMA,
    zone: str | None = ZONE,
    pool: str | None = POOL,
    tags: str | None = TAGS,
    instance_type: str | None = ITYPE,
    architecture: str | None = ARCH,
    user_data: str | None = USER_DATA,
) -> None:
    """Compose a VM on this host; prints MAAS's answer plus the VM obtained."""
    fields = compose_fields(locals())  # the options above, by name
    result = common.run_operation(
        ctx,
        f"Composing on VM host {host}",
        lambda api: api.hosts.start_compose(host, client.build(schemas.ComposeBody, **fields)),
        schemas.ComposeResult,
    )
    output.print_json(result)


@host_app.command("parameters")
def host_parameters(ctx: typer.Context, host: common.HostId) -> None:
    """Connection parameters, secrets included (admin token)."""
    output.print_json(common.api(ctx).hosts.parameters(host))


@host_app.command("add-tag")
def host_add_tag(ctx: typer.Context, host: common.HostId, tag: str = typer.Argument(...)) -> None:
    """Add a tag; prints the host's JSON."""
    output.print_json(common.api(ctx).hosts.add_tag(host, tag))


@host_app.command("remove-tag")
def host_remove_tag(
    ctx: typer.Context, host: common.HostId, tag: str = typer.Argument(...)
) -> None:
    """Remove a tag; prints the host's JSON."""
    output.print_json(common.api(ctx).hosts.remove_tag(host, tag))


host_details.register(host_app)
