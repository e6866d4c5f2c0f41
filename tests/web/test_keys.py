"""A host key in a web form is ASCII digits or nothing (issue 12 item 3): a superscript three
is not a reason for a 500, and an Arabic-Indic or fullwidth one does not mean host 1."""

from __future__ import annotations

import pytest
from conftest import Live
from selenium.webdriver.remote.webdriver import WebDriver
from webtools import login

from vmhost import model


def _post(page: WebDriver, path: str, fields: dict[str, str]) -> int:
    """A POST from the page's own session, with its CSRF token (what a tampered form sends)."""
    status: int = page.execute_async_script(
        """
        const [path, fields, done] = arguments;
        const body = new FormData();
        for (const [k, v] of Object.entries(fields)) body.set(k, v);
        body.set("csrf_token", document.querySelector("meta[name=csrf-token]").content);
        fetch(path, {method: "POST", body, credentials: "same-origin"}).then(r => done(r.status));
        """,
        path,
        fields,
    )
    return status


@pytest.mark.parametrize("key", ["\u00b3", "\u0661", "\uff11"])
def test_a_space_form_with_unicode_digits_for_the_host_maps_nothing(
    page: WebDriver, live: Live, key: str
) -> None:
    if "keys-host" not in live.services.hosts.names().values():
        live.services.hosts.add(
            model.HostSettings(name="keys-host", type=model.HostType.FAKE, address="fake://numa/k")
        )
    login(page, live.url, live.admin_token, "/spaces")
    status = _post(page, "/spaces", {"space": "keys-db", "network": "br-db", "host": key})
    assert status == 400
    assert not [m for m in live.services.spaces.list() if m["space"] == "keys-db"]


def test_a_space_spelt_in_another_case_is_refused_on_the_form(page: WebDriver, live: Live) -> None:
    """Names are unique regardless of case (issue 12 item 14): the form says so at the field."""
    live.services.spaces.set("keys-web", "br0")
    login(page, live.url, live.admin_token, "/spaces")
    assert _post(page, "/spaces", {"space": "KEYS-WEB", "network": "br1", "host": ""}) == 400
    assert not [m for m in live.services.spaces.list() if m["space"] == "KEYS-WEB"]
    live.services.spaces.unset("keys-web")
