"""A host's connection options: the one table of the keys each driver understands.

Options are host settings like the address (``options`` on ``POST /vm-hosts`` and ``PUT
/vm-hosts/{id}``, ``--option KEY=VALUE`` in the CLI): LXD's ``image`` is the image composed
instances start from, which an operator changes when no image server is reachable. Every
surface checks them here, once: an unknown key or a wrong type is an input error naming
``options.KEY`` and changes nothing. An update merges: a key set to ``None`` is removed (the
driver's default applies again), keys not given are kept.

The drivers' docstrings say what each option does (``drivers/lxd/driver.py``,
``drivers/libvirt/driver.py``, ``drivers/fake/__init__.py``).
"""

from __future__ import annotations

import dataclasses
import enum
import math
import re
from collections.abc import Mapping

from .errors import InvalidInputError
from .host import HostType


class Kind(enum.Enum):
    """The type of an option's value."""

    TEXT = "text"
    NUMBER = "number"  # a finite number >= 0 (seconds, counts)
    COUNT = "count"  # a whole number >= 1
    FLAG = "flag"
    TEXT_LIST = "list of text"  # or one comma-separated text
    MAPPING = "mapping"


@dataclasses.dataclass(frozen=True, slots=True)
class OptionSpec:
    """One option: its type, the host types that understand it, and what it does."""

    kind: Kind
    types: frozenset[HostType]
    doc: str
    choices: tuple[str, ...] = ()


_LXD = frozenset({HostType.LXD})
_LIBVIRT = frozenset({HostType.LIBVIRT})
_FAKE = frozenset({HostType.FAKE})

OPTIONS: dict[str, OptionSpec] = {
    # LXD
    "image": OptionSpec(
        Kind.TEXT,
        _LXD,
        "the image composed instances start from: an alias on the host (vmhost-test), a "
        "remote alias as for lxc launch (ubuntu:24.04, the default) or none",
    ),
    # MAAS deploys (model/machine.py): series -> image, over DEFAULT_SERIES_IMAGES
    "series_images": OptionSpec(
        Kind.MAPPING,
        _LXD | _FAKE,
        "the image a MAAS deploy of each series starts from, e.g. {noble: vmhost-test} "
        "(defaults: ubuntu:<version>; a series not listed is used as an image alias)",
    ),
    "certificate_url": OptionSpec(
        Kind.TEXT, _LXD, "where vmhost serves this host's certificate (in trust messages)"
    ),
    "timeout_s": OptionSpec(Kind.NUMBER, _LXD, "HTTP timeout (30)"),
    "create_timeout_s": OptionSpec(Kind.NUMBER, _LXD, "wait for an instance's creation (300)"),
    "start_timeout_s": OptionSpec(Kind.NUMBER, _LXD, "wait for an instance's start (60)"),
    "stop_timeout_s": OptionSpec(Kind.NUMBER, _LXD, "wait for an instance's stop (30)"),
    # libvirt
    "keyfile": OptionSpec(Kind.TEXT, _LIBVIRT, "SSH private key file (qemu+ssh://)"),
    "known_hosts": OptionSpec(Kind.TEXT, _LIBVIRT, "SSH known_hosts file (qemu+ssh://)"),
    "no_verify": OptionSpec(Kind.FLAG, _LIBVIRT, "accept an SSH host key not seen before"),
    "probe_timeout": OptionSpec(Kind.NUMBER, _LIBVIRT, "seconds to wait for the first answer"),
    "cpu_mode": OptionSpec(
        Kind.TEXT,
        _LIBVIRT,
        "the CPU model of KVM guests",
        ("host-model", "host-passthrough", "maximum", "none"),
    ),
    "cpu_features_disable": OptionSpec(Kind.TEXT_LIST, _LIBVIRT, "CPU flags turned off"),
    "running_timeout_s": OptionSpec(Kind.NUMBER, _LIBVIRT, "wait for a domain to run (30)"),
    "refresh_pools": OptionSpec(Kind.FLAG, _LIBVIRT, "refresh pools before reading their sizes"),
    "discovery_workers": OptionSpec(Kind.COUNT, _LIBVIRT, "reads in flight during discovery"),
    # fake (tests, benchmarks, the demo)
    "inventory": OptionSpec(Kind.MAPPING, _FAKE, "the host's inventory"),
    "state_file": OptionSpec(Kind.TEXT, _FAKE, "a JSON file keeping the VMs across processes"),
    "compose_delay_s": OptionSpec(Kind.NUMBER, _FAKE, "delay before the VM exists"),
    "compose_delay_before_start_s": OptionSpec(Kind.NUMBER, _FAKE, "delay before its start"),
    "compose_delay_after_s": OptionSpec(Kind.NUMBER, _FAKE, "delay after it exists"),
}

MAX_TEXT = 4096
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def known(host_type: HostType) -> list[str]:
    """The option names a host of this type understands."""
    return sorted(k for k, spec in OPTIONS.items() if host_type in spec.types)


def parse(
    host_type: HostType, given: Mapping[str, object], *, removals: bool = False
) -> dict[str, object]:
    """The options as given, checked for a host of ``host_type``; with ``removals`` a value
    of ``None`` (remove the key) is allowed. InvalidInputError names ``options.KEY``."""
    if not isinstance(given, Mapping):
        raise InvalidInputError.for_field("options", "must be a mapping of option names")
    errors: dict[str, list[str]] = {}
    checked: dict[str, object] = {}
    for key, value in given.items():
        field = f"options.{key}"
        spec = OPTIONS.get(key) if isinstance(key, str) else None
        if spec is None or host_type not in spec.types:
            names = ", ".join(known(host_type)) or "none"
            errors[field] = [f"not an option of {host_type.value} hosts (options: {names})"]
            continue
        if value is None and removals:
            checked[key] = None
            continue
        problem = _problem(spec, value)
        if problem:
            errors[field] = [problem]
        else:
            checked[key] = list(value) if isinstance(value, tuple) else value
    if errors:
        message = "; ".join(f"{k}: {v[0]}" for k, v in errors.items())
        raise InvalidInputError(message, errors)
    return checked


def merged(current: Mapping[str, object], changes: Mapping[str, object]) -> dict[str, object]:
    """``current`` with ``changes`` applied (a ``None`` value removes the key)."""
    out = {k: v for k, v in current.items() if k not in changes}
    out.update({k: v for k, v in changes.items() if v is not None})
    return out


def _problem(spec: OptionSpec, value: object) -> str:
    """What is wrong with ``value`` for ``spec`` ('' when nothing)."""
    if spec.kind is Kind.TEXT:
        if not isinstance(value, str):
            return f"must be text, not {value!r}"
        if not value.strip() or len(value) > MAX_TEXT or _CONTROL.search(value):
            return f"must be 1 to {MAX_TEXT} characters without control characters"
        if spec.choices and value not in spec.choices:
            return f"{value!r} is not one of {', '.join(spec.choices)}"
        return ""
    if spec.kind is Kind.FLAG:
        return "" if isinstance(value, bool) else f"must be true or false, not {value!r}"
    if spec.kind in (Kind.NUMBER, Kind.COUNT):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value < 0
        ):
            return f"must be a number of at least 0, not {value!r}"
        if spec.kind is Kind.COUNT and (not isinstance(value, int) or value < 1):
            return f"must be a whole number of at least 1, not {value!r}"
        return ""
    if spec.kind is Kind.TEXT_LIST:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list | tuple) or not all(
            isinstance(x, str) and x.strip() and not _CONTROL.search(x) for x in items
        ):
            return f"must be a list of text or comma-separated text, not {value!r}"
        return ""
    return "" if isinstance(value, Mapping) else f"must be a mapping, not {value!r}"
