"""Jubilant integration tests: deploy the packed charm (needs a Juju controller and CHARM_PATH)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest


def _controller() -> str | None:
    if not shutil.which("juju"):
        return "juju is not installed"
    done = subprocess.run(
        ["juju", "controllers", "--format", "json"], capture_output=True, timeout=30, check=False
    )
    if done.returncode != 0 or b'"current-controller"' not in done.stdout:
        return "no Juju controller is reachable"
    if not os.environ.get("CHARM_PATH"):
        return "CHARM_PATH is not set (charmcraft pack first)"
    return None


REASON = _controller()


@pytest.mark.skipif(REASON is not None, reason=REASON or "")
def test_deploy_goes_active() -> None:
    import jubilant

    juju = jubilant.Juju()
    juju.deploy(os.environ["CHARM_PATH"], "vmhost-manager")
    juju.wait(jubilant.all_active, timeout=900)
