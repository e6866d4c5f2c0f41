"""What every command shares: the profile's client, options, and the error boundary.

The client (httpx, the wire models) and the profiles (YAML) are imported when a command needs
them, not with this module: ``vmhost --help`` imports neither.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
import typer.core
import typer.exceptions

from . import output

if TYPE_CHECKING:
    import pydantic

    from vmhost import client, schemas

    from . import profiles

T = TypeVar("T", bound="pydantic.BaseModel")
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
            from . import profiles

            try:
                profile = profiles.load(self.profile)
            except profiles.ProfileError as exc:
                raise UsageError(str(exc)) from None
            self._client = make_client(profile)
        return self._client


def make_client(profile: profiles.Profile) -> client.VmHostClient:
    """A client for a profile (tests may replace this)."""
    from vmhost import client

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


def run_operation(
    ctx: typer.Context,
    label: str,
    start: Callable[[client.VmHostClient], schemas.Operation],
    model: type[T],
) -> T:
    """Start a long operation with this invocation's client and follow it to its result
    (with a spinner, none under -q)."""
    api_ = api(ctx)
    return output.wait_with_progress(api_, label, lambda: start(api_), model, state(ctx).quiet)


class Group(typer.core.TyperGroup):
    """The root group: every error becomes one line on stderr and an exit code, never a
    traceback (1: the server refused or an operation failed; 2: usage)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.exceptions.TyperException):
            raise
        except BrokenPipeError:  # the reader of stdout has gone (| head -1): stop quietly
            raise typer.Exit(output.reader_gone()) from None
        except Exception as exc:
            code, message = _failure(exc)
            output.error(message)
            raise typer.Exit(code) from None


def _failure(exc: Exception) -> tuple[int, str]:
    """The exit code and the one line for an error raised by a command."""
    import pydantic

    from vmhost import client

    from . import profiles

    if isinstance(exc, client.ClientError):
        return EXIT_FAILED, _with_fields(exc)
    if isinstance(exc, UsageError | profiles.ProfileError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, pydantic.ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return EXIT_USAGE, f"{where}: {first['msg']}"
    if isinstance(exc, OSError):
        return EXIT_FAILED, (
            f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc)
        )
    return EXIT_FAILED, f"unexpected error ({exc.__class__.__name__}): {exc}"


def _with_fields(exc: client.ClientError) -> str:
    """The server's message; field errors it does not already say are appended."""
    extra = [
        f"{field}: {msg}"
        for field, msgs in exc.fields.items()
        for msg in msgs
        if msg not in exc.message
    ]
    return "; ".join([exc.message, *extra])


#: a list command's ``--format``: ``fmt: FormatOption = TABLE``
FormatOption = Annotated[
    output.Format,
    typer.Option("--format", "-f", help="table, json or yaml", case_sensitive=False),
]
TABLE = output.Format.TABLE
#: a VM host command's ``ID`` argument
HostId = Annotated[str, typer.Argument(metavar="ID", help="VM host id or name")]


def read_file(path: str | None, what: str) -> str | None:
    """The text of a local file given on the command line (UsageError when unreadable)."""
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as exc:
        raise UsageError(f"cannot read the {what} file {path!r}: {exc.strerror}") from None


def parse_options(pairs: list[str] | None, image: str | None = None) -> dict[str, Any] | None:
    """``--option KEY=VALUE`` (repeatable; VALUE as JSON when it is JSON, else text; an empty
    VALUE removes the option) and ``--image`` to a host's ``options`` (None: none given). The
    server checks names and types (``model/host_options.py``)."""
    import json

    options: dict[str, Any] = {}
    for pair in pairs or ():
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--option {pair!r}: give KEY=VALUE (KEY= removes the option)")
        try:
            value = json.loads(text) if text else None
        except ValueError:
            value = text
        options[key.strip()] = value
    if image is not None:
        options["image"] = image or None
    return options or None


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
