"""A host whose discovery fails in a way the driver did not foresee (issue 12 item 2): a failed
add leaves nothing, a failed refresh leaves the host in ``error`` with the reason, and the API
answers a 503 naming the failure, not a 500 with the host left ``refreshing``."""

from __future__ import annotations

import pytest
from api_support import ApiEnv

from vmhost.drivers import base
from vmhost.service import host_sync


def _broken_driver(connection: base.HostConnection) -> base.HostDriver:
    """What ``urllib.parse`` did with ``https://[::1`` before the drivers checked addresses."""
    raise ValueError("Invalid IPv6 URL")


def test_an_add_whose_driver_raises_leaves_nothing(api: ApiEnv) -> None:
    api.services.ctx.driver_factory = _broken_driver
    response = api.post(
        "/api/v1/vm-hosts", {"type": "fake", "power_address": "fake://small", "name": "h1"}
    )
    assert response.status_code == 503, response.text
    assert "the driver failed (ValueError)" in response.json()["message"]
    assert api.get("/api/v1/vm-hosts").json() == []


def test_a_refresh_whose_driver_raises_leaves_the_host_in_error(api: ApiEnv) -> None:
    host = api.add_host("h1", "fake://small")
    api.services.ctx.driver_factory = _broken_driver
    response = api.post(f"/api/v1/vm-hosts/{host['id']}/refresh")
    assert response.status_code == 503, response.text
    after = api.host(host["id"])
    assert after["status"] == "error"
    assert after["last_error"] == response.json()["message"]
    assert "ValueError" in after["last_error"]


def test_an_add_that_fails_while_recording_leaves_nothing(
    api: ApiEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_sync(*args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(host_sync, "_sync", broken_sync)
    response = api.post(
        "/api/v1/vm-hosts", {"type": "fake", "power_address": "fake://small", "name": "h1"}
    )
    assert response.status_code == 500, response.text
    assert "disk full" not in response.text
    assert api.services.hosts.list() == []
