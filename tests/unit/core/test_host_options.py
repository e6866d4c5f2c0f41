"""The one table of connection options (``model/host_options.py``, issue 12 item 20): every
option the drivers read is in it, values are checked by kind, updates merge."""

from __future__ import annotations

import pytest

from vmhost import model
from vmhost.model import host_options

LXD, LIBVIRT, FAKE = model.HostType.LXD, model.HostType.LIBVIRT, model.HostType.FAKE


@pytest.mark.parametrize(
    ("host_type", "given"),
    [
        (LXD, {"image": "vmhost-test", "timeout_s": 2, "create_timeout_s": 1.5}),
        (LIBVIRT, {"cpu_features_disable": "arch-capabilities,vmx", "running_timeout_s": 30}),
        (LIBVIRT, {"cpu_features_disable": ["vmx"], "no_verify": True, "discovery_workers": 4}),
        (LIBVIRT, {"keyfile": "/root/.ssh/id", "cpu_mode": "host-passthrough"}),
        (FAKE, {"inventory": {"cores": 4}, "compose_delay_s": 0}),
    ],
)
def test_what_the_drivers_understand_is_accepted(
    host_type: model.HostType, given: dict[str, object]
) -> None:
    assert host_options.parse(host_type, given) == given


@pytest.mark.parametrize(
    ("host_type", "given", "field"),
    [
        (LXD, {"cpu_mode": "host-model"}, "options.cpu_mode"),
        (LIBVIRT, {"cpu_mode": "fastest"}, "options.cpu_mode"),
        (LIBVIRT, {"discovery_workers": 0}, "options.discovery_workers"),
        (LIBVIRT, {"discovery_workers": 1.5}, "options.discovery_workers"),
        (LIBVIRT, {"no_verify": "yes"}, "options.no_verify"),
        (LIBVIRT, {"cpu_features_disable": [1]}, "options.cpu_features_disable"),
        (LXD, {"timeout_s": float("inf")}, "options.timeout_s"),
        (LXD, {"image": None}, "options.image"),  # None removes, in an update only
        (FAKE, {"inventory": "big"}, "options.inventory"),
    ],
)
def test_wrong_names_or_values_name_the_option(
    host_type: model.HostType, given: dict[str, object], field: str
) -> None:
    with pytest.raises(model.InvalidInputError) as caught:
        host_options.parse(host_type, given)
    assert list(caught.value.fields) == [field]
    assert field in str(caught.value)


def test_an_update_merges_and_none_removes() -> None:
    given = host_options.parse(LXD, {"image": None, "timeout_s": 5}, removals=True)
    assert host_options.merged({"image": "a", "start_timeout_s": 9}, given) == {
        "start_timeout_s": 9,
        "timeout_s": 5,
    }


def test_every_host_type_has_options_and_each_option_a_doc() -> None:
    for host_type in (LXD, LIBVIRT, FAKE):
        assert host_options.known(host_type)
    assert all(spec.doc and spec.types for spec in host_options.OPTIONS.values())


def test_every_option_a_driver_reads_is_in_the_table() -> None:
    import re
    from pathlib import Path

    import vmhost.drivers

    root = Path(vmhost.drivers.__file__).parent
    read = {
        name
        for path in root.rglob("*.py")
        for name in re.findall(r"options\.get\(\s*\"(\w+)\"", path.read_text())
    }
    read.discard("default_macvlan_mode")  # a host setting of its own, passed as an option
    assert read and read <= set(host_options.OPTIONS), read - set(host_options.OPTIONS)
