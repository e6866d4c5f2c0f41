"""``vmhost maas cloud-yaml``: this vmhost as a Juju ``maas`` cloud (``vmhost.client.juju_cloud``).

The MAAS key is made from the profile's token (its name and id from ``whoami``), so the token
must be an admin one: Juju allocates, deploys and releases machines.
"""

from __future__ import annotations

import os

import typer

from vmhost.client import juju_cloud

from . import common, output

maas_app = typer.Typer(help="vmhost as a Juju maas cloud.", no_args_is_help=True)


@maas_app.command("cloud-yaml")
def cloud_yaml(
    ctx: typer.Context,
    address: str | None = typer.Option(
        None,
        help="ADDRESS[:PORT] or URL the VMs reach this vmhost at, e.g. the bridge address "
        "10.213.70.1:5240 (default: the profile's URL)",
    ),
    cloud: str = typer.Option(juju_cloud.DEFAULT_CLOUD, help="the cloud's name in Juju"),
    credential: str | None = typer.Option(None, help="the credential's name (CLOUD-oauth)"),
    output_dir: str | None = typer.Option(
        None,
        "--output-dir",
        "-o",
        help="write clouds.yaml and credentials.yaml (mode 600) there instead of printing",
    ),
) -> None:
    """Print the clouds.yaml and credentials.yaml for `juju add-cloud -f` and
    `juju add-credential -f` (endpoint http://ADDRESS:5240/MAAS, auth-type oauth1)."""
    from . import profiles

    try:
        profile = profiles.load(common.state(ctx).profile)
    except profiles.ProfileError as exc:
        raise common.UsageError(str(exc)) from None
    with common.make_client(profile) as api:
        who = api.whoami()
    if who.role != "admin":
        raise common.UsageError(
            f"the token {who.name!r} is read-only: Juju needs an admin token "
            "(vmhost-server token create juju --role admin, then vmhost login)"
        )
    if who.id is None:
        raise common.UsageError("the server does not say the token's id (upgrade vmhost)")
    try:
        key = juju_cloud.maas_key(who.name, who.id, profile.token)
        files = juju_cloud.juju_cloud(
            address or profile.url, key, cloud=cloud, credential=credential
        )
    except juju_cloud.CloudError as exc:
        raise common.UsageError(str(exc)) from None
    if juju_cloud.is_loopback(files.endpoint):
        output.message(
            f"Note: {files.endpoint} is a loopback address; Juju's controller runs in a VM "
            "and cannot reach it. Give --address with an address of the VMs' bridge."
        )
    add_cloud = f"juju add-cloud {files.cloud} -f clouds.yaml"
    add_credential = f"juju add-credential {files.cloud} -f credentials.yaml"
    if output_dir is None:
        typer.echo(f"# clouds.yaml ({add_cloud})\n{files.clouds_yaml}---")
        typer.echo(f"# credentials.yaml ({add_credential})\n{files.credentials_yaml}", nl=False)
        return
    for name, text, mode in (
        ("clouds.yaml", files.clouds_yaml, 0o644),
        ("credentials.yaml", files.credentials_yaml, 0o600),
    ):
        path = os.path.join(output_dir, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), mode)
            f.write(text)
    output.message(f"Wrote clouds.yaml and credentials.yaml in {output_dir}; then:")
    output.message(f"  cd {output_dir} && {add_cloud} && {add_credential}")
