"""What every command shares: the profile's client, options, and the error boundary."""

from __future__ import annotations

import dataclasses
from typing import Any

import pydantic
import typer
import typer.core
import typer.exceptions

from vmhost import client

from . import output, profiles

EXIT_FAILED = 1  # the server refused or the operation failed
EXIT_USAGE = 2  # bad command line, no profile, unreadable local file


class UsageError(Exception):
    """A problem with the command line or local files (exit 2)."""


@dataclasses.dataclass
class State:
    """Global options."""

    profile: str | None = None
    quiet: bool = False
    _client: client.VmHostClient | None = None

    def client(self) -> client.VmHostClient:
        """The client for the chosen profile."""
        if self._client is None:
            try:
                profile = profiles.load(self.profile)
            except profiles.ProfileError as exc:
                raise UsageError(str(exc)) from None
            self._client = make_client(profile)
        return self._client


def make_client(profile: profiles.Profile) -> client.VmHostClient:
    """A client for a profile (tests may replace this)."""
    return client.VmHostClient(profile.url, profile.token, verify=profile.verify)


def state(ctx: typer.Context) -> State:
    """The root command's State."""
    root = ctx.find_root()
    if not isinstance(root.obj, State):
        root.obj = State()
    return root.obj


def api(ctx: typer.Context) -> client.VmHostClient:
    """The client for this invocation."""
    return state(ctx).client()


class Group(typer.core.TyperGroup):
    """The root group: every error becomes one line on stderr and an exit code, never a
    traceback (1: the server refused or an operation failed; 2: usage)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except client.ClientError as exc:
            output.error(_with_fields(exc))
            raise typer.Exit(EXIT_FAILED) from None
        except (UsageError, profiles.ProfileError) as exc:
            output.error(str(exc))
            raise typer.Exit(EXIT_USAGE) from None
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            output.error(f"{where}: {first['msg']}")
            raise typer.Exit(EXIT_USAGE) from None
        except (typer.Exit, typer.Abort, typer.exceptions.TyperException):
            raise
        except OSError as exc:
            output.error(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))
            raise typer.Exit(EXIT_FAILED) from None
        except Exception as exc:
            output.error(f"unexpected error ({exc.__class__.__name__}): {exc}")
            raise typer.Exit(EXIT_FAILED) from None


def _with_fields(exc: client.ClientError) -> str:
    """The server's message; field errors it does not already say are appended."""
    extra = [
        f"{field}: {msg}"
        for field, msgs in exc.fields.items()
        for msg in msgs
        if msg not in exc.message
    ]
    return "; ".join([exc.message, *extra])


FormatOption = typer.Option(
    output.Format.TABLE, "--format", "-f", help="table, json or yaml", case_sensitive=False
)


def read_file(path: str | None, what: str) -> str | None:
    """The text of a local file given on the command line (UsageError when unreadable)."""
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as exc:
        raise UsageError(f"cannot read the {what} file {path!r}: {exc.strerror}") from None


def parse_ints(text: str | None, what: str) -> list[int] | None:
    """``0,1,4-7`` to ``[0, 1, 4, 5, 6, 7]``."""
    if text is None:
        return None
    result: list[int] = []
    try:
        for part in filter(None, (p.strip() for p in text.split(","))):
            if "-" in part:
                low, high = (int(x) for x in part.split("-", 1))
                result.extend(range(low, high + 1))
            else:
                result.append(int(part))
    except ValueError:
        raise UsageError(f"{what}: {text!r} is not a list of numbers like 0,1,4-7") from None
    return result
