"""Helpers for the Chromium tests: log in, wait for text, save screenshots of every page.

Screenshots go to ``test-artefacts/web/<name>.png`` (git-ignored) at the window's width and the
page's full height; the best are copied by hand into ``docs/``.
"""

from __future__ import annotations

import pathlib
from typing import Any

from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

ARTEFACTS = pathlib.Path(__file__).resolve().parents[2] / "test-artefacts" / "web"
WAIT_S = 20


def login(browser: WebDriver, url: str, token: str, path: str = "/") -> None:
    """Log in through the form, then open ``path``."""
    browser.get(f"{url}/login?next={path}")
    field = browser.find_element(By.ID, "f-token")
    field.clear()
    field.send_keys(token)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(browser, WAIT_S).until(lambda b: "/login" not in b.current_url)
    browser.get(browser.current_url)  # again, without the "Logged in" message


def css(browser: WebDriver | WebElement, selector: str) -> WebElement:
    """The one element matching ``selector``."""
    return browser.find_element(By.CSS_SELECTOR, selector)


def all_css(browser: WebDriver | WebElement, selector: str) -> list[WebElement]:
    """Every element matching ``selector``."""
    return list(browser.find_elements(By.CSS_SELECTOR, selector))


def text(browser: WebDriver) -> str:
    """The page's visible text."""
    return str(browser.find_element(By.TAG_NAME, "body").text)


def wait_text(
    browser: WebDriver, needle: str, selector: str = "body", timeout: float = WAIT_S
) -> str:
    """Wait until ``selector``'s visible text contains ``needle``; return that text."""

    def seen(b: WebDriver) -> Any:
        try:
            found = [e.text for e in b.find_elements(By.CSS_SELECTOR, selector)]
        except WebDriverException:  # the page changed under us (stale node): look again
            return False
        return next((t for t in found if needle in t), False)

    result: str = WebDriverWait(browser, timeout).until(
        seen, f"{needle!r} never appeared in {selector}"
    )
    return result


def wait_url(browser: WebDriver, part: str, timeout: float = WAIT_S) -> None:
    """Wait until the URL contains ``part``."""
    WebDriverWait(browser, timeout).until(lambda b: part in b.current_url, f"never reached {part}")


def shot(browser: WebDriver, name: str, width: int = 1280, height: int = 0) -> pathlib.Path:
    """A PNG of what the browser shows, at ``width`` px: the whole page, or ``height`` px."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    browser.set_window_size(width, 900)
    full = int(browser.execute_script("return document.documentElement.scrollHeight"))
    browser.set_window_size(width, height or min(max(full, 600), 6000))
    browser.execute_script("window.scrollTo(0, 0)")
    path = ARTEFACTS / f"{name}.png"
    browser.save_screenshot(str(path))
    browser.set_window_size(width, 900)
    assert path.stat().st_size > 5000, f"screenshot {path} is empty"
    return path


def no_horizontal_scroll(browser: WebDriver) -> None:
    """The page fits its window's width (usable on a phone)."""
    overflow = browser.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, f"the page is {overflow} px wider than the window"
