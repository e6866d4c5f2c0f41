"""Login profiles: ``profiles.yaml`` in the user's config directory (mode 600).

::

    default: prod
    profiles:
      prod: {url: https://vmhost:5240, token: vmh_..., verify: true}

``VMHOST_CONFIG_DIR`` overrides the directory (tests); the profile in use is ``--profile``,
else ``VMHOST_PROFILE``, else the default.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from typing import Any

import platformdirs
import yaml

FILE_NAME = "profiles.yaml"


class ProfileError(Exception):
    """No such profile, or no profile at all (a usage error)."""


@dataclasses.dataclass(frozen=True)
class Profile:
    """Where a server is and how to authenticate."""

    name: str
    url: str
    token: str = dataclasses.field(repr=False)
    verify: bool | str = True  # False = do not check TLS; a path = CA bundle


def config_dir() -> str:
    """Where profiles live."""
    return os.environ.get("VMHOST_CONFIG_DIR") or platformdirs.user_config_dir("vmhost")


def path() -> str:
    """The profiles file."""
    return os.path.join(config_dir(), FILE_NAME)


def _load() -> dict[str, Any]:
    try:
        with open(path(), encoding="utf-8") as f:
            data = yaml.safe_load(f) or {}
    except FileNotFoundError:
        return {"default": None, "profiles": {}}
    except (OSError, yaml.YAMLError) as exc:
        raise ProfileError(f"cannot read {path()}: {exc}".splitlines()[0]) from None
    if not isinstance(data, dict) or not isinstance(data.get("profiles", {}), dict):
        raise ProfileError(f"{path()} is not a vmhost profiles file")
    data.setdefault("profiles", {})
    return data


def _save(data: dict[str, Any]) -> None:
    directory = config_dir()
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".profiles.", suffix=".yaml")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            yaml.safe_dump(data, f, default_flow_style=False, sort_keys=True)
        os.replace(tmp, path())
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    os.chmod(path(), 0o600)


def save(profile: Profile, make_default: bool = False) -> None:
    """Add or replace a profile (the first one becomes the default)."""
    data = _load()
    data["profiles"][profile.name] = {
        "url": profile.url,
        "token": profile.token,
        "verify": profile.verify,
    }
    if make_default or not data.get("default") or data["default"] not in data["profiles"]:
        data["default"] = profile.name
    _save(data)


def remove(name: str) -> None:
    """Forget a profile."""
    data = _load()
    if name not in data["profiles"]:
        raise ProfileError(f"no profile named {name!r}")
    del data["profiles"][name]
    if data.get("default") == name:
        data["default"] = next(iter(data["profiles"]), None)
    _save(data)


def load(name: str | None = None) -> Profile:
    """The profile to use: ``name``, else ``VMHOST_PROFILE``, else the default."""
    data = _load()
    chosen = name or os.environ.get("VMHOST_PROFILE") or data.get("default")
    if not chosen:
        raise ProfileError("not logged in: run 'vmhost login PROFILE URL TOKEN' first")
    entry = data["profiles"].get(chosen)
    if not isinstance(entry, dict):
        known = ", ".join(sorted(data["profiles"])) or "none"
        raise ProfileError(f"no profile named {chosen!r} (profiles: {known})")
    return Profile(
        name=chosen,
        url=str(entry.get("url", "")),
        token=str(entry.get("token", "")),
        verify=entry.get("verify", True),
    )


def all_profiles() -> tuple[str | None, list[Profile]]:
    """The default's name and every profile."""
    data = _load()
    return data.get("default"), [
        Profile(n, str(e.get("url", "")), str(e.get("token", "")), e.get("verify", True))
        for n, e in sorted(data["profiles"].items())
        if isinstance(e, dict)
    ]
