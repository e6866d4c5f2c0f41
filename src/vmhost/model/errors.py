"""The domain error tree. Surfaces map these to HTTP codes / exit codes in one place."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .reasons import Reason


class VmHostError(Exception):
    """Base of every error vmhost raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidInputError(VmHostError):
    """Bad input: one message plus errors per field (HTTP 400/422)."""

    def __init__(self, message: str, fields: Mapping[str, Sequence[str]] | None = None) -> None:
        super().__init__(message)
        self.fields: dict[str, list[str]] = {k: list(v) for k, v in (fields or {}).items()}

    @classmethod
    def for_field(cls, field: str, message: str) -> InvalidInputError:
        """An error about one field; the message names the field."""
        return cls(f"{field}: {message}", {field: [message]})


class NotFoundError(VmHostError):
    """An id or name that does not exist (HTTP 404)."""

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key!r} does not exist")
        self.kind = kind
        self.key = key


class ConflictError(VmHostError):
    """A duplicate, or an operation that conflicts with the current state (HTTP 409); a
    duplicate names the field that holds it."""

    def __init__(self, message: str, fields: Mapping[str, Sequence[str]] | None = None) -> None:
        super().__init__(message)
        self.fields: dict[str, list[str]] = {k: list(v) for k, v in (fields or {}).items()}

    @classmethod
    def for_field(cls, field: str, message: str) -> ConflictError:
        """A duplicate in one field (the message says what clashes)."""
        return cls(message, {field: [message]})


class GenerationConflictError(ConflictError):
    """A compare-and-swap on a host's generation lost a race."""


class NoCapacityError(VmHostError):
    """No host can take the request: of the ``considered`` hosts, which checks refused how many
    and why (``reasons``: check, subject and figures per group of hosts refused alike)."""

    def __init__(self, message: str, reasons: Sequence[Reason] = (), considered: int = 0) -> None:
        super().__init__(message)
        self.reasons: list[Reason] = list(reasons)
        self.considered = considered


class HostProblemError(VmHostError):
    """The hypervisor refused or could not be reached (HTTP 503)."""
