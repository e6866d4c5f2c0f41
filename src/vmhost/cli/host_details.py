"""``vmhost vm-host storage-pools|resources|certificate|projects ID``: what a host has."""

from __future__ import annotations

import typer

from . import common, output


def host_storage_pools(
    ctx: typer.Context, host: common.HostId, fmt: common.FormatOption = common.TABLE
) -> None:
    """Storage pools: NAME TYPE PATH TOTAL USED AVAIL (USED = disks of every VM)."""
    pools = common.api(ctx).hosts.storage_pools(host)
    output.print_list(
        pools,
        fmt,
        ("NAME", "TYPE", "PATH", "TOTAL", "USED", "AVAIL", "DEFAULT"),
        lambda p: [
            p.name,
            p.type,
            p.path,
            output.size_bytes(p.total),
            output.size_bytes(p.used),
            output.size_bytes(p.available),
            "yes" if p.default else "",
        ],
    )


def host_resources(
    ctx: typer.Context, host: common.HostId, fmt: common.FormatOption = common.TABLE
) -> None:
    """Per NUMA node: cores pinned and free, vCPUs, memory, hugepages, SR-IOV VFs."""
    res = common.api(ctx).hosts.resources(host)
    if fmt is not output.Format.TABLE:
        (output.print_json if fmt is output.Format.JSON else output.print_yaml)(res)
        return
    output.print_list(
        res.numa,
        fmt,
        ("NODE", "CORES", "PINNED", "FREE CORES", "VCPUS", "MEMORY", "HUGEPAGES", "VFS"),
        lambda n: [
            n.index,
            len(n.cores.all),
            output.join(n.cores.pinned_allocated + n.cores.pinned_other) or "-",
            output.join(n.cores.free) or "-",
            f"{n.cores.vcpus_used}/{n.cores.vcpus_capacity}",
            f"{output.size_mib(n.memory.used_mib)}/{output.size_mib(n.memory.capacity_mib)}",
            " ".join(
                f"{h.page_size_kib}K:{output.size_mib(h.used_mib)}/{output.size_mib(h.total_mib)}"
                for h in n.hugepages
            )
            or "-",
            " ".join(f"{s.nic}:{s.free}/{s.total_vfs}" for s in n.sriov) or "-",
        ],
    )


def host_certificate(
    ctx: typer.Context,
    host: common.HostId,
    pem: bool = typer.Option(False, "--pem", help="print only the PEM"),
) -> None:
    """The LXD client certificate, its fingerprint and the command to trust it."""
    cert = common.api(ctx).hosts.certificate(host)
    if pem:
        typer.echo(cert.certificate.rstrip())
        return
    typer.echo(cert.certificate.rstrip())
    typer.echo(f"Fingerprint: {cert.fingerprint}")
    typer.echo(f"Expires: {cert.not_after} ({cert.days_left} days)")
    typer.echo(f"Fetch URL (no token needed): {cert.fetch_url}")
    typer.echo("Trust it on the LXD host with:")
    typer.echo(f"  {cert.trust_command}")


def host_projects(
    ctx: typer.Context, host: common.HostId, fmt: common.FormatOption = common.TABLE
) -> None:
    """The host's LXD projects with their use."""
    projects = common.api(ctx).hosts.projects(host)
    output.print_list(
        projects,
        fmt,
        ("NAME", "INSTANCES", "CORES", "MEMORY", "DISK"),
        lambda p: [
            p.name,
            p.instances,
            p.cores,
            output.size_mib(p.memory_mib),
            output.size_bytes(p.disk_bytes),
        ],
    )


def register(app: typer.Typer) -> None:
    """Add the commands to ``vmhost vm-host``."""
    app.command("storage-pools")(host_storage_pools)
    app.command("resources")(host_resources)
    app.command("certificate")(host_certificate)
    app.command("projects")(host_projects)
