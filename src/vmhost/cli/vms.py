"""``vmhost vms list|read|compose|power-on|power-off|delete``."""

from __future__ import annotations

from typing import Annotated

import typer

from vmhost import client, schemas

from . import common, hosts, output

vms_app = typer.Typer(help="VMs composed by vmhost or found on hosts.", no_args_is_help=True)
VmId = Annotated[int, typer.Argument(metavar="ID", help="VM id")]


@vms_app.command("list")
def vms_list(
    ctx: typer.Context,
    host: str | None = typer.Option(None, help="host id or name"),
    origin: str | None = typer.Option(None, help="composed or adopted"),
    state: str | None = typer.Option(None, help="claimed, ready, releasing or missing"),
    owner: str | None = typer.Option(None, help="VMs allocated to this owner"),
    idle: bool | None = typer.Option(
        None, "--idle/--allocated", help="the warm pool (no owner) / VMs with an owner"
    ),
    fmt: common.FormatOption = common.TABLE,
) -> None:
    """VMs, filtered."""
    vms = common.api(ctx).vms.list(host=host, origin=origin, state=state, owner=owner, idle=idle)
    output.print_list(
        vms,
        fmt,
        ("ID", "NAME", "HOST", "ORIGIN", "STATE", "POWER", "CORES", "MEMORY", "DISK", "OWNER"),
        lambda v: [
            v.id,
            v.name,
            v.host.name,
            v.origin,
            v.state,
            v.power_state,
            v.cores,
            output.size_mib(v.memory_mib),
            output.size_bytes(sum(d.size_bytes for d in v.disks)),
            v.owner or "-",
        ],
    )


@vms_app.command("allocate")
def vms_allocate(
    ctx: typer.Context,
    vm_id: VmId,
    owner: str = typer.Option(..., help="who the VM is for"),
) -> None:
    """Allocate an idle VM to an owner (fails when it is not idle)."""
    vm = common.api(ctx).vms.allocate(vm_id, owner)
    output.message(f"VM {vm.name!r} is allocated to {vm.owner!r}.")


@vms_app.command("release")
def vms_release(ctx: typer.Context, vm_id: VmId) -> None:
    """Clear a VM's owner: it stays, idle, in the warm pool."""
    vm = common.api(ctx).vms.release(vm_id)
    output.message(f"VM {vm.name!r} is idle.")


@vms_app.command("read")
def vms_read(ctx: typer.Context, vm_id: VmId) -> None:
    """The VM's JSON."""
    output.print_json(common.api(ctx).vms.get(vm_id))


@vms_app.command("compose")
def vms_compose(
    ctx: typer.Context,
    host: str | None = typer.Option(None, help="only this host (id or name)"),
    cores: int | None = hosts.CORES,
    memory_mib: int | None = hosts.MEMORY,
    storage: str | None = hosts.STORAGE,
    interfaces: str | None = hosts.INTERFACES,
    hostname: str | None = hosts.HOSTNAME,
    hugepages: bool = hosts.HUGEPAGES,
    pinned_cores: str | None = hosts.PINNED,
    pin_cores: bool = hosts.PIN,
    numa_affinity: bool = hosts.NUMA,
    zone: str | None = hosts.ZONE,
    pool: str | None = hosts.POOL,
    tags: str | None = hosts.TAGS,
    instance_type: str | None = hosts.ITYPE,
    architecture: str | None = hosts.ARCH,
    user_data: str | None = hosts.USER_DATA,
) -> None:
    """Compose a VM on the best host; prints the result's JSON."""
    fields = hosts.compose_fields(locals())  # the options above, by name
    if host is not None:
        fields["host"] = host
    result = common.run_operation(
        ctx,
        "Composing",
        lambda api: api.vms.start_compose(client.build(schemas.HostComposeBody, **fields)),
        schemas.ComposeResult,
    )
    output.print_json(result)


def _power_command(on: bool) -> None:
    """``vms power-on`` or ``vms power-off``."""

    def power(ctx: typer.Context, vm_id: VmId) -> None:
        vms = common.api(ctx).vms
        vm = vms.power_on(vm_id) if on else vms.power_off(vm_id)
        output.message(f"VM {vm.name!r} is {vm.power_state}.")

    power.__doc__ = "Start the VM." if on else "Stop the VM."
    vms_app.command("power-on" if on else "power-off")(power)


_power_command(on=True)
_power_command(on=False)


@vms_app.command("delete")
def vms_delete(ctx: typer.Context, vm_id: VmId) -> None:
    """Decompose the VM: delete it and its volumes from the host."""
    done = common.run_operation(
        ctx,
        f"Decomposing VM {vm_id}",
        lambda api: api.vms.start_delete(vm_id),
        schemas.Deleted,
    )
    output.message(f"Deleted VM {done.name!r} (id {done.id}).")
