"""Juju's constraints ``Validator``, and the one this provider registers.

A port of ``core/constraints/validation.go`` (main). A :class:`Validator` holds three
declarative tables:

* **unsupported** keys: :meth:`Validator.validate` *returns* those that are set, as a warning
  list (Juju logs ``unsupported constraints: cpu-power,tags`` and carries on); the provider
  then ignores them;
* **vocabularies**: the allowed values of a key; a set value outside them is an error
  (:class:`InvalidVocabValueError`), and so is each element of a list outside them;
* **conflicts**: pairs of keys that must not both be set (:class:`AmbiguousConstraintsError`),
  unless a registered resolver approves the pair.

:meth:`Validator.merge` is how Juju combines model and application (or machine) constraints:
the value's set keys win, the fallback fills the rest, and fallback keys that conflict with a
key set in the value are dropped first.

As in Juju, checks look at the JSON view of a value (:meth:`Constraints.to_dict`): a
set-but-empty value is *set*. So ``arch=`` fails an arch vocabulary without ``""``, ``cores=``
is checked as ``cores=0``, and ``mem=`` conflicts with whatever ``mem`` conflicts with.

Where Juju's output depends on Go's random map order, this port picks a fixed order: the
unsupported list is sorted, vocabularies are checked in :data:`KEYS` order, and the valid
values of a non-string value are listed in string order. The vocabulary message is main's
(de-duplicated values nearest first by Levenshtein distance, at most 10, then
``...(plus N more)``); Juju 3.x printed the whole list as a Go slice instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Final, TypeAlias

from vmhost_provider.constraints import (
    ALLOCATE_PUBLIC_IP,
    ARCH,
    CONTAINER,
    CONTAINER_NONE,
    CONTAINER_TYPES,
    CPU_POWER,
    IMAGE_ID,
    INSTANCE_ROLE,
    INSTANCE_TYPE,
    SUPPORTED_ARCHES,
    VIRT_TYPE,
    Constraints,
    ConstraintsError,
    ConstraintValue,
    resolve_alias,
)

__all__ = [
    "VMHOST_CONTAINER_TYPES",
    "VMHOST_UNSUPPORTED",
    "VMHOST_VIRT_TYPES",
    "AmbiguousConstraintsError",
    "ConflictResolver",
    "InvalidVocabValueError",
    "ValidationError",
    "Validator",
    "VocabValue",
    "levenshtein_distance",
    "vmhost_validator",
]

#: A value a vocabulary may hold (Go's vocabularies are slices of any type).
VocabValue: TypeAlias = str | int | float | bool
#: Called with the JSON view of the value; raises :class:`ValueError` to refuse the pair.
ConflictResolver: TypeAlias = Callable[[Mapping[str, ConstraintValue]], None]

_DEFAULT_VALID_VALUES_LIMIT: Final = 10


class ValidationError(ConstraintsError):
    """A value failed validation. ``unsupported`` holds the unsupported keys that were set.

    (Juju's ``Validate`` returns that list alongside the error.)
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.unsupported: list[str] = []


class AmbiguousConstraintsError(ValidationError):
    """Two conflicting keys are both set: ``ambiguous constraints: "a" overlaps with "b"``."""


class InvalidVocabValueError(ValidationError):
    """A value is not in its key's vocabulary (Juju's ``InvalidVocabValueError``)."""

    def __init__(
        self,
        attribute: str,
        value: VocabValue,
        closest_valid_values: list[str],
        all_valid_values: list[str],
    ) -> None:
        message = (
            f"invalid constraint value: {attribute}={_go_sprint(value)}\n"
            f"valid values are: {' '.join(closest_valid_values)}"
        )
        extra = len(all_valid_values) - len(closest_valid_values)
        if extra > 0:
            message = f"{message} ...(plus {extra} more)"
        super().__init__(message)
        self.attribute = attribute
        self.value = value
        self.closest_valid_values = closest_valid_values
        self.all_valid_values = all_valid_values


# --------------------------------------------------------------------------------------
# Go formatting and comparison helpers
# --------------------------------------------------------------------------------------


def _go_float(value: float) -> str:
    """``fmt.Sprint(float64)``: shortest digits; ``%e`` form when the exponent is < -4 or >= 6."""
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
    sign, digit_tuple, exponent = Decimal(repr(value)).as_tuple()
    assert isinstance(exponent, int)  # finite
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    prefix = "-" if sign else ""
    if not digits:
        return f"{prefix}0"
    exponent += len(digit_tuple) - len(digits)
    point = len(digits) + exponent  # digits[:point] is the integer part
    exp = point - 1
    if exp < -4 or exp >= 6:  # strconv 'g' with shortest precision uses 6 here
        mantissa = digits[0] + (f".{digits[1:]}" if len(digits) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{prefix}{digits}{'0' * (point - len(digits))}"
    return f"{prefix}{digits[:point]}.{digits[point:]}"


def _go_sprint(value: VocabValue) -> str:
    """``fmt.Sprint`` of a Go value of the matching type."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    return str(value)


def _coerce(value: VocabValue) -> tuple[str, object]:
    """Juju's ``coerce``: numbers compare as float64; other kinds never equal a number."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, str):
        return ("string", value)
    return ("number", float(value))


def _json_view(cons: Constraints) -> dict[str, VocabValue | list[str]]:
    """The decoded JSON form Juju's validator inspects: every number is a float64."""
    view: dict[str, VocabValue | list[str]] = {}
    for key, value in cons.to_dict().items():
        if isinstance(value, int) and not isinstance(value, bool):
            view[key] = float(value)
        else:
            view[key] = value
    return view


def levenshtein_distance(first: str, second: str) -> int:
    """Edit distance between two strings (Juju's ``stringcompare.LevenshteinDistance``)."""
    previous = list(range(len(second) + 1))
    for i, char1 in enumerate(first, start=1):
        current = [i]
        for j, char2 in enumerate(second, start=1):
            cost = 0 if char1 == char2 else 1
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost))
        previous = current
    return previous[-1]


def _sorted_pair(red: str, blue: str) -> tuple[str, str]:
    first, second = sorted((red, blue))
    return first, second


# --------------------------------------------------------------------------------------
# The validator
# --------------------------------------------------------------------------------------


class Validator:
    """Juju's ``constraints.Validator`` (``NewValidator()``).

    Registration replaces, as in Juju: a second :meth:`register_unsupported` call replaces
    the first list, and :meth:`register_conflicts` replaces the conflict set of each key it
    names. Keys are not alias-resolved for conflicts and unsupported keys (Juju does not
    either); vocabularies resolve ``cpu-cores`` to ``cores``.
    """

    def __init__(self) -> None:
        self._unsupported: frozenset[str] = frozenset()
        self._conflicts: dict[str, frozenset[str]] = {}
        self._resolvers: dict[tuple[str, str], ConflictResolver] = {}
        self._vocab: dict[str, tuple[VocabValue, ...]] = {}
        #: At most this many valid values are listed in a vocabulary error.
        self.valid_values_count_limit = _DEFAULT_VALID_VALUES_LIMIT

    # -- registration --------------------------------------------------------------------

    def register_conflicts(self, reds: Iterable[str], blues: Iterable[str]) -> None:
        """No key in ``reds`` may be set together with a key in ``blues``.

        When merging, a fallback key is dropped if it conflicts with a key set in the value.
        """
        red_keys, blue_keys = frozenset(reds), frozenset(blues)
        for red in red_keys:
            self._conflicts[red] = blue_keys
        for blue in blue_keys:
            self._conflicts[blue] = red_keys

    def register_conflict_resolver(self, red: str, blue: str, resolver: ConflictResolver) -> None:
        """Let ``resolver`` approve a conflicting ``red``/``blue`` pair.

        It gets the JSON view of the value; raising :class:`ValueError` refuses the pair and
        its message is appended to the ambiguity error.
        """
        self._resolvers[_sorted_pair(red, blue)] = resolver

    def register_unsupported(self, unsupported: Iterable[str]) -> None:
        """Keys this provider ignores; :meth:`validate` reports them when set."""
        self._unsupported = frozenset(unsupported)

    def register_vocabulary(self, attribute: str, allowed_values: Iterable[VocabValue]) -> None:
        """The values ``attribute`` may take (each element, for list keys)."""
        self._vocab[resolve_alias(attribute)] = tuple(allowed_values)

    def update_vocabulary(self, attribute: str, new_values: Iterable[VocabValue]) -> None:
        """Add ``new_values`` to the vocabulary of ``attribute`` (registering it if new)."""
        attribute = resolve_alias(attribute)
        merged = dict.fromkeys((*self._vocab.get(attribute, ()), *new_values))
        self._vocab[attribute] = tuple(merged)

    @property
    def unsupported(self) -> frozenset[str]:
        """The registered unsupported keys."""
        return self._unsupported

    def vocabulary(self, attribute: str) -> tuple[VocabValue, ...] | None:
        """The registered vocabulary of ``attribute``, or None."""
        return self._vocab.get(resolve_alias(attribute))

    # -- checks --------------------------------------------------------------------------

    def _check_unsupported(self, cons: Constraints) -> list[str]:
        return cons.has_any(*sorted(self._unsupported))

    def _check_in_vocab(self, attribute: str, value: VocabValue) -> None:
        valid_values = self._vocab.get(resolve_alias(attribute))
        if valid_values is None:
            return
        wanted = _coerce(value)
        if any(_coerce(valid) == wanted for valid in valid_values):
            return
        unique = sorted(set(map(_go_sprint, valid_values)))
        if isinstance(value, str):
            unique.sort(key=lambda valid: levenshtein_distance(valid, value))
        limit = min(len(unique), self.valid_values_count_limit)
        closest = unique[:limit] if limit > 0 else unique
        raise InvalidVocabValueError(attribute, value, closest, unique)

    def _check_valid_values(self, cons: Constraints) -> None:
        for attribute, value in _json_view(cons).items():
            if isinstance(value, list):
                for item in value:
                    self._check_in_vocab(attribute, item)
            else:
                self._check_in_vocab(attribute, value)

    def _check_conflicts(self, cons: Constraints) -> None:
        view = cons.to_dict()
        for attribute in sorted(view):
            for conflict in sorted(self._conflicts.get(attribute, ())):
                if conflict not in view:
                    continue
                resolver = self._resolvers.get(_sorted_pair(attribute, conflict))
                message = f'ambiguous constraints: "{attribute}" overlaps with "{conflict}"'
                if resolver is None:
                    raise AmbiguousConstraintsError(message)
                try:
                    resolver(view)
                except ValueError as err:
                    raise AmbiguousConstraintsError(f"{message}: {err}") from err

    def validate(self, cons: Constraints) -> list[str]:
        """Check ``cons``; return the unsupported keys it sets (sorted; a warning list).

        Raises :class:`InvalidVocabValueError` or then :class:`AmbiguousConstraintsError`
        (vocabularies are checked first, because a resolver may depend on valid values).
        """
        unsupported = self._check_unsupported(cons)
        try:
            self._check_valid_values(cons)
            self._check_conflicts(cons)
        except ValidationError as err:
            err.unsupported = unsupported
            raise
        return unsupported

    def merge(self, fallback: Constraints, cons: Constraints) -> Constraints:
        """Juju's ``Validator.Merge``: ``cons`` over ``fallback``.

        Both are validated first (unsupported keys are fine; errors propagate). Fallback keys
        that conflict with a key set in ``cons`` are dropped; then every key set in ``cons``
        (set-but-empty included, so ``mem=`` clears an inherited ``mem``) wins, and the rest
        come from the fallback.
        """
        self.validate(fallback)
        self.validate(cons)
        dropped: set[str] = set()
        for attribute in cons.set_keys():
            dropped |= self._conflicts.get(attribute, frozenset())
        remaining = fallback.without(*dropped)
        return cons.with_fallback(remaining)


# --------------------------------------------------------------------------------------
# This provider
# --------------------------------------------------------------------------------------

#: Keys vmhost ignores (reported by :meth:`Validator.validate`, never fatal).
VMHOST_UNSUPPORTED: Final[tuple[str, ...]] = (
    CPU_POWER,
    INSTANCE_TYPE,
    INSTANCE_ROLE,
    ALLOCATE_PUBLIC_IP,
    IMAGE_ID,
)
#: ``virt-type`` values: LXD's vocabulary, ``""`` included so ``virt-type=`` can clear.
VMHOST_VIRT_TYPES: Final[tuple[str, ...]] = ("", "container", "virtual-machine")
#: ``container`` values: Juju's container types plus its two "no container" spellings.
VMHOST_CONTAINER_TYPES: Final[tuple[str, ...]] = ("", CONTAINER_NONE, *CONTAINER_TYPES)


def vmhost_validator(arches: Iterable[str] | None = None) -> Validator:
    """The constraints validator of the vmhost provider.

    Modelled on the constraint validators of Juju's LXD and MAAS providers, whose hosts are
    what vmhost composes on:

    **Unsupported** (warned about, then ignored):

    * ``cpu-power``: unsupported by both MAAS and LXD; a VM host has no ECU-like measure.
    * ``instance-type``: MAAS marks it unsupported; LXD passes it to LXD's own instance
      types, but vmhost has no instance-type catalogue, so it is ignored rather than guessed.
    * ``allocate-public-ip``: unsupported by both; VMs get addresses on the host's networks.
    * ``image-id``: unsupported on LXD; MAAS turns it into ``distro_series``. vmhost picks
      the image from the base, as the LXD provider does.
    * ``instance-role``: neither provider registers it and both silently drop it (AWS-only);
      vmhost reports it so the user is not misled.

    Supported, unlike in one of the two: ``tags`` (host tags, ``^`` excludes, as on MAAS),
    ``virt-type`` (LXD: container or virtual machine; MAAS calls it unsupported) and
    ``container``, which Juju's placement acts on, not the provider (neither marks it).

    **Vocabularies**: ``arch`` = ``arches`` (the hosts' architectures; default: all of
    Juju's) intersected with Juju's, sorted, as both providers do; like them, without ``""``,
    so ``arch=`` is refused. ``virt-type`` = LXD's list, which includes ``""`` so that
    ``virt-type=`` (clearing an inherited value) passes. ``container`` = ``lxd`` plus ``""``
    and ``none``, which parse already allows and which mean "not in a container".

    **Conflicts**: none; neither the LXD nor the MAAS provider registers any.
    """
    validator = Validator()
    validator.register_unsupported(VMHOST_UNSUPPORTED)
    wanted = set(SUPPORTED_ARCHES if arches is None else arches)
    validator.register_vocabulary(ARCH, sorted(wanted & set(SUPPORTED_ARCHES)))
    validator.register_vocabulary(VIRT_TYPE, VMHOST_VIRT_TYPES)
    validator.register_vocabulary(CONTAINER, VMHOST_CONTAINER_TYPES)
    return validator
