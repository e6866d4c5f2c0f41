"""Request bodies and the ``op`` rule of the MAAS API.

gomaasapi sends ``application/x-www-form-urlencoded`` bodies (multipart only to upload a
file); python-libmaas sends ``multipart/form-data`` for every POST and PUT, even with no
field, each part base64-encoded (``Content-Transfer-Encoding``). Both are read into one
:class:`MaasForm`, where a field may repeat (``machines``, ``tags``, ``id``). Uploaded files
are read whole (bodies are at most 2 MiB, ``api/limits.py``).

``op`` is always in the query string; an empty or missing ``op`` is the restful verb itself
(gomaasapi posts to ``files/?op=`` to create a file, libmaas to ``pods/`` with no ``op``).
"""

from __future__ import annotations

import dataclasses
import email.parser
import email.policy
from collections.abc import Iterable, Iterator

import fastapi

from .errors import MaasError

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
MAX_PARTS = 4096


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
    if media == "multipart/form-data":
        return _multipart(request.headers["content-type"], await request.body())
    try:
        form = await request.form(max_files=64, max_fields=4096)
    except Exception as exc:  # python-multipart's errors are several types
        raise MaasError(400, f"The form is malformed: {str(exc)[:200]}") from None
    try:
        fields = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    finally:
        await form.close()
    return MaasForm(tuple(fields))


def _multipart(content_type: str, body: bytes) -> MaasForm:
    """A multipart body, each part decoded by its Content-Transfer-Encoding (python-libmaas
    sends every field base64-encoded, as Django, MAAS's server, decodes it)."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: "
        + content_type.encode("latin-1")
        + b"\r\nMIME-Version: 1.0\r\n\r\n"
        + body
    )
    boundary = message.get_boundary()
    if not message.is_multipart():
        if boundary and body.strip() in (b"", f"--{boundary}--".encode("latin-1")):
            return MaasForm()  # no field at all
        raise MaasError(400, "The form is malformed: no multipart boundary found.")
    parts = list(message.iter_parts())
    if len(parts) > MAX_PARTS:
        raise MaasError(400, f"The form has more than {MAX_PARTS} parts.")
    fields: list[tuple[str, str]] = []
    files: list[tuple[str, str, bytes]] = []
    for part in parts:
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
        if not isinstance(name, str):
            if content.strip():
                raise MaasError(400, "The form is malformed: a part has no name.")
            continue  # python-libmaas's form with no field: one empty part
        filename = part.get_filename()
        if filename is not None:
            files.append((name, filename, content))
            continue
        try:
            fields.append((name, content.decode(part.get_content_charset() or "utf-8")))
        except (LookupError, UnicodeDecodeError):
            raise MaasError(400, f"{name}: the value is not text in its charset.") from None
    return MaasForm(tuple(fields), tuple(files))
