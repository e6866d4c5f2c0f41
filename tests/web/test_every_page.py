"""Every page, at 1280 px and at 390 px: it fits the window, every control has a label (or an
accessible name), every button says what it does, colours are never the only cue (each bar
carries its numbers), the keyboard reaches every form control in order; a screenshot of each.
"""

from __future__ import annotations

import pytest
from conftest import Live
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from webtools import all_css, css, login, no_horizontal_scroll, shot, text

from vmhost import model
from vmhost.drivers import base, fake


@pytest.fixture(scope="module")
def ids(live: Live) -> dict[str, int]:
    svc = live.services
    address = "fake://numa/every"
    fake.add_vm_behind_our_back(
        base.HostConnection(type=model.HostType.FAKE, address=address),
        model.DiscoveredVm("every-legacy", cores=2, memory_mib=2048, power_state="running"),
    )
    detail = svc.hosts.add(
        model.HostSettings(name="every-numa", type=model.HostType.FAKE, address=address)
    )
    host_id = detail.view.id
    vm = svc.vms.compose(
        model.ComposeRequest(cores=2, memory_mib=2048, host_id=host_id, hostname="every-vm")
    )
    return {"host": host_id, "vm": vm.vm.id}


PAGES = {
    "host-list": "/",
    "add-host-lxd": "/hosts/add?type=lxd",
    "add-host-libvirt": "/hosts/add?type=libvirt",
    "compose-anywhere": "/compose",
    "zones": "/zones",
    "pools": "/pools",
    "spaces": "/spaces",
    "host-vms": "/hosts/{host}/vms",
    "host-resources": "/hosts/{host}/resources?vms=1",
    "host-storage": "/hosts/{host}/storage",
    "host-settings": "/hosts/{host}/settings",
    "host-compose": "/hosts/{host}/compose",
    "host-delete": "/hosts/{host}/delete",
    "vm-decompose": "/vms/{vm}/decompose",
    "not-found": "/hosts/999999/vms",
}

NAMELESS_CONTROLS = """
return Array.from(document.querySelectorAll('input, select, textarea, button'))
  .filter(e => e.type !== 'hidden' && e.offsetParent !== null)
  .filter(e => {
    if (e.getAttribute('aria-label') || e.getAttribute('aria-labelledby')) return false;
    if (e.tagName === 'BUTTON') return !e.textContent.trim();
    if (e.labels && e.labels.length && Array.from(e.labels).some(l => l.textContent.trim()))
      return false;
    return true;
  })
  .map(e => e.outerHTML.slice(0, 120));
"""


def check_page(page: WebDriver) -> None:
    assert "Traceback" not in text(page)
    assert css(page, "h1").text
    assert page.execute_script(NAMELESS_CONTROLS) == []
    for bar in all_css(page, ".meter .bar"):  # each bar says its numbers in words
        words = bar.get_attribute("aria-label") or ""
        assert any(ch.isdigit() for ch in words), words


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_at_1280_and_390(
    page: WebDriver, live: Live, ids: dict[str, int], name: str
) -> None:
    login(page, live.url, live.admin_token, "/")
    page.get(live.url + PAGES[name].format(**ids))
    check_page(page)
    no_horizontal_scroll(page)
    shot(page, f"page-{name}")
    page.set_window_size(390, 900)
    check_page(page)
    no_horizontal_scroll(page)
    shot(page, f"page-{name}-390", width=390)


def test_login_page_at_both_widths(page: WebDriver, live: Live) -> None:
    page.get(f"{live.url}/login")
    check_page(page)
    page.set_window_size(390, 900)
    no_horizontal_scroll(page)
    check_page(page)
    shot(page, "page-login-390", width=390)


KEY = """
function key(e) {
  if (!e || e === document.body) return '';
  if (e.type === 'radio') return 'radio:' + e.name;  // a radio group is one stop
  return e.id || e.name || (e.tagName + ':' + e.textContent.trim());
}
"""

FOCUSABLE = (
    KEY
    + """
const controls = document.querySelectorAll(
  'main input, main select, main textarea, main button');
return [...new Set(Array.from(controls)
  .filter(e => e.type !== 'hidden' && !e.disabled && e.offsetParent !== null && e.tabIndex >= 0)
  .filter(e => !e.closest('details:not([open])'))  // shown by its summary, which Tab reaches
  .map(key))];
"""
)

ACTIVE = KEY + "return key(document.activeElement);"


@pytest.mark.parametrize(
    "path", ["/hosts/add?type=lxd", "/compose", "/hosts/{host}/settings", "/zones"]
)
def test_keyboard_reaches_every_control_of_a_form(
    page: WebDriver, live: Live, ids: dict[str, int], path: str
) -> None:
    login(page, live.url, live.admin_token, "/")
    page.get(live.url + path.format(**ids))
    wanted = page.execute_script(FOCUSABLE)
    assert wanted
    css(page, "body").send_keys(Keys.TAB)
    assert page.switch_to.active_element.text == "Skip to content"
    seen: list[str] = []
    for _ in range(len(wanted) + 60):  # the menu's links come first
        page.switch_to.active_element.send_keys(Keys.TAB)
        current = page.execute_script(ACTIVE)
        if not current or current == "A:Skip to content":  # past the end of the page
            break
        seen.append(current)
    missing = [w for w in wanted if w not in seen]
    assert missing == [], f"never reached by Tab: {missing}"
    order = [seen.index(w) for w in wanted]  # each control's first stop
    assert order == sorted(order), "the tab order does not follow the page"
