"""``vmhost``: the command line. ``vmhost login PROFILE URL TOKEN`` first.

Reads print JSON (``vmhost vm-host read 5 | jq .used``); lists print tables and take
``--format table|json|yaml``; long operations show a spinner on stderr. Errors print one line
on stderr and exit 1 (the server refused, or the operation failed) or 2 (usage); a reader that
stops early (``| head -1``) ends the command quietly (exit 1, nothing on stderr).

Start-up is kept light: the command groups (and with them the HTTP client, the wire models,
Rich and YAML) are imported only when a command of theirs runs (``common.LAZY_GROUPS``), so
``vmhost --help`` imports none of them (``bench/bench_cli.py`` measures it).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Any

import typer
import typer.core
import typer.main

from . import common, juju, output

#: The command groups: name, module in vmhost.cli, its Typer app, the help the root's --help
#: shows for it (the app's own; a test checks they agree), hidden.
LAZY_GROUPS: tuple[tuple[str, str, str, str, bool], ...] = (
    ("vm-hosts", "hosts", "hosts_app", "All VM hosts (MAAS: vm-hosts).", False),
    ("vm-host", "hosts", "host_app", "One VM host, by id or name (MAAS: vm-host).", False),
    ("vms", "vms", "vms_app", "VMs composed by vmhost or found on hosts.", False),
    ("zones", "catalog", "zones_app", "Zones.", False),
    ("pools", "catalog", "pools_app", "Resource pools.", False),
    ("spaces", "catalog", "spaces_app", "Which host network a space means.", False),
    ("tokens", "catalog", "tokens_app", "API tokens (admin).", False),
    ("token", "catalog", "tokens_app", "API tokens (admin).", True),
    ("operations", "catalog", "operations_app", "Background operations.", False),
    ("maas", "maas", "maas_app", "vmhost as a Juju maas cloud.", False),
)


class LazyGroup(typer.core.TyperGroup):
    """A command group whose module is imported when the group is used, not when the root's
    help lists it."""

    def __init__(self, name: str, module: str, attribute: str, text: str, hidden: bool) -> None:
        super().__init__(name=name, help=text, hidden=hidden)
        self.where = (module, attribute)
        self._group: typer.core.TyperGroup | None = None

    def group(self) -> typer.core.TyperGroup:
        """The real group (its module imported on first use)."""
        if self._group is None:
            module = importlib.import_module(f"{__package__}.{self.where[0]}")
            self._group = typer.main.get_group(getattr(module, self.where[1]))
            self._group.name = self.name
            self._group.hidden = self.hidden
        return self._group

    def make_context(self, info_name: str | None, args: list[str], *a: Any, **kw: Any) -> Any:
        return self.group().make_context(info_name, args, *a, **kw)

    def list_commands(self, ctx: Any) -> list[str]:
        return self.group().list_commands(ctx)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        return self.group().get_command(ctx, cmd_name)


class RootGroup(common.Group):
    """The root: its own commands, then the command groups (lazily), then ``juju``."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        last = self.commands.pop("juju", None)
        for name, module, attribute, text, hidden in LAZY_GROUPS:
            self.add_command(LazyGroup(name, module, attribute, text, hidden))
        if last is not None:
            self.add_command(last)


app = typer.Typer(
    name="vmhost",
    cls=RootGroup,
    help="Manage LXD and libvirt VM hosts and compose VMs on them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help for the root (Rich's import alone would take longer than the rest); the
    # command groups keep Rich's.
    rich_markup_mode=None,
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
    from . import profiles

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
    from . import profiles

    profiles.remove(profile)
    output.message(f"Profile {profile!r} removed.")


@app.command("profiles")
def list_profiles(fmt: common.FormatOption = common.TABLE) -> None:
    """Saved profiles (never their tokens)."""
    from . import profiles

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


juju.register(app)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``vmhost``."""
    try:
        try:
            app(args=list(argv) if argv is not None else None, prog_name="vmhost")
        finally:
            sys.stdout.flush()  # here, not at exit: a closed pipe is handled below
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BrokenPipeError:
        return output.reader_gone()
    return 0


if __name__ == "__main__":
    sys.exit(main())
