"""A host's connection options are a host setting (issue 12 item 20): LXD's ``image`` and the
others are given on create, changed by update (merged; null removes one), shown in the host's
parameters, and reach the driver; an unknown name or a wrong type is a 400 naming
``options.KEY`` that changes nothing, through the API and the CLI."""

from __future__ import annotations

import json
from typing import Any

import pytest
from api_support import ApiEnv, LiveServer
from typer.testing import CliRunner

from vmhost.cli.main import app

HOSTS = "/api/v1/vm-hosts"


def _lxd(api: ApiEnv, **fields: Any) -> dict[str, Any]:
    """An LXD host (the tests' stand-in answers 'untrusted': the host is kept)."""
    response = api.post(HOSTS, {"type": "lxd", "power_address": "127.0.0.1:1", **fields})
    assert response.status_code == 201, response.text
    return dict(response.json())


def _options(api: ApiEnv, host: int | str) -> dict[str, Any]:
    response = api.get(f"{HOSTS}/{host}/parameters")
    assert response.status_code == 200, response.text
    return dict(response.json()["options"])


def test_the_image_is_set_on_create_changed_by_update_and_reaches_the_driver(
    api: ApiEnv,
) -> None:
    host = _lxd(api, name="lxd1", options={"image": "vmhost-test"})
    assert _options(api, "lxd1") == {"image": "vmhost-test"}
    assert api.services.ctx.connection(host["id"]).options["image"] == "vmhost-test"

    changed = api.put(f"{HOSTS}/lxd1", {"options": {"image": "ubuntu:24.04"}})
    assert changed.status_code == 200, changed.text
    assert _options(api, "lxd1") == {"image": "ubuntu:24.04"}
    # merged: a name not given is kept; null removes one (the driver's default again)
    api.put(f"{HOSTS}/lxd1", {"options": {"timeout_s": 10}})
    assert _options(api, "lxd1") == {"image": "ubuntu:24.04", "timeout_s": 10}
    api.put(f"{HOSTS}/lxd1", {"options": {"image": None}})
    assert _options(api, "lxd1") == {"timeout_s": 10}
    assert "image" not in api.services.ctx.connection(host["id"]).options


@pytest.mark.parametrize(
    ("options", "field", "message"),
    [
        ({"imgae": "vmhost-test"}, "options.imgae", "not an option of lxd hosts"),
        ({"keyfile": "/root/.ssh/id"}, "options.keyfile", "not an option of lxd hosts"),
        ({"image": ""}, "options.image", "1 to 4096 characters"),
        ({"image": "a\x1b[31m"}, "options.image", "without control characters"),
        ({"image": 5}, "options.image", "must be text"),
        ({"timeout_s": "soon"}, "options.timeout_s", "a number of at least 0"),
        ({"timeout_s": -1}, "options.timeout_s", "a number of at least 0"),
        ({"timeout_s": True}, "options.timeout_s", "a number of at least 0"),
    ],
)
def test_bad_options_are_refused_naming_the_key_and_change_nothing(
    api: ApiEnv, options: dict[str, Any], field: str, message: str
) -> None:
    created = api.post(HOSTS, {"type": "lxd", "power_address": "127.0.0.1:1", "options": options})
    assert created.status_code == 400, created.text
    assert list(created.json()["fields"]) == [field]
    assert message in created.json()["message"]
    assert api.get(HOSTS).json() == []  # nothing added

    _lxd(api, name="lxd1", options={"image": "vmhost-test"})
    before = api.get(f"{HOSTS}/lxd1").json()
    changed = api.put(f"{HOSTS}/lxd1", {"options": options, "cpu_over_commit_ratio": 2})
    assert changed.status_code == 400, changed.text
    assert list(changed.json()["fields"]) == [field]
    assert _options(api, "lxd1") == {"image": "vmhost-test"}
    assert api.get(f"{HOSTS}/lxd1").json() == before


def test_options_are_per_driver(api: ApiEnv) -> None:
    api.add_host("f1")
    response = api.put(f"{HOSTS}/f1", {"options": {"image": "vmhost-test"}})
    assert response.status_code == 400, response.text
    assert list(response.json()["fields"]) == ["options.image"]
    assert "not an option of fake hosts" in response.json()["message"]
    libvirt = api.put(f"{HOSTS}/f1", {"options": {"cpu_mode": "fast"}})
    assert libvirt.status_code == 400 and "options.cpu_mode" in libvirt.json()["fields"]
    assert api.put(f"{HOSTS}/f1", {"options": {"compose_delay_s": 0.5}}).status_code == 200
    assert _options(api, "f1")["compose_delay_s"] == 0.5


def test_the_cli_sets_and_removes_options(live_server: LiveServer, tmp_path: Any) -> None:
    runner = CliRunner()
    env = {"VMHOST_CONFIG_DIR": str(tmp_path / "config"), "VMHOST_PROFILE": None}

    def vmhost(*args: str, code: int = 0) -> Any:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == code, (args, result.output)
        assert "Traceback" not in result.output
        return result

    vmhost("login", "admin", live_server.url, live_server.admin_token)
    vmhost("-q", "vm-hosts", "create", "--type", "lxd", "--address", "127.0.0.1:1",
           "--name", "lxd1", "--image", "vmhost-test")  # fmt: skip

    def options() -> dict[str, Any]:
        return dict(json.loads(vmhost("vm-host", "parameters", "lxd1").stdout)["options"])

    assert options() == {"image": "vmhost-test"}
    vmhost("vm-host", "update", "lxd1", "--image", "images:debian/12", "--option", "timeout_s=10")
    assert options() == {"image": "images:debian/12", "timeout_s": 10}
    vmhost("vm-host", "update", "lxd1", "--option", "timeout_s=")
    assert options() == {"image": "images:debian/12"}
    refused = vmhost("vm-host", "update", "lxd1", "--option", "imgae=x", code=1)
    assert "options.imgae" in refused.output and len(refused.output.strip().splitlines()) == 1
    usage = vmhost("vm-host", "update", "lxd1", "--option", "image", code=2)
    assert "KEY=VALUE" in usage.output
    assert options() == {"image": "images:debian/12"}
