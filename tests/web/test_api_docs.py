"""The API documentation renders in a browser that cannot reach anything but vmhost."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


@pytest.fixture(scope="module")
def offline_browser() -> Iterator[object]:
    """Headless Chromium in which every host name fails to resolve and every address but
    127.0.0.1 is routed to a closed port: a page that needs a CDN cannot get it."""
    chromium = shutil.which("chromium")
    chromedriver = shutil.which("chromedriver")
    if not chromium or not chromedriver:
        pytest.skip("chromium and chromium-driver are not installed (run scripts/setup-hosts)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--proxy-server=127.0.0.1:9",
        "--proxy-bypass-list=127.0.0.1",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(chromedriver))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _resources(browser) -> list[str]:  # type: ignore[no-untyped-def]
    return list(
        browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    )


def test_swagger_ui_renders_offline(server: str, offline_browser) -> None:  # type: ignore[no-untyped-def]
    browser = offline_browser
    browser.get(f"{server}/api/docs")
    wait = WebDriverWait(browser, 20)
    title = wait.until(lambda b: b.find_element(By.CSS_SELECTOR, ".swagger-ui .info .title"))
    assert "vmhost" in title.text
    operations = browser.find_elements(By.CSS_SELECTOR, ".opblock")
    assert len(operations) > 20
    assert any("/api/v1/vm-hosts" in op.text for op in operations)
    loaded = _resources(browser)
    assert loaded and all(url.startswith(server) for url in loaded), loaded


def test_redoc_address_leads_to_the_offline_docs(server: str, offline_browser) -> None:  # type: ignore[no-untyped-def]
    browser = offline_browser
    browser.get(f"{server}/api/redoc")
    WebDriverWait(browser, 20).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, ".swagger-ui .info .title")
    )
    assert browser.current_url == f"{server}/api/docs"
    loaded = _resources(browser)
    assert loaded and all(url.startswith(server) for url in loaded), loaded
