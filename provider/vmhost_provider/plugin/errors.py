"""The plugin's one error and its exit codes."""

from __future__ import annotations

from typing import Final

EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2


class PluginError(Exception):
    """A failure to report as ``ERROR <message>``; ``code`` is the exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
