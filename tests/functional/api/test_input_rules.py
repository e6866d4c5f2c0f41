"""One rule per input on every surface (API, CLI, Juju provider): the compose minimum memory
(MAAS's 1024 MiB), tags by MAAS's rule (letters, digits, ``-``, ``_``; at most 64), NIC names
within the kernel's 15 bytes. Refused input changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from api_support import ApiEnv, LiveServer
from typer.testing import CliRunner
from vmhost_provider.allocate import allocate_or_compose
from vmhost_provider.translate import TranslationError

from vmhost import client as vmclient
from vmhost import schemas
from vmhost.cli.main import app

#: NUL, ESC (an ANSI colour), DEL, RIGHT-TO-LEFT OVERRIDE, markup, a space, too long, empty.
BAD_TAGS = ["a\x00b", "\x1b[31mred", "a\x7f", "\u202egpu", "<script>", "two words", "t" * 65, ""]


def _refused(response: Any, status: int, field: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = dict(response.json())
    assert field in body["fields"], body
    return body


def test_compose_memory_minimum_is_maas(api: ApiEnv) -> None:
    assert schemas.MIN_MEMORY_MIB == 1024
    api.add_host("h1")
    body = _refused(api.post("/api/v1/vms", {"memory_mib": 1023}), 422, "memory_mib")
    assert "1024" in body["message"]
    _refused(api.post("/api/v1/vm-hosts/h1/compose", {"memory_mib": 64}), 422, "memory_mib")
    assert api.get("/api/v1/vms").json() == []
    vm = api.post("/api/v1/vms", {"memory_mib": 1024}).json()["vm"]
    assert vm["memory_mib"] == 1024


@pytest.mark.parametrize("tag", BAD_TAGS)
def test_bad_host_tags_are_refused(api: ApiEnv, tag: str) -> None:
    api.add_host("h1", tags=["keep"])
    before = api.host("h1")
    create = {"type": "fake", "power_address": "fake://small", "name": "h2", "tags": [tag]}
    _refused(api.post("/api/v1/vm-hosts", create), 400, "tag")
    _refused(api.post("/api/v1/vm-hosts/h1/add-tag", {"tag": tag}), 400, "tag")
    _refused(api.put("/api/v1/vm-hosts/h1", {"tags": [tag]}), 400, "tag")
    assert api.host("h1") == before
    assert [h["name"] for h in api.get("/api/v1/vm-hosts").json()] == ["h1"]


@pytest.mark.parametrize("tag", BAD_TAGS)
def test_bad_compose_tags_are_refused(api: ApiEnv, tag: str) -> None:
    api.add_host("h1")
    for key in ("tags", "not_tags"):
        body = _refused(api.post("/api/v1/vms", {key: [tag]}), 422, key)
        assert "letters, digits" in body["message"]
    assert api.get("/api/v1/vms").json() == []


def test_good_tags_still_work(api: ApiEnv) -> None:
    api.add_host("h1", tags=["ssd", "gpu-2", "rack_7"])
    assert api.post("/api/v1/vms", {"tags": ["gpu-2"], "not_tags": ["old"]}).status_code == 200


def test_nic_names_within_the_kernels_limit(api: ApiEnv) -> None:
    api.add_host("h1")
    for name in ("a" * 16, "eth/0", "eth 0", "é" * 8):
        nics = [{"name": name, "network": "br0"}]
        _refused(
            api.post("/api/v1/vms", {"interfaces": nics}),
            422,
            "interfaces.list[InterfaceSpec].0.name",
        )
    assert api.get("/api/v1/vms").json() == []
    ok = [{"name": "a" * 15, "network": "br0"}]
    vm = api.post("/api/v1/vms", {"interfaces": ok}).json()["vm"]
    assert [n["name"] for n in vm["interfaces"]] == ["a" * 15]
    # a long label in MAAS's grammar becomes MAAS's hashed name, never a long one
    long = api.post("/api/v1/vms", {"interfaces": "a-very-long-label:network=br0"}).json()
    (nic,) = long["vm"]["interfaces"]
    assert len(nic["name"]) == 15 and nic["name"].startswith("eth-")


def test_the_provider_applies_the_same_rules(api: ApiEnv) -> None:
    api.add_host("h1")
    with vmclient.VmHostClient("http://testserver", api.admin_token, http=api.client) as vmh:
        with pytest.raises(ValueError, match="minimum of 1024 MiB"):
            allocate_or_compose(vmh, "mem=1000M", owner="o")
        with pytest.raises(TranslationError, match=r'bad "tags" constraint: .* letters, digits'):
            allocate_or_compose(vmh, "tags=<script>", owner="o")
        assert vmh.vms.list() == []
        assert allocate_or_compose(vmh, "mem=1G", owner="o").vm.memory_mib == 1024


def test_the_cli_applies_the_same_rules(live_server: LiveServer, tmp_path: Any) -> None:
    runner = CliRunner()
    env = {"VMHOST_CONFIG_DIR": str(tmp_path / "config"), "VMHOST_PROFILE": None}

    def cli(*args: str, code: int = 0) -> Any:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == code, (args, result.output)
        assert "Traceback" not in result.output
        return result

    cli("login", "admin", live_server.url, live_server.admin_token)
    cli("-q", "vm-hosts", "create", "--type", "fake", "--address", "fake://numa", "--name", "h1")
    for args, needle in [
        (("vms", "compose", "--memory", "512"), "memory_mib"),
        (("vm-host", "compose", "h1", "--memory", "1023"), "1024"),
        (("vm-host", "add-tag", "h1", "<script>"), "not a valid tag"),
        (("vm-host", "add-tag", "h1", "\x1b[31mred"), "not a valid tag"),
        (("vms", "compose", "--tags", "ok,\u202egpu"), "letters, digits"),
    ]:
        result = cli(*args, code=1)
        assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
        assert needle in result.stderr, (args, result.stderr)
        assert "\x1b[31m" not in result.stderr and "\u202e" not in result.stderr
    assert json.loads(cli("vm-host", "read", "h1").stdout)["tags"] == []
    assert json.loads(cli("vms", "list", "--format", "json").stdout) == []
