"""Zones, resource pools and spaces: list with what uses them, create, rename, delete; a
duplicate name inline; one that still holds hosts cannot be deleted, and says why."""

from __future__ import annotations

from conftest import Live
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select
from webtools import css, login, shot, wait_text

from vmhost import model


def test_zones_create_rename_delete(page: WebDriver, live: Live) -> None:
    live.services.zones.create("cat-busy")
    live.services.hosts.add(
        model.HostSettings(
            name="cat-host", type=model.HostType.FAKE, address="fake://small/cat", zone="cat-busy"
        )
    )
    login(page, live.url, live.admin_token, "/zones")
    busy = css(page, 'tr[data-name="cat-busy"]')
    assert "cat-host" in busy.text and "move them first" in busy.text
    assert not css(busy, "button[aria-label='Delete cat-busy']").is_enabled()
    css(page, "#f-name").send_keys("cat-new")
    css(page, "#f-description").send_keys("second rack")
    css(page, "form[action='/zones'] button[type=submit]").click()
    wait_text(page, "Created the zone cat-new.", ".flash")
    css(page, "#f-name").send_keys("cat-new")
    css(page, "form[action='/zones'] button[type=submit]").click()
    assert "already exists" in wait_text(page, "already exists", "#name-error")
    assert css(page, "#f-name").get_attribute("value") == "cat-new"
    row = css(page, 'tr[data-name="cat-new"]')
    css(row, "summary").click()
    rename = css(row, "input[name=name]")
    rename.clear()
    rename.send_keys("cat-renamed")
    css(row, ".inline-edit button").click()
    wait_text(page, "Saved the zone cat-renamed.", ".flash")
    shot(page, "zones")
    css(page, "button[aria-label='Delete cat-renamed']").click()
    wait_text(page, "Deleted the zone cat-renamed.", ".flash")
    assert not page.find_elements("css selector", 'tr[data-name="cat-renamed"]')
    assert "cat-busy" in [z["name"] for z in live.services.zones.list()]


def test_pools_page(page: WebDriver, live: Live) -> None:
    login(page, live.url, live.admin_token, "/pools")
    assert "Resource pools" in css(page, "h1").text
    assert "default" in css(page, 'tr[data-name="default"]').text


def test_spaces_map_and_unmap(page: WebDriver, live: Live) -> None:
    detail = live.services.hosts.add(
        model.HostSettings(name="cat-numa", type=model.HostType.FAKE, address="fake://numa/cat")
    )
    login(page, live.url, live.admin_token, "/spaces")
    css(page, "#f-space").send_keys("cat-db")
    css(page, "#f-network").send_keys("nosuchbridge")
    Select(css(page, "#f-host")).select_by_visible_text("cat-numa")
    css(page, "form[action='/spaces'] button[type=submit]").click()
    assert "has no network" in wait_text(page, "has no network", "#network-error")
    network = css(page, "#f-network")
    network.clear()
    network.send_keys("br-db")
    css(page, "form[action='/spaces'] button[type=submit]").click()
    wait_text(page, "Space cat-db now means br-db.", ".flash")
    row = css(page, 'tr[data-space="cat-db"]')
    assert "cat-numa" in row.text
    shot(page, "spaces")
    assert any(m["space"] == "cat-db" for m in live.services.spaces.list())
    css(row, "button").click()
    wait_text(page, "Removed br-db from space cat-db.", ".flash")
    assert detail.view.id and not any(m["space"] == "cat-db" for m in live.services.spaces.list())
