"""The real daemons ``scripts/setup-hosts`` prepares, read through the libraries vmhost uses.

LXD through pylxd over HTTPS (trusted client certificate, pinned server certificate, CA-bundle
variables set), libvirt through libvirt-python on ``qemu:///system`` (with KVM really used by a
running guest), PostgreSQL through SQLAlchemy on the throwaway server. Each test asserts on what
it read. Traffic goes only to 127.0.0.1 and to the instances these tests create.
"""

from __future__ import annotations

import json
import os
import time
import uuid
import xml.etree.ElementTree as ET
from ipaddress import ip_address, ip_interface
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from support import hosts

CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


# --- LXD --------------------------------------------------------------------------------------


@pytest.mark.lxd
@pytest.mark.timeout(120)
def test_lxd_pools_networks_and_image_over_https(
    lxd_client: Any, lxd_status: dict[str, Any]
) -> None:
    assert lxd_client.api.scheme == "https"
    assert lxd_client.host_info["auth"] == "trusted"

    pools = {pool.name: pool for pool in lxd_client.storage_pools.all()}
    assert lxd_status["storage_pool"] == "default"
    assert pools["default"].driver == "dir"
    assert "/1.0/profiles/default" in pools["default"].used_by

    for name, cidr in lxd_status["bridges"].items():
        network = lxd_client.networks.get(name)
        assert network.type == "bridge"
        assert network.managed
        assert network.config["ipv4.address"] == cidr
        assert network.config["ipv4.nat"] == "false"
        assert network.config["ipv6.address"] == "none"

    profile = lxd_client.profiles.get("default")
    assert profile.devices["root"] == {"type": "disk", "path": "/", "pool": "default"}
    assert profile.devices["eth0"]["network"] == "vmhbr0"

    aliases = {alias["name"] for image in lxd_client.images.all() for alias in image.aliases}
    assert lxd_status["image"] in aliases


@pytest.mark.lxd
@pytest.mark.timeout(180)
def test_lxd_rsa4096_certificate_despite_ca_bundle_variables(
    lxd_status: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The trap: these variables make requests ignore the pinned certificate unless the session
    # ignores the environment. Set them even where the machine does not.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", CA_BUNDLE)
    monkeypatch.setenv("CURL_CA_BUNDLE", CA_BUNDLE)
    from support import lxd

    cert = lxd.make_client_cert(tmp_path, "rsa4096", key_size=4096)
    server_cert = tmp_path / "server.crt"
    lxd.pin_server_cert(lxd_status["https"], server_cert)

    untrusted = lxd.connect(cert, server_cert, lxd_status["https"])
    assert untrusted.host_info["auth"] == "untrusted"

    lxd.trust(cert, f"vmhost-tests-rsa4096-{uuid.uuid4().hex[:6]}")
    try:
        client = lxd.connect(cert, server_cert, lxd_status["https"])
        assert client.host_info["auth"] == "trusted"
        pinned = lxd.file_fingerprint(server_cert)
        assert client.host_info["environment"]["certificate_fingerprint"] == pinned
        trusted = {c.fingerprint for c in client.certificates.all()}
        assert cert.fingerprint in trusted
        assert "default" in {pool.name for pool in client.storage_pools.all()}
    finally:
        lxd.untrust(cert)


@pytest.mark.lxd
@pytest.mark.timeout(180)
def test_lxd_container_from_test_image_runs_gets_address_and_stops(
    lxd_client: Any, lxd_status: dict[str, Any]
) -> None:
    name = f"vmhost-daemons-{uuid.uuid4().hex[:6]}"
    subnet = ip_interface(lxd_status["bridges"]["vmhbr0"]).network
    config = {"name": name, "source": {"type": "image", "alias": lxd_status["image"]}}
    container = lxd_client.instances.create(config, wait=True)
    try:
        container.start(wait=True)
        container.sync()
        assert container.status == "Running"

        address = None
        deadline = time.monotonic() + 30
        while address is None and time.monotonic() < deadline:
            eth0 = (container.state().network or {}).get("eth0", {})
            for entry in eth0.get("addresses", []):
                if entry["family"] == "inet":
                    address = ip_address(entry["address"])
            time.sleep(0.5)
        assert address is not None and address in subnet

        container.stop(force=False, timeout=30, wait=True)
        container.sync()
        assert container.status == "Stopped"
    finally:
        _remove(lxd_client, name)


def _remove(client: Any, name: str) -> None:
    """Force-stop and delete instance ``name`` if it exists."""
    if not client.instances.exists(name):
        return
    instance = client.instances.get(name)
    if instance.status != "Stopped":
        instance.stop(force=True, wait=True)
    instance.delete(wait=True)


@pytest.mark.lxd
@pytest.mark.timeout(60)
def test_lxd_client_refuses_a_server_that_does_not_match_the_pin(
    lxd_status: dict[str, Any], tmp_path: Path
) -> None:
    import pylxd
    from support import lxd

    cert = lxd.make_client_cert(tmp_path, "client")
    impostor = lxd.make_client_cert(tmp_path, "impostor")  # any certificate but LXD's
    with pytest.raises(
        pylxd.exceptions.ClientConnectionFailed, match="Fingerprints did not match"
    ):
        lxd.connect(cert, impostor.cert_path, lxd_status["https"])


# --- libvirt / KVM ----------------------------------------------------------------------------


@pytest.mark.libvirt
@pytest.mark.timeout(60)
def test_libvirt_pool_and_networks(libvirt_conn: Any, libvirt_status: dict[str, Any]) -> None:
    import libvirt

    pools = {pool.name(): pool for pool in libvirt_conn.listAllStoragePools()}
    pool = pools[libvirt_status["pool"]]
    assert pool.isActive()
    assert pool.isPersistent()
    assert pool.autostart()
    assert pool.info()[0] == libvirt.VIR_STORAGE_POOL_RUNNING
    xml = ET.fromstring(pool.XMLDesc())
    assert xml.get("type") == "dir"
    assert xml.findtext("target/path") == libvirt_status["pool_path"]
    assert Path(libvirt_status["pool_path"]).is_dir()

    for name, cidr in libvirt_status["networks"].items():
        network = libvirt_conn.networkLookupByName(name)
        assert network.isActive()
        assert network.autostart()
        net = ET.fromstring(network.XMLDesc())
        assert net.find("forward") is None, f"{name} must be isolated"
        gateway = ip_interface(cidr)
        ip = net.find("ip")
        assert ip is not None
        assert ip.get("address") == str(gateway.ip)
        assert int(ip.get("prefix") or 0) == gateway.network.prefixlen


@pytest.mark.libvirt
@pytest.mark.timeout(120)
def test_kvm_is_really_used(libvirt_conn: Any, libvirt_status: dict[str, Any]) -> None:
    hosts.require_kvm()
    import libvirt
    import libvirt_qemu

    caps = ET.fromstring(libvirt_conn.getCapabilities())
    arch = caps.findtext("host/cpu/arch")
    domain_types = {d.get("type") for d in caps.findall(f"guest/arch[@name='{arch}']/domain")}
    assert "kvm" in domain_types

    # A kernel-less guest sits in firmware: enough to ask QEMU whether it runs under KVM.
    name = f"vmhost-daemons-kvm-{uuid.uuid4().hex[:6]}"
    network = next(iter(libvirt_status["networks"]))
    xml = f"""
    <domain type='kvm'>
      <name>{name}</name>
      <memory unit='MiB'>64</memory>
      <vcpu>1</vcpu>
      <os><type arch='{arch}'>hvm</type></os>
      <on_poweroff>destroy</on_poweroff>
      <devices>
        <interface type='network'><source network='{network}'/><model type='virtio'/></interface>
      </devices>
    </domain>"""
    dom = libvirt_conn.createXML(xml, 0)
    try:
        assert dom.isActive()
        assert dom.info()[0] == libvirt.VIR_DOMAIN_RUNNING
        reply = json.loads(
            libvirt_qemu.qemuMonitorCommand(dom, json.dumps({"execute": "query-kvm"}), 0)
        )
        assert reply["return"] == {"enabled": True, "present": True}
        assert ET.fromstring(dom.XMLDesc()).get("type") == "kvm"
    finally:
        if dom.isActive():
            dom.destroy()


# --- PostgreSQL -------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.timeout(120)
def test_postgres_fixture_answers_queries(postgres_url: str, postgres_module_url: str) -> None:
    url = sa.make_url(postgres_url)
    assert (url.drivername, url.host, url.username) == (
        "postgresql+psycopg",
        "127.0.0.1",
        "postgres",
    )
    engine = sa.create_engine(postgres_url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            assert conn.scalar(sa.text("select version()")).startswith("PostgreSQL ")
            assert conn.scalar(sa.text("select current_user")) == "postgres"
            assert int(conn.scalar(sa.text("show port"))) == url.port
            assert conn.scalar(sa.text("show fsync")) == "off"
    finally:
        engine.dispose()

    fresh = sa.create_engine(postgres_module_url, connect_args={"connect_timeout": 5})
    try:
        with fresh.begin() as conn:
            assert conn.scalar(sa.text("select current_database()")) == (
                sa.make_url(postgres_module_url).database
            )
            conn.execute(sa.text("create table t (id serial primary key, name text not null)"))
            conn.execute(sa.text("insert into t (name) values ('a'), ('b')"))
        with fresh.connect() as conn:
            assert conn.execute(sa.text("select name from t order by id")).scalars().all() == [
                "a",
                "b",
            ]
    finally:
        fresh.dispose()


# --- support.hosts (no daemon needed) ---------------------------------------------------------


def test_hosts_skip_reason_without_status_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(hosts.STATE_DIR_ENV, str(tmp_path))
    reason = hosts.skip_reason("lxd")
    assert reason is not None and "run scripts/setup-hosts first" in reason
    with pytest.raises(pytest.skip.Exception, match="run scripts/setup-hosts first"):
        hosts.require_postgres()


def test_hosts_skip_reason_is_the_recorded_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(hosts.STATE_DIR_ENV, str(tmp_path))
    status = {
        "lxd": {"ok": False, "reason": "daemon answering failed: no /var/lib/lxd"},
        "libvirt": {"ok": True, "reason": "", "uri": "qemu:///system"},
        # ok, but the daemon has gone since: the live probe (bounded) notices.
        "chromium": {"ok": True, "reason": "", "binary": "/nonexistent/chromium", "driver": ""},
    }
    (tmp_path / "status.json").write_text(json.dumps(status))
    with pytest.raises(pytest.skip.Exception, match="no /var/lib/lxd"):
        hosts.require_lxd()
    assert "no 'postgresql' entry" in (hosts.skip_reason("postgresql") or "")
    assert "missing" in (hosts.skip_reason("chromium") or "")
    with pytest.raises(ValueError):
        hosts.skip_reason("nonsense")


def test_hosts_status_file_written_by_setup_hosts_is_complete() -> None:
    status = hosts.load_status()
    if status is None:
        pytest.skip(hosts.skip_reason("lxd") or "no status file")
    for name in hosts.COMPONENTS:
        assert isinstance(status[name]["ok"], bool), name
        assert isinstance(status[name]["reason"], str), name
        assert status[name]["ok"] == (status[name]["reason"] == ""), name
    assert status["postgresql"]["ok"] is False or os.path.isdir(status["postgresql"]["bin_dir"])
