"""Faults against the real LXD: unreachable, wrong port, not LXD, timeouts, LXD refusing a
compose half-way. After a failed compose no instance and no volume is left behind.

Every address used is on loopback; every wait is bounded.
"""

from __future__ import annotations

import http.server
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator

import lxd_helpers as h
import pytest

from vmhost import model, pki
from vmhost.drivers import base
from vmhost.drivers.lxd import driver as lxd_driver
from vmhost.drivers.lxd import endpoint as lxd_endpoint

pytestmark = [pytest.mark.lxd, pytest.mark.timeout(300)]

_reason = h.skip_reason()
if _reason:
    pytest.skip(_reason, allow_module_level=True)

MB = 1000**2
PROJECT = f"vmhost-t{h.RUN}-faults"
LIMITED = f"vmhost-t{h.RUN}-limited"


@pytest.fixture(scope="module")
def pair() -> Iterator[pki.KeyPair]:
    pair = h.new_pair("faults")
    fp = h.trust(pair, f"vmhost-faults-{h.RUN}")
    yield pair
    h.untrust(fp)


@pytest.fixture(scope="module", autouse=True)
def _wipe() -> Iterator[None]:
    yield
    h.wipe_project(PROJECT)
    h.wipe_project(LIMITED)


@pytest.fixture()
def driver(pair: pki.KeyPair) -> Iterator[lxd_driver.LxdDriver]:
    drv = lxd_driver.LxdDriver(h.connection(pair, PROJECT))
    yield drv
    drv.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spec(name: str, **kw: object) -> base.ComposeSpec:
    values: dict[str, object] = {
        "name": name,
        "cores": 1,
        "memory_mib": 64,
        "instance_type": model.InstanceType.CONTAINER,
        "disks": (
            model.VmDisk("root", 500 * MB, h.POOL),
            model.VmDisk("data", 100 * MB, h.POOL),
        ),
        "interfaces": (model.VmInterface("eth0", h.BRIDGES[0], model.NetworkKind.BRIDGE),),
    }
    values.update(kw)
    return base.ComposeSpec(**values)  # type: ignore[arg-type]


def assert_nothing_left(project: str) -> None:
    assert h.instances(project) == []
    assert h.volumes(project) == []


# -- reaching LXD ---------------------------------------------------------------------------


def test_connection_refused_names_the_address(pair: pki.KeyPair) -> None:
    port = free_port()
    address = f"127.0.0.1:{port}"
    with pytest.raises(base.DriverConnectionError) as err:
        lxd_endpoint.fetch_server_certificate(address)
    assert address in str(err.value) and "connection refused" in str(err.value)
    assert err.value.retryable
    conn = h.connection(pair)
    conn = base.HostConnection(
        conn.type,
        address,
        client_cert_pem=conn.client_cert_pem,
        client_key_pem=conn.client_key_pem,
        server_cert_pem=conn.server_cert_pem,
    )
    with pytest.raises(base.DriverConnectionError, match=f"{address}.*connection refused"):
        lxd_driver.LxdDriver(conn).discover()


def test_wrong_port_plain_http(pair: pki.KeyPair) -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    address = f"127.0.0.1:{server.server_port}"
    try:
        with pytest.raises(base.DriverConnectionError, match=f"{address}: no TLS there"):
            lxd_endpoint.fetch_server_certificate(address)
        conn = h.connection(pair)
        conn = base.HostConnection(
            conn.type,
            address,
            client_cert_pem=conn.client_cert_pem,
            client_key_pem=conn.client_key_pem,
            server_cert_pem=conn.server_cert_pem,
        )
        with pytest.raises(base.DriverConnectionError, match="no TLS there"):
            lxd_driver.LxdDriver(conn).discover()
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_https_but_not_lxd(pair: pki.KeyPair) -> None:
    server_pair = pki.generate("not-lxd", key_size=2048)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.NamedTemporaryFile("w") as cert, tempfile.NamedTemporaryFile("w") as key:
        cert.write(server_pair.certificate_pem)
        key.write(server_pair.key_pem)
        cert.flush()
        key.flush()
        context.load_cert_chain(cert.name, key.name)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html>hello</html>")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    address = f"127.0.0.1:{server.server_port}"
    try:
        fetched = lxd_endpoint.fetch_server_certificate(address)
        assert fetched.fingerprint == server_pair.fingerprint
        conn = base.HostConnection(
            model.HostType.LXD,
            address,
            client_cert_pem=pair.certificate_pem,
            client_key_pem=pair.key_pem,
            server_cert_pem=fetched.pem,
        )
        with pytest.raises(base.DriverConnectionError, match="answered HTTPS but is not LXD"):
            lxd_driver.LxdDriver(conn).discover()
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_timeout_is_bounded(pair: pki.KeyPair) -> None:
    """A port that accepts TCP but never speaks TLS: the wait ends, naming the address."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # never accept(): the kernel completes the handshake, nobody answers
    address = f"127.0.0.1:{listener.getsockname()[1]}"
    try:
        started = time.monotonic()
        with pytest.raises(base.DriverConnectionError, match=f"{address}: timed out"):
            lxd_endpoint.fetch_server_certificate(address, timeout=1)
        assert time.monotonic() - started < 10
        conn = base.HostConnection(
            model.HostType.LXD,
            address,
            client_cert_pem=pair.certificate_pem,
            client_key_pem=pair.key_pem,
            server_cert_pem=h.connection(pair).server_cert_pem,
            options={"timeout_s": 2},
        )
        started = time.monotonic()
        with pytest.raises(base.DriverConnectionError, match="timed out"):
            lxd_driver.LxdDriver(conn).discover()
        assert time.monotonic() - started < 15
    finally:
        listener.close()


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("http://127.0.0.1:8443", "HTTPS only"),
        ("127.0.0.1:99999", "is not a port"),
        ("", "empty"),
    ],
)
def test_bad_addresses(address: str, message: str) -> None:
    with pytest.raises(base.DriverConnectionError, match=message):
        lxd_endpoint.parse_endpoint(address)


@pytest.mark.parametrize(
    ("address", "url"),
    [
        ("127.0.0.1", "https://127.0.0.1:8443"),
        ("https://127.0.0.1:8443/", "https://127.0.0.1:8443"),
        ("::1", "https://[::1]:8443"),
        ("[::1]:9443", "https://[::1]:9443"),
        ("lxd1.example:443", "https://lxd1.example:443"),
    ],
)
def test_endpoints(address: str, url: str) -> None:
    assert lxd_endpoint.parse_endpoint(address).url == url


# -- LXD refusing a compose half-way: nothing is left behind ------------------------------


def test_unknown_network(driver: lxd_driver.LxdDriver) -> None:
    bad = (model.VmInterface("eth0", "nosuchbr0", model.NetworkKind.BRIDGE),)
    with pytest.raises(base.DriverError) as err:
        driver.compose(spec(f"n{h.RUN}", interfaces=bad))
    assert "nosuchbr0" in str(err.value)
    assert err.value.host_message  # LXD's own words
    assert_nothing_left(PROJECT)


def test_unknown_pool_for_an_extra_disk(driver: lxd_driver.LxdDriver) -> None:
    disks = (
        model.VmDisk("root", 500 * MB, h.POOL),
        model.VmDisk("data", 100 * MB, h.POOL),  # created, then removed again
        model.VmDisk("more", 100 * MB, "nosuchpool"),
    )
    with pytest.raises(base.DriverError, match=r"nosuchpool|not found"):
        driver.compose(spec(f"u{h.RUN}", disks=disks))
    assert_nothing_left(PROJECT)


def test_unknown_root_pool_after_volumes(driver: lxd_driver.LxdDriver) -> None:
    disks = (
        model.VmDisk("root", 500 * MB, "nosuchpool"),
        model.VmDisk("data", 100 * MB, h.POOL),
    )
    with pytest.raises(base.DriverError):
        driver.compose(spec(f"r{h.RUN}", disks=disks))
    assert_nothing_left(PROJECT)


def test_pool_too_small(pair: pki.KeyPair) -> None:
    """LXD refuses a disk larger than the space allowed (project ``limits.disk``: the dir pool
    here has no quota of its own); the first volume was made and is removed again."""
    drv = lxd_driver.LxdDriver(h.connection(pair, LIMITED))
    try:
        drv.ensure_project()
        h.lxc("project", "set", LIMITED, "limits.disk=1GB")
        disks = (
            model.VmDisk("root", 400 * MB, h.POOL),
            model.VmDisk("data", 300 * MB, h.POOL),
            model.VmDisk("big", 5000 * MB, h.POOL),
        )
        with pytest.raises(base.DriverError) as err:
            drv.compose(spec(f"t{h.RUN}", disks=disks))
        assert "limits.disk" in str(err.value)
        assert_nothing_left(LIMITED)
        # the root disk too large: the instance itself is refused after the volumes exist
        disks = (model.VmDisk("root", 900 * MB, h.POOL), model.VmDisk("data", 300 * MB, h.POOL))
        with pytest.raises(base.DriverError, match=r"limits\.disk"):
            drv.compose(spec(f"t{h.RUN}", disks=disks))
        assert_nothing_left(LIMITED)
    finally:
        drv.close()


def test_existing_name_is_not_touched(driver: lxd_driver.LxdDriver) -> None:
    driver.ensure_project()
    name = f"e{h.RUN}"
    h.lxc("init", h.IMAGE, name, "--project", PROJECT)
    try:
        with pytest.raises(base.DriverError, match="already exists"):
            driver.compose(spec(name))
        assert [i["name"] for i in h.instances(PROJECT)] == [name]  # still there, untouched
        assert [v["type"] for v in h.volumes(PROJECT)] == ["container"]  # no custom volume
    finally:
        h.lxc("delete", "--force", name, "--project", PROJECT)


def test_decompose_reports_a_volume_it_could_not_delete(driver: lxd_driver.LxdDriver) -> None:
    """A listed volume still attached elsewhere is reported; the rest is still removed."""
    first = driver.compose(spec(f"d{h.RUN}", start=False))
    other = f"o{h.RUN}"
    volume = first.disks[1].volume
    h.lxc("init", h.IMAGE, other, "--project", PROJECT)
    h.lxc(
        "config",
        "device",
        "add",
        other,
        "shared",
        "disk",
        f"pool={h.POOL}",
        f"source={volume}",
        "path=/mnt/shared",
        "--project",
        PROJECT,
    )
    try:
        with pytest.raises(base.DriverError, match=volume):
            driver.decompose(first.name, first.disks)
        assert [i["name"] for i in h.instances(PROJECT)] == [other]
    finally:
        h.lxc("delete", "--force", other, "--project", PROJECT)
        driver.decompose(first.name, first.disks)
    assert_nothing_left(PROJECT)


def test_invalid_instance_name(driver: lxd_driver.LxdDriver) -> None:
    with pytest.raises(base.DriverError, match="not a valid LXD instance name"):
        driver.compose(spec("bad_name"))
    assert driver.power_query("../etc") == "unknown"
    driver.decompose("../etc", ())  # nothing to do, nothing touched
