"""Tests for vmhost_provider.validation, ported from Juju's own tests.

Sources (juju/juju):

* ``core/constraints/validation_test.go`` (commit 25ca4bad): every case of
  ``validationTests`` and ``mergeTests``, and ``TestConstraintResolver``,
  ``TestMergeError``, ``TestUpdateVocabulary``.
* ``internal/stringcompare/stringcomparator_test.go``: ``TestLevenshteinDistance``.
* the validator behaviour observed by running Juju's code, and the LXD/MAAS provider
  registrations the vmhost validator is modelled on.

Juju's vocabulary-error tests match ``valid values are:.*``; here the Go pattern is checked
and so is the exact message.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import pytest
from vmhost_provider.constraints import (
    SUPPORTED_ARCHES,
    Constraints,
    ConstraintsError,
    ConstraintValue,
    go_quote,
    parse,
)
from vmhost_provider.validation import (
    VMHOST_UNSUPPORTED,
    AmbiguousConstraintsError,
    InvalidVocabValueError,
    ValidationError,
    Validator,
    VocabValue,
    _go_float,
    levenshtein_distance,
    vmhost_validator,
)

C = Constraints


def _validator(
    unsupported: list[str] | None = None,
    reds: list[str] | None = None,
    blues: list[str] | None = None,
    vocab: Mapping[str, list[VocabValue]] | None = None,
) -> Validator:
    validator = Validator()
    validator.register_unsupported(unsupported or [])
    validator.register_conflicts(reds or [], blues or [])
    for attribute, values in (vocab or {}).items():
        validator.register_vocabulary(attribute, values)
    return validator


# --------------------------------------------------------------------------------------
# validationTests
# --------------------------------------------------------------------------------------

INSTANCE_TYPES_13 = [
    "a1.4xlarge",
    "a1.large",
    "a1.xlarge",
    "a1.medium",
    "a1.metal",
    "c3.2xlarge",
    "c3.xlarge",
    "c4.large",
    "c4.8xlarge",
    "c4.4xlarge",
    "c4.2xlarge",
    "c4.xlarge",
    "c5.4xlarge",
]


class VCase:
    """One row of Juju's ``validationTests``."""

    def __init__(
        self,
        desc: str,
        cons: str,
        *,
        unsupported: list[str] | None = None,
        vocab: Mapping[str, list[VocabValue]] | None = None,
        reds: list[str] | None = None,
        blues: list[str] | None = None,
        err: str = "",
        exact: str = "",
    ) -> None:
        self.desc = desc
        self.cons = cons
        self.unsupported = unsupported or []
        self.vocab = vocab or {}
        self.reds = reds
        self.blues = blues
        self.err = err  # Juju's pattern (Go regexp, anchored)
        self.exact = exact  # the exact message this port produces

    def __repr__(self) -> str:
        return self.desc


VALIDATION_CASES = [
    VCase("base good", "root-disk=8G mem=4G arch=amd64 cpu-power=1000 cores=4"),
    VCase(
        "unsupported",
        "root-disk=8G mem=4G arch=amd64 cpu-power=1000 cores=4 tags=foo",
        unsupported=["tags"],
    ),
    VCase(
        "multiple unsupported",
        "root-disk=8G mem=4G arch=amd64 cpu-power=1000 cores=4 instance-type=foo",
        unsupported=["cpu-power", "instance-type"],
    ),
    VCase(
        "Ambiguous constraint errors take precedence over unsupported errors.",
        "root-disk=8G mem=4G cores=4 instance-type=foo",
        reds=["mem", "arch"],
        blues=["instance-type"],
        unsupported=["cores"],
        err='ambiguous constraints: "instance-type" overlaps with "mem"',
    ),
    VCase(
        "red conflicts",
        "root-disk=8G mem=4G arch=amd64 cores=4 instance-type=foo",
        reds=["mem", "arch"],
    ),
    VCase(
        "blue conflicts",
        "root-disk=8G mem=4G arch=amd64 cores=4 instance-type=foo",
        blues=["mem", "arch"],
    ),
    VCase(
        "red and blue conflicts",
        "root-disk=8G mem=4G arch=amd64 cores=4 instance-type=foo",
        reds=["mem", "arch"],
        blues=["instance-type"],
        err='ambiguous constraints: "arch" overlaps with "instance-type"',
    ),
    VCase(
        "ambiguous constraints red to blue",
        "root-disk=8G mem=4G arch=amd64 cores=4 instance-type=foo",
        reds=["instance-type"],
        blues=["mem", "arch"],
        err='ambiguous constraints: "arch" overlaps with "instance-type"',
    ),
    VCase(
        "ambiguous constraints blue to red",
        "root-disk=8G mem=4G cores=4 instance-type=foo",
        reds=["mem", "arch"],
        blues=["instance-type"],
        err='ambiguous constraints: "instance-type" overlaps with "mem"',
    ),
    VCase("arch vocab", "arch=amd64 mem=4G cores=4", vocab={"arch": ["amd64", "arm64"]}),
    VCase("cores vocab", "mem=4G cores=4", vocab={"cores": [2, 4, 8]}),
    VCase(
        "instance-type vocab", "mem=4G instance-type=foo", vocab={"instance-type": ["foo", "bar"]}
    ),
    VCase("tags vocab", "mem=4G tags=foo,bar", vocab={"tags": ["foo", "bar", "another"]}),
    VCase(
        "invalid arch vocab",
        "arch=arm64 mem=4G cores=4",
        vocab={"arch": ["amd64"]},
        err="invalid constraint value: arch=arm64\nvalid values are:.*",
        exact="invalid constraint value: arch=arm64\nvalid values are: amd64",
    ),
    VCase(
        "invalid cores vocab",
        "mem=4G cores=5",
        vocab={"cores": [2, 4, 8]},
        err="invalid constraint value: cores=5\nvalid values are:.*",
        exact="invalid constraint value: cores=5\nvalid values are: 2 4 8",
    ),
    VCase(
        "invalid instance-type vocab",
        "mem=4G instance-type=foo",
        vocab={"instance-type": ["bar"]},
        err="invalid constraint value: instance-type=foo\nvalid values are:.*",
        exact="invalid constraint value: instance-type=foo\nvalid values are: bar",
    ),
    VCase(
        "invalid tags vocab",
        "mem=4G tags=foo,other",
        vocab={"tags": ["foo", "bar", "another"]},
        err="invalid constraint value: tags=other\nvalid values are:.*",
        # Levenshtein distances from "other": another 2, bar 4, foo 5.
        exact="invalid constraint value: tags=other\nvalid values are: another bar foo",
    ),
    VCase(
        "instance-type and arch",
        "arch=arm64 mem=4G instance-type=foo",
        vocab={"instance-type": ["foo", "bar"], "arch": ["amd64", "arm64"]},
    ),
    VCase("virt-type", "virt-type=bar", vocab={"virt-type": ["bar"]}),
    VCase(
        "valid instance-type",
        "instance-type=a1.4xlarge",
        vocab={"instance-type": [*INSTANCE_TYPES_13[:5], "c3.2xlarge", "c3.xlarge"]},
    ),
    VCase(
        "invalid instance-type unique and sorted by closest Levenshtein Distance vocabs",
        "instance-type=ba",
        vocab={"instance-type": ["car", "bar", "tar", "car", "bar", "car"]},
        err="invalid constraint value: instance-type=ba\nvalid values are: bar car tar",
        exact="invalid constraint value: instance-type=ba\nvalid values are: bar car tar",
    ),
    VCase(
        "invalid instance-type return count of extra possible vocabs if length of closest "
        "vocabs exceeds limit",
        "instance-type=1a.4xlarge",
        vocab={"instance-type": list(INSTANCE_TYPES_13)},
        err=r"invalid constraint value: instance-type=1a\.4xlarge\nvalid values are: .* "
        r"...\(plus 3 more\)$",
    ),
]


def test_validation_table_size() -> None:
    assert len(VALIDATION_CASES) == 22


@pytest.mark.parametrize("case", VALIDATION_CASES, ids=repr)
def test_validation(case: VCase) -> None:
    validator = _validator(case.unsupported, case.reds, case.blues, case.vocab)
    cons = parse(case.cons)
    if not case.err:
        assert sorted(validator.validate(cons)) == sorted(case.unsupported)
        return
    with pytest.raises(ValidationError) as caught:
        validator.validate(cons)
    message = str(caught.value)
    assert re.fullmatch(case.err, message), message
    if case.exact:
        assert message == case.exact
    # Juju returns the unsupported list together with the error.
    assert caught.value.unsupported == sorted(cons.has_any(*case.unsupported))


def test_limit_case_lists_ten_nearest() -> None:
    validator = _validator(vocab={"instance-type": list(INSTANCE_TYPES_13)})
    with pytest.raises(InvalidVocabValueError) as caught:
        validator.validate(parse("instance-type=1a.4xlarge"))
    err = caught.value
    assert len(err.closest_valid_values) == 10
    assert sorted(err.all_valid_values) == sorted(INSTANCE_TYPES_13)
    distances = [levenshtein_distance(v, "1a.4xlarge") for v in err.all_valid_values]
    assert distances == sorted(distances)
    assert err.closest_valid_values == err.all_valid_values[:10]
    assert err.closest_valid_values[0] == "a1.4xlarge"  # two substitutions away
    assert (err.attribute, err.value) == ("instance-type", "1a.4xlarge")


def test_constraint_resolver() -> None:
    validator = Validator()
    validator.register_conflicts(["instance-type"], ["arch"])
    cons = parse("arch=amd64 instance-type=foo-amd64")
    with pytest.raises(
        AmbiguousConstraintsError, match=r'^ambiguous constraints: "arch" overlaps with '
    ):
        validator.validate(cons)

    def resolver(values: Mapping[str, ConstraintValue]) -> None:
        if values["arch"] == "amd64" and values["instance-type"] == "foo-amd64":
            return
        instance_type, arch = str(values["instance-type"]), str(values["arch"])
        raise ValueError(
            f"instance-type={go_quote(instance_type)} and arch={go_quote(arch)} are incompatible"
        )

    validator.register_conflict_resolver("instance-type", "arch", resolver)
    assert validator.validate(cons) == []
    with pytest.raises(AmbiguousConstraintsError) as caught:
        validator.validate(parse("arch=arm64 instance-type=foo-s390x"))
    assert str(caught.value) == (
        'ambiguous constraints: "arch" overlaps with "instance-type": '
        'instance-type="foo-s390x" and arch="arm64" are incompatible'
    )


# --------------------------------------------------------------------------------------
# mergeTests: (desc, fallback, cons, unsupported, reds, blues, expected)
# --------------------------------------------------------------------------------------

_RB = (["mem", "arch"], ["instance-type"])
_NO: tuple[list[str], list[str]] = ([], [])

MERGE_CASES: list[tuple[str, str, str, list[str], tuple[list[str], list[str]], str]] = [
    ("empty all round", "", "", [], _NO, ""),
    ("container with empty fallback", "", "container=lxd", [], _NO, "container=lxd"),
    ("container from fallback", "container=lxd", "", [], _NO, "container=lxd"),
    ("arch with empty fallback", "", "arch=amd64", [], _NO, "arch=amd64"),
    ("arch with ignored fallback", "arch=arm64", "arch=amd64", [], _NO, "arch=amd64"),
    ("arch from fallback", "arch=arm64", "", [], _NO, "arch=arm64"),
    ("instance type with empty fallback", "", "instance-type=foo", [], _NO, "instance-type=foo"),
    (
        "instance type with ignored fallback",
        "instance-type=bar",
        "instance-type=foo",
        [],
        _NO,
        "instance-type=foo",
    ),
    ("instance type from fallback", "instance-type=foo", "", [], _NO, "instance-type=foo"),
    ("cores with empty fallback", "", "cores=2", [], _NO, "cores=2"),
    ("cores with ignored fallback", "cores=8", "cores=4", [], _NO, "cores=4"),
    ("cores from fallback", "cores=8", "", [], _NO, "cores=8"),
    ("cpu-power with empty fallback", "", "cpu-power=100", [], _NO, "cpu-power=100"),
    (
        "cpu-power with ignored fallback",
        "cpu-power=200",
        "cpu-power=100",
        [],
        _NO,
        "cpu-power=100",
    ),
    ("cpu-power from fallback", "cpu-power=200", "", [], _NO, "cpu-power=200"),
    ("tags with empty fallback", "", "tags=foo,bar", [], _NO, "tags=foo,bar"),
    ("tags with ignored fallback", "tags=baz", "tags=foo,bar", [], _NO, "tags=foo,bar"),
    ("tags from fallback", "tags=foo,bar", "", [], _NO, "tags=foo,bar"),
    ("tags initial empty", "tags=foo,bar", "tags=", [], _NO, "tags="),
    ("mem with empty fallback", "", "mem=4G", [], _NO, "mem=4G"),
    ("mem with ignored fallback", "mem=8G", "mem=4G", [], _NO, "mem=4G"),
    ("mem from fallback", "mem=8G", "", [], _NO, "mem=8G"),
    ("root-disk with empty fallback", "", "root-disk=4G", [], _NO, "root-disk=4G"),
    ("root-disk with ignored fallback", "root-disk=8G", "root-disk=4G", [], _NO, "root-disk=4G"),
    ("root-disk from fallback", "root-disk=8G", "", [], _NO, "root-disk=8G"),
    (
        "non-overlapping mix",
        "cpu-power=1000 cores=4",
        "root-disk=8G mem=4G arch=amd64",
        [],
        _NO,
        "root-disk=8G mem=4G arch=amd64 cpu-power=1000 cores=4",
    ),
    (
        "overlapping mix",
        "cpu-power=1000 cores=4 mem=8G",
        "root-disk=8G mem=4G arch=amd64",
        [],
        _NO,
        "root-disk=8G mem=4G arch=amd64 cpu-power=1000 cores=4",
    ),
    (
        "fallback only, no conflicts",
        "root-disk=8G cores=4 instance-type=foo",
        "",
        [],
        _RB,
        "root-disk=8G cores=4 instance-type=foo",
    ),
    (
        "no fallback, no conflicts",
        "",
        "root-disk=8G cores=4 instance-type=foo",
        [],
        _RB,
        "root-disk=8G cores=4 instance-type=foo",
    ),
    (
        "conflict value from override",
        "root-disk=8G instance-type=foo",
        "root-disk=8G cores=4 instance-type=bar",
        [],
        _RB,
        "root-disk=8G cores=4 instance-type=bar",
    ),
    (
        "unsupported attributes ignored",
        "root-disk=8G instance-type=foo",
        "root-disk=8G cores=4 instance-type=bar",
        ["instance-type"],
        _RB,
        "root-disk=8G cores=4 instance-type=bar",
    ),
    (
        "red conflict masked from fallback",
        "root-disk=8G mem=4G",
        "root-disk=8G cores=4 instance-type=bar",
        [],
        _RB,
        "root-disk=8G cores=4 instance-type=bar",
    ),
    (
        "second red conflict masked from fallback",
        "root-disk=8G arch=amd64",
        "root-disk=8G cores=4 instance-type=bar",
        [],
        _RB,
        "root-disk=8G cores=4 instance-type=bar",
    ),
    (
        "blue conflict masked from fallback",
        "root-disk=8G cores=4 instance-type=bar",
        "root-disk=8G mem=4G",
        [],
        _RB,
        "root-disk=8G cores=4 mem=4G",
    ),
    (
        "both red conflicts used, blue mased from fallback",
        "root-disk=8G cores=4 instance-type=bar",
        "root-disk=8G arch=amd64 mem=4G",
        [],
        _RB,
        "root-disk=8G cores=4 arch=amd64 mem=4G",
    ),
]


def test_merge_table_size() -> None:
    assert len(MERGE_CASES) == 35


@pytest.mark.parametrize(
    ("desc", "fallback", "cons", "unsupported", "conflicts", "expected"),
    MERGE_CASES,
    ids=[case[0] for case in MERGE_CASES],
)
def test_merge(
    desc: str,
    fallback: str,
    cons: str,
    unsupported: list[str],
    conflicts: tuple[list[str], list[str]],
    expected: str,
) -> None:
    validator = _validator(unsupported, *conflicts)
    assert validator.merge(parse(fallback), parse(cons)) == parse(expected)


def test_merge_error() -> None:
    validator = Validator()
    validator.register_conflicts(["instance-type"], ["mem"])
    fallback = parse("instance-type=foo mem=4G")
    cons = parse("cores=2")
    message = '^ambiguous constraints: "instance-type" overlaps with "mem"$'
    with pytest.raises(AmbiguousConstraintsError, match=message):
        validator.merge(fallback, cons)
    with pytest.raises(AmbiguousConstraintsError, match=message):
        validator.merge(cons, fallback)


def test_update_vocabulary() -> None:
    validator = Validator()
    validator.register_vocabulary("arch", ["amd64"])
    cons = parse("arch=amd64")
    assert validator.validate(cons) == []
    cons2 = parse("arch=ppc64el")
    with pytest.raises(InvalidVocabValueError) as caught:
        validator.validate(cons2)
    assert str(caught.value) == "invalid constraint value: arch=ppc64el\nvalid values are: amd64"
    validator.update_vocabulary("arch", ["ppc64el"])
    assert validator.validate(cons) == []
    assert validator.validate(cons2) == []
    assert validator.vocabulary("arch") == ("amd64", "ppc64el")


def test_update_vocabulary_registers_new_and_dedupes() -> None:
    validator = Validator()
    validator.update_vocabulary("cpu-cores", [2, 4])
    validator.update_vocabulary("cores", [4, 8])
    assert validator.vocabulary("cores") == (2, 4, 8)
    assert validator.vocabulary("mem") is None


LEVENSHTEIN_CASES = [
    ("", "", 0),
    ("", "abc", 3),
    ("abc", "", 3),
    ("abc", "abc", 0),
    ("abc", "def", 3),
    ("fly", "cry", 2),
    ("playing", "sharing", 3),
    ("distance", "editing", 5),
    ("a" * 24, "b" * 24, 24),
    ("à", "à", 0),
]


@pytest.mark.parametrize(("first", "second", "distance"), LEVENSHTEIN_CASES)
def test_levenshtein_distance(first: str, second: str, distance: int) -> None:
    assert levenshtein_distance(first, second) == distance


# --------------------------------------------------------------------------------------
# observed behaviour of Juju's validator, and the details of this port
# --------------------------------------------------------------------------------------


def test_set_but_empty_values_are_checked() -> None:
    validator = _validator(vocab={"arch": ["amd64", "arm64"], "cores": [2, 4], "tags": ["a"]})
    with pytest.raises(InvalidVocabValueError) as caught:
        validator.validate(parse("arch="))
    assert str(caught.value) == "invalid constraint value: arch=\nvalid values are: amd64 arm64"
    with pytest.raises(InvalidVocabValueError) as caught:
        validator.validate(parse("cores="))
    assert str(caught.value) == "invalid constraint value: cores=0\nvalid values are: 2 4"
    # An empty list has no elements to check.
    assert validator.validate(parse("tags=")) == []


def test_lxd_virt_type_vocabulary_allows_empty() -> None:
    validator = _validator(vocab={"virt-type": ["", "container", "virtual-machine"]})
    assert validator.validate(parse("virt-type=")) == []


def test_unsupported_includes_set_but_empty_and_is_sorted() -> None:
    validator = _validator(unsupported=["tags", "cpu-power", "zones", "cpu-cores"])
    assert validator.validate(parse("tags= cpu-power= cores=1")) == [
        "cpu-cores",
        "cpu-power",
        "tags",
    ]
    assert validator.unsupported == frozenset({"tags", "cpu-power", "zones", "cpu-cores"})


def test_unsupported_names_that_are_not_constraints_are_ignored() -> None:
    validator = _validator(unsupported=["nested-virtualization", "tags"])
    assert validator.validate(parse("tags=a")) == ["tags"]


def test_register_unsupported_replaces() -> None:
    validator = _validator(unsupported=["tags"])
    validator.register_unsupported(["mem"])
    assert validator.validate(parse("tags=a mem=1")) == ["mem"]


def test_set_but_empty_values_conflict() -> None:
    validator = _validator(reds=["instance-type"], blues=["mem"])
    with pytest.raises(AmbiguousConstraintsError):
        validator.validate(parse("instance-type= mem="))


def test_register_conflicts_replaces_per_key() -> None:
    # As in Juju, registering "instance-type" again replaces its conflict set, while
    # "mem" still conflicts with "instance-type" from the first call.
    validator = _validator(reds=["instance-type"], blues=["mem"])
    validator.register_conflicts(["instance-type"], ["arch"])
    assert validator.validate(parse("instance-type=x cores=1")) == []
    # "instance-type" is checked first (sorted) but now only conflicts with "arch"; "mem"
    # still names "instance-type".
    with pytest.raises(AmbiguousConstraintsError, match='"mem" overlaps with "instance-type"'):
        validator.validate(parse("instance-type=x mem=1"))
    with pytest.raises(AmbiguousConstraintsError, match='"arch" overlaps with "instance-type"'):
        validator.validate(parse("instance-type=x arch=amd64"))


def test_conflict_keys_are_not_alias_resolved_but_merge_drops_aliases() -> None:
    validator = _validator(reds=["cpu-cores"], blues=["mem"])
    # Juju checks conflicts on canonical keys only, so "cpu-cores" never matches ...
    assert validator.validate(parse("cores=1 mem=1")) == []
    # ... but Without() resolves aliases, so merging drops the fallback's cores.
    assert validator.merge(parse("cores=2"), parse("mem=1")) == parse("mem=1")
    # Names that are not constraints are ignored when dropping.
    odd = _validator(reds=["mem"], blues=["no-such-key"])
    assert odd.merge(parse("cores=2"), parse("mem=1")) == parse("mem=1 cores=2")


def test_merge_instance_type_over_mem_and_cores() -> None:
    validator = _validator(reds=["instance-type"], blues=["mem", "cores"])
    merged = validator.merge(parse("mem=8G cores=2"), parse("instance-type=c2-m4"))
    assert merged == parse("instance-type=c2-m4")


def test_merge_set_but_empty_clears() -> None:
    validator = Validator()
    assert validator.merge(parse("mem=8G"), parse("mem=")) == parse("mem=")
    assert validator.merge(parse("zones=a,b"), parse("zones=")) == parse("zones=")
    # allocate-public-ip= parses to unset, so it cannot clear anything.
    merged = validator.merge(parse("allocate-public-ip=true"), parse("allocate-public-ip="))
    assert merged == parse("allocate-public-ip=true")


def test_merge_validates_vocabulary() -> None:
    validator = _validator(vocab={"arch": ["amd64"]})
    with pytest.raises(InvalidVocabValueError):
        validator.merge(parse("arch=arm64"), parse("arch=amd64"))


def test_vocabulary_alias_and_value_kinds() -> None:
    validator = _validator(
        vocab={"cpu-cores": [2, 4.0], "allocate-public-ip": [True], "virt-type": ["1"]}
    )
    assert validator.vocabulary("cores") == (2, 4.0)
    assert validator.validate(parse("cores=4 allocate-public-ip=t virt-type=1")) == []
    with pytest.raises(InvalidVocabValueError) as caught:
        validator.validate(parse("cores=3"))
    assert str(caught.value) == "invalid constraint value: cores=3\nvalid values are: 2 4"
    # A boolean is not the number 1, and a number is not the string "1".
    numeric = _validator(vocab={"allocate-public-ip": [1], "virt-type": [1]})
    with pytest.raises(InvalidVocabValueError) as caught:
        numeric.validate(parse("allocate-public-ip=true"))
    assert str(caught.value) == (
        "invalid constraint value: allocate-public-ip=true\nvalid values are: 1"
    )
    with pytest.raises(InvalidVocabValueError):
        numeric.validate(parse("virt-type=1"))
    boolean = _validator(vocab={"cores": [True, False, 1.5]})
    with pytest.raises(InvalidVocabValueError) as caught:
        boolean.validate(parse("cores=1"))
    assert (
        str(caught.value) == "invalid constraint value: cores=1\nvalid values are: 1.5 false true"
    )


def test_vocabulary_numbers_print_like_go() -> None:
    validator = _validator(vocab={"mem": [1024, 2.5e6]})
    with pytest.raises(InvalidVocabValueError) as caught:
        validator.validate(parse("mem=2T"))
    assert str(caught.value) == (
        "invalid constraint value: mem=2.097152e+06\nvalid values are: 1024 2.5e+06"
    )


def test_vocabulary_limit_and_empty_vocabulary() -> None:
    validator = _validator(vocab={"zones": ["a", "b", "c"], "image-id": []})
    validator.valid_values_count_limit = 2
    with pytest.raises(InvalidVocabValueError) as caught:
        validator.validate(parse("zones=a,d"))
    assert (
        str(caught.value)
        == "invalid constraint value: zones=d\nvalid values are: a b ...(plus 1 more)"
    )
    validator.valid_values_count_limit = 0
    with pytest.raises(InvalidVocabValueError) as caught:
        validator.validate(parse("zones=d"))
    assert str(caught.value) == "invalid constraint value: zones=d\nvalid values are: a b c"
    with pytest.raises(InvalidVocabValueError) as caught:
        validator.validate(parse("image-id=x"))
    assert str(caught.value) == "invalid constraint value: image-id=x\nvalid values are: "


def test_vocabulary_checked_in_key_order_before_conflicts() -> None:
    validator = _validator(
        reds=["arch"], blues=["virt-type"], vocab={"arch": ["amd64"], "virt-type": ["a"]}
    )
    with pytest.raises(InvalidVocabValueError) as caught:
        validator.validate(parse("virt-type=b arch=arm64"))
    assert caught.value.attribute == "arch"
    with pytest.raises(AmbiguousConstraintsError):
        validator.validate(parse("virt-type=a arch=amd64"))


def test_error_hierarchy() -> None:
    assert issubclass(ValidationError, ConstraintsError)
    assert issubclass(ValidationError, ValueError)
    assert issubclass(InvalidVocabValueError, ValidationError)
    assert issubclass(AmbiguousConstraintsError, ValidationError)


GO_FLOATS = [
    (0.0, "0"),
    (-0.0, "-0"),
    (5.0, "5"),
    (-2.5, "-2.5"),
    (999999.0, "999999"),
    (1e6, "1e+06"),
    (1234567.0, "1.234567e+06"),
    (0.0001, "0.0001"),
    (0.00001, "1e-05"),
    (0.000123, "0.000123"),
    (123.45, "123.45"),
    (100.0, "100"),
    (1.8e10, "1.8e+10"),
    (1e21, "1e+21"),
    (1.5e300, "1.5e+300"),
    (5e-324, "5e-324"),
    (math.inf, "+Inf"),
    (-math.inf, "-Inf"),
    (math.nan, "NaN"),
]


@pytest.mark.parametrize(("value", "text"), GO_FLOATS)
def test_go_float_formatting(value: float, text: str) -> None:
    # fmt.Sprint(float64): strconv 'g' with the shortest precision (exponent from 6).
    assert _go_float(value) == text


# --------------------------------------------------------------------------------------
# The vmhost validator
# --------------------------------------------------------------------------------------


def test_vmhost_unsupported() -> None:
    validator = vmhost_validator()
    assert validator.unsupported == frozenset(
        {"instance-type", "cpu-power", "allocate-public-ip", "instance-role", "image-id"}
    )
    assert set(VMHOST_UNSUPPORTED) == validator.unsupported
    cons = parse(
        "instance-type=c2-m4 cpu-power=100 allocate-public-ip=true instance-role=r image-id=i "
        "cores=2 mem=4G root-disk=20G root-disk-source=pool tags=ssd,^slow spaces=alpha "
        "zones=z1 arch=amd64 virt-type=virtual-machine container=lxd"
    )
    assert validator.validate(cons) == [
        "allocate-public-ip",
        "cpu-power",
        "image-id",
        "instance-role",
        "instance-type",
    ]
    assert validator.validate(parse("cores=2 mem=4G tags=a zones=b")) == []


def test_vmhost_vocabularies() -> None:
    validator = vmhost_validator()
    assert validator.vocabulary("arch") == ("amd64", "arm64", "ppc64el", "riscv64", "s390x")
    for arch in SUPPORTED_ARCHES:
        assert validator.validate(parse(f"arch={arch}")) == []
    for text in ("virt-type=", "virt-type=container", "virt-type=virtual-machine"):
        assert validator.validate(parse(text)) == []
    for text in ("container=", "container=none", "container=lxd"):
        assert validator.validate(parse(text)) == []


VMHOST_ERRORS = [
    (
        "virt-type=kvm",
        "invalid constraint value: virt-type=kvm\nvalid values are:  container virtual-machine",
    ),
    (
        "virt-type=vm",
        "invalid constraint value: virt-type=vm\nvalid values are:  container virtual-machine",
    ),
    (
        "virt-type=VIRTUAL-MACHINE",
        "invalid constraint value: virt-type=VIRTUAL-MACHINE\n"
        # Distances: virtual-machine 14, "" 15, container 15 (ties in string order).
        "valid values are: virtual-machine  container",
    ),
    (
        # Like Juju's MAAS and LXD providers: no "" in the arch vocabulary.
        "arch=",
        "invalid constraint value: arch=\nvalid values are: amd64 arm64 s390x ppc64el riscv64",
    ),
]


@pytest.mark.parametrize(("text", "message"), VMHOST_ERRORS)
def test_vmhost_vocabulary_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidVocabValueError) as caught:
        vmhost_validator().validate(parse(text))
    assert str(caught.value) == message


def test_vmhost_container_vocabulary_guards_built_values() -> None:
    with pytest.raises(InvalidVocabValueError, match="container=kvm"):
        vmhost_validator().validate(C(container="kvm"))


def test_vmhost_arches_intersect_with_juju() -> None:
    validator = vmhost_validator(["s390x", "amd64", "i386", "amd64"])
    assert validator.vocabulary("arch") == ("amd64", "s390x")
    with pytest.raises(InvalidVocabValueError) as caught:
        validator.validate(parse("arch=arm64"))
    assert (
        str(caught.value) == "invalid constraint value: arch=arm64\nvalid values are: amd64 s390x"
    )


def test_vmhost_has_no_conflicts() -> None:
    validator = vmhost_validator()
    cons = parse("instance-type=c2-m4 mem=4G cores=2 arch=amd64 cpu-power=10 root-disk=1G")
    assert validator.validate(cons) == ["cpu-power", "instance-type"]
    merged = validator.merge(parse("mem=8G cores=4 zones=a"), parse("instance-type=x cores=2"))
    assert merged == parse("instance-type=x cores=2 mem=8G zones=a")


def test_vmhost_merge_model_and_application() -> None:
    validator = vmhost_validator()
    model = parse("arch=amd64 mem=4G virt-type=virtual-machine tags=^slow")
    application = parse("mem=16G cores=8 virt-type= tags=")
    merged = validator.merge(model, application)
    assert merged == parse("arch=amd64 mem=16G cores=8 virt-type= tags=")
    assert not merged.has_virt_type()
    assert merged.exclude_tags() == []
    with pytest.raises(InvalidVocabValueError, match="virt-type=kvm"):
        validator.merge(parse("virt-type=kvm"), application)
