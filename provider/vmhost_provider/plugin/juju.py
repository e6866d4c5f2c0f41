"""Running ``juju`` (or, when it is not on ``PATH``, printing what to run)."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess

from .errors import PluginError


@dataclasses.dataclass(frozen=True)
class Juju:
    """``juju`` on PATH (``path`` None: absent, commands are printed instead)."""

    path: str | None
    model: str = ""
    timeout_s: float = 3600

    @classmethod
    def find(cls, model: str = "", timeout_s: float = 3600) -> Juju:
        """The juju on PATH, if any."""
        return cls(shutil.which("juju"), model, timeout_s)

    def command(self, *args: str) -> list[str]:
        """``juju ARGS [-m MODEL]``."""
        return ["juju", *args, *(["-m", self.model] if self.model else [])]

    def run(self, *args: str) -> str:
        """Run juju; its combined output. PluginError when it fails or times out."""
        assert self.path is not None
        argv = [self.path, *self.command(*args)[1:]]
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=self.timeout_s, check=False
            )
        except subprocess.TimeoutExpired:
            raise PluginError(
                f"{' '.join(self.command(*args))}: no answer after {self.timeout_s:g} s"
            ) from None
        except OSError as exc:
            raise PluginError(f"cannot run {self.path}: {exc.strerror}") from None
        output = (done.stdout or "") + (done.stderr or "")
        if done.returncode != 0:
            last = output.strip().splitlines()[-1] if output.strip() else f"exit {done.returncode}"
            raise PluginError(f"{' '.join(self.command(*args))} failed: {last}")
        return output
