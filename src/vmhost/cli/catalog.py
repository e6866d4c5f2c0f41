"""``vmhost zones|pools|spaces|tokens|operations ...``."""

from __future__ import annotations

import datetime

import typer

from vmhost import client, schemas

from . import common, output


def _named(ctx: typer.Context, collection: str) -> client.NamedManager:
    """``client.zones`` or ``client.pools``."""
    api = common.api(ctx)
    return api.zones if collection == "zones" else api.pools


def _named_app(collection: str, what: str) -> typer.Typer:
    app = typer.Typer(help=f"{what.capitalize()}s.", no_args_is_help=True)
    key_arg = typer.Argument(..., metavar="NAME", help=f"{what} name or id")

    @app.command("list")
    def list_items(ctx: typer.Context, fmt: common.FormatOption = common.TABLE) -> None:
        """List them with how many VM hosts each holds."""
        items = _named(ctx, collection).list()
        output.print_list(
            items,
            fmt,
            ("ID", "NAME", "DESCRIPTION", "HOSTS"),
            lambda z: [z.id, z.name, z.description, z.hosts],
        )

    @app.command("read")
    def read_item(ctx: typer.Context, key: str = key_arg) -> None:
        """Its JSON."""
        output.print_json(_named(ctx, collection).get(key))

    @app.command("create")
    def create_item(
        ctx: typer.Context,
        name: str = typer.Argument(...),
        description: str = typer.Option("", help="free text"),
    ) -> None:
        """Create one; prints its JSON."""
        output.print_json(
            _named(ctx, collection).create(
                client.build(schemas.NamedCreate, name=name, description=description)
            )
        )

    @app.command("update")
    def update_item(
        ctx: typer.Context,
        key: str = key_arg,
        name: str | None = typer.Option(None, help="new name"),
        description: str | None = typer.Option(None),
    ) -> None:
        """Rename or re-describe; prints its JSON."""
        output.print_json(
            _named(ctx, collection).update(
                key, client.build(schemas.NamedUpdate, name=name, description=description)
            )
        )

    @app.command("delete")
    def delete_item(ctx: typer.Context, key: str = key_arg) -> None:
        """Delete an empty one (not the default)."""
        done = _named(ctx, collection).delete(key)
        output.message(f"Deleted {what} {done.name!r}.")

    return app


zones_app = _named_app("zones", "zone")
pools_app = _named_app("pools", "resource pool")

spaces_app = typer.Typer(help="Which host network a space means.", no_args_is_help=True)


@spaces_app.command("list")
def spaces_list(ctx: typer.Context, fmt: common.FormatOption = common.TABLE) -> None:
    """Every network-to-space mapping."""
    items = common.api(ctx).spaces.list()
    output.print_list(
        items,
        fmt,
        ("SPACE", "NETWORK", "HOST"),
        lambda s: [s.space, s.network, s.host or "(all)"],
    )


@spaces_app.command("set")
def spaces_set(
    ctx: typer.Context,
    space: str = typer.Argument(...),
    network: str = typer.Option(..., help="host network or bridge"),
    host: str | None = typer.Option(None, help="only on this host (id or name)"),
) -> None:
    """Map NETWORK (on every host, or on --host) to SPACE."""
    mapping = common.api(ctx).spaces.set(
        client.build(schemas.SpaceSet, space=space, network=network, host=host)
    )
    where = f"on {mapping.host}" if mapping.host else "on every host"
    output.message(f"Space {mapping.space!r} is network {mapping.network!r} {where}.")


@spaces_app.command("unset")
def spaces_unset(
    ctx: typer.Context,
    space: str = typer.Argument(...),
    network: str | None = typer.Option(None, help="only this network's mapping"),
) -> None:
    """Remove a space's mappings."""
    done = common.api(ctx).spaces.unset(space, network)
    output.message(f"Removed {done.removed} mapping(s) of space {space!r}.")


tokens_app = typer.Typer(help="API tokens (admin).", no_args_is_help=True)


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "never"
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).strftime("%Y-%m-%d %H:%M")


@tokens_app.command("list")
def tokens_list(ctx: typer.Context, fmt: common.FormatOption = common.TABLE) -> None:
    """Every token's record (never a token)."""
    items = common.api(ctx).tokens.list()
    output.print_list(
        items,
        fmt,
        ("ID", "NAME", "ROLE", "PREFIX", "CREATED", "EXPIRES"),
        lambda t: [
            t.id,
            t.name,
            t.role,
            t.prefix,
            _when(t.created_at),
            _when(t.expires_at) + (" (expired)" if t.expired else ""),
        ],
    )


@tokens_app.command("create")
def tokens_create(
    ctx: typer.Context,
    name: str = typer.Argument(...),
    role: str = typer.Option("readonly", help="admin or readonly"),
    expires_days: float | None = typer.Option(None, help="expire after this many days"),
    maas_key: bool = typer.Option(
        False,
        "--maas-key",
        help="print it as a MAAS API key (NAME:ID:TOKEN) for Juju's maas-oauth",
    ),
) -> None:
    """Create a token and print it (only this once)."""
    created = common.api(ctx).tokens.create(
        client.build(schemas.TokenCreate, name=name, role=role, expires_in_days=expires_days)
    )
    if maas_key:
        output.message(
            f"Created {created.role} token {created.name!r}; its MAAS API key is shown only once:"
        )
        # the key of src/vmhost/maas/auth.py (consumer:token:secret)
        typer.echo(f"{created.name}:{created.id}:{created.token}")
        return
    output.message(f"Created {created.role} token {created.name!r}; it is shown only once:")
    typer.echo(created.token)


@tokens_app.command("revoke")
def tokens_revoke(ctx: typer.Context, key: str = typer.Argument(..., metavar="NAME")) -> None:
    """Revoke a token by name or id; it stops working at once."""
    done = common.api(ctx).tokens.revoke(key)
    output.message(f"Revoked token {done.name!r}.")


operations_app = typer.Typer(help="Background operations.", no_args_is_help=True)


@operations_app.command("list")
def operations_list(ctx: typer.Context, fmt: common.FormatOption = common.TABLE) -> None:
    """Recent operations, newest first."""
    ops = common.api(ctx).operations.list()
    output.print_list(
        ops,
        fmt,
        ("ID", "KIND", "STATUS", "TARGET", "STARTED"),
        lambda o: [o.id, o.kind, o.status, o.target, _when(o.started_at)],
    )


@operations_app.command("read")
def operations_read(ctx: typer.Context, op_id: str = typer.Argument(..., metavar="ID")) -> None:
    """One operation's JSON."""
    output.print_json(common.api(ctx).operations.get(op_id))
