"""The files of the MAAS API's ``files/``: Juju keeps its provider state there
(``<model uuid>-provider-state``) and removes it with the model. Stored in the database, so
every manager sharing it sees the same files."""

from __future__ import annotations

import builtins
import time

from vmhost import model, store
from vmhost.store.maas_catalog import StoredFile as StoredFile

from .context import Context

MAX_FILENAME = 255


def check_filename(filename: str, field: str = "filename") -> str:
    """A file name as MAAS keeps it: one path segment, not ``..``, printable; else a 400
    naming ``field``."""
    if not filename:
        raise model.InvalidInputError.for_field(field, "a file name is required")
    if len(filename) > MAX_FILENAME:
        raise model.InvalidInputError.for_field(
            field, f"a file name has at most {MAX_FILENAME} characters"
        )
    if "/" in filename or "\\" in filename or ".." in filename:
        raise model.InvalidInputError.for_field(
            field, f"{filename!r}: a file name may not contain '/', '\\' or '..'"
        )
    if not filename.isprintable():
        raise model.InvalidInputError.for_field(field, "a file name has printable characters only")
    return filename


class MaasFilesService:
    """Add, read, list and delete files."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def put(self, filename: str, content: bytes) -> StoredFile:
        """Store a file (replacing one of the same name)."""
        check_filename(filename)
        with self.ctx.db.write() as conn:
            store.maas_catalog.put_file(conn, filename, content, time.time())
            stored = store.maas_catalog.get_file(conn, filename)
        assert stored is not None
        return stored

    def get(self, filename: str) -> StoredFile:
        """A file with its content; NotFoundError when there is none."""
        check_filename(filename)
        with self.ctx.db.read() as conn:
            found = store.maas_catalog.get_file(conn, filename)
        if found is None:
            raise model.NotFoundError("file", filename)
        return found

    def list(self, prefix: str = "") -> builtins.list[StoredFile]:
        """Files whose name starts with ``prefix``, by name, without their content."""
        with self.ctx.db.read() as conn:
            return store.maas_catalog.list_files(conn, prefix)

    def delete(self, filename: str) -> None:
        """Delete a file; NotFoundError when there is none."""
        check_filename(filename)
        with self.ctx.db.write() as conn:
            if not store.maas_catalog.delete_file(conn, filename):
                raise model.NotFoundError("file", filename)
