"""``vmhost``: the command line. ``vmhost login PROFILE URL TOKEN`` first.

Reads print JSON (``vmhost vm-host read 5 | jq .used``); lists print tables and take
``--format table|json|yaml``; long operations show a spinner on stderr. Errors print one line
on stderr and exit 1 (the server refused, or the operation failed) or 2 (usage).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from vmhost import client

from . import catalog, common, hosts, juju, output, profiles, vms

app = typer.Typer(
    name="vmhost",
    cls=common.Group,
    help="Manage LXD and libvirt VM hosts and compose VMs on them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    ctx: typer.Context,
    profile: str | None = typer.Option(
        None, "--profile", "-p", envvar="VMHOST_PROFILE", help="login profile to use"
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress output"),
) -> None:
    ctx.obj = common.State(profile=profile, quiet=quiet)


@app.command("login")
def login(
    profile: str = typer.Argument(..., help="a name for this server and token"),
    url: str = typer.Argument(..., help="e.g. https://vmhost.example:5240"),
    token: str = typer.Argument(..., help="from 'vmhost-server token create'"),
    insecure: bool = typer.Option(False, "--insecure", "-k", help="do not check TLS"),
    ca_cert: str | None = typer.Option(None, help="CA bundle to check the server with"),
    check: bool = typer.Option(True, "--check/--no-check", help="check the token now"),
    default: bool = typer.Option(False, "--default", help="make this the default profile"),
) -> None:
    """Save a profile (in profiles.yaml, mode 600) after checking the token."""
    if not url.startswith(("http://", "https://")):
        raise common.UsageError(f"URL {url!r} must start with http:// or https://")
    verify: bool | str = False if insecure else (ca_cert or True)
    entry = profiles.Profile(profile, url.rstrip("/"), token, verify)
    who = None
    if check:
        with common.make_client(entry) as api:
            who = api.whoami()
    profiles.save(entry, make_default=default)
    role = f" as {who.name!r} ({who.role})" if who else ""
    output.message(f"Logged in to {entry.url}{role}; profile {profile!r} saved.")


@app.command("logout")
def logout(profile: str = typer.Argument(...)) -> None:
    """Forget a profile."""
    profiles.remove(profile)
    output.message(f"Profile {profile!r} removed.")


@app.command("profiles")
def list_profiles(fmt: output.Format = common.FormatOption) -> None:
    """Saved profiles (never their tokens)."""
    default, items = profiles.all_profiles()
    rows = [{"name": p.name, "url": p.url, "default": p.name == default} for p in items]
    output.print_list(
        rows,
        fmt,
        ("NAME", "URL", "DEFAULT"),
        lambda r: [r["name"], r["url"], "yes" if r["default"] else ""],
    )


@app.command("whoami")
def whoami(ctx: typer.Context) -> None:
    """The token's name and role on the server."""
    who = common.api(ctx).whoami()
    output.print_json(who)


app.add_typer(hosts.hosts_app, name="vm-hosts")
app.add_typer(hosts.host_app, name="vm-host")
app.add_typer(vms.vms_app, name="vms")
app.add_typer(catalog.zones_app, name="zones")
app.add_typer(catalog.pools_app, name="pools")
app.add_typer(catalog.spaces_app, name="spaces")
app.add_typer(catalog.tokens_app, name="tokens")
app.add_typer(catalog.tokens_app, name="token", hidden=True)
app.add_typer(catalog.operations_app, name="operations")
juju.register(app)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``vmhost``."""
    try:
        app(args=list(argv) if argv is not None else None, prog_name="vmhost")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except client.ClientError as exc:  # pragma: no cover (the Group catches these)
        output.error(str(exc))
        return common.EXIT_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())
