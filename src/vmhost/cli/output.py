"""Output: JSON for reads (pipe into jq), tables/JSON/YAML for lists, progress on stderr.

Rich and YAML are imported when something is printed with them, not with this module (the
CLI's start-up imports it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import pydantic
    import rich.console

    from vmhost import client, schemas

T = TypeVar("T", bound="pydantic.BaseModel")

#: The exit status when stdout's reader has gone (``vmhost vms list | head -1``), with nothing
#: on stderr: 1, as Rich's console and Click (and Python's own advice) do on a broken pipe.
EXIT_READER_GONE = 1


class Format(enum.StrEnum):
    """How list commands print."""

    TABLE = "table"
    JSON = "json"
    YAML = "yaml"


def _width() -> int | None:
    if os.environ.get("COLUMNS"):
        return None
    return None if sys.stdout.isatty() else 200


def stdout() -> rich.console.Console:
    """The console for results (created per call: tests swap sys.stdout)."""
    import rich.console

    return rich.console.Console(file=sys.stdout, width=_width(), highlight=False)


def stderr() -> rich.console.Console:
    """The console for progress and messages."""
    import rich.console

    return rich.console.Console(file=sys.stderr, highlight=False)


def reader_gone() -> int:
    """stdout's reader has gone: send the rest (and the final flush) to /dev/null, so nothing
    complains on stderr, and return :data:`EXIT_READER_GONE`."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return EXIT_READER_GONE


def plain(value: Any) -> Any:
    """Models to plain data (aliases as on the wire: ``__incomplete__``); the stdlib dataclass
    records that ``model/resources.py`` shares with the API as the dicts they are on the wire."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", by_alias=True)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def print_json(value: Any) -> None:
    """JSON on stdout, nothing else (``| jq`` works)."""
    sys.stdout.write(json.dumps(plain(value), indent=2) + "\n")


def print_yaml(value: Any) -> None:
    """YAML on stdout."""
    import yaml

    sys.stdout.write(yaml.safe_dump(plain(value), sort_keys=False, default_flow_style=False))


def print_list(
    items: Sequence[Any],
    fmt: Format,
    columns: Sequence[str],
    row: Callable[[Any], Sequence[Any]],
    title: str | None = None,
) -> None:
    """A list as a Rich table, JSON or YAML."""
    if fmt is Format.JSON:
        print_json(list(items))
        return
    if fmt is Format.YAML:
        print_yaml(list(items))
        return
    import rich.box
    import rich.table

    table = rich.table.Table(title=title, box=rich.box.SIMPLE_HEAD, show_edge=False)
    for column in columns:
        numeric = column in NUMERIC_COLUMNS
        table.add_column(column, justify="right" if numeric else "left", no_wrap=numeric)
    for item in items:
        table.add_row(*(str(c) for c in row(item)))
    stdout().print(table)


NUMERIC_COLUMNS = {"ID", "TOTAL", "USED", "AVAIL", "FREE", "CORES", "MEMORY", "DISK", "VMS"}


def message(text: str) -> None:
    """A human message on stderr."""
    stderr().print(text, markup=False)


def error(text: str) -> None:
    """One line on stderr."""
    first = " ".join(text.split())
    sys.stderr.write(f"Error: {first}\n")


def size_bytes(n: int) -> str:
    """Binary units, one decimal: 465.7 GiB."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024 or unit == "PiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(n)  # pragma: no cover


def size_mib(n: int) -> str:
    """MiB in binary units."""
    return size_bytes(n * 1024 * 1024)


def wait_with_progress(
    api: client.VmHostClient,
    label: str,
    start: Callable[[], schemas.Operation],
    model: type[T],
    quiet: bool = False,
) -> T:
    """Start a long operation and follow it with a spinner on stderr."""
    op = start()
    if quiet:
        return api.operations.wait(op, model)
    console = stderr()
    with console.status(f"{label} ({op.status})", spinner="dots") as status:

        def update(current: schemas.Operation) -> None:
            status.update(f"{label} ({current.stage or current.status})")

        return api.operations.wait(op, model, on_update=update)


def join(values: Iterable[Any]) -> str:
    """A short comma-separated list."""
    return ",".join(str(v) for v in values)
