"""Where the plugin keeps things: the vmhost CLI's config directory, its login profiles, and
``juju-machines.json`` (which Juju machine is which vmhost VM, mode 600)."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

import platformdirs
import yaml

from vmhost import client as vmclient

from .errors import EXIT_USAGE, PluginError

STATE_FILE: Final = "juju-machines.json"
PROFILES_FILE: Final = "profiles.yaml"


def config_dir() -> Path:
    """The vmhost CLI's config directory (``VMHOST_CONFIG_DIR`` overrides it)."""
    return Path(os.environ.get("VMHOST_CONFIG_DIR") or platformdirs.user_config_dir("vmhost"))


def _profile(name: str | None) -> tuple[str, str, bool | str]:
    """(url, token, verify) from ``VMHOST_URL``/``VMHOST_TOKEN`` or a vmhost login profile."""
    url, token = os.environ.get("VMHOST_URL"), os.environ.get("VMHOST_TOKEN")
    if url and token and not name:
        return url, token, os.environ.get("VMHOST_CA_CERT") or True
    path = config_dir() / PROFILES_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        data = {}
    except (OSError, yaml.YAMLError) as exc:
        raise PluginError(f"cannot read {path}: {exc}".splitlines()[0], EXIT_USAGE) from None
    profiles = data.get("profiles") if isinstance(data, dict) else None
    profiles = profiles if isinstance(profiles, dict) else {}
    chosen = name or os.environ.get("VMHOST_PROFILE") or data.get("default")
    if not chosen:
        raise PluginError(
            "not logged in to vmhost: run 'vmhost login PROFILE URL TOKEN' "
            "(or set VMHOST_URL and VMHOST_TOKEN)",
            EXIT_USAGE,
        )
    entry = profiles.get(chosen)
    if not isinstance(entry, dict):
        known = ", ".join(sorted(profiles)) or "none"
        raise PluginError(f"no vmhost profile named {chosen!r} (profiles: {known})", EXIT_USAGE)
    verify = entry.get("verify", True)
    return str(entry.get("url", "")), str(entry.get("token", "")), verify


def make_client(profile: str | None) -> vmclient.VmHostClient:
    """The vmhost client for a profile (tests replace this)."""
    url, token, verify = _profile(profile)
    return vmclient.VmHostClient(url, token, verify=verify)


@dataclasses.dataclass
class Machine:
    """A Juju machine made from a vmhost VM (one entry of the state file)."""

    machine: str  # Juju's machine id; "" when juju was not run
    vm_id: int
    vm_name: str
    address: str
    model: str = ""
    server: str = ""
    warm_pool: bool = False
    owner: str = ""


class State:
    """``juju-machines.json``: Juju machine ids <-> vmhost VM ids (mode 600)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> list[Machine]:
        """Every recorded machine."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise PluginError(f"cannot read {self.path}: {exc}", EXIT_USAGE) from None
        try:
            return [Machine(**item) for item in data.get("machines", [])]
        except (TypeError, AttributeError) as exc:
            raise PluginError(f"{self.path} is not a juju-vmhost state file: {exc}") from None

    def save(self, machines: Sequence[Machine]) -> None:
        """Write atomically, mode 600."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".juju-machines.", suffix=".tmp")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"machines": [dataclasses.asdict(m) for m in machines]}, f, indent=2)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        os.chmod(self.path, 0o600)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer at a time (two plugins running at once lose nothing)."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(f"{self.path}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def add(self, machine: Machine) -> None:
        """Record one more machine."""
        with self._locked():
            self.save([*self.load(), machine])

    def remove(self, machine: Machine) -> None:
        """Forget a machine."""
        with self._locked():
            self.save([m for m in self.load() if m != machine])
