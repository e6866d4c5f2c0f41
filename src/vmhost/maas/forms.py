"""Request bodies and the ``op`` rule of the MAAS API.

gomaasapi sends ``application/x-www-form-urlencoded`` bodies (multipart only to upload a
file); python-libmaas sends ``multipart/form-data`` for every POST and PUT, even with no
field. Both are read into one :class:`MaasForm`, where a field may repeat (``machines``,
``tags``, ``id``). Uploaded files are read whole (bodies are at most 2 MiB, ``api/limits.py``).

``op`` is always in the query string; an empty or missing ``op`` is the restful verb itself
(gomaasapi posts to ``files/?op=`` to create a file, libmaas to ``pods/`` with no ``op``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator

import fastapi
import starlette.datastructures

from .errors import MaasError

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclasses.dataclass(frozen=True, slots=True)
class MaasForm:
    """Fields in the order sent (a name may repeat) and uploaded files by field name."""

    fields: tuple[tuple[str, str], ...] = ()
    files: tuple[tuple[str, str, bytes], ...] = ()  # (field, file name, content)

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]]) -> MaasForm:
        """A form of plain fields."""
        return cls(tuple(pairs))

    def get(self, name: str, default: str | None = None) -> str | None:
        """The last value of ``name`` (as Django's QueryDict), or ``default``."""
        values = self.getlist(name)
        return values[-1] if values else default

    def getlist(self, name: str) -> list[str]:
        """Every value of ``name``, in the order sent."""
        return [v for k, v in self.fields if k == name]

    def file(self, name: str) -> bytes | None:
        """The content of the file uploaded as field ``name``."""
        for field, _, content in self.files:
            if field == name:
                return content
        return None

    def names(self) -> list[str]:
        """The field names sent, each once, in order."""
        return list(dict.fromkeys(k for k, _ in self.fields))

    def __contains__(self, name: object) -> bool:
        return any(k == name for k, _ in self.fields) or any(f == name for f, _, _ in self.files)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.fields)


def op_of(request: fastapi.Request) -> str:
    """The request's ``op`` ("" = the restful verb)."""
    return request.query_params.get("op", "").strip()


def query_form(request: fastapi.Request) -> MaasForm:
    """The query string's fields but ``op`` (the filters of a GET)."""
    return MaasForm.of((k, v) for k, v in request.query_params.multi_items() if k != "op")


async def read_form(request: fastapi.Request) -> MaasForm:
    """The body's fields and files: urlencoded or multipart; an empty body is an empty form.
    Anything else is a 400 naming the type."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media not in FORM_TYPES:
        body = await request.body()
        if not body:
            return MaasForm()
        raise MaasError(
            400,
            f"Send a form (urlencoded or multipart/form-data), not {media or 'no Content-Type'}.",
        )
    try:
        form = await request.form(max_files=64, max_fields=4096)
    except Exception as exc:  # python-multipart's errors are several types
        raise MaasError(400, f"The form is malformed: {str(exc)[:200]}") from None
    fields: list[tuple[str, str]] = []
    files: list[tuple[str, str, bytes]] = []
    try:
        for name, value in form.multi_items():
            if isinstance(value, starlette.datastructures.UploadFile):
                files.append((name, value.filename or "", await value.read()))
            else:
                fields.append((name, value))
    finally:
        await form.close()
    return MaasForm(tuple(fields), tuple(files))
