"""Logging in with a token, out, and what happens to sessions that are wrong or expired."""

from __future__ import annotations

import urllib.request

import pytest
from conftest import Live
from selenium.webdriver.remote.webdriver import WebDriver
from webtools import css, login, shot, text, wait_text, wait_url

from vmhost.web import session as web_session


def test_login_page_then_host_list(page: WebDriver, live: Live) -> None:
    page.get(f"{live.url}/")
    wait_url(page, "/login")  # no session: the login page, never a traceback
    assert css(page, "label[for=f-token]").text == "API token"
    shot(page, "login")
    login(page, live.url, live.admin_token)
    wait_text(page, "VM hosts", "h1")
    assert "web-admin" in text(page) and "admin" in css(page, ".role").text
    cookie = page.get_cookie(web_session.COOKIE)
    assert cookie is not None
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"
    assert live.admin_token not in cookie["value"]  # sealed, not readable


def test_wrong_token_is_refused_inline(page: WebDriver, live: Live) -> None:
    page.get(f"{live.url}/login")
    css(page, "#f-token").send_keys("vmh_not-a-real-token")
    css(page, "form button[type=submit]").click()
    error = wait_text(page, "not valid", ".field-error")
    assert "unknown or revoked" in error
    assert css(page, "#f-token").get_attribute("aria-invalid") == "true"
    assert page.get_cookie(web_session.COOKIE) is None
    shot(page, "login-wrong-token")


def test_logout_ends_the_session(page: WebDriver, live: Live) -> None:
    login(page, live.url, live.readonly_token)
    css(page, ".who form button").click()
    wait_text(page, "You are logged out.", ".notice")
    page.get(f"{live.url}/")
    wait_url(page, "/login")


@pytest.mark.parametrize("value", ["garbage", "gAAAAABforged-but-plausible=="])
def test_forged_session_cookie_goes_to_login(page: WebDriver, live: Live, value: str) -> None:
    page.get(f"{live.url}/login")
    page.add_cookie({"name": web_session.COOKIE, "value": value, "path": "/"})
    page.get(f"{live.url}/hosts/1/settings")
    wait_url(page, "/login")
    assert "session has expired" in css(page, ".notice").text
    assert "next=%2Fhosts%2F1%2Fsettings" in page.current_url


def test_revoked_token_ends_its_session(page: WebDriver, live: Live) -> None:
    _, token = live.services.tokens.create("web-short-lived", "readonly")
    login(page, live.url, token)
    live.services.tokens.revoke("web-short-lived")
    page.get(f"{live.url}/")
    wait_url(page, "/login")
    assert "not valid" in css(page, ".notice").text


def test_expired_session_goes_to_login(
    page: WebDriver, live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    login(page, live.url, live.readonly_token)
    monkeypatch.setattr(web_session, "SESSION_TTL_S", -1)  # every session is now too old
    page.get(f"{live.url}/hosts/1/storage")
    wait_url(page, "/login")
    assert "expired" in css(page, ".notice").text


def test_login_without_its_form_nonce_is_refused(live: Live) -> None:
    """Login CSRF: a cross-site form cannot log the browser in with the attacker's token."""
    body = f"token={live.admin_token}&next=/".encode()
    request = urllib.request.Request(f"{live.url}/login", data=body, method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request) as answer:
            status, cookies = answer.status, answer.headers.get_all("Set-Cookie") or []
    except urllib.error.HTTPError as exc:
        status, cookies = exc.code, exc.headers.get_all("Set-Cookie") or []
    assert status == 400
    assert not any(c.startswith(web_session.COOKIE) for c in cookies)
