"""``vmhost maas cloud-yaml``: the clouds.yaml and credentials.yaml a Juju user pastes into
``juju add-cloud -f`` and ``juju add-credential -f``, from the profile's admin token."""

from __future__ import annotations

import os
import stat
from typing import Any

import pytest
import yaml
from api_support import LiveServer, live_server  # noqa: F401 (fixture)
from typer.testing import CliRunner

from vmhost.cli.main import app
from vmhost.client import juju_cloud


class Cli:
    """``vmhost`` with a private config directory."""

    def __init__(self, config_dir: str) -> None:
        self.runner = CliRunner()
        self.env = {"VMHOST_CONFIG_DIR": config_dir, "VMHOST_PROFILE": None, "COLUMNS": "200"}

    def __call__(self, *args: str, code: int = 0) -> Any:
        result = self.runner.invoke(app, list(args), env=self.env)
        assert result.exit_code == code, (args, result.exit_code, result.output)
        assert "Traceback" not in result.output
        return result


@pytest.fixture
def cli(live_server: LiveServer, tmp_path: Any) -> Cli:  # noqa: F811
    runner = Cli(str(tmp_path / "config"))
    runner("login", "admin", live_server.url, live_server.admin_token)
    runner("login", "ro", live_server.url, live_server.reader_token)
    return runner


def _documents(text: str) -> list[Any]:
    return list(yaml.safe_load_all(text))


def test_cloud_yaml_prints_both_files(cli: Cli, live_server: LiveServer) -> None:  # noqa: F811
    admin = next(t for t in live_server.services.tokens.list() if t.name == "test-admin")

    result = cli("--profile", "admin", "maas", "cloud-yaml", "--address", "10.213.70.1:5240")

    clouds, credentials = _documents(result.stdout)
    assert clouds == {
        "clouds": {
            "vmhost": {
                "type": "maas",
                "description": "VMs composed on demand by vmhost",
                "auth-types": ["oauth1"],
                "endpoint": "http://10.213.70.1:5240/MAAS",
            }
        }
    }
    key = f"test-admin:{admin.id}:{live_server.admin_token}"
    assert credentials == {
        "credentials": {"vmhost": {"vmhost-oauth": {"auth-type": "oauth1", "maas-oauth": key}}}
    }
    assert "juju add-cloud vmhost -f clouds.yaml" in result.stdout
    assert "loopback" not in result.stderr


def test_cloud_yaml_defaults_to_the_profile_url_and_warns_on_loopback(
    cli: Cli,
    live_server: LiveServer,  # noqa: F811
    tmp_path: Any,
) -> None:
    out = str(tmp_path / "out")
    os.mkdir(out)

    result = cli("maas", "cloud-yaml", "--cloud", "lab", "--credential", "me", "-o", out)

    assert "loopback" in result.stderr and "--address" in result.stderr
    assert result.stdout == ""
    with open(os.path.join(out, "clouds.yaml"), encoding="utf-8") as f:
        cloud = yaml.safe_load(f)["clouds"]["lab"]
    assert cloud["endpoint"] == f"{live_server.url}/MAAS"
    path = os.path.join(out, "credentials.yaml")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path, encoding="utf-8") as f:
        cred = yaml.safe_load(f)["credentials"]["lab"]["me"]
    assert cred["maas-oauth"].endswith(f":{live_server.admin_token}")


def test_cloud_yaml_refuses_a_read_only_token_and_bad_input(cli: Cli) -> None:
    result = cli("--profile", "ro", "maas", "cloud-yaml", code=2)
    assert "read-only" in result.stderr and len(result.stderr.splitlines()) == 1
    assert result.stdout == ""
    result = cli("maas", "cloud-yaml", "--address", "ftp://x", code=2)
    assert "ftp://x" in result.stderr and result.stdout == ""
    result = cli("maas", "cloud-yaml", "--cloud", "a b", code=2)
    assert "cloud name" in result.stderr


@pytest.mark.parametrize(
    ("given", "endpoint"),
    [
        ("10.0.0.1", "http://10.0.0.1/MAAS"),
        ("10.0.0.1:5240", "http://10.0.0.1:5240/MAAS"),
        ("https://vmhost.example:5240/", "https://vmhost.example:5240/MAAS"),
        ("http://10.0.0.1:5240/MAAS", "http://10.0.0.1:5240/MAAS"),
        ("[fd00::1]:5240", "http://[fd00::1]:5240/MAAS"),
    ],
)
def test_endpoint(given: str, endpoint: str) -> None:
    assert juju_cloud.endpoint(given) == endpoint


def test_maas_key_refuses_colons() -> None:
    assert juju_cloud.maas_key("juju", 7, "vmh_x") == "juju:7:vmh_x"
    with pytest.raises(juju_cloud.CloudError, match="token name"):
        juju_cloud.maas_key("a:b", 7, "vmh_x")
