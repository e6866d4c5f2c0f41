"""Long operations in the background: ``?async=true`` answers 202 with an operation to follow.

Compose, refresh and deletes that decompose talk to hypervisors and can take minutes. Without
``async`` they run in the server's worker threads (FastAPI runs sync routes in a thread pool)
and never block the event loop; with it they run in this module's own pool and the client polls
``/api/v1/operations/{id}``. Operations are kept in memory (the newest ``keep``): a restart
forgets them, while the service itself settles half-done composes at start (reconcile).
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import logging
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import pydantic

from vmhost.schemas import API_PREFIX, Operation

from . import errors

log = logging.getLogger("vmhost.api.operations")


@dataclasses.dataclass
class _Op:
    id: str
    kind: str
    target: str
    created_at: float
    status: str = "pending"
    stage: str = "queued"
    started_at: float | None = None
    finished_at: float | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    status_code: int | None = None


class Operations:
    """A bounded pool of workers and the record of recent operations."""

    def __init__(self, workers: int = 8, keep: int = 1000) -> None:
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="vmhost-op"
        )
        self._ops: collections.OrderedDict[str, _Op] = collections.OrderedDict()
        self._lock = threading.Lock()
        self._keep = keep

    def submit(
        self, kind: str, target: str, work: Callable[[], pydantic.BaseModel | None]
    ) -> Operation:
        """Start ``work`` in the background; its result (a wire model) is kept as JSON."""
        op = _Op(id=secrets.token_hex(8), kind=kind, target=target, created_at=time.time())
        with self._lock:
            self._ops[op.id] = op
            while len(self._ops) > self._keep:
                self._ops.popitem(last=False)
        self._pool.submit(self._run, op, work)
        return self._view(op)

    def _run(self, op: _Op, work: Callable[[], pydantic.BaseModel | None]) -> None:
        with self._lock:
            op.status, op.stage, op.started_at = "running", "running", time.time()
        try:
            result = work()
        except Exception as exc:  # recorded on the operation, logged if a bug
            status, body, _ = errors.describe(exc)
            with self._lock:
                op.status, op.stage = "failed", "failed"
                op.error, op.status_code = body.model_dump(mode="json"), status
                op.finished_at = time.time()
            log.info("operation %s (%s %s) failed: %s", op.id, op.kind, op.target, body.message)
            return
        with self._lock:
            op.status, op.stage, op.status_code = "succeeded", "done", 200
            op.result = result.model_dump(mode="json", by_alias=True) if result else None
            op.finished_at = time.time()

    def get(self, op_id: str) -> Operation | None:
        """One operation, or None."""
        with self._lock:
            op = self._ops.get(op_id)
            return self._view(op) if op else None

    def list(self) -> list[Operation]:
        """Recent operations, newest first."""
        with self._lock:
            return [self._view(op) for op in reversed(self._ops.values())]

    def wait(self, op_id: str, timeout_s: float) -> Operation | None:
        """Poll until the operation ends or ``timeout_s`` passes (tests, CLI fallback)."""
        deadline = time.monotonic() + timeout_s
        while True:
            op = self.get(op_id)
            if op is None or op.status in ("succeeded", "failed"):
                return op
            if time.monotonic() > deadline:
                return op
            time.sleep(0.01)

    def shutdown(self) -> None:
        """Stop accepting work; let running operations finish."""
        self._pool.shutdown(wait=True, cancel_futures=False)

    @staticmethod
    def _view(op: _Op) -> Operation:
        return Operation.model_validate(
            {
                **dataclasses.asdict(op),
                "resource_uri": f"{API_PREFIX}/operations/{op.id}",
            }
        )
