"""The other ways to trust vmhost on the real local LXD, from the add-host form: a trust token
(a wrong one refused next to its field, nothing added, what was typed kept; the right one adds a
ready host), and the trust password, labelled not recommended, refused when wrong."""

from __future__ import annotations

import contextlib
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import Live
from selenium.webdriver.remote.webdriver import WebDriver
from test_add_host import fill, host_names, submit
from webtools import css, login, shot, wait_text, wait_url

from vmhost import model

pytestmark = pytest.mark.lxd


def lxc(*args: str) -> str:
    done = subprocess.run(["lxc", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture()
def forget(live: Live) -> Iterator[list[str]]:
    """Host names whose certificate is untrusted and whose record is removed afterwards."""
    names: list[str] = []
    yield names
    svc = live.services
    for name in names:
        with contextlib.suppress(model.NotFoundError):
            host_id = svc.hosts.host_id_by_name(name)
            fingerprint = svc.certificates.certificate(host_id).fingerprint
            subprocess.run(["lxc", "config", "trust", "remove", fingerprint], check=False)
            svc.hosts.delete(host_id, False)


def test_trust_token(
    page: WebDriver, live: Live, lxd_status: dict[str, Any], forget: list[str]
) -> None:
    name = f"web-token-{uuid.uuid4().hex[:6]}"
    out = lxc("config", "trust", "add", "--name", name)
    token = [line for line in out.splitlines() if line.strip()][-1].strip()
    try:
        before = host_names(live)
        login(page, live.url, live.admin_token, "/hosts/add?type=lxd")
        css(page, "input[name=auth][value=token]").click()
        assert css(page, "#f-trust_token").is_displayed()
        fill(page, name="web-token", address=lxd_status["https"], tags="tok")
        fill(page, trust_token="not-a-token")
        submit(page)
        error = wait_text(page, "token", "#trust_token-error")
        assert "Nothing was added" in error or "not accepted" in error
        assert css(page, "#f-name").get_attribute("value") == "web-token"  # kept
        assert css(page, "#f-tags").get_attribute("value") == "tok"
        assert css(page, "#f-trust_token").get_attribute("value") == ""  # a secret: not sent back
        assert host_names(live) == before
        shot(page, "add-host-token-refused")
        forget.append("web-token")
        fill(page, trust_token=token)
        submit(page)
        wait_text(page, "Added web-token:", ".flash", timeout=60)
        wait_url(page, "/vms")
        host = live.services.hosts.get(live.services.hosts.host_id_by_name("web-token")).host
        assert host.status is model.HostStatus.READY and host.tags == ("tok",)
    finally:
        subprocess.run(["lxc", "config", "trust", "revoke-token", name], check=False)


def test_trust_password_is_marked_not_recommended(
    page: WebDriver, live: Live, lxd_status: dict[str, Any], forget: list[str]
) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    lxc("config", "set", "core.trust_password", password)
    try:
        before = host_names(live)
        login(page, live.url, live.admin_token, "/hosts/add?type=lxd")
        choice = css(page, "input[name=auth][value=password]")
        label = choice.find_element("xpath", "./ancestor::label").text
        assert "not recommended" in label
        choice.click()
        fill(page, name="web-password", address=lxd_status["https"])
        fill(page, trust_password="wrong")
        submit(page)
        wait_text(page, "password", "#trust_password-error")
        assert css(page, "#f-name").get_attribute("value") == "web-password"
        assert host_names(live) == before
        forget.append("web-password")
        css(page, "input[name=auth][value=password]").click()
        fill(page, trust_password=password)
        shot(page, "add-host-trust-password")
        submit(page)
        wait_text(page, "Added web-password:", ".flash", timeout=60)
        host = live.services.hosts.get(live.services.hosts.host_id_by_name("web-password")).host
        assert host.status is model.HostStatus.READY
    finally:
        lxc("config", "unset", "core.trust_password")
