"""What the server shows a browser (real headless Chromium)."""

from __future__ import annotations

import json

from selenium.webdriver.common.by import By


def test_health_in_chromium(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    browser.get(f"{server}/api/v1/health")
    body = json.loads(browser.find_element(By.TAG_NAME, "body").text)
    assert body["status"] == "ok"


def test_api_docs_page_is_served(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    browser.get(f"{server}/api/docs")
    assert "vmhost" in browser.title
    browser.get(f"{server}/api/openapi.json")
    spec = json.loads(browser.find_element(By.TAG_NAME, "body").text)
    assert spec["info"]["title"] == "vmhost"
    assert "/api/v1/health" in spec["paths"]
