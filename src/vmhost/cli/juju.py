"""``vmhost juju ...``: the Juju plugin's commands under the vmhost CLI.

The plugin lives in the provider package (``juju-vmhost``, so operators can also type ``juju
vmhost ...``), which the vmhost package may not import (import-linter: the service side never
imports the provider). So this is a thin wrapper: it runs ``juju-vmhost`` with the same
arguments (the console script next to this Python, else on PATH, else ``python -m
vmhost_provider.plugin``) and exits with its code. ``--profile`` given to ``vmhost`` is passed
on as ``VMHOST_PROFILE``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import typer

from . import common

PLUGIN = "juju-vmhost"


def plugin_command() -> list[str]:
    """How to run the plugin."""
    here = shutil.which(PLUGIN, path=os.path.dirname(sys.executable))
    found = here or shutil.which(PLUGIN)
    return [found] if found else [sys.executable, "-m", "vmhost_provider.plugin"]


def register(app: typer.Typer) -> None:
    """Add ``vmhost juju`` to the root app."""

    @app.command(
        "juju",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        add_help_option=False,
        help="Juju machines from vmhost VMs: add-machine, remove-machine, machines "
        "(the juju-vmhost plugin; 'vmhost juju --help' for details).",
    )
    def juju(ctx: typer.Context) -> None:
        env = dict(os.environ)
        profile = common.state(ctx).profile
        if profile:
            env["VMHOST_PROFILE"] = profile
        try:
            done = subprocess.run([*plugin_command(), *ctx.args], env=env, check=False)
        except OSError as exc:
            raise common.UsageError(f"cannot run {PLUGIN}: {exc.strerror}") from None
        raise typer.Exit(done.returncode)
