"""A read-only token sees every page and no button that changes anything; a change forged
from its session is refused by the server, as is any form without its CSRF token."""

from __future__ import annotations

import pytest
from conftest import Live
from selenium.webdriver.remote.webdriver import WebDriver
from webtools import all_css, css, login, shot, text

from vmhost import model

WRITE_WORDS = ("Add VM host", "Compose", "Save changes", "Refresh", "Stop", "Delete", "Remove")


@pytest.fixture(scope="module")
def host(live: Live) -> int:
    svc = live.services
    detail = svc.hosts.add(
        model.HostSettings(name="ro-host", type=model.HostType.FAKE, address="fake://numa/ro")
    )
    svc.vms.compose(model.ComposeRequest(cores=1, memory_mib=1024, host_id=detail.view.id))
    return detail.view.id


def buttons(page: WebDriver) -> list[str]:
    found = all_css(page, "main button, main a.btn, main input[type=submit]")
    return [b.text for b in found if b.is_displayed() and b.is_enabled()]


@pytest.mark.parametrize("tab", ["vms", "resources", "storage", "settings"])
def test_readonly_sees_no_write_buttons(page: WebDriver, live: Live, host: int, tab: str) -> None:
    login(page, live.url, live.readonly_token, f"/hosts/{host}/{tab}")
    assert "ro-host" in css(page, "h1").text
    assert "Read-only token" in text(page)
    shown = buttons(page)
    assert not [b for b in shown if any(w in b for w in WRITE_WORDS)], shown
    if tab == "settings":
        assert all(
            not i.is_enabled()
            for i in all_css(page, "#settings-form input[name]:not([type=hidden])")
        )
        shot(page, "host-settings-readonly")


def test_readonly_host_list_has_no_add_or_compose(page: WebDriver, live: Live, host: int) -> None:
    login(page, live.url, live.readonly_token, "/")
    assert not [b for b in buttons(page) if "Add" in b or "Compose" in b]
    assert css(page, ".role").text == "read-only"


@pytest.mark.parametrize(
    "path", ["/compose", "/hosts/{host}/compose", "/hosts/add", "/zones", "/pools", "/spaces"]
)
def test_readonly_other_pages_have_no_write_buttons(
    page: WebDriver, live: Live, host: int, path: str
) -> None:
    login(page, live.url, live.readonly_token, path.format(host=host))
    shown = buttons(page)
    writes = ("Add", "Compose", "Create", "Map", "Rename", "Delete", "Remove", "Save")
    assert not [b for b in shown if any(w in b for w in writes)], shown


def _post(page: WebDriver, path: str, fields: dict[str, str], with_csrf: bool = True) -> int:
    """A POST from the page's own session (what a tampered page or a console could send)."""
    status: int = page.execute_async_script(
        """
        const [path, fields, withCsrf, done] = arguments;
        const body = new FormData();
        for (const [k, v] of Object.entries(fields)) body.set(k, v);
        const token = document.querySelector("meta[name=csrf-token]").content;
        if (withCsrf) body.set("csrf_token", token);
        fetch(path, {method: "POST", body, credentials: "same-origin"}).then(r => done(r.status));
        """,
        path,
        fields,
        with_csrf,
    )
    return status


def test_forged_post_from_a_readonly_session_is_refused(
    page: WebDriver, live: Live, host: int
) -> None:
    before = live.services.hosts.get(host).host
    vms_before = [vm.id for vm in live.services.vms.list(host_id=host)]
    login(page, live.url, live.readonly_token, f"/hosts/{host}/settings")
    fields = {"tags": "", "name": "ro-renamed", "address": before.address}
    fields.update(zone="default", pool="default", cpu_over_commit_ratio="9.0")
    fields.update(memory_over_commit_ratio="1.0", reserved_cores="0", reserved_memory_mib="0")
    assert _post(page, f"/hosts/{host}/settings", fields) == 403
    assert _post(page, f"/vms/{vms_before[0]}/decompose", {}) == 403
    assert _post(page, f"/hosts/{host}/delete", {"decompose": "1"}) == 403
    assert _post(page, f"/hosts/{host}/refresh", {}) == 403
    assert _post(page, "/compose", {"host_id": str(host), "cores": "1"}) == 403
    assert (
        _post(page, "/hosts/add", {"type": "fake", "name": "ro-x", "address": "fake://small"})
        == 403
    )
    assert _post(page, "/zones", {"name": "ro-zone"}) == 403
    assert _post(page, "/spaces", {"space": "ro", "network": "br0"}) == 403
    after = live.services.hosts.get(host).host
    assert after.name == "ro-host" and after.cpu_over_commit_ratio == 1.0
    assert after.generation == before.generation
    assert [vm.id for vm in live.services.vms.list(host_id=host)] == vms_before
    assert "ro-x" not in live.services.hosts.names().values()
    assert "ro-zone" not in [z["name"] for z in live.services.zones.list()]
    assert not [m for m in live.services.spaces.list() if m["space"] == "ro"]


def test_admin_post_without_csrf_is_refused(page: WebDriver, live: Live, host: int) -> None:
    login(page, live.url, live.admin_token, f"/hosts/{host}/vms")
    vms = [vm.id for vm in live.services.vms.list(host_id=host)]
    assert _post(page, f"/vms/{vms[0]}/decompose", {}, with_csrf=False) == 403
    assert _post(page, f"/vms/{vms[0]}/decompose", {"csrf_token": "wrong"}, False) == 403
    assert [vm.id for vm in live.services.vms.list(host_id=host)] == vms
    page.get(f"{live.url}/hosts/{host}/vms")
    assert "ro-host" in text(page)
