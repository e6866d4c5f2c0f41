"""The packed charm would start: its tree, laid out as charmcraft.yaml's parts do, runs a hook.

`charmcraft pack` cannot run on these machines (an Ubuntu 24.04 base on Debian; no LXD images),
so this module assembles the tree the parts describe and runs the real `dispatch` the way Juju
runs a hook:

- the `dump` part is applied from charmcraft.yaml itself: its source copied, `organize`
  applied, then its `stage` filter (so a wrong mapping or filter breaks these tests);
- charmcraft adds metadata.yaml, config.yaml and actions.yaml to every charm;
- the `charm` part's venv is stood in for by `venv/pyvenv.cfg` plus a site-packages directory
  whose .pth names this interpreter's site-packages (ops, pydantic, jinja2, tenacity and the
  service's dependencies), with `venv/bin` holding only `activate` as charmcraft leaves it;
- Juju is stood in for by hook tools on PATH (`juju-log`, `is-leader`, `config-get`,
  `relation-ids`, `opened-ports`, `open-port`, `status-set`, `application-version-set`, the
  `secret-*` tools over a JSON file, and `action-get`/`action-set`/`action-fail`: the ones ops
  and this charm call in these hooks; any other tool fails loudly) which record their
  arguments (secret content never: it is read from the `key#file=` files ops writes), and by
  the `JUJU_*` variables ops reads (`ops/jujucontext.py`);
- the machine is stood in for by `dpkg-query`, `apt-get` and a `systemctl` that starts the
  unit's `ExecStart` with its `Environment=`, inside a private mount namespace whose
  /etc/systemd/system and /var/lib are empty tmpfs mounts, so nothing on this machine changes.

The install hook then really starts the vmhost service from the tree (its venv and src/), the
charm sees it answer /api/v1/health, creates its admin token with the tree's `vmhost-server`
and keeps it in its manager secret, and sets Active; config-changed re-renders the unit and
restarts the service; an action (list-hosts) reaches the service with that token.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import pathlib
import platform
import shutil
import signal
import site
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator

import ops
import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
UNIT_NAME = "vmhost-manager/0"
FAKE_TOOLS = (
    "juju-log",
    "is-leader",
    "config-get",
    "relation-ids",
    "opened-ports",
    "open-port",
    "close-port",
    "status-set",
    "application-version-set",
    "secret-add",
    "secret-get",
    "secret-set",
    "secret-info-get",
    "action-get",
    "action-set",
    "action-fail",
    "dpkg-query",
    "apt-get",
    "systemctl",
)

# One script behind every fake tool; it records each call as a JSON line in calls.jsonl.
FAKE_TOOL = r'''
import json, os, pathlib, shlex, signal, subprocess, sys, time

name = pathlib.Path(sys.argv[0]).name
args = sys.argv[1:]
state = pathlib.Path(os.environ["FAKE_STATE_DIR"])
with open(state / "calls.jsonl", "a") as log:
    log.write(json.dumps([name, *args]) + "\n")


def unquote(value):
    """Undo workload.systemd_assignment: outer quotes, backslash escapes, then %%."""
    out, chars = [], iter(value[1:-1])
    for char in chars:
        out.append(next(chars) if char == "\\" else char)
    return "".join(out).replace("%%", "%")


def running():
    try:
        pid = int((state / "service.pid").read_text())
        os.kill(pid, 0)
    except (FileNotFoundError, ProcessLookupError):
        return None
    return pid


def stop():
    pid = running()
    if pid:
        os.killpg(pid, signal.SIGTERM)
        for _ in range(50):
            if not running():
                break
            time.sleep(0.1)


def start(service):
    unit = pathlib.Path("/etc/systemd/system") / f"{service}.service"
    (state / "unit.service").write_text(unit.read_text())
    environment, command, directory = {"PATH": "/usr/bin:/bin"}, None, None
    for line in unit.read_text().splitlines():
        key, _, value = line.partition("=")
        if key == "Environment":
            variable, _, setting = unquote(value).partition("=")
            environment[variable] = setting
        elif key == "ExecStart":
            command = shlex.split(value)
        elif key == "StateDirectory":
            directory = pathlib.Path("/var/lib") / value
    directory.mkdir(parents=True, exist_ok=True)
    with open(state / "service.log", "ab") as out:
        process = subprocess.Popen(
            command, env=environment, cwd=directory, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    (state / "service.pid").write_text(str(process.pid))


def secrets():
    path = state / "secrets.json"
    return json.loads(path.read_text()) if path.exists() else {}


def content(arguments):
    found = {}
    for argument in arguments:
        key, sep, value = argument.partition("#file=")
        if sep:
            found[key] = pathlib.Path(value).read_text()
    return found


def option(arguments, flag):
    return arguments[arguments.index(flag) + 1] if flag in arguments else None


if name == "secret-add":
    store = secrets()
    secret_id = f"secret:fake{len(store) + 1:020d}"
    store[secret_id] = {"label": option(args, "--label"), "content": content(args)}
    (state / "secrets.json").write_text(json.dumps(store))
    print(secret_id)
elif name == "secret-set":
    store = secrets()
    (secret_id,) = [a for a in args if a.startswith("secret:")]
    store[secret_id]["content"] = content(args)
    (state / "secrets.json").write_text(json.dumps(store))
elif name == "secret-get":
    label = option(args, "--label")
    positional = [a for a in args if a.startswith("secret:")]
    for secret_id, secret in secrets().items():
        if secret_id in positional or (label and secret["label"] == label):
            print(json.dumps(secret["content"]))
            break
    else:
        print("ERROR secret not found", file=sys.stderr)
        sys.exit(1)
elif name == "secret-info-get":
    label = option(args, "--label")
    positional = [a for a in args if a.startswith("secret:")]
    for secret_id, secret in secrets().items():
        if secret_id in positional or (label and secret["label"] == label):
            print(json.dumps({secret_id: {"label": secret["label"], "revision": 1}}))
            break
    else:
        print("ERROR secret not found", file=sys.stderr)
        sys.exit(1)
elif name == "action-get":
    print((state / "action.json").read_text())
elif name in ("action-set", "action-fail"):
    with open(state / f"{name}.jsonl", "a") as out:
        out.write(json.dumps(args) + "\n")
elif name == "is-leader":
    print("false" if (state / "follower").exists() else "true")
elif name == "config-get":
    print((state / "config.json").read_text())
elif name in ("relation-ids", "opened-ports"):
    print("[]")
elif name in (
    "juju-log", "status-set", "open-port", "close-port", "apt-get", "dpkg-query",
    "application-version-set",
):
    pass  # dpkg-query printing nothing: the package is not installed
elif name == "systemctl" and args[0] == "is-active":
    print("active" if running() else "inactive")
    sys.exit(0 if running() else 3)
elif name == "systemctl" and args[0] == "restart":
    stop()
    start(args[1])
elif name == "systemctl" and args[0] == "disable":
    stop()
elif name != "systemctl":
    print(f"{name}: no fake for this tool", file=sys.stderr)
    sys.exit(127)
'''

NAMESPACE_SCRIPT = """
set -e
mount -t tmpfs -o mode=0755 vmhost-charm-test /etc/systemd/system
mount -t tmpfs -o mode=0755 vmhost-charm-test /var/lib
cd "$1"
exec ./dispatch
"""


def copy_source(destination: pathlib.Path) -> None:
    """The dump part's `source: .`: the project, without VCS, environments and caches."""
    ignore = shutil.ignore_patterns(
        ".git", ".venv", ".tox", "*_cache", ".hypothesis", "__pycache__", "*.pyc"
    )
    shutil.copytree(REPO, destination, ignore=ignore, symlinks=True)


def staged(root: pathlib.Path, entries: list[str]) -> set[pathlib.Path]:
    """The files a craft-parts `stage` list keeps: listed paths, minus `-` patterns."""
    keep: set[pathlib.Path] = set()
    for entry in (e for e in entries if not e.startswith("-")):
        path = root / entry
        found = path.rglob("*") if path.is_dir() else [path]
        keep.update(p for p in found if p.is_file() or p.is_symlink())
    for pattern in (e[1:] for e in entries if e.startswith("-")):
        keep = {
            p
            for p in keep
            if not any(
                fnmatch.fnmatch(str(parent.relative_to(root)), pattern)
                for parent in [p, *p.parents]
                if parent != root and root in parent.parents
            )
        }
    return keep


def build_venv(venv: pathlib.Path) -> None:
    """A stand-in for the charm part's venv, over this interpreter's site-packages."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site_packages = venv / "lib" / version / "site-packages"
    site_packages.mkdir(parents=True)
    (site_packages / "_tests_site_packages.pth").write_text(
        "\n".join(site.getsitepackages()) + "\n"
    )
    (venv / "bin").mkdir()
    (venv / "bin" / "activate").write_text("# kept by charmcraft's venv clean-up\n")
    base = pathlib.Path(sys._base_executable)  # type: ignore[attr-defined]
    (venv / "pyvenv.cfg").write_text(
        f"home = {base.parent}\n"
        "include-system-site-packages = false\n"
        f"version = {platform.python_version()}\n"
    )


def assemble(tree: pathlib.Path, work: pathlib.Path) -> None:
    """Lay the charm out as charmcraft.yaml's parts (and charmcraft itself) would."""
    parts = yaml.safe_load((REPO / "charmcraft.yaml").read_text())["parts"]
    dump = parts["dump"]
    assert (dump["plugin"], dump["source"]) == ("dump", ".")
    install = work / "dump-install"
    copy_source(install)
    for source, destination in dump.get("organize", {}).items():
        (install / destination).parent.mkdir(parents=True, exist_ok=True)
        (install / source).rename(install / destination)
    for path in staged(install, dump["stage"]):
        target = tree / path.relative_to(install)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target, follow_symlinks=False)
    for name in ("metadata.yaml", "config.yaml", "actions.yaml"):
        shutil.copy2(REPO / name, tree / name)
    build_venv(tree / "venv")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Unit:
    """A charm tree, fake Juju and machine tools, and a way to run a hook."""

    def __init__(self, work: pathlib.Path):
        self.tree = work / "charm"
        self.state = work / "state"
        self.bin = work / "bin"
        self.port = free_port()
        for directory in (self.tree, self.state, self.bin):
            directory.mkdir()
        assemble(self.tree, work)
        tool = self.bin / "_fake_tool.py"
        tool.write_text(f"#!{sys.executable} -I\n{FAKE_TOOL}")
        tool.chmod(0o755)
        for name in FAKE_TOOLS:
            (self.bin / name).symlink_to(tool)
        # `which python3` in dispatch: the interpreter the stand-in venv is built on.
        (self.bin / "python3").symlink_to(sys._base_executable)  # type: ignore[attr-defined]
        config = {"port": self.port, "log-level": "info", "scheduling-policy": "pack"}
        (self.state / "config.json").write_text(json.dumps(config))

    def environment(self, hook: str) -> dict[str, str]:
        """What Juju sets for a hook (the subset ops reads) plus the fakes' state directory."""
        action = {}
        if hook.startswith("action:"):
            hook = hook.removeprefix("action:")
            action = {"JUJU_ACTION_NAME": hook, "JUJU_ACTION_UUID": "1"}
            return {**self._environment(f"actions/{hook}", ""), **action}
        return self._environment(f"hooks/{hook}", hook)

    def _environment(self, dispatch: str, hook: str) -> dict[str, str]:
        return {
            "PATH": f"{self.bin}:/usr/bin:/bin",
            "HOME": str(self.state),
            "LANG": "C.UTF-8",
            "JUJU_CHARM_DIR": str(self.tree),
            "JUJU_UNIT_NAME": UNIT_NAME,
            "JUJU_MODEL_NAME": "charm-tests",
            "JUJU_MODEL_UUID": "0b8a9b53-0f9b-4f55-8d8e-8f2b4a7e7d11",
            "JUJU_VERSION": "3.6.4",
            "JUJU_DISPATCH_PATH": dispatch,
            "JUJU_HOOK_NAME": hook,
            "FAKE_STATE_DIR": str(self.state),
        }

    def run(self, hook: str, *, namespaced: bool) -> subprocess.CompletedProcess[str]:
        """Run `dispatch` for `hook` from the charm directory, as the unit agent does."""
        if namespaced:
            command = ["unshare", "--mount", "--propagation", "private"]
            command += ["sh", "-c", NAMESPACE_SCRIPT, "sh", str(self.tree)]
        else:
            command = ["./dispatch"]
        return subprocess.run(
            command,
            cwd=self.tree,
            env=self.environment(hook),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def calls(self, tool: str | None = None) -> list[list[str]]:
        """The recorded tool calls, all or one tool's (without the tool name)."""
        lines = (self.state / "calls.jsonl").read_text().splitlines()
        calls = [json.loads(line) for line in lines]
        return [call[1:] for call in calls if call[0] == tool] if tool else calls

    def stop_service(self) -> None:
        """Kill the service a fake `systemctl restart` started, if any."""
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            os.killpg(int((self.state / "service.pid").read_text()), signal.SIGKILL)


@pytest.fixture
def unit(tmp_path: pathlib.Path) -> Iterator[Unit]:
    """An assembled charm tree with fake tools; any service it starts is killed afterwards."""
    unit = Unit(tmp_path)
    try:
        yield unit
    finally:
        unit.stop_service()


@pytest.fixture
def mount_namespace(tmp_path: pathlib.Path) -> None:
    """Skip unless this process may create a mount namespace and mount tmpfs in it."""
    if shutil.which("unshare") is None or not pathlib.Path("/etc/systemd/system").is_dir():
        pytest.skip("needs unshare(1) and /etc/systemd/system")
    probe = tmp_path / "probe"
    probe.mkdir()
    script = f"mount -t tmpfs probe {probe}"
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount in a private mount namespace: {result.stderr.strip()}")


def test_the_tree_has_the_layout_charmcraft_would_pack(unit):
    tree = unit.tree

    assert os.access(tree / "dispatch", os.X_OK)
    assert not (tree / "charm" / "dispatch").exists()
    for path in (
        "charm/charm.py",
        "charm/workload.py",
        "charm/templates/vmhost.service.j2",
        "lib/charms/vmhost_manager/v0/vmhost.py",
        "src/vmhost/server.py",
        "provider/vmhost_provider/allocate.py",
        "charm/dashboards/vmhost.json",
        "metadata.yaml",
        "config.yaml",
        "actions.yaml",
    ):
        assert (tree / path).is_file(), path
    assert not list(tree.rglob("__pycache__"))
    assert {p.name for p in tree.iterdir()} == {
        "dispatch",
        "charm",
        "src",
        "provider",
        "lib",
        "venv",
        "metadata.yaml",
        "config.yaml",
        "actions.yaml",
    }
    # charmcraft's entrypoint linter reads the entrypoint from dispatch's last line.
    last_line = (tree / "dispatch").read_text().strip().splitlines()[-1]
    assert last_line.endswith('"${dispatch_path}/charm/charm.py"')


def test_charmcraft_yaml_holds_build_keys_only():
    charmcraft = yaml.safe_load((REPO / "charmcraft.yaml").read_text())

    # With name/summary/description here, ops.testing would read this file and ignore the trio.
    assert set(charmcraft) == {"type", "base", "platforms", "parts"}
    assert (charmcraft["type"], charmcraft["base"]) == ("charm", "ubuntu@24.04")
    assert list(charmcraft["platforms"]) == ["amd64"]
    charm_part = charmcraft["parts"]["charm"]
    assert {"libvirt-dev", "pkg-config"} <= set(charm_part["build-packages"])
    assert "--requirement pyproject.toml" in charm_part["override-build"]
    assert "--constraint requirements.lock" in charm_part["override-build"]
    for requirement in ("ops>=2.17", "pydantic", "jinja2", "tenacity"):
        assert requirement in charm_part["override-build"]


def test_dispatch_runs_the_charm_and_sets_a_status(unit):
    # A follower with no leader yet: it waits, and touches nothing on this machine.
    (unit.state / "follower").touch()

    result = unit.run("update-status", namespaced=False)

    assert result.returncode == 0, result.stderr
    # dispatch made venv/bin/python the unit's python3, as on a fresh unit
    assert os.readlink(unit.tree / "venv" / "bin" / "python") == str(unit.bin / "python3")
    logged = [call[-1] for call in unit.calls("juju-log")]
    assert f"ops {ops.__version__} up and running." in logged
    assert "Emitting Juju event update_status." in logged
    assert unit.calls("systemctl") == []
    assert unit.calls("status-set")[-1] == [
        "--application=False",
        "waiting",
        "--",
        "waiting for the leader to share the manager secret",
    ]
    assert (unit.tree / ".unit-state.db").exists()


@pytest.mark.usefixtures("mount_namespace")
def test_install_starts_the_service_from_the_charm_tree(unit):
    result = unit.run("install", namespaced=True)

    assert result.returncode == 0, result.stderr
    logged = [call[-1] for call in unit.calls("juju-log")]
    assert "Emitting Juju event install." in logged
    assert unit.calls("apt-get")[-1][-1] == "libvirt0"
    assert unit.calls("systemctl")[:3] == [
        ["daemon-reload"],
        ["enable", "vmhost"],
        ["restart", "vmhost"],
    ]
    unit_file = (unit.state / "unit.service").read_text()
    exec_start = (
        f"ExecStart={unit.tree}/venv/bin/python -m vmhost.server"
        f" --host 0.0.0.0 --port {unit.port} --data-dir /var/lib/vmhost"
    )
    assert exec_start in unit_file.splitlines()
    assert [str(unit.port) + "/tcp"] in unit.calls("open-port")
    # The charm waited for the real service's health endpoint, then went active.
    assert unit.calls("status-set")[-1] == [
        "--application=False",
        "active",
        "--",
        "no VM hosts yet: run the add-host action or integrate lxd",
    ]
    # The admin token: made by the tree's vmhost-server, kept in the app's manager secret only.
    secrets = json.loads((unit.state / "secrets.json").read_text())
    (manager,) = secrets.values()
    assert manager["label"] == "vmhost-manager"
    token = manager["content"]["admin-token"]
    assert token.startswith("vmh_")
    assert token not in (unit.state / "calls.jsonl").read_text()
    assert token not in result.stdout + result.stderr

    # The service is still running, from the tree's venv and src/.
    url = f"http://127.0.0.1:{unit.port}/api/v1/health"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=5) as response:
        assert json.load(response)["status"] == "ok"
    pid = int((unit.state / "service.pid").read_text())
    environ = pathlib.Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert f"PYTHONPATH={unit.tree}/src".encode() in environ
    assert os.readlink(f"/proc/{pid}/exe") == os.path.realpath(sys._base_executable)  # type: ignore[attr-defined]


def test_the_service_can_only_import_vmhost_from_the_tree(unit):
    python = unit.tree / "venv" / "bin" / "python"
    python.symlink_to(sys._base_executable)  # type: ignore[attr-defined]
    probe = ["-c", "import vmhost, ops, jinja2, tenacity, pydantic; print(vmhost.__file__)"]
    environment = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(unit.tree / "src")}

    found = subprocess.run(
        [str(python), *probe], env=environment, capture_output=True, text=True, check=True
    )
    missing = subprocess.run(
        [str(python), *probe], env={"PATH": "/usr/bin:/bin"}, capture_output=True, check=False
    )

    assert found.stdout.strip() == str(unit.tree / "src" / "vmhost" / "__init__.py")
    assert missing.returncode != 0


@pytest.mark.usefixtures("mount_namespace")
def test_config_changed_and_an_action_run_through_dispatch(unit):
    (unit.state / "action.json").write_text("{}")
    script = (
        "set -e\n"
        "mount -t tmpfs -o mode=0755 vmhost-charm-test /etc/systemd/system\n"
        "mount -t tmpfs -o mode=0755 vmhost-charm-test /var/lib\n"
        'cd "$1"\n'
        "export JUJU_DISPATCH_PATH=hooks/install JUJU_HOOK_NAME=install\n"
        "./dispatch\n"
        'sed -i \'s/"info"/"debug"/\' "$2/config.json"\n'
        "export JUJU_DISPATCH_PATH=hooks/config-changed JUJU_HOOK_NAME=config-changed\n"
        "./dispatch\n"
        "export JUJU_DISPATCH_PATH=actions/list-hosts JUJU_HOOK_NAME= JUJU_ACTION_NAME=list-hosts"
        " JUJU_ACTION_UUID=1\n"
        "./dispatch\n"
    )
    environment = unit.environment("install")
    result = subprocess.run(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
            str(unit.tree),
            str(unit.state),
        ],
        cwd=unit.tree,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    logged = [call[-1] for call in unit.calls("juju-log")]
    assert "Emitting Juju event config_changed." in logged
    restarts = [c for c in unit.calls("systemctl") if c[0] == "restart"]
    assert len(restarts) == 2  # install, then the changed log level
    assert 'Environment="VMHOST_LOG_LEVEL=DEBUG"' in (unit.state / "unit.service").read_text()
    (results,) = [
        json.loads(line) for line in (unit.state / "action-set.jsonl").read_text().splitlines()
    ]
    assert results == ["count=0", "hosts=[]"]
    assert not (unit.state / "action-fail.jsonl").exists()
