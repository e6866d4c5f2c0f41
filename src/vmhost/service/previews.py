"""What a change of a host's over-commit ratios or reservations would do, before it is saved.

The preview is the host's view with the proposed settings: surfaces show its accounts with the
same functions as the saved host's (``views.resources``), so the numbers are exactly what the
host would have. Nothing is written.
"""

from __future__ import annotations

import dataclasses

from vmhost import model, store
from vmhost.model.accounting import HostView
from vmhost.scheduler import capacity

from .context import Context


@dataclasses.dataclass(frozen=True, slots=True)
class SettingsPreview:
    """The host now and with the proposed settings, and the smallest ratios (step 0.1) that
    still hold what its VMs use (None: not even 10 would)."""

    now: HostView
    then: HostView
    min_cpu_ratio: float | None
    min_memory_ratio: float | None


def _ratio(field: str, value: object, errors: dict[str, list[str]]) -> float:
    try:
        return model.validate_ratio(field, value)
    except model.InvalidInputError as exc:
        errors.update(exc.fields)
        return 0.0


def _count(field: str, value: object, errors: dict[str, list[str]]) -> int:
    try:
        return model.validate_non_negative(field, value)
    except model.InvalidInputError as exc:
        errors.update(exc.fields)
        return 0


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
        cpu = _ratio("cpu_over_commit_ratio", cpu_over_commit_ratio, errors)
        memory = _ratio("memory_over_commit_ratio", memory_over_commit_ratio, errors)
        cores = _count("reserved_cores", reserved_cores, errors)
        memory_mib = _count("reserved_memory_mib", reserved_memory_mib, errors)
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
