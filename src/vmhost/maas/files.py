"""``files/``: Juju's provider state (``<model uuid>-provider-state``), kept in the database.

| request                                  | answer                                          |
| ---------------------------------------- | ----------------------------------------------- |
| ``GET files/`` (``prefix``)              | ``[file]`` without content                      |
| ``GET files/?op=get&filename=``          | the raw bytes (404 when missing)                |
| ``GET files/{filename}/``                | the file with base64 ``content`` (404)          |
| ``POST files/?op=`` (multipart)          | 201: the file; fields ``filename`` + part ``file`` |
| ``DELETE files/{filename}/``             | 204 (404 when missing)                          |

A name with ``/`` or ``..`` is a 400 naming ``filename``. ``anon_resource_uri`` is an absolute
path with a query (gomaasapi parses it with ``url.ParseRequestURI``); like every URI here it
needs a key.
"""

from __future__ import annotations

import base64
import urllib.parse
from typing import Any

import fastapi

from vmhost import model
from vmhost.service.maas_files import StoredFile

from . import forms
from .auth import Admin, Token
from .catalog import services
from .catalog_json import PREFIX
from .errors import MaasError, MaasRouter, unknown_op

router = MaasRouter()


def file_json(item: StoredFile, content: bool) -> dict[str, Any]:
    """A file as gomaasapi reads it (``content`` base64, when asked)."""
    quoted = urllib.parse.quote(item.filename, safe="")
    data: dict[str, Any] = {
        "filename": item.filename,
        "size": item.size_bytes,
        "anon_resource_uri": f"{PREFIX}/files/?op=get&filename={quoted}",
        "resource_uri": f"{PREFIX}/files/{quoted}/",
    }
    if content:
        data["content"] = base64.b64encode(item.content).decode("ascii")
    return data


@router.get("/files/", dependencies=[Token])
def list_or_get(request: fastapi.Request) -> Any:
    """The list (``prefix``, or ``filename`` for one), or ``op=get``: one file's bytes."""
    op = forms.op_of(request)
    query = forms.query_form(request)
    svc = services(request)
    if op == "get":
        filename = query.get("filename")
        if not filename:
            raise MaasError(400, "filename: This field is required.")
        found = svc.maas_files.get(filename)
        return fastapi.responses.Response(found.content, media_type="application/octet-stream")
    if op:
        raise unknown_op(request, op)
    filename = query.get("filename")
    if filename:
        try:
            return [file_json(svc.maas_files.get(filename), content=False)]
        except model.NotFoundError:
            return []
    return [file_json(f, content=False) for f in svc.maas_files.list(query.get("prefix") or "")]


@router.post("/files/", dependencies=[Admin])
async def add(request: fastapi.Request) -> Any:
    """Store the uploaded part ``file`` as ``filename`` (replacing a file of that name)."""
    op = forms.op_of(request)
    if op:
        raise unknown_op(request, op)
    form = await forms.read_form(request)
    filename = form.get("filename")
    content = form.file("file")
    if filename is None:
        raise MaasError(400, "filename: This field is required.")
    if content is None:
        raise MaasError(400, "file: upload the content as the multipart part 'file'.")
    svc = services(request)
    stored = await fastapi.concurrency.run_in_threadpool(svc.maas_files.put, filename, content)
    return fastapi.responses.JSONResponse(file_json(stored, content=False), status_code=201)


@router.get("/files/{filename:path}/", dependencies=[Token])
def read(request: fastapi.Request, filename: str) -> Any:
    """A file with its content in base64."""
    op = forms.op_of(request)
    if op:
        raise unknown_op(request, op)
    return file_json(services(request).maas_files.get(filename), content=True)


@router.delete("/files/{filename:path}/", dependencies=[Admin])
def delete(request: fastapi.Request, filename: str) -> Any:
    """Delete a file (204)."""
    op = forms.op_of(request)
    if op:
        raise unknown_op(request, op)
    services(request).maas_files.delete(filename)
    return fastapi.responses.Response(status_code=204)
