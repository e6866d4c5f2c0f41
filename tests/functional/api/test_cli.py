"""The ``vmhost`` CLI against a live server (uvicorn on 127.0.0.1): JSON for reads, tables for
lists, --format json|yaml, one-line errors and exit codes, login profiles."""

from __future__ import annotations

import json
import os
import stat
from typing import Any

import pytest
import yaml
from api_support import LiveServer
from typer.testing import CliRunner

from vmhost.cli.main import app


class Cli:
    """Runs ``vmhost`` commands with a private config directory."""

    def __init__(self, config_dir: str) -> None:
        self.runner = CliRunner()
        self.env = {"VMHOST_CONFIG_DIR": config_dir, "VMHOST_PROFILE": None, "COLUMNS": "200"}

    def __call__(self, *args: str, code: int = 0) -> Any:
        result = self.runner.invoke(app, list(args), env=self.env)
        assert result.exit_code == code, (args, result.exit_code, result.output)
        assert "Traceback" not in result.output
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self(*args).stdout)


@pytest.fixture
def cli(live_server: LiveServer, tmp_path: Any) -> Cli:
    """Logged in as admin (profile 'admin') and read-only (profile 'ro')."""
    runner = Cli(str(tmp_path / "config"))
    result = runner("login", "admin", live_server.url, live_server.admin_token)
    assert "as 'test-admin' (admin)" in result.stderr
    runner("login", "ro", live_server.url, live_server.reader_token)
    return runner


def test_login_saves_profiles_mode_600(cli: Cli, live_server: LiveServer) -> None:
    path = os.path.join(cli.env["VMHOST_CONFIG_DIR"], "profiles.yaml")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    assert data["default"] == "admin"
    assert data["profiles"]["ro"]["url"] == live_server.url
    listed = cli("profiles")
    assert "admin" in listed.stdout and live_server.admin_token not in listed.stdout
    assert cli.json("whoami") == {"name": "test-admin", "role": "admin", "id": 1}
    assert cli.json("--profile", "ro", "whoami")["role"] == "readonly"
    cli.env["VMHOST_PROFILE"] = "ro"
    assert cli.json("whoami")["role"] == "readonly"


def test_login_with_a_wrong_token_saves_nothing(cli: Cli, live_server: LiveServer) -> None:
    result = cli("login", "bad", live_server.url, "vmh_wrong", code=1)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: ")
    assert "bad" not in cli("profiles").stdout
    result = cli("login", "x", "ftp://nowhere", "t", code=2)
    assert "http" in result.stderr


def test_not_logged_in_is_a_usage_error(tmp_path: Any) -> None:
    runner = Cli(str(tmp_path / "empty"))
    result = runner("vms", "list", code=2)
    assert result.stderr == "Error: not logged in: run 'vmhost login PROFILE URL TOKEN' first\n"
    result = runner("--profile", "nope", "vms", "list", code=2)
    assert "no profile named 'nope'" in result.stderr


def test_unreachable_server_is_one_line(cli: Cli, tmp_path: Any) -> None:
    from api_support import free_port

    cli("login", "dead", f"http://127.0.0.1:{free_port()}", "t", "--no-check")
    result = cli("--profile", "dead", "vm-hosts", "read", code=1)
    assert result.stderr.startswith("Error: cannot reach http://127.0.0.1:")
    assert result.stderr.count("\n") == 1


def test_vm_hosts_create_read_and_list_formats(cli: Cli) -> None:
    created = cli.json(
        "vm-hosts",
        "create",
        "--type",
        "fake",
        "--address",
        "fake://numa",
        "--name",
        "h1",
        "--tags",
        "ssd,gpu",
        "--cpu-over-commit-ratio",
        "2",
    )
    assert created["name"] == "h1" and created["tags"] == ["ssd", "gpu"]
    cli("-q", "vm-hosts", "create", "--type", "fake", "--address", "fake://small")
    host = cli.json("vm-host", "read", "h1")
    assert host == cli.json("vm-host", "read", str(created["id"]))
    assert host["total"]["cores"] == 16 and host["resources"]["cores"]["capacity"] == 32
    table = cli("vm-hosts", "read").stdout
    header = table.splitlines()[0].split()
    assert header == [
        "ID",
        "NAME",
        "TYPE",
        "STATUS",
        "ZONE",
        "POOL",
        "CORES",
        "MEMORY",
        "STORAGE",
        "VMS",
    ]
    assert "h1" in table and "small" in table and "0/32" in table
    as_json = cli.json("vm-hosts", "read", "--format", "json")
    assert [h["name"] for h in as_json] == ["h1", "small"]
    as_yaml = yaml.safe_load(cli("vm-hosts", "read", "-f", "yaml").stdout)
    assert [h["name"] for h in as_yaml] == ["h1", "small"]
    assert as_yaml[0]["host"] == {"system_id": None, "__incomplete__": True}


def test_vm_host_projects_as_json_and_yaml(cli: Cli) -> None:
    cli.json("vm-hosts", "create", "--type", "fake", "--address", "fake://numa", "--name", "p1")
    cli.json("vms", "compose", "--cores", "2", "--memory", "1024", "--hostname", "in-default")
    projects = cli.json("vm-host", "projects", "p1", "--format", "json")
    assert projects == [
        {
            "name": "default",
            "description": "",
            "instances": 1,
            "cores": 2,
            "memory_mib": 1024,
            "disk_bytes": projects[0]["disk_bytes"],
        }
    ]
    assert projects[0]["disk_bytes"] > 0
    as_yaml = cli("vm-host", "projects", "p1", "--format", "yaml").stdout
    assert "name: default" in as_yaml and "instances: 1" in as_yaml


def test_vm_host_update_tags_parameters(cli: Cli) -> None:
    cli("-q", "vm-hosts", "create", "--type", "fake", "--address", "fake://numa", "--name", "h1")
    updated = cli.json("vm-host", "update", "h1", "--memory-over-commit-ratio", "1.5")
    assert updated["memory_over_commit_ratio"] == 1.5
    assert cli.json("vm-host", "add-tag", "h1", "fast")["tags"] == ["fast"]
    assert cli.json("vm-host", "remove-tag", "h1", "fast")["tags"] == []
    params = cli.json("vm-host", "parameters", "h1")
    assert params["power_address"] == "fake://numa" and params["type"] == "fake"
    result = cli("--profile", "ro", "vm-host", "parameters", "h1", code=1)
    assert result.stderr == "Error: This method is reserved for admin users.\n"


def test_errors_are_one_line_with_exit_1_and_change_nothing(cli: Cli) -> None:
    cli("-q", "vm-hosts", "create", "--type", "fake", "--address", "fake://numa", "--name", "h1")
    before = cli.json("vm-host", "read", "h1")
    for args, needle in [
        (("vm-host", "update", "h1", "--cpu-over-commit-ratio", "11"), "cpu_over_commit_ratio"),
        (("vm-host", "update", "h1", "--type", "lxd"), "Delete it and add it again"),
        (("vm-host", "add-tag", "h1", "a,b"), 'Tag may not contain a ","'),
        (("vm-host", "read", "99"), "VM host 99 does not exist"),
        (("vm-host", "update", "h1", "--zone", "nowhere"), "no zone named 'nowhere'"),
        (
            ("vm-hosts", "create", "--type", "fake", "--address", "fake://small", "--name", "h1"),
            "already exists",
        ),
        (
            ("vm-host", "compose", "h1", "--cores", "500"),
            "host 'h1' cannot take this VM: 500 cores requested, at most 16 for one VM",
        ),
        (("vm-host", "compose", "h1", "--storage", "8,,9"), "Malformed storage constraint"),
    ]:
        result = cli(*args, code=1)
        assert result.stderr.startswith("Error: "), result.stderr
        assert result.stderr.count("\n") == 1, result.stderr
        assert needle in result.stderr, (args, result.stderr)
        assert result.stdout == ""
    assert cli.json("vm-host", "read", "h1") == before


def test_usage_errors_exit_2(cli: Cli) -> None:
    result = cli("vms", "read", "abc", code=2)
    assert "Traceback" not in result.output
    cli("vm-host", "compose", "h1", "--pinned-cores", "x-y", code=2)
    cli(
        "vm-hosts",
        "create",
        "--type",
        "lxd",
        "--address",
        "https://127.0.0.1:9",
        "--certificate",
        "/nonexistent.pem",
        code=2,
    )
    cli("no-such-command", code=2)


def test_compose_list_power_delete(cli: Cli) -> None:
    cli("-q", "vm-hosts", "create", "--type", "fake", "--address", "fake://numa", "--name", "h1")
    result = cli.json(
        "vm-host",
        "compose",
        "h1",
        "--cores",
        "2",
        "--memory",
        "4096",
        "--storage",
        "root:20(fast)",
        "--hostname",
        "web1",
    )
    vm = result["vm"]
    assert vm["name"] == "web1" and vm["disks"][0]["pool"] == "fast"
    anywhere = cli.json("vms", "compose", "--cores", "1", "--hostname", "web2")
    assert anywhere["host"]["name"] == "h1"
    table = cli("vms", "list").stdout
    assert table.splitlines()[0].split() == [
        "ID",
        "NAME",
        "HOST",
        "ORIGIN",
        "STATE",
        "POWER",
        "CORES",
        "MEMORY",
        "DISK",
        "OWNER",
    ]
    assert "web1" in table and "web2" in table
    assert (
        "allocated to 'juju:a'"
        in cli("vms", "allocate", str(vm["id"]), "--owner", "juju:a").stderr
    )
    assert [v["name"] for v in cli.json("vms", "list", "--idle", "-f", "json")] == ["web2"]
    assert [v["name"] for v in cli.json("vms", "list", "--owner", "juju:a", "-f", "json")] == [
        "web1"
    ]
    cli("vms", "allocate", str(vm["id"]), "--owner", "juju:b", code=1)
    assert "is idle" in cli("vms", "release", str(vm["id"])).stderr
    listed = cli.json("vms", "list", "--host", "h1", "--format", "json")
    assert [v["name"] for v in listed] == ["web1", "web2"]
    assert cli.json("vms", "read", str(vm["id"]))["hostname"] == "web1"
    off = cli("vms", "power-off", str(vm["id"]))
    assert "is stopped" in off.stderr
    cli("vms", "power-on", str(vm["id"]))
    deleted = cli("vms", "delete", str(vm["id"]))
    assert "Deleted VM 'web1'" in deleted.stderr
    assert [v["name"] for v in cli.json("vms", "list", "-f", "json")] == ["web2"]
    cli("vms", "read", str(vm["id"]), code=1)


def test_storage_pools_and_resources_tables(cli: Cli) -> None:
    cli("-q", "vm-hosts", "create", "--type", "fake", "--address", "fake://numa", "--name", "h1")
    cli("-q", "vm-host", "compose", "h1", "--storage", "root:10(fast)")
    pools = cli("vm-host", "storage-pools", "h1").stdout.splitlines()
    assert pools[0].split() == ["NAME", "TYPE", "PATH", "TOTAL", "USED", "AVAIL", "DEFAULT"]
    fast = next(line.split() for line in pools if line.split()[:1] == ["fast"])
    assert fast[:3] == ["fast", "zfs", "tank/fast"]
    assert fast[3:9] == ["186.3", "GiB", "9.3", "GiB", "177.0", "GiB"]
    as_json = cli.json("vm-host", "storage-pools", "h1", "--format", "json")
    assert {p["name"]: p["used"] for p in as_json} == {"default": 0, "fast": 10 * 1000**3}
    resources = cli("vm-host", "resources", "h1").stdout
    assert "enp5s0f0:8/8" in resources and "2048K" in resources
    assert cli.json("vm-host", "resources", "h1", "-f", "json")["numa"][1]["index"] == 1


def test_refresh_and_delete_with_progress(cli: Cli) -> None:
    cli("-q", "vm-hosts", "create", "--type", "fake", "--address", "fake://numa", "--name", "h1")
    cli("-q", "vm-host", "compose", "h1")
    assert cli.json("vm-host", "refresh", "h1")["status"] == "ready"
    result = cli("vm-host", "delete", "h1", code=1)
    assert "decompose" in result.stderr and result.stderr.count("\n") == 1
    deleted = cli("vm-host", "delete", "h1", "--decompose")
    assert "Deleted VM host 'h1'" in deleted.stderr
    assert cli.json("vm-hosts", "read", "-f", "json") == []


def test_lxd_certificate_command(cli: Cli, live_server: LiveServer) -> None:
    created = cli(
        "vm-hosts",
        "create",
        "--type",
        "lxd",
        "--address",
        "https://127.0.0.1:9",
        "--name",
        "l1",
    )
    host = json.loads(created.stdout)
    assert host["type"] == "lxd"
    out = cli("vm-host", "certificate", "l1").stdout
    assert out.startswith("-----BEGIN CERTIFICATE-----")
    assert f"curl -sSf {live_server.url}/vmhost-certificate/l1 | lxc config trust add -" in out
    assert "Fingerprint: " in out
    pem = cli("vm-host", "certificate", "l1", "--pem").stdout
    assert pem.startswith("-----BEGIN") and pem.rstrip().endswith("-----END CERTIFICATE-----")
    assert "Fingerprint" not in pem


def test_zones_pools_spaces_tokens(cli: Cli) -> None:
    zone = cli.json("zones", "create", "z1", "--description", "rack one")
    assert zone["name"] == "z1"
    assert cli("zones", "list").stdout.splitlines()[0].split() == [
        "ID",
        "NAME",
        "DESCRIPTION",
        "HOSTS",
    ]
    assert cli.json("zones", "update", "z1", "--name", "z2")["name"] == "z2"
    assert cli.json("zones", "read", "z2")["description"] == "rack one"
    cli("zones", "delete", "z2")
    cli("zones", "read", "z2", code=1)
    assert cli.json("pools", "create", "p1")["name"] == "p1"
    assert [p["name"] for p in cli.json("pools", "list", "-f", "json")] == ["default", "p1"]
    cli("-q", "vm-hosts", "create", "--type", "fake", "--address", "fake://numa", "--name", "h1")
    result = cli("spaces", "set", "db", "--network", "br-db", "--host", "h1")
    assert "Space 'db' is network 'br-db' on h1." in result.stderr
    assert "br-db" in cli("spaces", "list").stdout
    cli("spaces", "unset", "db")
    assert cli.json("spaces", "list", "-f", "json") == []
    created = cli("tokens", "create", "ci", "--role", "readonly")
    token = created.stdout.strip()
    assert token.startswith("vmh_") and "shown only once" in created.stderr
    table = cli("tokens", "list").stdout
    assert "ci" in table and token not in table
    cli("token", "revoke", "ci")
    assert "ci" not in [t["name"] for t in cli.json("tokens", "list", "-f", "json")]
    result = cli("--profile", "ro", "tokens", "list", code=1)
    assert "reserved for admin" in result.stderr


def test_operations_commands(cli: Cli) -> None:
    cli("-q", "vm-hosts", "create", "--type", "fake", "--address", "fake://numa", "--name", "h1")
    ops = cli.json("operations", "list", "-f", "json")
    assert ops[0]["kind"] == "create-host" and ops[0]["status"] == "succeeded"
    assert cli.json("operations", "read", ops[0]["id"])["id"] == ops[0]["id"]
    cli("operations", "read", "nosuch", code=1)


def test_help_and_completion_are_available(cli: Cli) -> None:
    out = cli("--help").stdout
    for group in ("vm-hosts", "vm-host", "vms", "zones", "pools", "spaces", "tokens"):
        assert group in out
    assert "--install-completion" in out
    assert "storage-pools" in cli("vm-host", "--help").stdout


def test_names_are_percent_encoded_in_paths(
    cli: Cli, live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name is one path segment whatever it holds: dot segments are not resolved away and
    reserved characters are escaped, so a request never reaches another endpoint."""
    from vmhost import client
    from vmhost.cli import common

    sent: list[bytes] = []
    make = common.make_client

    def spying(profile: Any) -> client.VmHostClient:
        api = make(profile)
        api.http.event_hooks["request"].append(lambda r: sent.append(r.url.raw_path))
        return api

    monkeypatch.setattr(common, "make_client", spying)
    cli("-q", "vm-hosts", "create", "--type", "fake", "--address", "fake://numa", "--name", "h1")
    cli("tokens", "create", "x")
    for args, path in [
        (("vm-host", "read", "."), b"/api/v1/vm-hosts/%2E"),
        (("vm-host", "delete", ".."), b"/api/v1/vm-hosts/%2E%2E"),
        (("vm-host", "refresh", ".."), b"/api/v1/vm-hosts/%2E%2E/refresh"),
        (("token", "revoke", ".."), b"/api/v1/tokens/%2E%2E"),
        (("zones", "delete", "..."), b"/api/v1/zones/%2E%2E%2E"),
        (("vm-host", "delete", "../tokens/x"), b"/api/v1/vm-hosts/..%2Ftokens%2Fx"),
        (("vm-host", "read", "h1?x=1#y"), b"/api/v1/vm-hosts/h1%3Fx%3D1%23y"),
        (("vm-host", "read", "a b%2F"), b"/api/v1/vm-hosts/a%20b%252F"),
    ]:
        result = cli(*args, code=1)
        assert sent[-1].split(b"?")[0] == path, (args, sent[-1])
        assert result.stderr.count("\n") == 1 and result.stdout == "", (args, result.output)
    assert "does not exist" in cli("vm-host", "read", ".", code=1).stderr
    assert "'..' does not exist" in cli("vm-host", "delete", "..", code=1).stderr
    assert "cannot be empty" in cli("vm-host", "read", "", code=1).stderr
    # Nothing was reached by mistake: the host and the token are still there.
    assert cli.json("vm-host", "read", "h1")["name"] == "h1"
    assert "x" in [t["name"] for t in cli.json("tokens", "list", "-f", "json")]
