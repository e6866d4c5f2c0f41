"""Adding hosts from the browser: a fake host; bad input refused inline with nothing added and
what was typed kept; the real local LXD through the whole certificate flow (the curl URL and
the `lxc config trust add` command shown, run as shown, the page seeing the host trusted)."""

from __future__ import annotations

import contextlib
import datetime
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import Live
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select
from webtools import css, login, shot, text, wait_text, wait_url

from vmhost import model


def fill(page: WebDriver, **fields: str) -> None:
    for name, value in fields.items():
        element = css(page, f"#f-{name}")
        if element.tag_name == "select":
            Select(element).select_by_value(value)
        else:
            element.clear()
            element.send_keys(value)


def submit(page: WebDriver) -> None:
    css(page, "form.add-host button[type=submit]").click()


def host_names(live: Live) -> set[str]:
    return set(live.services.hosts.names().values())


def test_add_a_fake_host(page: WebDriver, live: Live) -> None:
    live.services.zones.create("add-zone")
    login(page, live.url, live.admin_token, "/hosts/add?type=fake")
    fill(page, name="add-fake", address="fake://numa/add", zone="add-zone", tags="gpu ssd")
    shot(page, "add-host-fake")
    submit(page)
    wait_text(page, "Added add-fake: 16 cores, 64 GiB, 2 storage pools, 0 VMs found.", ".flash")
    wait_url(page, "/vms")
    assert "Zone add-zone" in text(page) and "gpu" in text(page)


def test_bad_input_is_refused_inline_and_adds_nothing(page: WebDriver, live: Live) -> None:
    live.services.hosts.add(
        model.HostSettings(name="add-taken", type=model.HostType.FAKE, address="fake://small/t")
    )
    before = host_names(live)
    login(page, live.url, live.admin_token, "/hosts/add?type=fake")
    fill(page, name="add-new", address="")
    submit(page)
    assert wait_text(page, "The address is required", "#address-error")
    assert css(page, "#f-name").get_attribute("value") == "add-new"  # kept
    fill(page, name="add-taken", address="fake://small/other")
    submit(page)
    assert "already exists" in wait_text(page, "already exists", "#name-error")
    fill(page, name="bad name!", address="fake://small/other")
    submit(page)
    assert "is not a valid name" in wait_text(page, "not a valid name", "#name-error")
    fill(page, name="add-nowhere", address="fake://nosuchprofile")
    submit(page)
    assert "No fake host profile" in wait_text(page, "Nothing was added", "#address-error")
    assert host_names(live) == before


def test_unreachable_lxd_address_adds_nothing(page: WebDriver, live: Live) -> None:
    import socket

    with socket.socket() as s:  # a loopback port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    before = host_names(live)
    login(page, live.url, live.admin_token, "/hosts/add?type=lxd")
    fill(page, name="add-down", address=f"127.0.0.1:{port}", project="default")
    submit(page)
    error = wait_text(page, "Nothing was added", "#address-error")
    assert f"127.0.0.1:{port}" in error
    assert css(page, "#f-address").get_attribute("value") == f"127.0.0.1:{port}"
    assert host_names(live) == before
    shot(page, "add-host-unreachable")


def _pair(passphrase: bytes | None = None) -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "imported@vmhost-tests")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    encryption: Any = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    ).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem


def test_imported_pairs_are_checked_inline(page: WebDriver, live: Live) -> None:
    before = host_names(live)
    login(page, live.url, live.admin_token, "/hosts/add?type=lxd")
    css(page, "input[name=auth][value=import]").click()
    assert css(page, "#f-certificate").is_displayed()  # the import fields open
    cert, key = _pair(passphrase=b"secret words")
    fill(page, name="add-imported", address="127.0.0.1:1")
    page.execute_script(
        "document.getElementById('f-certificate').value = arguments[0];"
        "document.getElementById('f-key').value = arguments[1];",
        cert,
        key,
    )
    submit(page)
    assert "protected by a passphrase" in wait_text(page, "passphrase", "#key-error")
    shot(page, "add-host-passphrase-key")
    assert "BEGIN CERTIFICATE" in css(page, "#f-certificate").get_attribute("value")  # kept
    assert css(page, "#f-key").get_attribute("value") == ""  # a key is never sent back
    other_cert, _ = _pair()
    _, own_key = _pair()
    page.execute_script(
        "document.getElementById('f-certificate').value = arguments[0];"
        "document.getElementById('f-key').value = arguments[1];",
        other_cert,
        own_key,
    )
    submit(page)
    assert "does not belong" in wait_text(page, "does not belong", "#certificate-error")
    assert host_names(live) == before


@pytest.fixture()
def lxd_cleanup(live: Live) -> Iterator[list[str]]:
    """Fingerprints to untrust and host names to forget afterwards."""
    todo: list[str] = []
    yield todo
    for item in todo:
        if ":" in item:
            subprocess.run(
                ["lxc", "config", "trust", "remove", item.split(":", 1)[1]], check=False
            )
        else:
            with contextlib.suppress(model.NotFoundError):
                live.services.hosts.delete(live.services.hosts.host_id_by_name(item), False)


@pytest.mark.lxd
def test_real_lxd_certificate_flow(
    page: WebDriver, live: Live, lxd_status: dict[str, Any], lxd_cleanup: list[str]
) -> None:
    address = lxd_status["https"]
    login(page, live.url, live.admin_token, "/hosts/add?type=lxd")
    fill(page, name="web-lxd", address=address, project="default")
    lxd_cleanup.append("web-lxd")
    submit(page)
    wait_url(page, "/trust")
    wait_text(page, "Untrusted", "#trust-state")
    fingerprint = css(page, "#fingerprint").text
    lxd_cleanup.append(f"fp:{fingerprint}")
    command = css(page, "#trust-command").text
    url = css(page, "#fetch-url").text
    assert url == f"{live.url}/vmhost-certificate/web-lxd"
    assert command == f"curl -sSf {url} | lxc config trust add - --name web-lxd"
    copy = css(page, '[data-copy="trust-command"]')
    copy.click()
    wait_text(page, "Copied", '[data-copy="trust-command"]')
    shot(page, "add-host-lxd-trust")
    page.get(f"{live.url}/?q=web-lxd")  # the host list says so too, with the next step
    status = css(page, 'tr[data-host="web-lxd"] td[data-label=Status]').text
    assert "Untrusted" in status and "Trust the certificate" in status
    page.back()
    wait_text(page, "Untrusted", "#trust-state")
    # the operator runs exactly what the page shows, on the LXD host
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    trusted = subprocess.run(
        ["lxc", "config", "trust", "list", "--format", "csv"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert fingerprint[:12] in trusted
    # the page checks again by itself and says the host is ready, then lists its projects
    wait_text(page, "Trusted and ready", "#trust-state", timeout=40)
    wait_text(page, "default", "#project-list")
    shot(page, "add-host-lxd-trusted")
    host = live.services.hosts.get(live.services.hosts.host_id_by_name("web-lxd")).host
    assert host.status is model.HostStatus.READY
    page.get(f"{live.url}/hosts/{host.id}/storage")
    assert "default" in css(page, "tr[data-pool]").text
    # a new certificate from the settings: the host does not trust it until told to
    page.get(f"{live.url}/hosts/{host.id}/settings")
    css(page, "input[name=certificate_action][value=generate]").click()
    css(page, "#settings-form button[type=submit]").click()
    wait_url(page, "/trust")
    wait_text(page, "Untrusted", "#trust-state")
    fresh = css(page, "#fingerprint").text
    lxd_cleanup.append(f"fp:{fresh}")
    assert fresh != fingerprint
    assert (
        fresh[:12]
        not in subprocess.run(
            ["lxc", "config", "trust", "list", "--format", "csv"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )


@pytest.mark.libvirt
def test_real_libvirt_host_by_uri(
    page: WebDriver, live: Live, libvirt_status: dict[str, Any]
) -> None:
    login(page, live.url, live.admin_token, "/hosts/add?type=libvirt")
    fill(page, name="web-libvirt", address=libvirt_status["uri"])
    submit(page)
    try:
        flash = wait_text(page, "Added web-libvirt:", ".flash", timeout=60)
        assert "storage pool" in flash and "cores" in flash
        host = live.services.hosts.get(live.services.hosts.host_id_by_name("web-libvirt"))
        assert host.host.status is model.HostStatus.READY
        assert f"{host.view.cores} cores" in flash
        page.get(f"{live.url}/hosts/{host.host.id}/resources")
        assert "NUMA node 0" in text(page)
    finally:
        with contextlib.suppress(model.NotFoundError):
            live.services.hosts.delete(live.services.hosts.host_id_by_name("web-libvirt"), False)
