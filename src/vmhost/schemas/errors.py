"""The error wire model: every error body, and the structured reasons of a refused compose.

A ``409`` for a request no host can take carries ``reasons``: one per group of hosts refused
alike, each with every check those hosts failed (``failures``), what each failure is about
(``subject``: NUMA node, storage pool, network, space, NIC) and its numbers (``figures``), so
a client reads the data and never has to parse the English ``message``/``reason`` texts.
"""

from __future__ import annotations

from typing import Annotated

import pydantic

from vmhost import model

from .base import Response


def _known_check(value: object) -> object:
    """A check this client knows becomes the enum; a newer server's check stays a string."""
    if not isinstance(value, str):
        return value
    try:
        return model.Check(value)
    except ValueError:
        return value


CheckName = Annotated[
    model.Check | str,
    pydantic.BeforeValidator(_known_check),
    pydantic.Field(description="the filter or fit check (vmhost.model.Check: zone, memory, ...)"),
]


class ReasonHost(Response):
    """The host a reason is about (a group of one host)."""

    id: int
    name: str


class Subject(Response):
    """What on the host a failure is about; all None = the host as a whole."""

    numa_node: int | None = None
    storage_pool: str | None = None
    network: str | None = None
    space: str | None = None
    nic: str | None = pydantic.Field(default=None, description="the requested NIC's name")
    hugepage_size_kib: int | None = None


class Figures(Response):
    """The numbers behind a resource failure (None where a figure does not apply, or, for a
    group of hosts, where the hosts differ).

    ``free = capacity - used``; ``capacity = floor((total - set_aside - reserved) * ratio)``.
    ``set_aside``: cores pinned to VMs (for shared vCPUs), memory set aside as hugepages (for
    general memory), space used outside vmhost's VMs (for a storage pool). ``limit``: the most
    one VM may have on the host, whatever the over-commit ratio.
    """

    unit: str = pydantic.Field(description="cores, MiB, bytes or virtual functions")
    requested: int
    free: int | None = None
    total: int | None = None
    set_aside: int | None = None
    reserved: int | None = None
    ratio: float | None = None
    capacity: int | None = None
    used: int | None = None
    limit: int | None = None


class Failure(Response):
    """One check the hosts of a reason failed."""

    check: CheckName
    reason: str = pydantic.Field(description="in words shared by hosts failing alike")
    detail: str = pydantic.Field(description="with the figures, e.g. '3 cores requested, ...'")
    subject: Subject = pydantic.Field(default_factory=Subject)
    figures: Figures | None = None


class Reason(Response):
    """Hosts removed from the candidates alike: how many, and every check they failed."""

    check: CheckName
    hosts: int = pydantic.Field(description="how many hosts it removed")
    reason: str = pydantic.Field(description="why, e.g. 'lack 16384 MiB of memory'")
    host: ReasonHost | None = pydantic.Field(
        default=None, description="the host, when the reason is about one host"
    )
    failures: list[Failure] = pydantic.Field(
        default_factory=list, description="every check failed; the first is ``check``"
    )

    @classmethod
    def of(cls, reason: model.Reason) -> Reason:
        """The wire form of the scheduler's reason."""
        host = None
        if reason.host_id is not None:
            host = ReasonHost(id=reason.host_id, name=reason.host_name or "")
        return cls(
            check=reason.check,
            hosts=reason.hosts,
            reason=reason.reason,
            host=host,
            failures=[
                Failure(
                    check=f.check,
                    reason=f.text,
                    detail=f.detail,
                    subject=Subject(**f.subject._asdict()),
                    figures=None if f.figures is None else Figures(**f.figures._asdict()),
                )
                for f in reason.failures
            ],
        )


class ErrorResponse(Response):
    """Every error: one message, plus per-field messages for bad input, plus per-check reasons
    when no host can take a compose request."""

    message: str
    fields: dict[str, list[str]] = pydantic.Field(default_factory=dict)
    reasons: list[Reason] = pydantic.Field(default_factory=list)
