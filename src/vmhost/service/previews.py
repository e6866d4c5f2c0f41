"""What a change of a host's over-commit ratios or reservations would do, before it is saved.

The preview is the host's view with the proposed settings: surfaces show its accounts with the
same functions as the saved host's (``views.resources``), so the numbers are exactly what the
host would have. Nothing is written.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TypeVar

from vmhost import model, store
from vmhost.model.accounting import HostView
from vmhost.scheduler import capacity

from .context import Context

_N = TypeVar("_N", int, float)


@dataclasses.dataclass(frozen=True, slots=True)
class SettingsPreview:
    """The host now and with the proposed settings, and the smallest ratios (step 0.1) that
    still hold what its VMs use (None: not even 10 would)."""

    now: HostView
    then: HostView
    min_cpu_ratio: float | None
    min_memory_ratio: float | None


def _checked(
    validate: Callable[[str, object], _N],
    field: str,
    value: object,
    errors: dict[str, list[str]],
    invalid: _N,
) -> _N:
    """``validate(field, value)``; if it refuses, ``invalid``, and its messages go into
    ``errors`` (so that every bad field is named at once)."""
    try:
        return validate(field, value)
    except model.InvalidInputError as exc:
        errors.update(exc.fields)
        return invalid


class PreviewService:
    """Previews of setting changes."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def settings(
        self,
        host_id: int,
        cpu_over_commit_ratio: object,
        memory_over_commit_ratio: object,
        reserved_cores: object,
        reserved_memory_mib: object,
    ) -> SettingsPreview:
        """The host with these settings; InvalidInputError naming every bad field."""
        errors: dict[str, list[str]] = {}
        ratio, count = model.validate_ratio, model.validate_non_negative
        cpu = _checked(ratio, "cpu_over_commit_ratio", cpu_over_commit_ratio, errors, 0.0)
        memory = _checked(ratio, "memory_over_commit_ratio", memory_over_commit_ratio, errors, 0.0)
        cores = _checked(count, "reserved_cores", reserved_cores, errors, 0)
        memory_mib = _checked(count, "reserved_memory_mib", reserved_memory_mib, errors, 0)
        with self.ctx.db.read() as conn:
            now = store.candidates.load_view(conn, host_id, spaces={})
        if now.cores and cores > now.cores:
            errors.setdefault("reserved_cores", []).append(
                f"{cores} reserved cores is more than the host's {now.cores}"
            )
        if now.memory_mib and memory_mib > now.memory_mib:
            errors.setdefault("reserved_memory_mib", []).append(
                f"{memory_mib} MiB reserved is more than the host's {now.memory_mib} MiB"
            )
        if errors:
            field, messages = next(iter(errors.items()))
            raise model.InvalidInputError(f"{field}: {messages[0]}", errors)
        then = dataclasses.replace(
            now,
            cpu_over_commit_ratio=cpu,
            memory_over_commit_ratio=memory,
            reserved_cores=cores,
            reserved_memory_mib=memory_mib,
        )
        usage = then.usage
        return SettingsPreview(
            now=now,
            then=then,
            min_cpu_ratio=capacity.minimum_ratio(
                then.cores - len(usage.pinned), cores, usage.vcpus.total
            ),
            min_memory_ratio=capacity.minimum_ratio(
                capacity.general_memory_mib(then), memory_mib, usage.memory_mib.total
            ),
        )
