"""MAAS's storage and interfaces grammars (``vmhost.schemas.maas_grammar``).

Grammar and messages come from MAAS's own code: ``STORAGE_REGEX`` and ``storage_validator``
(``node_constraint_filter_forms``), ``parse_labeled_constraint_map``
(``provisioningserver/utils/constraints.py``) and ``get_ifname_for_label``
(``provisioningserver/utils/network.py``).
"""

from __future__ import annotations

import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vmhost.schemas.maas_grammar import (
    MAX_DISK_BYTES,
    GrammarError,
    Interfaces,
    NicSpec,
    StorageSpec,
    ifname_for_label,
    interfaces,
    parse_interfaces,
    parse_storage,
    storage,
)

GB = 1000**3


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ()),
        ("root:8(local)", (StorageSpec("root", "8", 8 * GB, ("local",)),)),
        (
            "0:8(default),1:20(fast)",
            (
                StorageSpec("0", "8", 8 * GB, ("default",)),
                StorageSpec("1", "20", 20 * GB, ("fast",)),
            ),
        ),
        ("root:1.5", (StorageSpec("root", "1.5", 1_500_000_000, ()),)),
        ("8", (StorageSpec("", "8", 8 * GB, ()),)),
        ("1.", (StorageSpec("", "1.", GB, ()),)),
        (".5", (StorageSpec("", ".5", GB // 2, ()),)),
        ("0.3", (StorageSpec("", "0.3", 300_000_000, ()),)),  # exact; MAAS's float: 299999999
        ("0.0000000019", (StorageSpec("", "0.0000000019", 1, ()),)),  # truncated
        ("007", (StorageSpec("", "007", 7 * GB, ()),)),
        # Order is kept (MAAS re-sorts by tag count; compose has nothing to match).
        (
            "root:8,a:1(x),b:2(x,y)",
            (
                StorageSpec("root", "8", 8 * GB, ()),
                StorageSpec("a", "1", GB, ("x",)),
                StorageSpec("b", "2", 2 * GB, ("x", "y")),
            ),
        ),
        # Empty tags are skipped; spaces inside tags are kept.
        ("8(a,,b)", (StorageSpec("", "8", 8 * GB, ("a", "b")),)),
        ("8(,)", (StorageSpec("", "8", 8 * GB, ()),)),
        ("8(fast ssd)", (StorageSpec("", "8", 8 * GB, ("fast ssd",)),)),
        ("8:1", (StorageSpec("8", "1", GB, ()),)),
    ],
)
def test_parse_storage(value: str, expected: tuple[StorageSpec, ...]) -> None:
    assert parse_storage(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "10(ssd,20",
        "root:8 ",
        " root:8",
        "root:8, data:9",
        "my-disk:8",
        "root:8()",
        "root:8(ssd)x",
        "8,,9",
        "8,",
        ",8",
        "root:",
        ":8",
        "root:8;data:9",
        "1.2.3",  # passes MAAS's grammar, then crashes its float(); malformed here
        ".",
        "root:..",
        "-1",
        "1e3",
        "root:8(a)(b)",
    ],
)
def test_malformed_storage(value: str) -> None:
    with pytest.raises(GrammarError) as caught:
        parse_storage(value)
    assert str(caught.value) == f'Malformed storage constraint, "{value}".'
    assert caught.value.field == "storage"


def test_huge_storage_sizes_do_not_overflow() -> None:
    (spec,) = parse_storage("9" * 5000)
    assert spec.size_bytes == MAX_DISK_BYTES + 1
    (spec,) = parse_storage("1" + "0" * 19)
    assert spec.size_bytes == 10**19 * GB  # 20 digits: still exact


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", {}),
        ("a", {}),  # MAAS: a value of one character is an empty map
        (";", {}),
        ("a:b=c", {"a": {"b": ["c"]}}),
        ("a:b=c,b=d,e=f;g:h=", {"a": {"b": ["c", "d"], "e": ["f"]}, "g": {"h": [""]}}),
        ("eth0:space=db=x", {"eth0": {"space": ["db=x"]}}),
        ("a_b-c:x=y", {"a_b-c": {"x": ["y"]}}),
        ("0:space=a:b", {"0": {"space": ["a:b"]}}),
    ],
)
def test_parse_interfaces(value: str, expected: dict[str, dict[str, list[str]]]) -> None:
    assert parse_interfaces(value) == expected


FORMAT = "(required format: '<label>:<key>=<value>[,<key2>=<value2>[,...]]')"
LABEL = (
    "(Must begin with an alphanumeric character, and include only alphanumeric characters, "
    "dashes, and underscores.)"
)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("ab", f"Malformed constraint: 'ab' {FORMAT}"),
        ("a:b=c;", f"Malformed constraint: '' {FORMAT}"),
        ("a:b=c;d", f"Malformed constraint: 'd' {FORMAT}"),
        ("a:", "Malformed key/value pair in constraint: ''"),
        ("a:b", "Malformed key/value pair in constraint: 'b'"),
        ("a:b=c,", "Malformed key/value pair in constraint: ''"),
        ("a:b=c;a:d=e", "Constraint label defined more than once: 'a'"),
        (":b=c", f"Invalid label name: '' {LABEL}"),
        ("-a:b=c", f"Invalid label name: '-a' {LABEL}"),
        ("a b:c=d", f"Invalid label name: 'a b' {LABEL}"),
        ("a:b=c; d:e=f", f"Invalid label name: ' d' {LABEL}"),
        ("a\n:b=c", f"Invalid label name: 'a\n' {LABEL}"),  # MAAS's "$" would accept it
    ],
)
def test_malformed_interfaces(value: str, message: str) -> None:
    with pytest.raises(GrammarError) as caught:
        parse_interfaces(value)
    assert (caught.value.field, str(caught.value)) == ("interfaces", message)


def _maas_hash(label: bytes) -> str:
    return (b"%05x" % (zlib.crc32(label) & 0xFFFFFFFF))[-5:].decode()


@pytest.mark.parametrize(
    ("label", "name"),
    [
        ("0", "eth0"),
        ("7", "eth7"),
        ("007", "eth7"),
        ("eth1", "eth1"),
        ("db", "db"),
        ("abcdefghijklmno", "abcdefghijklmno"),  # 15 bytes: kept
        # MAAS: b"eth-%s-%s" % ((b"%05x" % (crc32(label) & 0xFFFFFFFF))[-5:], label[-5:])
        ("abcdefghijklmnop", "eth-{}-lmnop".format(_maas_hash(b"abcdefghijklmnop"))),
        ("0000000000000000", "eth0"),
        ("1234567890123456", "eth-{}-23456".format(_maas_hash(b"eth1234567890123456"))),
    ],
)
def test_ifname_for_label(label: str, name: str) -> None:
    assert ifname_for_label(label) == name


def test_ifname_for_a_long_label_is_15_bytes_and_stable() -> None:
    name = ifname_for_label("a-very-long-interface-label")
    assert len(name) == 15
    assert name.startswith("eth-") and name.endswith("label")
    assert name == ifname_for_label("a-very-long-interface-label")


@given(st.text(max_size=40))
def test_any_storage_text_parses_or_is_malformed(value: str) -> None:
    try:
        specs = parse_storage(value)
    except GrammarError as err:
        assert str(err) == f'Malformed storage constraint, "{value}".'
        return
    assert all(spec.size_bytes >= 0 for spec in specs)


@given(st.text(max_size=40))
def test_any_interfaces_text_parses_or_raises_translation_error(value: str) -> None:
    try:
        parsed = parse_interfaces(value)
    except GrammarError as err:
        assert err.field == "interfaces"
        return
    assert all(isinstance(values, list) for pairs in parsed.values() for values in pairs.values())


# --------------------------------------------------------------------------------------
# The checked forms the API and the provider use
# --------------------------------------------------------------------------------------


def test_storage_checks_sizes_but_lets_the_root_be_zero() -> None:
    assert storage("root:0,data:10(ssd)") == (
        StorageSpec("root", "0", 0, ()),
        StorageSpec("data", "10", 10 * GB, ("ssd",)),
    )
    assert storage("") == ()
    with pytest.raises(GrammarError, match='disk "data" has no size'):
        storage("root:8,data:0")
    with pytest.raises(GrammarError, match=r"disk #1 of .* is more than vmhost's limit"):
        storage("9" * 30)
    assert storage("1152921504.606846976")[0].size_bytes == MAX_DISK_BYTES


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", Interfaces()),
        ("a", Interfaces()),
        ("0:space=db", Interfaces((NicSpec("0", "eth0", spaces=("db",)),))),
        # a repeated key is an OR; name and network are one key
        ("0:space=a,space=b", Interfaces((NicSpec("0", "eth0", spaces=("a", "b")),))),
        (
            "n:name=br0,network=br1,type=sriov",
            Interfaces((NicSpec("n", "n", networks=("br0", "br1"), kind="sriov"),)),
        ),
        # not_space: request-level, and no alternative of any NIC
        (
            "eth0:space=db,not_space=x",
            Interfaces((NicSpec("eth0", "eth0", spaces=("db",)),), ("x",)),
        ),
        (
            "0:space=a,space=b;1:not_space=a",
            Interfaces((NicSpec("0", "eth0", spaces=("b",)), NicSpec("1", "eth1")), ("a",)),
        ),
        # a long label gets MAAS's hashed name: never over 15 bytes
        (
            "a-very-long-interface-label:space=db",
            Interfaces(
                (
                    NicSpec(
                        "a-very-long-interface-label",
                        ifname_for_label("a-very-long-interface-label"),
                        spaces=("db",),
                    ),
                )
            ),
        ),
    ],
)
def test_interfaces(value: str, expected: Interfaces) -> None:
    assert interfaces(value) == expected
    assert all(len(nic.name.encode()) <= 15 for nic in expected.nics)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("a:space=", "Empty value for interfaces constraint 'space' in label 'a'"),
        ("0:fabric=f", "Unknown interfaces constraint: 'fabric (not supported by vmhost)"),
        ("0:cheese=edam", "Unknown interfaces constraint: 'cheese"),
        ("0:type=physical", "Invalid interfaces constraint type: 'physical'"),
        ("0:type=bridge,type=sriov", "Label '0' asks for more than one type"),
        ("0:space=a;eth0:space=b", "Labels '0' and 'eth0' both name interface 'eth0'"),
        ("0:space=a;1:not_space=a", 'negative space "a" from constraints clashes'),
        ("0:space=a,space=b,not_space=a,not_space=b", 'negative space "a" from constraints'),
    ],
)
def test_interfaces_errors(value: str, message: str) -> None:
    with pytest.raises(GrammarError) as caught:
        interfaces(value)
    assert caught.value.field == "interfaces"
    assert str(caught.value).startswith(message)
