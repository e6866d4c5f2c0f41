"""Juju's own MAAS client against vmhost: ``gomaasapi/main.go`` built with Debian's Go.

The program is compiled in GOPATH mode against Debian's ``golang-github-juju-gomaasapi-dev``
(``scripts/setup-hosts`` installs it), with nothing downloaded: ``GO111MODULE=off``,
``GOPROXY=off``, ``GOPATH=<build dir>:/usr/share/gocode``. It replays Juju's sequence (version,
whoami, boot resources, zones, spaces, allocate with cores/memory/zone/storage/interfaces/agent
name, deploy with gzip+base64 user data, domains, owner data, machines by id and agent name, the
wait for Deployed, files, release, a 409 and a bad key) and stops at the first failing step.

A missing Go or gomaasapi is a failure naming the fix, never a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from conftest import MaasServer, oauth_header
from support import hosts

pytestmark = pytest.mark.maas

SOURCE = Path(__file__).parent / "gomaasapi" / "main.go"
GOCODE = Path("/usr/share/gocode")
GOMAASAPI = GOCODE / "src" / "github.com" / "juju" / "gomaasapi"
PROGRAM = "gomaasapi-juju"
BUILD_TIMEOUT_S = 300
RUN_TIMEOUT_S = 180
MODEL_UUID = "2f9ac6c4-5d6e-4c8b-9c39-7f1e0c5b8a11"


def _setup_reason() -> str:
    entry = hosts.component("maas_clients")
    if entry.get("reason"):
        return f" (scripts/setup-hosts recorded: {entry['reason']})"
    return " (run scripts/setup-hosts as root: it installs golang-go and gomaasapi)"


def go_environment(build_dir: Path) -> dict[str, str]:
    """GOPATH mode over Debian's packages; no module proxy, no network."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
    environment.update(
        GOPATH=f"{build_dir}:{GOCODE}",
        GO111MODULE="off",
        GOPROXY="off",
        GOFLAGS="",
        GOTOOLCHAIN="local",
        GOCACHE=os.environ.get("GOCACHE") or str(build_dir / "cache"),
    )
    return environment


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Go program, built from the repository's source against Debian's gomaasapi."""
    go = shutil.which("go")
    if go is None:
        pytest.fail("no 'go' on PATH: apt-get install golang-go" + _setup_reason())
    if not (GOMAASAPI / "controller.go").is_file():
        pytest.fail(
            f"{GOMAASAPI} is absent: apt-get install golang-github-juju-gomaasapi-dev"
            + _setup_reason()
        )
    build_dir = tmp_path_factory.mktemp("gopath")
    package = build_dir / "src" / PROGRAM
    package.mkdir(parents=True)
    shutil.copy(SOURCE, package / "main.go")
    binary = build_dir / "bin" / PROGRAM
    built = subprocess.run(
        [go, "build", "-o", str(binary), "."],
        cwd=package,
        env=go_environment(build_dir),
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
    )
    if built.returncode != 0:
        pytest.fail(f"go build failed ({built.returncode}):\n{built.stdout}{built.stderr}")
    return binary


def run(program: Path, server: MaasServer, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run the program against the server; its output is one line per step."""
    environment = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return subprocess.run(
        [
            str(program),
            "-url",
            server.maas_url,
            "-key",
            server.api_key,
            "-zone",
            server.zone,
            "-space",
            server.space,
            "-agent",
            MODEL_UUID,
            *extra,
        ],
        env=environment,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )


def test_gomaasapi_replays_jujus_sequence(program: Path, maas_server: MaasServer) -> None:
    result = run(program, maas_server)
    lines = result.stdout.splitlines()
    failed = [line for line in lines if line.startswith("FAIL ")]
    assert result.returncode == 0 and not failed, (
        f"exit {result.returncode}; {failed[:1] or 'no FAIL line'}\n{result.stdout}"
        f"{result.stderr}\nserver log:\n{maas_server.log_tail()}"
    )
    steps = [line.split(":", 1)[0].removeprefix("ok ") for line in lines]
    assert steps == [
        "NewController",
        "BootResources",
        "Zones",
        "Spaces",
        "AllocateMachine",
        "Start",
        "Domains",
        "SetOwnerData",
        "Machines",
        "Deployed",
        "Files",
        "ReleaseMachines",
        "NoMatch",
        "BadKey",
        "done",
    ], result.stdout

    # what the client did is what vmhost now holds: the composed VM is gone with its machine,
    # the model's file was deleted, and the hosts' room is whole again
    with maas_server.api() as api:
        assert api.get("/api/v1/vms").json() == []
        hosts_now = api.get("/api/v1/vm-hosts").json()
    for host in hosts_now:
        assert host["used"]["cores"] == 0 and host["used"]["memory"] == 0, host
    files = httpx.get(
        f"{maas_server.maas_url}/api/2.0/files/",
        headers={"Authorization": oauth_header(maas_server.api_key)},
        trust_env=False,
        timeout=10,
    )
    assert files.status_code == 200 and files.json() == [], files.text


def test_gomaasapi_fails_at_the_first_broken_step(program: Path, maas_server: MaasServer) -> None:
    # a zone without hosts: the program stops at Zones, names it, and exits 1
    result = run(program, maas_server, "-zone", "no-such-zone")
    assert result.returncode == 1, result.stdout
    assert result.stdout.splitlines()[-1].startswith('FAIL Zones: zone "no-such-zone" not in')
