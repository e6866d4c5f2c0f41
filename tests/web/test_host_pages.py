"""A host's tabs: VMs with their actions, the NUMA view mapping VMs onto nodes, the storage
table; and decompose with its confirmation, followed without a page reload."""

from __future__ import annotations

import pytest
from conftest import Live
from selenium.webdriver.remote.webdriver import WebDriver
from webtools import all_css, css, login, no_horizontal_scroll, shot, text, wait_text, wait_url

from vmhost import model
from vmhost.drivers import base, fake
from vmhost.web import format as fmt


@pytest.fixture(scope="module")
def host(live: Live) -> int:
    svc = live.services
    address = "fake://numa/pages"
    conn = base.HostConnection(type=model.HostType.FAKE, address=address)
    fake.add_vm_behind_our_back(
        conn,
        model.DiscoveredVm(
            "pages-legacy",
            cores=4,
            memory_mib=8192,
            pinned_cores=(12, 13, 14, 15),
            numa_node=1,
            disks=(model.DiscoveredDisk("root", 50 * 10**9, "default"),),
            power_state="running",
        ),
    )
    detail = svc.hosts.add(
        model.HostSettings(name="pages-numa", type=model.HostType.FAKE, address=address)
    )
    host_id = detail.view.id
    svc.vms.compose(
        model.ComposeRequest(
            cores=2, memory_mib=4096, host_id=host_id, pin_cores=True, hostname="pages-db"
        )
    )
    svc.vms.compose(
        model.ComposeRequest(
            cores=2,
            memory_mib=2048,
            host_id=host_id,
            hostname="pages-web",
            disks=(model.DiskRequest(20 * 10**9), model.DiskRequest(100 * 10**9, pool="fast")),
        )
    )
    return host_id


def test_vms_tab_lists_vms_with_their_resources(page: WebDriver, live: Live, host: int) -> None:
    login(page, live.url, live.admin_token, f"/hosts/{host}/vms")
    pinned = next(v for v in live.services.vms.list(host_id=host) if v.name == "pages-db")
    db = css(page, 'tr[data-vm="pages-db"]')
    first, last = pinned.pinned_cores
    assert f"2 pinned: {first}-{last}" in db.text and f"NUMA {pinned.numa_node}" in db.text
    web = css(page, 'tr[data-vm="pages-web"]').text
    assert "root 20 GB (default)" in web and "disk1 100 GB (fast)" in web
    legacy = css(page, 'tr[data-vm="pages-legacy"]').text
    assert "found on the host" in legacy and "4 pinned: 12-15" in legacy
    assert "3 (2 composed by vmhost, 1 found on the host)" in text(page)
    assert css(page, 'tr[data-vm="pages-db"] button[value=stop]').is_displayed()
    shot(page, "host-vms")


def test_stop_and_start_a_vm(page: WebDriver, live: Live, host: int) -> None:
    login(page, live.url, live.admin_token, f"/hosts/{host}/vms")
    css(page, 'tr[data-vm="pages-web"] button[value=stop]').click()
    wait_text(page, "stopped", 'tr[data-vm="pages-web"] td[data-label=Power]')
    css(page, 'tr[data-vm="pages-web"] button[value=start]').click()
    wait_text(page, "running", 'tr[data-vm="pages-web"] td[data-label=Power]')


def test_numa_view_maps_vms_onto_their_nodes(page: WebDriver, live: Live, host: int) -> None:
    login(page, live.url, live.admin_token, f"/hosts/{host}/resources")
    db = next(v for v in live.services.vms.list(host_id=host) if v.name == "pages-db")
    node_db = css(page, f'.node[data-node="{db.numa_node}"]')
    core = css(node_db, f'.core[aria-label^="core {db.pinned_cores[0]}:"]')
    assert "core-allocated" in core.get_attribute("class")
    assert core.get_attribute("title") == f"core {db.pinned_cores[0]}: pinned by pages-db"
    node1 = css(page, '.node[data-node="1"]')
    legacy_core = css(node1, '.core[aria-label^="core 12:"]')
    assert "core-other" in legacy_core.get_attribute("class")
    ours = 2 if db.numa_node == 1 else 0
    assert f"{ours} ours, 4 other, {4 - ours} free" in node1.text
    assert "Hugepages 2 MiB" in node1.text and "SR-IOV enp5s0f0" in node1.text
    assert "8 VFs: 0 ours, 0 other, 8 free" in node1.text
    assert not css(node_db, ".node-vms").is_displayed()
    css(page, "#numa-vms").click()  # map the VMs onto their nodes
    assert css(node_db, ".node-vms").is_displayed()
    assert "pages-db" in css(node_db, ".node-vms").text
    assert "pages-legacy" in css(node1, ".node-vms").text
    assert "pages-web" in text(page)  # floating: named under the nodes
    css(node_db, '[data-highlight="pages-db"]').click()
    assert len(all_css(node_db, ".core.hl")) == 2
    shot(page, "host-resources")
    page.refresh()  # the choice is remembered for this host
    assert css(page, "#numa").get_attribute("class").count("show-vms") == 1


def test_storage_tab_shows_the_pool_table(page: WebDriver, live: Live, host: int) -> None:
    login(page, live.url, live.admin_token, f"/hosts/{host}/storage")
    default = css(page, 'tr[data-pool="default"]')
    cells = {c.get_attribute("data-label"): c.text for c in all_css(default, "td")}
    assert "default" in cells["Name"] and cells["Type"] == "dir"
    assert cells["Total"] == "500 GB"
    assert cells["Used by VMs"] == "78 GB"  # 8 + 20 composed here, 50 found on the host
    assert "default" in css(default, ".default-mark").text
    use = css(default, ".meter").get_attribute("title")
    assert "ours" in use and "50 GB other VMs" in use
    fast = css(page, 'tr[data-pool="fast"]').text
    assert "zfs" in fast and "100 GB" in fast
    shot(page, "host-storage")


def test_storage_bars_split_ours_other_vms_and_outside_use(page: WebDriver, live: Live) -> None:
    svc = live.services
    inventory = {
        "cores": 4,
        "memory_mib": 16384,
        "storage_pools": [
            {
                "name": "disk",
                "type": "lvm",
                "path": "vg0",
                "total_bytes": 1000 * 10**9,
                "used_bytes": 300 * 10**9,
            }
        ],
        "networks": [{"name": "br0", "kind": "bridge"}],
    }
    address = "fake://small/pages-disk"
    detail = svc.hosts.add(
        model.HostSettings(name="pages-disk", type=model.HostType.FAKE, address=address),
        options={"inventory": inventory},
    )
    host_id = detail.view.id
    fake.add_vm_behind_our_back(  # 100 GB of the 300 GB used on the host is another VM's disk
        base.HostConnection(type=model.HostType.FAKE, address=address),
        model.DiscoveredVm(
            "disk-legacy",
            cores=1,
            memory_mib=1024,
            disks=(model.DiscoveredDisk("root", 100 * 10**9, "disk"),),
        ),
    )
    svc.hosts.refresh(host_id)
    svc.vms.compose(model.ComposeRequest(cores=1, memory_mib=1024, host_id=host_id))
    pool = next(p for p in svc.hosts.get(host_id).view.pools if p.name == "disk")
    assert pool.external_bytes == 200 * 10**9  # 300 GB used on the host, 100 GB a VM disk
    login(page, live.url, live.readonly_token, f"/hosts/{host_id}/storage")
    row = css(page, 'tr[data-pool="disk"]')
    cells = {c.get_attribute("data-label"): c.text for c in all_css(row, "td")}
    assert cells["Outside use"] == fmt.size(pool.external_bytes)
    words = css(row, ".meter").get_attribute("title")
    assert "8 GB ours" in words and "100 GB other VMs" in words
    assert f"{fmt.size(pool.external_bytes)} outside use" in words and "ours" in words
    kinds = [s.get_attribute("class") for s in all_css(row, ".meter .seg")]
    assert any("external" in k for k in kinds), kinds
    shot(page, "host-storage-outside-use")


def test_decompose_asks_then_follows_the_operation(page: WebDriver, live: Live, host: int) -> None:
    login(page, live.url, live.admin_token, f"/hosts/{host}/vms")
    css(page, 'tr[data-vm="pages-web"] a[href$="/decompose"]').click()
    wait_text(page, "Delete VM pages-web?", "h1")
    assert "disk1 (100 GB on fast)" in text(page)
    shot(page, "vm-decompose")
    css(page, "button.btn-danger").click()
    wait_url(page, f"/hosts/{host}/vms")
    wait_text(page, "Virtual machines (2)", "#vms-h")
    assert not all_css(page, 'tr[data-vm="pages-web"]')
    names = [vm.name for vm in live.services.vms.list(host_id=host)]
    assert "pages-web" not in names


@pytest.mark.parametrize("tab", ["vms", "resources", "storage", "settings", "compose"])
def test_host_pages_fit_a_phone(page: WebDriver, live: Live, host: int, tab: str) -> None:
    login(page, live.url, live.admin_token, f"/hosts/{host}/{tab}")
    page.set_window_size(390, 900)
    no_horizontal_scroll(page)
    shot(page, f"host-{tab}-390", width=390)


@pytest.mark.parametrize(
    "path", ["/hosts/999999/vms", "/hosts/abc/settings", "/vms/999999/decompose"]
)
def test_unknown_ids_answer_a_page_not_a_traceback(page: WebDriver, live: Live, path: str) -> None:
    login(page, live.url, live.readonly_token, "/")
    page.get(f"{live.url}{path}")
    assert css(page, "h1").text == "Not found"
    assert "does not exist" in css(page, ".lead").text
    assert css(page, ".mainnav")  # the menu is still there
    assert "Traceback" not in text(page)
