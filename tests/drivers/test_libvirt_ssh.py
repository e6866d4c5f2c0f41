"""The libvirt driver over SSH to the local daemon, through a private sshd on 127.0.0.1.

The fixture starts its own ``sshd`` (loopback only, a free port, a throwaway host key, key
login for root from a throwaway ``authorized_keys``) and stops it by its pid afterwards.
Password-style credentials are exercised with a passphrase-protected key: libvirt asks for
the passphrase through the same ``openAuth`` callback (``VIR_CRED_PASSPHRASE``) as for an
account password. Needs the ``ssh`` component of ``scripts/setup-hosts`` (openssh-server) and
root.
"""

from __future__ import annotations

import os
import pathlib
import signal
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from libvirt_helpers import configured_host, require_kvm_host
from support import hosts

from vmhost import model
from vmhost.drivers import base
from vmhost.drivers.libvirt.driver import LibvirtDriver

pytestmark = pytest.mark.libvirt

PASSPHRASE = "correct horse battery staple"


class Sshd:
    def __init__(self, root: pathlib.Path, port: int, process: subprocess.Popen[bytes]) -> None:
        self.root = root
        self.port = port
        self.process = process

    @property
    def key(self) -> str:
        return str(self.root / "client_ed25519")

    @property
    def rsa_key(self) -> str:
        return str(self.root / "client_rsa")

    def known_hosts(self, name: str) -> str:
        return str(self.root / f"known_hosts.{name}")

    def session_pids(self) -> list[int]:
        out = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False
        ).stdout
        return [int(p) for p in out.split()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    require_kvm_host()  # the same skip rules as the other real-libvirt tests
    sshd_path = pathlib.Path(hosts.require_ssh()["sshd"])  # scripts/setup-hosts installs it
    if os.geteuid() != 0:
        pytest.skip("the SSH tests log in as root to reach qemu:///system")
    root = tmp_path_factory.mktemp("sshd")
    root.chmod(0o700)
    keygen = ["ssh-keygen", "-q"]
    subprocess.run([*keygen, "-t", "ed25519", "-N", "", "-f", root / "host_key"], check=True)
    subprocess.run(
        [*keygen, "-t", "ed25519", "-N", PASSPHRASE, "-f", root / "client_ed25519"], check=True
    )
    subprocess.run(
        [*keygen, "-t", "rsa", "-b", "2048", "-N", PASSPHRASE, "-f", root / "client_rsa"],
        check=True,
    )
    (root / "authorized_keys").write_text(
        (root / "client_ed25519.pub").read_text() + (root / "client_rsa.pub").read_text()
    )
    (root / "authorized_keys").chmod(0o600)
    port = free_port()
    config = root / "sshd_config"
    config.write_text(
        "\n".join(
            [
                "ListenAddress 127.0.0.1",
                f"Port {port}",
                f"HostKey {root / 'host_key'}",
                f"PidFile {root / 'sshd.pid'}",
                f"AuthorizedKeysFile {root / 'authorized_keys'}",
                "PermitRootLogin prohibit-password",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "StrictModes no",
                "",
            ]
        )
    )
    pathlib.Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    process = subprocess.Popen(
        [str(sshd_path), "-D", "-f", str(config), "-E", str(root / "sshd.log")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"sshd did not start: {(root / 'sshd.log').read_text()}")
            time.sleep(0.1)
    yield Sshd(root, port, process)
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def ssh_driver(
    sshd: Sshd, name: str, password: str = PASSPHRASE, **options: object
) -> LibvirtDriver:
    opts: dict[str, object] = {
        "keyfile": sshd.key,
        "known_hosts": sshd.known_hosts(name),
        "no_verify": True,
    }
    opts.update(options)
    return LibvirtDriver(
        base.HostConnection(
            model.HostType.LIBVIRT,
            f"qemu+ssh://root@127.0.0.1:{sshd.port}/system",
            password=password,
            options=opts,
        )
    )


def test_key_with_passphrase_through_auth_callbacks(sshd: Sshd) -> None:
    driver = ssh_driver(sshd, "ok")
    try:
        assert driver.conn.uri.startswith("qemu+libssh2://")
        start = time.perf_counter()
        inv = driver.discover()
        elapsed_ms = (time.perf_counter() - start) * 1000
        print(f"\n[timing] connect + discover over SSH (libssh2): {elapsed_ms:.0f} ms")
        assert configured_host().pool in {p.name for p in inv.storage_pools}
        assert pathlib.Path(sshd.known_hosts("ok")).read_text().strip()  # the key was recorded
    finally:
        driver.close()


def test_wrong_passphrase_is_an_auth_error(sshd: Sshd) -> None:
    driver = ssh_driver(sshd, "wrong", password="not it")
    with pytest.raises(base.DriverAuthError, match="authentication failed") as info:
        driver.discover()
    assert "not it" not in str(info.value)
    assert not info.value.retryable


def test_rsa_key_with_a_password_explains_the_libssh2_limit(sshd: Sshd) -> None:
    driver = ssh_driver(sshd, "rsa", keyfile=sshd.rsa_key)
    with pytest.raises(base.DriverAuthError, match="use an ed25519 or ECDSA key"):
        driver.discover()


def test_unknown_host_key_is_refused_unless_accepted(sshd: Sshd) -> None:
    driver = ssh_driver(sshd, "strict", no_verify=False)
    with pytest.raises(base.DriverAuthError, match="host key"):
        driver.discover()


def test_reconnects_when_the_ssh_session_dies(sshd: Sshd) -> None:
    driver = ssh_driver(sshd, "reconnect")
    try:
        assert driver.discover().cores >= 1
        first = driver.conn.get()
        sessions = sshd.session_pids()
        assert sessions, "no sshd session for the open connection"
        for pid in sessions:  # children of the sshd this module started
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while first.isAlive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert driver.discover().cores >= 1
        assert driver.conn.get() is not first
    finally:
        driver.close()
