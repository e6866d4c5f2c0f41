"""Long actions (compose, refresh, decompose, delete): in the background, followed by the page.

A page's script posts the form asking for JSON; the action then runs as one of the API's
operations (the same registry ``/api/v1/operations`` reads) and the page polls
``/ui/operations/{id}`` to show its progress and result without a reload. Without JavaScript
the form posts normally: the action runs during the request and the answer is the next page.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

import fastapi
import pydantic
from fastapi.responses import JSONResponse, Response

from . import render
from .session import current

router = render.router()


class Done(pydantic.BaseModel):
    """What an action achieved: a sentence, where to go next, and data for the page."""

    message: str
    redirect: str = ""
    data: dict[str, Any] = {}


class _Operation(Protocol):
    id: str
    status: str
    stage: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    result: dict[str, Any] | None
    error: Any


class _Operations(Protocol):
    def submit(
        self, kind: str, target: str, work: Callable[[], pydantic.BaseModel | None]
    ) -> _Operation: ...

    def get(self, op_id: str) -> _Operation | None: ...


def _operations(request: fastapi.Request) -> _Operations:
    ops: _Operations = request.app.state.operations
    return ops


def run(request: fastapi.Request, kind: str, target: str, work: Callable[[], Done]) -> Response:
    """Run ``work`` in the background for a page's script (202 + the operation to follow), or
    now for a plain form post (303 to ``Done.redirect`` with its message)."""
    if render.wants_json(request):
        op = _operations(request).submit(kind, target, work)
        return JSONResponse(
            {"operation": op.id, "status_url": f"/ui/operations/{op.id}"}, status_code=202
        )
    done = work()
    return render.redirect(request, done.redirect or "/", done.message)


@router.get("/ui/operations/{op_id}")
def operation(request: fastapi.Request, op_id: str) -> Response:
    """Where a background action stands: status, stage, seconds so far, result or error."""
    current(request)
    op = _operations(request).get(op_id[:64])
    if op is None:
        return JSONResponse(
            {"message": "this operation is not known (the server may have restarted)"}, 404
        )
    end = op.finished_at or time.time()
    error = op.error.model_dump(mode="json") if op.error is not None else None
    return JSONResponse(
        {
            "id": op.id,
            "status": op.status,
            "stage": op.stage,
            "seconds": round(end - (op.started_at or op.created_at), 1),
            "result": op.result,
            "error": error,
        }
    )
