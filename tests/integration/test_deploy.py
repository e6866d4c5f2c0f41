"""Jubilant integration tests of the packed charm on a real Juju controller.

They need what this machine cannot have (a Juju controller; `charmcraft pack` for the
`.charm`), so each test says why it is skipped. On a machine with a controller:

    CHARM_PATH=./vmhost-manager_amd64.charm tox -e integration
    # optional: an LXD-capable model for the lxd charm, and a vm-host consumer charm
    CONSUMER_CHARM_PATH=./vm-host-consumer_amd64.charm tox -e integration

The tests read like the operator's runbook: deploy, relate PostgreSQL and LXD, register a host
with an action, compose with Juju constraints, and let a consumer ask for machines over
`vm-host`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

APP = "vmhost-manager"


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
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")


@pytest.fixture(scope="module")
def juju() -> Iterator[object]:
    """A temporary model with vmhost-manager deployed and active."""
    import jubilant

    with jubilant.temp_model() as model:
        model.deploy(os.environ["CHARM_PATH"], APP)
        model.wait(jubilant.all_active, timeout=900)
        yield model


def test_deploy_goes_active(juju) -> None:
    import jubilant

    status = juju.status()  # type: ignore[attr-defined]
    assert jubilant.all_active(status, APP)
    assert status.apps[APP].version


def test_postgresql_moves_the_service_to_the_database(juju) -> None:
    import jubilant

    juju.deploy("postgresql", channel="16/stable")  # type: ignore[attr-defined]
    juju.integrate(f"{APP}:database", "postgresql:database")  # type: ignore[attr-defined]
    juju.wait(lambda s: jubilant.all_active(s, APP, "postgresql"), timeout=1800)  # type: ignore[attr-defined]
    juju.add_unit(APP)  # type: ignore[attr-defined]  # several units share the database
    juju.wait(lambda s: jubilant.all_active(s, APP), timeout=900)  # type: ignore[attr-defined]


def test_lxd_relation_registers_a_host(juju) -> None:
    import jubilant

    juju.deploy("lxd", channel="latest/stable")  # type: ignore[attr-defined]
    juju.integrate(f"{APP}:lxd", "lxd:https")  # type: ignore[attr-defined]
    juju.wait(lambda s: jubilant.all_active(s, APP, "lxd"), timeout=1800)  # type: ignore[attr-defined]
    task = juju.run(f"{APP}/leader", "list-hosts")  # type: ignore[attr-defined]
    hosts = json.loads(task.results["hosts"])
    assert any(h["name"].startswith("lxd-") and h["status"] == "ready" for h in hosts)


def test_add_host_and_compose_actions(juju) -> None:
    task = juju.run(f"{APP}/leader", "list-hosts")  # type: ignore[attr-defined]
    (host, *_) = json.loads(task.results["hosts"])
    task = juju.run(  # type: ignore[attr-defined]
        f"{APP}/leader", "compose", {"constraints": "cores=1 mem=1G root-disk=8G"}
    )
    assert task.results["host"] == host["name"]
    juju.run(f"{APP}/leader", "decompose", {"vm": int(task.results["id"])})  # type: ignore[attr-defined]
    task = juju.run(f"{APP}/leader", "create-token", {"name": "it", "read-only": True})  # type: ignore[attr-defined]
    assert task.results["secret-id"].startswith("secret:")
    assert "vmh_" not in json.dumps(task.results)


@pytest.mark.skipif(
    not os.environ.get("CONSUMER_CHARM_PATH"),
    reason="CONSUMER_CHARM_PATH is not set (a charm requiring the vmhost interface)",
)
def test_a_consumer_gets_machines_over_vm_host(juju) -> None:
    import jubilant

    juju.deploy(os.environ["CONSUMER_CHARM_PATH"], "consumer")  # type: ignore[attr-defined]
    juju.integrate(f"{APP}:vm-host", "consumer")  # type: ignore[attr-defined]
    juju.wait(lambda s: jubilant.all_active(s, APP, "consumer"), timeout=1800)  # type: ignore[attr-defined]
    task = juju.run(f"{APP}/leader", "list-vms")  # type: ignore[attr-defined]
    owners = {vm["owner"] for vm in json.loads(task.results["vms"])}
    assert any(owner.startswith(f"{APP}/vm-host/") for owner in owners)
