"""The charm's real workload adapter against a real `vmhost-server` on loopback, fake hosts.

`workload.Workload` (with the real command runner) creates the charm's admin token with
`vmhost-server token create`, exactly as on a unit; the service runs from the command line and
environment `ServiceConfig` renders for the systemd unit; `service_client.ServiceApi` then does
what the actions and the `vm-host` integration do: add a host, compose, and answer requests
for machines (grow, shrink, no capacity, relation gone).
"""

from __future__ import annotations

import json
import os
import pathlib
import shlex
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import probes
import pytest
import service_client
import workload

REPO = pathlib.Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path: pathlib.Path) -> Iterator[tuple[workload.Workload, workload.ServiceConfig]]:
    """A charm directory (venv python, src/), the service started as the unit file says."""
    charm_dir = tmp_path / "charm"
    charm_dir.mkdir()
    (charm_dir / "venv").symlink_to(sys.prefix)  # this test environment stands for the venv
    (charm_dir / "src").symlink_to(REPO / "src")
    unit = workload.Workload(charm_dir, data_dir=tmp_path / "data")
    config = unit.service_config(
        port=free_port(),
        log_level="warning",
        scheduling_policy="pack",
        default_cpu_over_commit_ratio=2.0,
        default_memory_over_commit_ratio=1.0,
    )
    command = shlex.split(config.exec_start().replace("0.0.0.0", "127.0.0.1"))
    environment = {"PATH": os.environ["PATH"], **config.environment()}
    log = (tmp_path / "service.log").open("wb")
    process = subprocess.Popen(
        command, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        if not probes.wait_ready(config.port, attempts=60, interval=0.25):
            pytest.fail(f"vmhost-server did not start: {(tmp_path / 'service.log').read_text()}")
        yield unit, config
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def test_the_adapter_drives_a_real_service(served):
    unit, config = served
    token = unit.create_admin_token(config)
    assert token.startswith("vmh_")

    with unit.api(config, token) as api:
        api.check_token()
        assert api.version()

        # add-host: a fake host takes the charm's default over-commit ratio (2.0 x 4 cores)
        added = api.add_host({"type": "fake", "address": "fake://dhcp", "name": "small1"})
        assert added["status"] == "ready"
        (host,) = json.loads(api.list_hosts()["hosts"])
        assert (host["name"], host["cores"]) == ("small1", "0/8")
        with pytest.raises(service_client.ServiceError, match="already exists"):
            api.add_host({"type": "fake", "address": "fake://dhcp", "name": "small1"})

        # compose from Juju constraints, then decompose
        vm = api.compose(
            host=None,
            constraints="cores=2 mem=1G",
            cores=1,
            memory_mib=2048,
            storage=None,
            interfaces=None,
            hostname=None,
        )
        assert (vm["host"], vm["cores"], vm["memory-mib"]) == ("small1", "2", "1024")
        assert api.decompose(int(vm["id"]))["id"] == vm["id"]

        # the vm-host answer path: two machines, then one, then more than fit
        owner = service_client.relation_owner("vmhost-manager", 4)
        two = api.machines(owner, "cores=2 mem=1G", 2)
        assert two.error is None and len(two.machines) == 2
        # each machine's address, read back from its host (the bridge's DHCP)
        addresses = [m.addresses for m in two.machines]
        assert all(len(a) == 1 and a[0].startswith("10.20.0.") for a in addresses), addresses
        assert len({a[0] for a in addresses}) == 2
        vms = json.loads(api.list_vms()["vms"])
        assert {v["owner"] for v in vms} == {owner}
        one = api.machines(owner, "cores=2 mem=1G", 1)
        assert one.machines == two.machines[:1] and one.error is None
        assert json.loads(api.list_vms()["count"]) == 1
        many = api.machines(owner, "cores=4 mem=1G", 3)
        assert len(many.machines) == 2  # 2 + 4 cores of 8: a third does not fit
        assert many.error is not None and many.error.startswith("no VM host can satisfy")
        assert "cores" in many.error
        bad = api.machines(owner, "cores=lots", 3)
        assert bad.error is not None and bad.error.startswith("constraints 'cores=lots'")
        assert api.owners("vmhost-manager/vm-host/") == {owner}
        assert api.release_owner(owner) == 2
        assert api.owners("vmhost-manager/vm-host/") == set()

        # an LXD server that does not answer is reported, and nothing is registered
        problems = api.sync_lxd_hosts(
            [service_client.LxdHost("lxd-lxd-0", f"https://127.0.0.1:{free_port()}")],
            set(),
            certificate="",
            key="",
        )
        assert len(problems) == 1 and problems[0].startswith("lxd-lxd-0 (https://127.0.0.1:")
        assert api.host_count() == 1

        # create-token: a read-only token that works, and never the charm's own
        reader, record = api.create_token("ci", read_only=True)
        assert record["role"] == "readonly" and reader != token
        with service_client.ServiceApi(config.url(), reader) as read_only:
            assert read_only.token_accepted()
        with service_client.ServiceApi(config.url(), "vmh_unknown") as unknown:
            assert not unknown.token_accepted()

    # renewing the admin token revokes the old one
    renewed = unit.create_admin_token(config)
    with unit.api(config, token) as api, pytest.raises(service_client.UnauthorizedError):
        api.check_token()
    with unit.api(config, renewed) as api:
        api.check_token()
        read_only = service_client.ServiceApi(config.url(), reader)
        with read_only, pytest.raises(service_client.UnauthorizedError, match="not admin"):
            read_only.check_token()
