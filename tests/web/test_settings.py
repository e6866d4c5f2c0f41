"""Host settings: the over-commit sliders and their number inputs in step, the live preview,
saving changes the host list, bad ratios refused inline with nothing saved."""

from __future__ import annotations

import pytest
from conftest import Live
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from webtools import css, login, shot, text, wait_text, wait_url

from vmhost import model


@pytest.fixture(scope="module")
def host(live: Live) -> int:
    inventory = {
        "cores": 8,
        "memory_mib": 128 * 1024,
        "storage_pools": [
            {"name": "default", "type": "dir", "path": "/srv", "total_bytes": 500 * 10**9}
        ],
        "networks": [{"name": "br0", "kind": "bridge"}],
    }
    svc = live.services
    detail = svc.hosts.add(
        model.HostSettings(name="set-eight", type=model.HostType.FAKE, address="fake://small/set"),
        options={"inventory": inventory},
    )
    host_id = detail.view.id
    # 3 VMs using 10 cores, composed at 2.0: at 1.0 the host is over-committed by 2
    svc.hosts.update(host_id, model.HostChanges(cpu_over_commit_ratio=2.0))
    for cores in (4, 4, 2):
        svc.vms.compose(model.ComposeRequest(cores=cores, memory_mib=4096, host_id=host_id))
    svc.hosts.update(host_id, model.HostChanges(cpu_over_commit_ratio=1.0))
    return host_id


def ratio(live: Live, host_id: int) -> float:
    return float(live.services.hosts.get(host_id).host.cpu_over_commit_ratio)


def test_slider_moves_the_number_and_the_preview_then_save(
    page: WebDriver, live: Live, host: int
) -> None:
    login(page, live.url, live.admin_token, f"/hosts/{host}/settings")
    preview = css(page, "[data-preview=cores]")
    assert "8 physical cores × 1.0 = 8 virtual cores" in preview.text
    assert "3 VMs use 10 cores: at 1.0 this host would be over-committed by 2" in preview.text
    slider = css(page, "#r-cpu_over_commit_ratio")
    slider.click()  # the middle of the track: 5.0
    for _ in range(60):
        slider.send_keys(Keys.ARROW_LEFT)  # down to 0
    for _ in range(15):
        slider.send_keys(Keys.ARROW_RIGHT)  # 15 steps of 0.1
    number = css(page, "#f-cpu_over_commit_ratio")
    assert number.get_attribute("value") == "1.5"
    wait_text(page, "8 physical cores × 1.5 = 12 virtual cores", "[data-preview=cores]")
    wait_text(page, "3 VMs use 10 cores: 2 cores free to compose", "[data-preview=cores]")
    shot(page, "host-settings")
    css(page, "#settings-form button[type=submit]").click()
    wait_text(page, "Saved the settings of set-eight", ".flash")
    assert ratio(live, host) == 1.5
    page.get(f"{live.url}/?q=set-eight")
    cpu = css(page, 'tr[data-host="set-eight"] td[data-label="CPU cores"]').text
    assert "10 of 12 cores" in cpu and "8 × 1.5" in cpu


def test_typed_number_moves_the_slider(page: WebDriver, live: Live, host: int) -> None:
    login(page, live.url, live.admin_token, f"/hosts/{host}/settings")
    number = css(page, "#f-memory_over_commit_ratio")
    number.clear()
    number.send_keys("5.5")
    assert css(page, "#r-memory_over_commit_ratio").get_attribute("value") == "5.5"
    wait_text(page, "128 GiB × 5.5 = 704 GiB", "[data-preview=memory]")


@pytest.mark.parametrize("typed", ["10.5", "abc", "-1"])
def test_bad_ratio_is_refused_inline_and_nothing_is_saved(
    page: WebDriver, live: Live, host: int, typed: str
) -> None:
    before = live.services.hosts.get(host).host
    login(page, live.url, live.admin_token, f"/hosts/{host}/settings")
    number = css(page, "#f-cpu_over_commit_ratio")
    number.clear()
    number.send_keys(typed)
    error = wait_text(
        page, "must be a number from 0 to 10", "[data-error-for=cpu_over_commit_ratio]"
    )
    assert repr(typed) in error  # the live check, before saving
    css(page, "#f-tags").send_keys(" newtag")
    css(page, "#settings-form button[type=submit]").click()
    wait_text(page, "must be a number from 0 to 10", "#cpu_over_commit_ratio-error")
    assert css(page, "#f-cpu_over_commit_ratio").get_attribute("value") == typed  # kept
    assert "newtag" in css(page, "#f-tags").get_attribute("value")
    assert css(page, "#f-cpu_over_commit_ratio").get_attribute("aria-invalid") == "true"
    after = live.services.hosts.get(host).host
    assert after.cpu_over_commit_ratio == before.cpu_over_commit_ratio
    assert after.tags == before.tags and after.generation == before.generation
    if typed == "10.5":
        shot(page, "host-settings-bad-ratio")


def test_duplicate_name_and_bad_reservation_are_refused_inline(
    page: WebDriver, live: Live, host: int
) -> None:
    live.services.hosts.add(
        model.HostSettings(name="set-other", type=model.HostType.FAKE, address="fake://small/o")
    )
    login(page, live.url, live.admin_token, f"/hosts/{host}/settings")
    name = css(page, "#f-name")
    name.clear()
    name.send_keys("set-other")
    css(page, "#settings-form button[type=submit]").click()
    wait_text(page, "already exists", "#name-error")
    assert css(page, "#f-name").get_attribute("value") == "set-other"
    reserved = css(page, "#f-reserved_cores")
    reserved.clear()
    reserved.send_keys("99")
    wait_text(page, "more than the host's 8", "#reserved_cores-error")
    assert live.services.hosts.get(host).host.name == "set-eight"
    assert "Saved" not in text(page)
    wait_url(page, f"/hosts/{host}/settings")
