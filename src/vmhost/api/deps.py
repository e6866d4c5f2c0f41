"""Small helpers shared by the routers: the services, id-or-name lookups, async answers."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import anyio.to_thread
import fastapi
import orjson
import pydantic

from vmhost import model
from vmhost.service import Services

from .operations import Operations

MAX_ID = 2**62
T = TypeVar("T")


def services_of(request: fastapi.Request) -> Services:
    """The process's services."""
    svc: Services = request.app.state.services
    return svc


async def services(request: fastapi.Request) -> Services:
    """The process's services, as a dependency (a coroutine: FastAPI runs a plain function
    dependency in a worker thread, one more hop per request)."""
    return services_of(request)


#: a route's parameter ``svc: Svc``: the process's services
Svc = Annotated[Services, fastapi.Depends(services)]
#: a ``{host}`` path parameter: a VM host's id or name
HostKey = Annotated[
    str, fastapi.Path(description="VM host id or name", min_length=1, max_length=255)
]


async def short_read(svc: Services, read: Callable[[], T]) -> T:
    """``read()`` (a read of a few rows) in the event loop on SQLite, where it is a local file
    read that a writer never blocks (WAL) and costs less than the hop to a worker thread and
    back; in a worker thread on PostgreSQL, where it waits on the network."""
    if svc.ctx.db.is_sqlite:
        return read()
    return await anyio.to_thread.run_sync(read)


def operations(request: fastapi.Request) -> Operations:
    """The process's background operations."""
    ops: Operations = request.app.state.operations
    return ops


def numeric_id(key: str) -> int | None:
    """``key`` as an id when it is one (ASCII digits, in range), else None."""
    if key.isascii() and key.isdigit():
        return int(key) if int(key) <= MAX_ID else -1
    return None


def host_id(svc: Services, key: str) -> int:
    """A host id from an id or a name (NotFoundError naming it)."""
    number = numeric_id(key)
    if number is not None:
        if number < 0:
            raise model.NotFoundError("VM host", key)
        return number
    return svc.hosts.host_id_by_name(key)


def optional_host_id(svc: Services, key: int | str | None) -> int | None:
    """``host_id`` of a key that may be absent (a body's or query's ``host``): None then."""
    return None if key is None else host_id(svc, str(key))


def named_key(key: str, kind: str) -> int | str:
    """A zone/pool/token key: an id when numeric, else a name."""
    number = numeric_id(key)
    if number is not None and number < 0:
        raise model.NotFoundError(kind, key)
    return number if number is not None else key


def json_response(value: Any, status_code: int = 200) -> fastapi.responses.Response:
    """Data in a wire model's shape (dicts, lists, and the service views' records, which
    serialise as their fields), serialized once: the hot read paths skip building and
    re-validating models (the route still documents the model, and the tests and the
    schemathesis run check the answers against it)."""
    body = orjson.dumps(value)
    return fastapi.responses.Response(body, status_code, media_type="application/json")


@dataclasses.dataclass(frozen=True)
class Runner:
    """How a long operation's route runs its work: now, or (``?async=true``) in the
    background, answering 202 at once with the operation to follow."""

    operations: Operations
    run_async: bool

    def __call__(
        self, kind: str, target: str, work: Callable[[], pydantic.BaseModel]
    ) -> pydantic.BaseModel | fastapi.responses.JSONResponse:
        """``work()``'s answer, or 202 + the operation that runs it."""
        if not self.run_async:
            return work()
        op = self.operations.submit(kind, target, work)
        return fastapi.responses.JSONResponse(
            op.model_dump(mode="json"), status_code=202, headers={"Location": op.resource_uri}
        )


async def runner(
    request: fastapi.Request,
    run_async: Annotated[
        bool,
        fastapi.Query(
            alias="async",
            description="answer 202 at once with an operation to follow at "
            "/api/v1/operations/{id}",
        ),
    ] = False,
) -> Runner:
    """The route's Runner, as a dependency: it reads ``?async``."""
    return Runner(operations(request), run_async)


#: a long operation's parameter ``run: Run`` (and its ``?async``)
Run = Annotated[Runner, fastapi.Depends(runner)]
