"""One storage figure everywhere (issue 12 item 12): a pool where files outside any VM take
24 GB. MAAS's ``available.local_storage`` keeps MAAS's meaning (total less VM disks: 270 GB);
``available.local_storage_free_bytes`` carries what compose can still use (246 GB), the same
figure as ``resources.storage.free_bytes``, the pools' ``free_bytes`` and the CLI's table."""

from __future__ import annotations

import json
from typing import Any

from api_support import ApiEnv, LiveServer
from typer.testing import CliRunner

from vmhost import model
from vmhost.cli import output
from vmhost.cli.main import app

GB = 1000**3


def _inventory() -> dict[str, Any]:
    return {
        "cores": 8,
        "memory_mib": 16384,
        "storage_pools": [
            # the host reports 54 GB used: the VM's 30 GB disk and 24 GB of other files
            {
                "name": "default",
                "type": "dir",
                "path": "/p",
                "total_bytes": 300 * GB,
                "used_bytes": 54 * GB,
            },
            {"name": "fast", "type": "dir", "path": "/f", "total_bytes": 100 * GB},
        ],
        "networks": [{"name": "br0", "kind": "bridge"}],
    }


def _host_with_outside_use(api: ApiEnv) -> dict[str, Any]:
    host = api.add_host("h1", "fake://h1", options={"inventory": _inventory()})
    api.compose("h1", cores=1, memory_mib=1024, storage="root:30")
    assert api.post(f"/api/v1/vm-hosts/{host['id']}/refresh").status_code == 200
    return api.host("h1")


def test_maas_keys_keep_their_meaning_and_a_new_key_counts_outside_use(api: ApiEnv) -> None:
    h = _host_with_outside_use(api)
    assert h["total"]["local_storage"] == 400 * GB
    assert h["used"]["local_storage"] == 30 * GB  # MAAS: disks of every VM
    assert h["available"]["local_storage"] == 370 * GB  # MAAS: total - used
    storage = h["resources"]["storage"]
    assert storage["external_bytes"] == 24 * GB
    assert storage["free_bytes"] == 346 * GB
    assert h["available"]["local_storage_free_bytes"] == storage["free_bytes"]

    pools = api.get(f"/api/v1/vm-hosts/{h['id']}/storage-pools").json()
    default = next(p for p in pools if p["name"] == "default")
    assert (default["available"], default["free_bytes"]) == (270 * GB, 246 * GB)
    assert sum(p["free_bytes"] for p in pools) == storage["free_bytes"]
    assert sum(p["total"] for p in pools) == storage["total_bytes"] == h["total"]["local_storage"]
    assert sum(p["used"] for p in pools) == h["used"]["local_storage"]
    assert sum(p["external_bytes"] for p in pools) == storage["external_bytes"]
    # the listing says the same as the read
    (listed,) = api.get("/api/v1/vm-hosts").json()
    assert listed["available"] == h["available"] and listed["resources"] == h["resources"]


def test_the_cli_table_shows_the_same_use(live_server: LiveServer, tmp_path: Any) -> None:
    runner = CliRunner()
    env = {"VMHOST_CONFIG_DIR": str(tmp_path / "c"), "VMHOST_PROFILE": None, "COLUMNS": "200"}

    def vmhost(*args: str) -> str:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == 0, (args, result.output)
        return str(result.stdout)

    vmhost("login", "admin", live_server.url, live_server.admin_token)
    settings = model.HostSettings(name="h1", type=model.HostType.FAKE, address="fake://h1")
    live_server.services.hosts.add(settings, options={"inventory": _inventory()})
    vmhost("-q", "vm-host", "compose", "h1", "--cores", "1", "--memory", "1024",
           "--storage", "root:30")  # fmt: skip
    vmhost("vm-host", "refresh", "h1")
    read = json.loads(vmhost("vm-host", "read", "h1"))
    assert read["available"]["local_storage_free_bytes"] == 346 * GB
    table = vmhost("vm-hosts", "read", "--format", "table")
    # STORAGE: VM disks and outside use (30 + 24 GB) of the total (400 GB)
    assert f"{output.size_bytes(54 * GB)}/{output.size_bytes(400 * GB)}" in table, table
