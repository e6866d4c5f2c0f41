"""Composing from the form: the host's free resources beside the fields, the live preview of
where the VM would go (or why no host can take it), the compose followed without a reload, the
VM then in the host's list and on its NUMA view; bad input inline with nothing composed."""

from __future__ import annotations

import pytest
from conftest import Live
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select
from webtools import all_css, css, login, shot, text, wait_text

from vmhost import model


@pytest.fixture(scope="module")
def host(live: Live) -> int:
    live.services.zones.create("cmp-zone")
    detail = live.services.hosts.add(
        model.HostSettings(
            name="cmp-numa", type=model.HostType.FAKE, address="fake://numa/cmp", zone="cmp-zone"
        )
    )
    return detail.view.id


def typed(page: WebDriver, selector: str, value: str) -> None:
    element = css(page, selector)
    element.clear()
    element.send_keys(value)


def test_compose_on_a_host_with_preview_and_progress(
    page: WebDriver, live: Live, host: int
) -> None:
    login(page, live.url, live.admin_token, f"/hosts/{host}/compose")
    assert "16 free to compose on cmp-numa" in text(page)
    typed(page, "#f-hostname", "cmp-db")
    typed(page, "#f-cores", "4")
    typed(page, "#f-memory_mib", "8192")
    css(page, "input[name=pinning][value=pin]").click()
    sizes = all_css(page, "input[name=disk_size]")
    sizes[1].send_keys("20")
    Select(all_css(page, "select[name=disk_pool]")[1]).select_by_value("fast")
    Select(all_css(page, "select[name=nic_network]")[0]).select_by_value("br-db")
    wait_text(page, "It would go to cmp-numa", "#compose-preview")
    shot(page, "compose-host")
    css(page, "#compose-form button[type=submit]").click()
    result = wait_text(page, "Composed cmp-db on cmp-numa", "#compose-result", timeout=30)
    assert "4 cores, 8 GiB, 2 disks" in result
    vm = next(v for v in live.services.vms.list(host_id=host) if v.name == "cmp-db")
    assert len(vm.pinned_cores) == 4 and vm.disks[1].pool == "fast"
    css(page, "#compose-result a[href$='/vms']").click()
    row = wait_text(page, "cmp-db", 'tr[data-vm="cmp-db"]')
    assert "4 pinned" in row and "disk1 20 GB (fast)" in row and "br-db" in row
    page.get(f"{live.url}/hosts/{host}/resources?vms=1")
    node = css(page, f'.node[data-node="{vm.numa_node}"]')
    assert "cmp-db" in css(node, ".node-vms").text
    pinned = [
        c for c in all_css(node, ".core-allocated") if c.get_attribute("data-vm") == "cmp-db"
    ]
    assert len(pinned) == 4
    shot(page, "compose-numa-view")


def test_compose_anywhere_previews_why_no_host_fits(
    page: WebDriver, live: Live, host: int
) -> None:
    login(page, live.url, live.admin_token, "/compose")
    typed(page, "#f-cores", "2")
    Select(css(page, "#f-zone")).select_by_value("cmp-zone")
    wait_text(page, "It would go to cmp-numa", "#compose-preview")
    typed(page, "#f-memory_mib", "999999")
    preview = wait_text(page, "No VM host can take it", "#compose-preview")
    assert "lack" in preview and "memory" in preview
    assert "not in zone 'cmp-zone'" in preview or "cmp-zone" in preview
    shot(page, "compose-anywhere-no-host")
    count = len(live.services.vms.list())
    css(page, "#compose-form button[type=submit]").click()
    failure = wait_text(page, "No VM host can take this request", "#compose-result", timeout=30)
    assert "lack" in failure
    assert len(live.services.vms.list()) == count  # nothing composed, nothing claimed


def test_compose_bad_input_is_inline(page: WebDriver, live: Live, host: int) -> None:
    live.services.vms.compose(
        model.ComposeRequest(cores=1, memory_mib=512, host_id=host, hostname="cmp-taken")
    )
    count = len(live.services.vms.list())
    login(page, live.url, live.admin_token, f"/hosts/{host}/compose")
    typed(page, "#f-hostname", "cmp-taken")
    wait_text(page, "already exists", "#hostname-error")
    typed(page, "#f-hostname", "Bad_Name")
    wait_text(page, "is not a valid hostname", "#hostname-error")
    typed(page, "#f-hostname", "cmp-ok")
    typed(page, "#f-memory_mib", "512")  # the API's minimum holds here too
    wait_text(page, "Memory must be at least 1,024", "#memory_mib-error")
    typed(page, "#f-memory_mib", "1024")
    css(page, "input[name=pinning][value=cores]").click()
    typed(page, "#f-pinned_cores", "1,1,2")
    wait_text(page, "Duplicate core indices", "#pinned_cores-error")
    typed(page, "#f-pinned_cores", "0-x")
    css(page, "#compose-form button[type=submit]").click()
    wait_text(page, "must follow the format", "#pinned_cores-error")
    assert css(page, "#f-pinned_cores").get_attribute("value") == "0-x"
    assert len(live.services.vms.list()) == count
