"""A live vmhost server on 127.0.0.1 and a headless Chromium driven by Selenium."""

from __future__ import annotations

import dataclasses
import shutil
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from vmhost.api.app import create_app
from vmhost.drivers import fake
from vmhost.service import Services, Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclasses.dataclass(frozen=True)
class Live:
    """The running server: its URL, its services (to arrange and check state) and tokens."""

    url: str
    services: Services
    data_dir: str
    admin_token: str
    readonly_token: str


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A vmhost server with SQLite, the real driver registry (fake, LXD, libvirt hosts)."""
    fake.reset()
    data_dir = str(tmp_path_factory.mktemp("web"))
    services = Services.create(Settings(data_dir=data_dir))
    _, admin = services.tokens.create("web-admin", "admin")
    _, readonly = services.tokens.create("web-viewer", "readonly")
    port = _free_port()
    config = uvicorn.Config(create_app(services), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield Live(f"http://127.0.0.1:{port}", services, data_dir, admin, readonly)
    srv.should_exit = True
    thread.join(timeout=10)
    services.close()


@pytest.fixture(scope="session")
def server(live: Live) -> str:
    """The URL of the live server."""
    return live.url


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Chromium (Debian's chromium + chromium-driver)."""
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
        "--hide-scrollbars",
        "--window-size=1280,900",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(chromedriver))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture()
def page(browser: object, live: Live) -> Iterator[object]:
    """The browser at 1280 px with no session (each test logs in as it needs)."""
    browser.set_window_size(1280, 900)  # type: ignore[attr-defined]
    browser.get(f"{live.url}/login")  # type: ignore[attr-defined]
    browser.delete_all_cookies()  # type: ignore[attr-defined]
    yield browser
