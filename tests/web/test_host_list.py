"""The host list: meters with their numbers, over-commit as "N × ratio", filters, sort, paging,
hosts that are not ready with their next step, and the phone layout."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Live
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select
from webtools import all_css, css, login, no_horizontal_scroll, shot, text, wait_url

from vmhost import model
from vmhost.drivers import base, fake


def inventory(cores: int, memory_gib: int) -> dict[str, Any]:
    return {
        "cores": cores,
        "memory_mib": memory_gib * 1024,
        "storage_pools": [
            {"name": "default", "type": "dir", "path": "/srv", "total_bytes": 400 * 10**9}
        ],
        "networks": [{"name": "br0", "kind": "bridge"}],
    }


@pytest.fixture(scope="module")
def hosts(live: Live) -> dict[str, int]:
    svc = live.services
    svc.zones.create("list-z1")
    ids = {}
    for i, (name, zone, tags, ratio) in enumerate(
        [
            ("list-alpha", "list-z1", ("gpu",), 2.0),
            ("list-beta", "list-z1", (), 1.0),
            ("list-gamma", "default", ("gpu", "ssd"), 1.0),
        ]
    ):
        address = f"fake://small/list-{i}"
        conn = base.HostConnection(
            type=model.HostType.FAKE, address=address, options={"inventory": inventory(8, 32)}
        )
        fake.add_vm_behind_our_back(
            conn, model.DiscoveredVm(f"list-found-{i}", cores=2, memory_mib=4096)
        )
        detail = svc.hosts.add(
            model.HostSettings(
                name=name,
                type=model.HostType.FAKE,
                address=address,
                zone=zone,
                tags=tags,
                cpu_over_commit_ratio=ratio,
            ),
            options={"inventory": inventory(8, 32)},
        )
        ids[name] = detail.view.id
    svc.vms.compose(model.ComposeRequest(cores=4, memory_mib=8192, host_id=ids["list-alpha"]))
    # a host that stops answering: its status says so, with the next step
    fake.hypervisor_for(
        base.HostConnection(type=model.HostType.FAKE, address="fake://small/list-2")
    ).inject("discover", "unreachable: connection refused by 10.9.9.9:8443")
    svc.hosts.refresh(ids["list-gamma"], raise_errors=False)
    return ids


def row(browser: WebDriver, name: str) -> Any:
    return css(browser, f'tr[data-host="{name}"]')


def test_meters_show_allocated_other_free_with_numbers(
    page: WebDriver, live: Live, hosts: dict[str, int]
) -> None:
    login(page, live.url, live.admin_token, "/?q=list-")
    alpha = row(page, "list-alpha")
    cpu = css(alpha, "td[data-label='CPU cores'] .meter")
    # 8 cores x 2.0 = 16; 4 composed here + 2 found on the host
    assert css(cpu, ".meter-value").text == "6 of 16 cores"
    assert css(cpu, ".meter-detail").text == "8 × 2.0"
    words = cpu.get_attribute("title")
    assert "4 allocated" in words and "2 other" in words and "10 free" in words
    assert len(all_css(cpu, ".seg-allocated")) == 1 and len(all_css(cpu, ".seg-other")) == 1
    ram = css(alpha, "td[data-label='RAM'] .meter-value").text
    assert ram == "12 GiB of 32 GiB"
    assert css(row(page, "list-beta"), "td[data-label='CPU cores'] .meter-value").text == (
        "2 of 8 cores"
    )
    assert "1 ours, 1 other" in css(alpha, "td[data-label='VMs']").text
    shot(page, "host-list")


def test_a_host_that_is_not_ready_says_so_with_the_next_step(
    page: WebDriver, live: Live, hosts: dict[str, int]
) -> None:
    login(page, live.url, live.readonly_token, "/?q=list-gamma")
    status = css(row(page, "list-gamma"), "td[data-label='Status']").text
    assert "Unreachable" in status
    assert "vmhost cannot reach fake://small/list-2" in status
    assert "then refresh" in status


def test_filters_sort_and_paging(page: WebDriver, live: Live, hosts: dict[str, int]) -> None:
    login(page, live.url, live.admin_token, "/?q=list-")
    Select(css(page, "#filter-zone")).select_by_value("list-z1")  # applies at once
    wait_url(page, "zone=list-z1")
    names = [r.get_attribute("data-host") for r in all_css(page, "tbody tr")]
    assert names == ["list-alpha", "list-beta"]
    Select(css(page, "#filter-tag")).select_by_value("gpu")
    wait_url(page, "tag=gpu")
    assert [r.get_attribute("data-host") for r in all_css(page, "tbody tr")] == ["list-alpha"]

    page.get(f"{live.url}/?q=list-&sort=free-cores&order=desc")
    names = [r.get_attribute("data-host") for r in all_css(page, "tbody tr")]
    assert names[:2] == ["list-alpha", "list-beta"]  # 10 free, then 6 (beta and gamma, by name)

    page.get(f"{live.url}/?q=list-&per_page=2")
    assert len(all_css(page, "tbody tr")) == 2
    assert "Showing 1–2 of 3" in css(page, ".pager").text
    css(page, "a[rel=next]").click()
    wait_url(page, "page=2")
    assert [r.get_attribute("data-host") for r in all_css(page, "tbody tr")] == ["list-gamma"]
    assert "Page 2 of 2" in text(page)

    page.get(f"{live.url}/?status=bogus&sort=nonsense")  # never an error page
    assert "Unknown status 'bogus' ignored." in text(page)


def test_phone_width_stacks_the_table(page: WebDriver, live: Live, hosts: dict[str, int]) -> None:
    login(page, live.url, live.admin_token, "/?q=list-")
    page.set_window_size(390, 900)
    no_horizontal_scroll(page)
    label = page.execute_script(
        "return getComputedStyle(document.querySelector('td[data-label=RAM]'), '::before').content"
    )
    assert "RAM" in label  # each cell names its column
    shot(page, "host-list-390", width=390)


def test_keyboard_reaches_the_filters_and_the_hosts(
    page: WebDriver, live: Live, hosts: dict[str, int]
) -> None:
    from selenium.webdriver.common.keys import Keys

    login(page, live.url, live.admin_token, "/?q=list-alpha")
    body = css(page, "body")
    body.send_keys(Keys.TAB)
    assert page.switch_to.active_element.text == "Skip to content"
    seen = []
    for _ in range(40):
        page.switch_to.active_element.send_keys(Keys.TAB)
        element = page.switch_to.active_element
        seen.append(element.get_attribute("id") or element.text)
        if "list-alpha" in seen:
            break
    assert "q" in seen and "filter-zone" in seen and "list-alpha" in seen


def test_a_fleet_is_paged_fifty_at_a_time(page: WebDriver, live: Live) -> None:
    svc = live.services
    svc.zones.create("fleet-az1")
    svc.pools.create("fleet-prod")
    for i in range(60):
        cores = (16, 32, 64)[i % 3]
        inv = inventory(cores, cores * 4)
        address = f"fake://small/fleet-{i}"
        conn = base.HostConnection(
            type=model.HostType.FAKE, address=address, options={"inventory": inv}
        )
        for j in range(i % 4):
            fake.add_vm_behind_our_back(
                conn, model.DiscoveredVm(f"fleet-{i}-found-{j}", cores=2, memory_mib=8192)
            )
        detail = svc.hosts.add(
            model.HostSettings(
                name=f"fleet-{i:02d}",
                type=model.HostType.FAKE,
                address=address,
                zone="fleet-az1" if i % 2 else "default",
                pool="fleet-prod" if i % 3 else "default",
                tags=("ssd",) if i % 5 == 0 else (),
                cpu_over_commit_ratio=(1.0, 2.0, 4.0)[i % 3],
                memory_over_commit_ratio=(1.0, 1.5)[i % 2],
            ),
            options={"inventory": inv},
        )
        for _ in range(i % 5):
            svc.vms.compose(model.ComposeRequest(cores=2, memory_mib=8192, host_id=detail.view.id))
    login(page, live.url, live.admin_token, "/?q=fleet-")
    assert len(all_css(page, "tbody tr")) == 50
    assert "Showing 1–50 of 60" in css(page, ".pager").text
    shot(page, "host-list-fleet", height=1000)
    css(page, "a[rel=next]").click()
    wait_url(page, "page=2")
    assert [r.get_attribute("data-host") for r in all_css(page, "tbody tr")] == [
        f"fleet-{i}" for i in range(50, 60)
    ]
