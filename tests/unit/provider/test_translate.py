"""Tests for vmhost_provider.translate: Juju constraints (+ MAAS storage/interfaces) -> compose.

Grammar and messages of the MAAS extras come from MAAS's own code
(``src/maasserver/forms/...node_constraint_filter_forms.py``: ``STORAGE_REGEX``,
``storage_validator``, ``get_storage_constraints_from_string``, ``interfaces_validator``;
``provisioningserver/utils/constraints.py``: ``parse_labeled_constraint_map``;
``provisioningserver/utils/network.py``: ``get_ifname_for_label``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from vmhost_provider.constraints import Constraints, ConstraintsError, parse
from vmhost_provider.translate import (
    DEFAULTS,
    MAX_CORES,
    MAX_DISK_BYTES,
    MAX_MEMORY_MIB,
    Defaults,
    TranslationError,
)
from vmhost_provider.translate import translate as wire_translate

from vmhost import model, schemas
from vmhost.api import convert
from vmhost.model import (
    ComposeRequest,
    DiskRequest,
    InstanceType,
    InterfaceRequest,
    NetworkKind,
)
from vmhost.service.pool_tags import select_pools

MIB = 1024**2
GB = 1000**3
DEFAULT_ROOT = DiskRequest(8 * GB)


def translate(*args: Any, **kwargs: Any) -> ComposeRequest:
    """What the server makes of the provider's wire body: the round trip through the API's
    own converter (the provider builds ``schemas.HostComposeBody``)."""
    return convert.compose_request(wire_translate(*args, **kwargs), None)


def req(**changes: Any) -> ComposeRequest:
    """The request for empty constraints, with ``changes``."""
    return dataclasses.replace(ComposeRequest(), **changes)


def nic(name: str, **kw: Any) -> InterfaceRequest:
    return InterfaceRequest(name=name, **kw)


# --------------------------------------------------------------------------------------
# Juju constraints, one rule per row: (constraints, expected request)
# --------------------------------------------------------------------------------------

RULES: list[tuple[str, ComposeRequest]] = [
    # Defaults: nothing set, and set-but-zero/empty values.
    ("", req()),
    ("cores= mem= root-disk= root-disk-source= arch= virt-type=", req()),
    ("tags= spaces= zones=", req()),
    # cores / cpu-cores
    ("cores=4", req(cores=4)),
    ("cpu-cores=2", req(cores=2)),
    (f"cores={MAX_CORES}", req(cores=MAX_CORES)),
    # mem (MiB)
    ("mem=8G", req(memory_mib=8192)),
    ("mem=1.5G", req(memory_mib=1536)),
    ("mem=1G", req(memory_mib=1024)),  # MAAS's compose minimum
    ("mem=1P", req(memory_mib=MAX_MEMORY_MIB)),
    # root-disk (MiB -> bytes) and root-disk-source (pool)
    ("root-disk=20G", req(disks=(DiskRequest(20 * 1024 * MIB),))),
    ("root-disk=1", req(disks=(DiskRequest(MIB),))),
    ("root-disk=1024P", req(disks=(DiskRequest(MAX_DISK_BYTES),))),
    ("root-disk-source=fast", req(disks=(DiskRequest(8 * GB, pool="fast"),))),
    ("root-disk=40G root-disk-source=ssd", req(disks=(DiskRequest(40 * 1024 * MIB, "ssd"),))),
    # arch
    ("arch=arm64", req(architecture="arm64")),
    ("arch=amd64", req(architecture="amd64")),
    # tags / ^tags (empty items and a bare ^ skipped, duplicates dropped)
    ("tags=a,b", req(tags=("a", "b"))),
    ("tags=tag1,tag2,^tag3,^tag4", req(tags=("tag1", "tag2"), not_tags=("tag3", "tag4"))),
    ("tags=a,,^,b,a,^c,^c", req(tags=("a", "b"), not_tags=("c",))),
    ("tags=^x", req(not_tags=("x",))),
    # zones: one -> zone, several -> zones (empty items and repeats dropped)
    ("zones=z1", req(zone="z1")),
    ("zones=z1,z1", req(zone="z1")),
    ("zones=z1,,z2,z1", req(zones=("z1", "z2"))),
    ("zones=,", req()),
    ("zones=Availability\\ zone\\ 1", req(zone="Availability zone 1")),
    # virt-type
    ("virt-type=virtual-machine", req(instance_type=InstanceType.VIRTUAL_MACHINE)),
    ("virt-type=container", req(instance_type=InstanceType.CONTAINER)),
    # spaces: positives -> NICs eth0.. in order (repeats dropped), ^ -> not_spaces
    ("spaces=db", req(interfaces=(nic("eth0", space="db"),))),
    (
        "spaces=space-1,^space-2,space-3,^space-4",
        req(
            interfaces=(nic("eth0", space="space-1"), nic("eth1", space="space-3")),
            not_spaces=("space-2", "space-4"),
        ),
    ),
    ("spaces=db,db,^x,^x", req(interfaces=(nic("eth0", space="db"),), not_spaces=("x",))),
    ("spaces=^dmz", req(not_spaces=("dmz",))),
    # Ignored here: container (Juju's placement), and the unsupported keys.
    ("container=lxd", req()),
    ("container=none", req()),
    ("cpu-power=100 instance-type=m5.large instance-role=x allocate-public-ip=true", req()),
    ("image-id=ubuntu-22.04", req()),
    # Everything at once.
    (
        "arch=amd64 cores=8 mem=16G root-disk=100G root-disk-source=nvme tags=gpu,^old "
        "spaces=db,^dmz virt-type=virtual-machine zones=a,b",
        req(
            cores=8,
            memory_mib=16 * 1024,
            disks=(DiskRequest(100 * 1024 * MIB, "nvme"),),
            interfaces=(nic("eth0", space="db"),),
            architecture="amd64",
            tags=("gpu",),
            not_tags=("old",),
            not_spaces=("dmz",),
            zones=("a", "b"),
        ),
    ),
]


@pytest.mark.parametrize(("text", "expected"), RULES, ids=[r[0] or "empty" for r in RULES])
def test_rules(text: str, expected: ComposeRequest) -> None:
    assert translate(parse(text)) == expected


def test_empty_constraints_are_vmhosts_compose_defaults() -> None:
    request = translate(Constraints())
    assert (request.cores, request.memory_mib) == (model.DEFAULT_CORES, model.DEFAULT_MEMORY_MIB)
    assert request.disks == (DiskRequest(model.DEFAULT_ROOT_DISK_BYTES),)
    assert request.instance_type is InstanceType.VIRTUAL_MACHINE
    assert request.interfaces == ()


# --------------------------------------------------------------------------------------
# Defaults are configurable
# --------------------------------------------------------------------------------------


def test_defaults_fill_unset_keys() -> None:
    defaults = Defaults(
        cores=2, memory_mib=4096, root_disk_bytes=20 * GB, instance_type=InstanceType.CONTAINER
    )
    assert translate(Constraints(), defaults=defaults) == req(
        cores=2,
        memory_mib=4096,
        disks=(DiskRequest(20 * GB),),
        instance_type=InstanceType.CONTAINER,
    )
    # Set values win over the defaults; zero values do not.
    assert translate(parse("cores=3 mem= virt-type=virtual-machine"), defaults=defaults) == req(
        cores=3, memory_mib=4096, disks=(DiskRequest(20 * GB),)
    )
    assert translate(parse("virt-type="), defaults=defaults).instance_type is (
        InstanceType.CONTAINER
    )


def test_default_defaults() -> None:
    assert Defaults() == DEFAULTS
    assert (DEFAULTS.cores, DEFAULTS.memory_mib, DEFAULTS.root_disk_bytes) == (1, 2048, 8 * GB)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cores": 0}, "default cores must be 1 to 65536, not 0"),
        ({"cores": MAX_CORES + 1}, "default cores must be 1 to 65536, not 65537"),
        ({"memory_mib": 1023}, "default memory must be 1024 to 1073741824 MiB, not 1023"),
        ({"memory_mib": MAX_MEMORY_MIB + 1}, "default memory must be 1024 to"),
        ({"root_disk_bytes": 0}, f"default root disk must be 1 to {MAX_DISK_BYTES} bytes"),
        ({"root_disk_bytes": MAX_DISK_BYTES + 1}, "default root disk must be 1 to"),
    ],
)
def test_bad_defaults(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match="^" + message):
        Defaults(**kwargs)


# --------------------------------------------------------------------------------------
# Errors from Juju constraints: (constraints, key, exact message)
# --------------------------------------------------------------------------------------

ERRORS: list[tuple[str, str, str]] = [
    (
        f"cores={MAX_CORES + 1}",
        "cores",
        'bad "cores" constraint: 65537 is more than vmhost\'s limit of 65536',
    ),
    (
        "cores=18446744073709551615",
        "cores",
        'bad "cores" constraint: 18446744073709551615 is more than vmhost\'s limit of 65536',
    ),
    ("mem=64", "mem", 'bad "mem" constraint: 64 MiB is less than vmhost\'s minimum of 1024 MiB'),
    (
        "mem=1023",
        "mem",
        'bad "mem" constraint: 1023 MiB is less than vmhost\'s minimum of 1024 MiB',
    ),
    ("mem=0.5M", "mem", 'bad "mem" constraint: 1 MiB is less than vmhost\'s minimum of 1024 MiB'),
    (
        "mem=18.9P",
        "mem",
        'bad "mem" constraint: 20293720474 MiB is more than vmhost\'s limit of '
        "1073741824 MiB (1 PiB)",
    ),
    (
        "root-disk=1025P",
        "root-disk",
        'bad "root-disk" constraint: 1100585369600 MiB is more than vmhost\'s limit of '
        "1099511627776 MiB (1 EiB)",
    ),
    (
        "virt-type=kvm",
        "virt-type",
        'bad "virt-type" constraint: "kvm" is not one of container, virtual-machine',
    ),
    (
        "virt-type=Container",
        "virt-type",
        'bad "virt-type" constraint: "Container" is not one of container, virtual-machine',
    ),
    ("tags=a,^a", "tags", 'bad "tags" constraint: "a" is both required and excluded'),
    (
        "spaces=a,^a",
        "spaces",
        'negative space "a" from constraints clashes with required spaces for instance NICs',
    ),
]


@pytest.mark.parametrize(("text", "key", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(text: str, key: str, message: str) -> None:
    with pytest.raises(TranslationError) as caught:
        translate(parse(text))
    assert str(caught.value) == message
    assert caught.value.constraint == key
    assert isinstance(caught.value, ValueError)


# --------------------------------------------------------------------------------------
# Known spaces
# --------------------------------------------------------------------------------------


def test_known_spaces_accept_mapped_spaces() -> None:
    request = translate(parse("spaces=db,^dmz"), known_spaces={"db", "dmz"})
    assert request.interfaces == (nic("eth0", space="db"),)
    assert request.not_spaces == ("dmz",)


@pytest.mark.parametrize(
    ("text", "interfaces", "key", "message"),
    [
        (
            "spaces=db,x",
            None,
            "spaces",
            'bad "spaces" constraint: no network is mapped to space "x"',
        ),
        (
            "spaces=y,db,^x,y",
            None,
            "spaces",
            'bad "spaces" constraint: no network is mapped to spaces "y", "x"',
        ),
        (
            "spaces=db",
            "a:space=q;b:not_space=r",
            "interfaces",
            'bad "interfaces" constraint: no network is mapped to spaces "q", "r"',
        ),
    ],
)
def test_unknown_spaces_are_refused(
    text: str, interfaces: str | None, key: str, message: str
) -> None:
    with pytest.raises(TranslationError) as caught:
        translate(parse(text), interfaces=interfaces, known_spaces={"db", "dmz"})
    assert (caught.value.constraint, str(caught.value)) == (key, message)


def test_spaces_are_not_checked_without_known_spaces() -> None:
    assert translate(parse("spaces=anything")).interfaces == (nic("eth0", space="anything"),)


# --------------------------------------------------------------------------------------
# Storage: MAAS's grammar
# --------------------------------------------------------------------------------------


STORAGE_RULES: list[tuple[str, str, frozenset[str] | None, tuple[DiskRequest, ...]]] = [
    # (constraints, storage, known pools, expected disks)
    ("", "", None, (DEFAULT_ROOT,)),
    ("", "root:40", None, (DiskRequest(40 * GB, label="root"),)),
    ("", "40(fast)", None, (DiskRequest(40 * GB, tags=("fast",)),)),
    # A tag that names a pool the server knows selects it (the service's rule) ...
    ("", "root:40(fast)", frozenset({"fast"}), (DiskRequest(40 * GB, "fast", label="root"),)),
    (
        "",
        "root:40(fast,nvme)",
        frozenset({"fast"}),
        (DiskRequest(40 * GB, "fast", ("nvme",), "root"),),
    ),
    # ... wherever it is among the tags (one rule for the API and the provider).
    (
        "",
        "root:40(nvme,fast)",
        frozenset({"fast"}),
        (DiskRequest(40 * GB, "fast", ("nvme",), "root"),),
    ),
    # Without known pools every tag is a pool tag.
    ("", "root:40(fast)", None, (DiskRequest(40 * GB, tags=("fast",), label="root"),)),
    (
        "",
        "root:40(fast),data:100(ssd),scratch:1.5",
        frozenset({"ssd"}),
        (
            DiskRequest(40 * GB, tags=("fast",), label="root"),
            DiskRequest(100 * GB, "ssd", label="data"),
            DiskRequest(1_500_000_000, label="scratch"),
        ),
    ),
    # root-disk vs storage: storage wins for the root ...
    ("root-disk=20G", "root:40", None, (DiskRequest(40 * GB, label="root"),)),
    (
        "root-disk-source=slow",
        "root:40(fast)",
        frozenset({"fast"}),
        (DiskRequest(40 * GB, "fast", label="root"),),
    ),
    (
        "root-disk-source=slow",
        "root:40(fast)",
        None,
        (DiskRequest(40 * GB, tags=("fast",), label="root"),),
    ),
    # ... but a zero root size (Juju's root:0) and no tags leave root-disk(-source) in charge.
    (
        "root-disk=20G root-disk-source=slow",
        "root:0,data:10",
        None,
        (DiskRequest(20 * 1024 * MIB, "slow", label="root"), DiskRequest(10 * GB, label="data")),
    ),
    ("root-disk-source=slow", "root:40", None, (DiskRequest(40 * GB, "slow", label="root"),)),
    ("", "root:0", None, (DiskRequest(8 * GB, label="root"),)),
    ("", "0.0000000001", None, (DiskRequest(8 * GB),)),
    ("", "root:0(,)", None, (DiskRequest(8 * GB, label="root"),)),
    ("", "1000000000", None, (DiskRequest(10**9 * GB),)),
]


@pytest.mark.parametrize(("text", "storage", "pools", "disks"), STORAGE_RULES)
def test_storage_rules(
    text: str, storage: str, pools: frozenset[str] | None, disks: tuple[DiskRequest, ...]
) -> None:
    request = translate(parse(text), storage=storage)
    assert select_pools(request, pools or ()).disks == disks


def test_storage_none_is_no_storage() -> None:
    assert translate(parse("root-disk=1G"), storage=None).disks == (DiskRequest(1024 * MIB),)


@pytest.mark.parametrize(
    ("storage", "message"),
    [
        ("root:8,data:0", 'bad "storage" constraint: disk "data" has no size (0 GB)'),
        ("8,0.0000000001", 'bad "storage" constraint: disk #2 has no size (0.0000000001 GB)'),
        (
            "root:1152921504606846977",
            'bad "storage" constraint: disk "root" of 1152921504606846977 GB is more than '
            "vmhost's limit of 1152921504606846976 bytes (1 EiB)",
        ),
        (
            "8,1152921504.606846977",
            'bad "storage" constraint: disk #2 of 1152921504.606846977 GB is more than '
            "vmhost's limit of 1152921504606846976 bytes (1 EiB)",
        ),
        ("root:8(ssd", 'Malformed storage constraint, "root:8(ssd".'),
    ],
)
def test_storage_errors(storage: str, message: str) -> None:
    with pytest.raises(TranslationError) as caught:
        translate(Constraints(), storage=storage)
    assert (caught.value.constraint, str(caught.value)) == ("storage", message)


def test_limit_disk_is_accepted() -> None:
    assert translate(Constraints(), storage="1152921504.606846976").disks == (
        DiskRequest(MAX_DISK_BYTES),
    )


# --------------------------------------------------------------------------------------
# Interfaces: MAAS's labelled constraint map
# --------------------------------------------------------------------------------------


INTERFACE_RULES: list[tuple[str, str, ComposeRequest]] = [
    # (constraints, interfaces, expected request)
    ("", "", req()),
    ("", "a", req()),
    ("", "0:space=db", req(interfaces=(nic("eth0", space="db"),))),
    (
        "",
        "label:space=db,type=sriov;label2:space=storage",
        req(
            interfaces=(
                nic("label", space="db", kind=NetworkKind.SRIOV),
                nic("label2", space="storage"),
            )
        ),
    ),
    ("", "0:type=bridge", req(interfaces=(nic("eth0", kind=NetworkKind.BRIDGE),))),
    ("", "0:type=macvlan", req(interfaces=(nic("eth0", kind=NetworkKind.MACVLAN),))),
    ("", "0:name=br0", req(interfaces=(nic("eth0", network="br0"),))),
    ("", "0:network=br0", req(interfaces=(nic("eth0", network="br0"),))),
    ("", "0:name=br0,network=br0", req(interfaces=(nic("eth0", network="br0"),))),
    ("", "0:space=db,network=br0", req(interfaces=(nic("eth0", network="br0", space="db"),))),
    # Repeating a key with the same value is harmless; different values are an OR (MAAS).
    ("", "0:space=db,space=db", req(interfaces=(nic("eth0", space="db"),))),
    ("", "0:space=a,space=b", req(interfaces=(nic("eth0", space="a", or_spaces=("b",)),))),
    (
        "",
        "n:name=br0,network=br1",
        req(interfaces=(nic("n", network="br0", or_networks=("br1",)),)),
    ),
    # An excluded space is no alternative; a Juju space on an OR'ed NIC still gets its own NIC.
    (
        "spaces=c",
        "0:space=a,space=b,space=c;1:not_space=b",
        req(
            interfaces=(
                nic("eth0", space="a", or_spaces=("c",)),
                nic("eth1"),
                nic("eth2", space="c"),
            ),
            not_spaces=("b",),
        ),
    ),
    # not_space -> request-level exclusion; a label with only not_space is still a NIC.
    (
        "",
        "0:space=db,not_space=dmz,not_space=mgmt;1:not_space=dmz",
        req(interfaces=(nic("eth0", space="db"), nic("eth1")), not_spaces=("dmz", "mgmt")),
    ),
    # Juju spaces not covered by a labelled NIC get NICs after them, at the lowest free ethN.
    (
        "spaces=db,storage,^dmz",
        "0:space=db,type=sriov;2:space=other",
        req(
            interfaces=(
                nic("eth0", space="db", kind=NetworkKind.SRIOV),
                nic("eth2", space="other"),
                nic("eth1", space="storage"),
            ),
            not_spaces=("dmz",),
        ),
    ),
    (
        "spaces=a,b,c",
        "eth0:space=b;eth1:network=br1",
        req(
            interfaces=(
                nic("eth0", space="b"),
                nic("eth1", network="br1"),
                nic("eth2", space="a"),
                nic("eth3", space="c"),
            )
        ),
    ),
    # Exclusions from both sources, repeats dropped.
    (
        "spaces=^x,^y",
        "0:not_space=y,not_space=z",
        req(interfaces=(nic("eth0"),), not_spaces=("x", "y", "z")),
    ),
]


@pytest.mark.parametrize(("text", "interfaces", "expected"), INTERFACE_RULES)
def test_interface_rules(text: str, interfaces: str, expected: ComposeRequest) -> None:
    assert translate(parse(text), interfaces=interfaces) == expected


def test_interfaces_with_known_spaces() -> None:
    request = translate(
        parse("spaces=db"), interfaces="0:space=st,not_space=dmz", known_spaces={"db", "st", "dmz"}
    )
    assert request.interfaces == (nic("eth0", space="st"), nic("eth1", space="db"))
    assert request.not_spaces == ("dmz",)


INTERFACE_ERRORS: list[tuple[str, str, str, str]] = [
    # (constraints, interfaces, key, exact message)
    (
        "",
        "0:fabric=f1",
        "interfaces",
        "Unknown interfaces constraint: 'fabric (not supported by vmhost)",
    ),
    (
        "",
        "0:space=db,vlan=5",
        "interfaces",
        "Unknown interfaces constraint: 'vlan (not supported by vmhost)",
    ),
    (
        "",
        "0:ip=10.0.0.1",
        "interfaces",
        "Unknown interfaces constraint: 'ip (not supported by vmhost)",
    ),
    ("", "0:cheese=edam", "interfaces", "Unknown interfaces constraint: 'cheese"),
    ("", "0:Space=db", "interfaces", "Unknown interfaces constraint: 'Space"),
    ("", "0:=db", "interfaces", "Unknown interfaces constraint: '"),
    ("", "0:space=", "interfaces", "Empty value for interfaces constraint 'space' in label '0'"),
    (
        "",
        "db:not_space=",
        "interfaces",
        "Empty value for interfaces constraint 'not_space' in label 'db'",
    ),
    (
        "",
        "0:type=physical",
        "interfaces",
        "Invalid interfaces constraint type: 'physical' (valid types: bridge, macvlan, sriov)",
    ),
    (
        "",
        "0:type=SRIOV",
        "interfaces",
        "Invalid interfaces constraint type: 'SRIOV' (valid types: bridge, macvlan, sriov)",
    ),
    (
        "",
        "0:type=bridge,type=sriov",
        "interfaces",
        "Label '0' asks for more than one type: 'bridge', 'sriov' "
        "(a vmhost NIC is on exactly one)",
    ),
    (
        "",
        "0:space=a;eth0:space=b",
        "interfaces",
        "Labels '0' and 'eth0' both name interface 'eth0'",
    ),
    ("", "1:space=a;01:space=b", "interfaces", "Labels '1' and '01' both name interface 'eth1'"),
    (
        "",
        "0:space=a;1:not_space=a",
        "interfaces",
        'negative space "a" from constraints clashes with required spaces for instance NICs',
    ),
    (
        "spaces=a",
        "0:not_space=a",
        "interfaces",
        'negative space "a" from constraints clashes with required spaces for instance NICs',
    ),
    (
        "spaces=^a",
        "0:space=a",
        "spaces",
        'negative space "a" from constraints clashes with required spaces for instance NICs',
    ),
    ("", "a:b", "interfaces", "Malformed key/value pair in constraint: 'b'"),
]


@pytest.mark.parametrize(("text", "interfaces", "key", "message"), INTERFACE_ERRORS)
def test_interface_errors(text: str, interfaces: str, key: str, message: str) -> None:
    with pytest.raises(TranslationError) as caught:
        translate(parse(text), interfaces=interfaces)
    assert (caught.value.constraint, str(caught.value)) == (key, message)


# --------------------------------------------------------------------------------------
# The zones the request carries reach the scheduler's zone filter
# --------------------------------------------------------------------------------------


def test_translated_zones_drive_the_zone_filter() -> None:
    from vmhost.model.accounting import HostView
    from vmhost.scheduler.filters import zone_filter

    def host(zone: str) -> HostView:
        return HostView(id=1, name="h", type=model.HostType.FAKE, generation=0, zone=zone)

    several = translate(parse("zones=z1,z2"))
    assert zone_filter(host("z2"), several) is None
    assert zone_filter(host("z3"), several) == "not in zones z1,z2"
    one = translate(parse("zones=z1"))
    assert zone_filter(host("z1"), one) is None
    assert zone_filter(host("z2"), one) == "not in zone 'z1'"


# --------------------------------------------------------------------------------------
# Property: parseable constraints translate, or raise TranslationError (nothing else)
# --------------------------------------------------------------------------------------

_WORD = st.text("abcz019-^,. \\GMTP", max_size=8)
_SIZE = st.one_of(
    st.integers(0, 2**66).map(str),
    st.sampled_from(["", "1.5G", "0.5M", "8G", "2T", "18.9P", "1e3", "63", "1023", "1G", "1025P"]),
    st.floats(0, 1e21, allow_nan=False, allow_infinity=False).map(lambda f: f"{f:g}"),
)
_VALUES: dict[str, st.SearchStrategy[str]] = {
    "arch": st.sampled_from(["", "amd64", "arm64", "s390x", "bad"]),
    "container": st.sampled_from(["", "none", "lxd", "kvm"]),
    "cores": st.one_of(st.integers(0, 2**64).map(str), st.just("")),
    "cpu-power": st.integers(0, 1000).map(str),
    "mem": _SIZE,
    "root-disk": _SIZE,
    "root-disk-source": _WORD,
    "tags": _WORD,
    "spaces": st.lists(
        st.sampled_from(["db", "^db", "dmz", "^dmz", "a-1", "^x", "Q"]), max_size=4
    ).map(",".join),
    "virt-type": st.sampled_from(["", "container", "virtual-machine", "kvm"]),
    "zones": _WORD,
    "instance-type": _WORD,
    "allocate-public-ip": st.sampled_from(["", "true", "no"]),
    "image-id": _WORD,
}
_STORAGE = st.one_of(
    st.none(),
    st.text("root:0123456789.,()abcfast ", max_size=24),
    st.lists(
        st.tuples(
            st.sampled_from(["", "root:", "data:", "1:"]),
            st.sampled_from(["0", "8", "1.5", ".5", "0.0000000001", "9" * 30, "1152921504.7"]),
            st.sampled_from(["", "(ssd)", "(fast,ssd)", "(,)", "(nvme)"]),
        ).map("".join),
        max_size=4,
    ).map(",".join),
)
_INTERFACES = st.one_of(
    st.none(),
    st.text("0a:=,;_-spacenotybrigdmvlw", max_size=30),
    st.lists(
        st.tuples(
            st.sampled_from(["0", "1", "eth0", "db", "x" * 16, "-"]),
            st.lists(
                st.sampled_from(
                    [
                        "space=db",
                        "space=dmz",
                        "space=q",
                        "not_space=dmz",
                        "not_space=db",
                        "type=sriov",
                        "type=bridge",
                        "type=physical",
                        "name=br0",
                        "network=br1",
                        "fabric=f",
                        "space=",
                    ]
                ),
                min_size=1,
                max_size=3,
            ).map(",".join),
        ).map(":".join),
        max_size=3,
    ).map(";".join),
)


@st.composite
def constraint_strings(draw: st.DrawFn) -> str:
    keys = draw(st.lists(st.sampled_from(sorted(_VALUES)), unique=True, max_size=8))
    return " ".join(f"{key}={draw(_VALUES[key])}" for key in keys)


@settings(max_examples=400, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    text=constraint_strings(),
    storage=_STORAGE,
    interfaces=_INTERFACES,
    known_spaces=st.one_of(st.none(), st.sets(st.sampled_from(["db", "dmz", "a-1", "q"]))),
)
def test_parseable_constraints_translate_or_raise_translation_error(
    text: str,
    storage: str | None,
    interfaces: str | None,
    known_spaces: set[str] | None,
) -> None:
    try:
        cons = parse(text)
    except ConstraintsError:
        assume(False)
        return
    try:
        request = translate(
            cons,
            storage=storage,
            interfaces=interfaces,
            known_spaces=known_spaces,
        )
    except TranslationError as err:
        event(f"refused: {err.constraint}")
        assert str(err)
        assert err.constraint in {
            "cores",
            "mem",
            "root-disk",
            "storage",
            "interfaces",
            "spaces",
            "tags",
            "virt-type",
        }
        return
    event("translated")
    assert isinstance(request, ComposeRequest)
    assert 1 <= request.cores <= MAX_CORES
    assert schemas.MIN_MEMORY_MIB <= request.memory_mib <= MAX_MEMORY_MIB
    assert all(0 < d.size_bytes <= MAX_DISK_BYTES for d in request.disks)
    names = [i.name for i in request.interfaces]
    assert len(names) == len(set(names))
