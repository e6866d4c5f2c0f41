"""Host addresses are checked by the driver's own rules before anything is stored, resolved or
contacted (``registry.normalise_address``); passwords in them never reach messages."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from vmhost import model
from vmhost.drivers import addresses, base, registry
from vmhost.drivers.libvirt.driver import LibvirtDriver
from vmhost.drivers.lxd.driver import LxdDriver

LXD, LIBVIRT, FAKE = model.HostType.LXD, model.HostType.LIBVIRT, model.HostType.FAKE


@pytest.fixture(autouse=True)
def no_dns(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Any name look-up or connection attempt fails the test."""
    asked: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        asked.append(args)
        raise AssertionError(f"an address check resolved or connected: {args}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    yield asked
    assert asked == []


@pytest.mark.parametrize(
    ("host_type", "address", "stored"),
    [
        (LXD, "10.0.0.2", "10.0.0.2"),
        (LXD, "  https://lxd1.example:8443/ ", "https://lxd1.example:8443/"),
        (LXD, "[fd00::2]:9443", "[fd00::2]:9443"),
        (LXD, "::1", "::1"),
        (LIBVIRT, "qemu:///system", "qemu:///system"),
        (LIBVIRT, "test:///default", "test:///default"),
        (LIBVIRT, "virsh@kvm-3.lab", "virsh@kvm-3.lab"),
        (
            LIBVIRT,
            "qemu+ssh://root@[fd00::5]:2222/system",
            "qemu+ssh://root@[fd00::5]:2222/system",
        ),
        (LIBVIRT, "qemu+tls://kvm1.example/system", "qemu+tls://kvm1.example/system"),
        (
            LIBVIRT,
            "qemu+ssh://root:s3cret@10.0.0.5/system",
            "qemu+ssh://root:s3cret@10.0.0.5/system",
        ),
        (FAKE, "fake://h1", "fake://h1"),
    ],
)
def test_good_addresses_are_kept(host_type: model.HostType, address: str, stored: str) -> None:
    assert registry.normalise_address(host_type, address) == stored


@pytest.mark.parametrize(
    ("host_type", "address", "message"),
    [
        (LIBVIRT, "https://[::1", "not a libvirt URI: Invalid IPv6 URL"),
        (LIBVIRT, "", "no address"),
        (LIBVIRT, "   ", "no address"),
        (LIBVIRT, "not a host name", "blanks or control characters"),
        (LIBVIRT, "qemu+ssh://root@bad_host!/system", "neither an IP address nor a host name"),
        (LIBVIRT, "kvm-3.lab\x1b[31m", "blanks or control characters"),
        (LIBVIRT, "qemu+ssh://kvm1:99999/system", "Port out of range"),
        (LIBVIRT, "qemu+ssh://10.0.0.300/system", "neither an IP address nor a host name"),
        (LIBVIRT, "qemu+ssh://@/system", "names no host"),
        (LIBVIRT, "https://kvm1/system", "drives QEMU/KVM"),
        (LIBVIRT, "qemu+pigeon://kvm1/system", "unknown libvirt transport"),
        (LXD, "", "empty"),
        (LXD, "https://", "empty"),
        (LXD, "https://[::1", "without its"),
        (LXD, "https://admin:hunter2@10.0.0.2:8443", "holds a password"),
        (LXD, "admin@10.0.0.2", "holds a user name"),
        (LXD, "http://10.0.0.2:8443", "HTTPS only"),
        (LXD, "ftp://10.0.0.2", "not LXD's"),
        (LXD, "10.0.0.2:8443/1.0", "without a path"),
        (LXD, "10.0.0.2:http", "is not a port"),
        (LXD, "lxd_1.example", "neither an IP address nor a host name"),
        (LXD, "-lxd.example", "neither an IP address nor a host name"),
        (LXD, "a" * 64 + ".example", "neither an IP address nor a host name"),
        (FAKE, " ", "empty"),
    ],
)
def test_bad_addresses_are_refused_naming_the_field(
    host_type: model.HostType, address: str, message: str
) -> None:
    with pytest.raises(model.InvalidInputError, match=message) as err:
        registry.normalise_address(host_type, address)
    assert list(err.value.fields) == ["address"]
    assert str(err.value).startswith("address: ")
    assert "hunter2" not in str(err.value)


def test_a_stored_bad_address_is_a_driver_error_not_a_crash() -> None:
    """A host stored before these checks fails its refresh with the reason (the service then
    records status error), instead of a ValueError escaping from the URL parser."""
    with pytest.raises(base.DriverAddressError, match="not a libvirt URI") as err:
        LibvirtDriver(base.HostConnection(LIBVIRT, "https://[::1"))
    assert not err.value.retryable
    lxd = LxdDriver(base.HostConnection(LXD, "not a host!", client_cert_pem="x"))
    with pytest.raises(base.DriverAddressError, match="blanks"):
        lxd.discover()


@pytest.mark.parametrize(
    ("address", "shown"),
    [
        ("qemu+ssh://root:s3cret@10.0.0.5:22/system", "qemu+ssh://root:***@10.0.0.5:22/system"),
        ("root:s3cret@10.0.0.5", "root:***@10.0.0.5"),
        ("qemu+ssh://root:s3:cr@t@[fd00::5]/system", "qemu+ssh://root:***@[fd00::5]/system"),
        ("qemu+ssh://root@10.0.0.5/system", "qemu+ssh://root@10.0.0.5/system"),
        ("https://[::1", "https://[::1"),
    ],
)
def test_passwords_are_masked(address: str, shown: str) -> None:
    assert registry.redact_address(address) == shown
    assert addresses.scrub(f"error connecting to {address}: no", address) == (
        f"error connecting to {shown}: no"
    )
