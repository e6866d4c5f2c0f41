"""Connection: URIs, auth callbacks, error mapping, bounded probe, reconnect."""

from __future__ import annotations

import socket
from typing import Any

import libvirt
import pytest

from vmhost import model
from vmhost.drivers import base
from vmhost.drivers.libvirt import connection as lc
from vmhost.drivers.libvirt import errors as le
from vmhost.drivers.libvirt import uri as lu


def host(address: str, **kw: Any) -> base.HostConnection:
    return base.HostConnection(model.HostType.LIBVIRT, address, **kw)


def lv_error(code: int, message: str, domain: int = libvirt.VIR_FROM_RPC) -> libvirt.libvirtError:
    exc = libvirt.libvirtError(f"wrapper for: {message}")
    exc.err = (code, domain, message, 2, None, None, None, 0, 0)
    return exc


@pytest.mark.parametrize(
    ("address", "password", "options", "uri"),
    [
        ("qemu:///system", "", {}, "qemu:///system"),
        ("test:///default", "", {}, "test:///default"),
        ("qemu+tls://h1.example/system", "", {}, "qemu+tls://h1.example/system"),
        ("qemu+ssh://virsh@h1/system", "", {}, "qemu+ssh://virsh@h1/system"),
        (
            "qemu+ssh://virsh@h1/system",
            "s3cret",
            {},
            "qemu+libssh2://virsh@h1/system?sshauth=password,agent,privkey",
        ),
        (
            "qemu+ssh://virsh@h1/system",
            "key passphrase",
            {"keyfile": "/k", "known_hosts": "/kh", "no_verify": True},
            "qemu+libssh2://virsh@h1/system?sshauth=privkey,password&keyfile=/k&known_hosts=/kh",
        ),
        (
            "qemu+libssh://virsh@h1/system",
            "",
            {"no_verify": True},
            "qemu+libssh://virsh@h1/system?known_hosts_verify=auto",
        ),
        (
            "qemu+ssh://virsh@h1:2222/system",
            "",
            {"keyfile": "/etc/vmhost/id_rsa", "no_verify": True},
            "qemu+ssh://virsh@h1:2222/system?keyfile=/etc/vmhost/id_rsa&no_verify=1",
        ),
        ("10.0.0.5", "", {}, "qemu+ssh://10.0.0.5/system"),
        ("virsh@kvm1", "", {}, "qemu+ssh://virsh@kvm1/system"),
    ],
)
def test_build_uri(address: str, password: str, options: dict[str, object], uri: str) -> None:
    assert lu.build_uri(address, password=password, options=options) == uri


@pytest.mark.parametrize(
    ("address", "error", "message"),
    [
        ("", base.DriverConnectionError, "no address"),
        ("xen:///system", base.DriverUnsupportedError, "drives QEMU/KVM"),
        (
            "qemu+carrier-pigeon://h/system",
            base.DriverUnsupportedError,
            "unknown libvirt transport",
        ),
    ],
)
def test_build_uri_refuses(address: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        lu.build_uri(address)


def test_password_never_in_repr_or_messages() -> None:
    assert lu.redact("qemu+ssh://u:pw@h:22/system") == "qemu+ssh://u:***@h:22/system"
    conn = lc.LibvirtConnection(host("qemu+ssh://virsh@127.0.0.1:1/system", password="pw"))
    assert "pw" not in repr(conn)
    with pytest.raises(base.DriverConnectionError) as info:
        conn.get()
    assert "pw" not in str(info.value).replace("sshauth=password", "")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("scheme", ["qemu+tcp", "qemu+tls", "qemu+ssh"])
def test_unreachable_host_fails_fast_with_the_reason(scheme: str) -> None:
    port = closed_port()
    conn = lc.LibvirtConnection(host(f"{scheme}://127.0.0.1:{port}/system"), reconnect_attempts=2)
    with pytest.raises(base.DriverConnectionError, match=f"127.0.0.1:{port}: Connection refused"):
        conn.get()


def test_auth_callback_answers_user_and_password_only() -> None:
    callback = lc.auth_callback("s3cret", "virsh")
    creds = [
        [libvirt.VIR_CRED_AUTHNAME, "user", "Username", "root", None],
        [libvirt.VIR_CRED_PASSPHRASE, "pass", "Password", "", None],
    ]
    assert callback(creds, None) == 0
    assert creds[0][4] == "virsh"
    assert creds[1][4] == "s3cret"
    host_key = [
        [libvirt.VIR_CRED_ECHOPROMPT, "Accept SSH host key with hash 'E0:..'?", "", "", None]
    ]
    assert callback(host_key, None) == -1
    accepting = lc.auth_callback("s3cret", accept_host_key=True)
    assert accepting(host_key, None) == 0
    assert host_key[0][4] == "y"
    other = [[libvirt.VIR_CRED_ECHOPROMPT, "Your favourite colour?", "", "", None]]
    assert accepting(other, None) == -1
    assert lc.auth_callback("")([[libvirt.VIR_CRED_PASSPHRASE, "", "", "", None]], None) == -1


@pytest.mark.parametrize(
    ("code", "message", "connecting", "error"),
    [
        (libvirt.VIR_ERR_AUTH_FAILED, "authentication failed: Permission denied", False,
         base.DriverAuthError),
        (libvirt.VIR_ERR_SYSTEM_ERROR, "Cannot recv data: Permission denied (publickey)", True,
         base.DriverAuthError),
        (libvirt.VIR_ERR_SYSTEM_ERROR, "Failed to connect socket to '/run/x': No such file", True,
         base.DriverConnectionError),
        (libvirt.VIR_ERR_INTERNAL_ERROR, "client socket is closed", False,
         base.DriverConnectionError),
        (libvirt.VIR_ERR_NO_DOMAIN, "Domain not found", False, base.DriverNotFoundError),
        (libvirt.VIR_ERR_XML_ERROR, "XML error: bad memory", False, base.DriverError),
    ],
)  # fmt: skip
def test_map_error(code: int, message: str, connecting: bool, error: type[Exception]) -> None:
    mapped = le.map_error(lv_error(code, message), "doing it", connecting=connecting)
    assert type(mapped) is error
    assert str(mapped) == f"doing it: {message}"
    assert mapped.host_message == message


class FakeConn:
    def __init__(self, alive: bool = True) -> None:
        self.alive = alive
        self.closed = False
        self.keepalive: tuple[int, int] | None = None

    def isAlive(self) -> int:
        return int(self.alive)

    def setKeepAlive(self, interval: int, count: int) -> int:
        self.keepalive = (interval, count)
        return 0

    def registerCloseCallback(self, cb: Any, opaque: Any) -> int:
        self.on_close = cb
        return 0

    def unregisterCloseCallback(self) -> int:
        return 0

    def close(self) -> int:
        self.closed = True
        return 0


def test_reconnects_a_dead_connection_with_keepalive() -> None:
    opened: list[FakeConn] = []

    def opener(uri: str, _auth: Any) -> FakeConn:
        opened.append(FakeConn())
        return opened[-1]

    conn = lc.LibvirtConnection(host("qemu:///system"), opener=opener)
    first = conn.get()
    assert conn.get() is first
    assert first.keepalive == (lc.KEEPALIVE_INTERVAL_S, lc.KEEPALIVE_COUNT)
    first.alive = False
    second = conn.get()
    assert second is not first and first.closed
    second.on_close(second, 0, None)  # the peer went away (keepalive timeout, EOF)
    assert conn.get() is not second
    assert len(opened) == 3


def test_reconnect_is_bounded() -> None:
    calls = []

    def opener(uri: str, _auth: Any) -> FakeConn:
        calls.append(uri)
        raise lv_error(libvirt.VIR_ERR_SYSTEM_ERROR, "Failed to connect socket: refused")

    conn = lc.LibvirtConnection(host("qemu:///system"), opener=opener, reconnect_attempts=3)
    with pytest.raises(base.DriverConnectionError, match="cannot connect to qemu:///system"):
        conn.get()
    assert len(calls) == 3


def test_auth_failure_is_not_retried() -> None:
    calls = []

    def opener(uri: str, _auth: Any) -> FakeConn:
        calls.append(uri)
        raise lv_error(libvirt.VIR_ERR_AUTH_FAILED, "authentication failed")

    conn = lc.LibvirtConnection(host("qemu:///system"), opener=opener)
    with pytest.raises(base.DriverAuthError, match="authentication failed"):
        conn.get()
    assert len(calls) == 1


def test_call_retries_reads_once_on_a_lost_connection_but_not_writes() -> None:
    conn = lc.LibvirtConnection(host("qemu:///system"), opener=lambda uri, auth: FakeConn())
    attempts: list[Any] = []

    def flaky(c: Any) -> str:
        attempts.append(c)
        if len(attempts) == 1:
            raise lv_error(libvirt.VIR_ERR_INTERNAL_ERROR, "client socket is closed")
        return "ok"

    assert conn.call("reading", flaky) == "ok"
    assert attempts[0] is not attempts[1]
    attempts.clear()
    with pytest.raises(base.DriverConnectionError, match="writing: client socket is closed"):
        conn.call("writing", flaky, retry=False)
    assert len(attempts) == 1


def test_libvirt_message_prefers_libvirts_own_text() -> None:
    assert le.libvirt_message(lv_error(1, "the real reason")) == "the real reason"
    assert le.libvirt_message(ValueError("plain")) == "plain"
