"""Reading form fields: one parse at the edge, each problem as a message for its field.

A ``Form`` keeps what was typed (so a refused form comes back as it was) and collects errors
per field; values it cannot read come back as None, and the page shows the messages next to
their inputs. The domain's own checks (``vmhost.model``) then run on the typed values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import fastapi
from starlette.datastructures import FormData

from vmhost import model

MAX_TEXT = 100_000
#: fields a refused form never sends back (the add-host and settings forms' key and passwords)
SECRETS = frozenset({"key", "password", "trust_password", "trust_token"})


async def form_data(request: fastapi.Request) -> FormData:
    """The request's form (a dependency; read once, in the event loop)."""
    return await request.form()


class Form:
    """A submitted form: the raw values and the errors found reading them."""

    def __init__(self, data: FormData | Mapping[str, Any]) -> None:
        self.data = data
        self.errors: dict[str, str] = {}

    def raw(self, name: str) -> str:
        """The text typed in a field ('' when absent)."""
        value = self.data.get(name)
        return value[:MAX_TEXT] if isinstance(value, str) else ""

    def all(self, name: str) -> list[str]:
        """Every value of a repeated field."""
        getlist = getattr(self.data, "getlist", None)
        values = getlist(name) if getlist else [self.data.get(name)]
        return [v[:MAX_TEXT] if isinstance(v, str) else "" for v in values if v is not None]

    def text(self, name: str) -> str:
        """A trimmed text field."""
        return self.raw(name).strip()

    def optional(self, name: str) -> str | None:
        """A trimmed text field, None when empty."""
        return self.text(name) or None

    def checked(self, name: str) -> bool:
        """A checkbox."""
        return name in self.data

    def fail(self, name: str, message: str) -> None:
        """Note a problem with a field (the first one counts)."""
        self.errors.setdefault(name, message)

    def required(self, name: str, what: str) -> str:
        """A text field that must not be empty."""
        value = self.text(name)
        if not value:
            self.fail(name, f"{what} is required")
        return value

    def integer(self, name: str, what: str, minimum: int = 0, default: int | None = None) -> int:
        """A whole number of at least ``minimum`` (empty: ``default``, or an error)."""
        text = self.text(name).replace(",", "").replace("_", "")
        if not text and default is not None:
            return default
        try:
            value = int(text, 10)
        except ValueError:
            self.fail(name, f"{what} must be a whole number, not {self.text(name)!r}")
            return default if default is not None else minimum
        if value < minimum:
            self.fail(name, f"{what} must be at least {minimum:,}")
        return value

    def number(self, name: str, what: str) -> float | None:
        """A decimal number (None, with an error, when it is not one)."""
        text = self.text(name).replace(",", ".")
        try:
            value = float(text)
        except ValueError:
            self.fail(name, f"{what} must be a number, not {self.text(name)!r}")
            return None
        if math.isnan(value) or math.isinf(value):
            self.fail(name, f"{what} must be a number, not {self.text(name)!r}")
            return None
        return value

    def ratio(self, name: str, what: str) -> float | None:
        """An over-commit ratio from 0 to 10 (None, with an error, otherwise)."""
        text = self.text(name).replace(",", ".")
        try:
            value = float(text)
            return model.validate_ratio(name, value) if not math.isnan(value) else None
        except ValueError:
            pass
        except model.InvalidInputError:
            pass
        self.fail(name, f"{what} must be a number from 0 to 10, not {self.text(name)!r}")
        return None

    def choice(self, name: str, choices: Mapping[str, str], what: str, default: str) -> str:
        """One of ``choices`` (keys); the default when absent."""
        value = self.text(name) or default
        if value not in choices:
            self.fail(name, f"{what} must be one of {', '.join(choices)}, not {value!r}")
            return default
        return value

    def tags(self, name: str) -> tuple[str, ...]:
        """Comma- or space-separated tags."""
        parts = self.text(name).replace(",", " ").split()
        tags: list[str] = []
        for tag in parts:
            try:
                tags.append(model.validate_tag(tag))
            except model.InvalidInputError as exc:
                self.fail(name, "; ".join(exc.fields.get("tag", [exc.message])))
        return tuple(dict.fromkeys(tags))

    def take(self, exc: model.InvalidInputError, known: Mapping[str, str] | None = None) -> None:
        """The service's field errors, under the form's field names (``known`` renames)."""
        known = known or {}
        for field, messages in exc.fields.items():
            text = "; ".join(messages)
            self.fail(known.get(field, field), text[:1].upper() + text[1:])
        if not exc.fields:
            self.fail("_form", exc.message)

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.errors

    def values(self) -> dict[str, str]:
        """What was typed, to fill the form again (a secret is typed again: ``SECRETS``)."""
        return {k: self.raw(k) for k in self.data if k not in SECRETS}
