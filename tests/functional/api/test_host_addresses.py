"""Host addresses (issue 12 items 2 and 15): checked by the driver's rules before anything is
written or resolved; a bad one is a 400 naming ``address`` and changes nothing; a host stored
with one fails its refresh with status ``error``; a libvirt URI password is never logged."""

from __future__ import annotations

import logging
import socket

import pytest
import sqlalchemy as sa
from api_support import ApiEnv

from vmhost import model, store
from vmhost.drivers import registry


@pytest.fixture
def no_dns(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Name look-ups are recorded (and refused): a bad address must not reach DNS."""
    asked: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        asked.append(args[0] if args else kwargs)
        raise socket.gaierror(socket.EAI_NONAME, "look-ups are not allowed here")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return asked


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("kind", "address", "message"),
    [
        ("virsh", "https://[::1", "not a libvirt URI"),
        ("virsh", "   ", "no address"),
        ("virsh", "qemu+ssh://root@not_a_host!/system", "neither an IP address nor a host name"),
        ("lxd", "  ", "empty"),
        ("lxd", "not a host!", "blanks or control characters"),
        ("lxd", "lxd_1.example", "neither an IP address nor a host name"),
        ("lxd", "https://admin:hunter2@127.0.0.1:8443", "holds a password"),
    ],
)
def test_a_bad_address_is_a_400_naming_it_and_adds_nothing(
    api: ApiEnv, no_dns: list[object], kind: str, address: str, message: str
) -> None:
    for body in (
        {"type": kind, "power_address": address},
        {"type": kind, "power_address": address, "name": "h1"},
    ):
        response = api.post("/api/v1/vm-hosts", body)
        assert response.status_code == 400, response.text
        answer = response.json()
        assert list(answer["fields"]) == ["address"]
        assert message in answer["message"]
        assert "hunter2" not in response.text
    assert api.get("/api/v1/vm-hosts").json() == []
    assert no_dns == []


def _libvirt_host(api: ApiEnv, address: str = "qemu+ssh://virsh@127.0.0.1:1/system") -> int:
    detail = api.services.hosts.add(
        model.HostSettings(name="kvm", type=model.HostType.LIBVIRT, address=address),
        refresh=False,
    )
    return int(detail.host.id)


def test_a_bad_address_in_an_update_changes_nothing(api: ApiEnv) -> None:
    host_id = _libvirt_host(api)
    before = api.host(host_id)
    response = api.put(f"/api/v1/vm-hosts/{host_id}", {"power_address": "https://[::1"})
    assert response.status_code == 400, response.text
    assert list(response.json()["fields"]) == ["address"]
    with pytest.raises(model.InvalidInputError, match="address: "):
        api.services.hosts.update(host_id, model.HostChanges(address="qemu+ssh://@/system"))
    assert api.host(host_id) == before


def test_a_host_stored_with_a_bad_address_refreshes_to_error(api: ApiEnv) -> None:
    """Hosts added before addresses were checked: the refresh says why, status error, and
    the host is not left 'refreshing'."""
    host_id = _libvirt_host(api)
    api.services.ctx.driver_factory = registry.driver_for
    with api.services.ctx.db.write() as conn:
        conn.execute(
            sa.update(store.tables.hosts)
            .where(store.tables.hosts.c.id == host_id)
            .values(address="https://[::1")
        )
    detail = api.services.hosts.refresh(host_id, raise_errors=False)
    assert detail.host.status is model.HostStatus.ERROR
    assert "not a libvirt URI" in detail.host.last_error
    with pytest.raises(model.HostProblemError, match="not a libvirt URI"):
        api.services.hosts.refresh(host_id)
    response = api.post(f"/api/v1/vm-hosts/{host_id}/refresh")
    assert response.status_code == 503, response.text
    assert api.host(host_id)["status"] == "error"


def test_a_libvirt_uri_password_never_reaches_the_logs(
    api: ApiEnv, caplog: pytest.LogCaptureFixture
) -> None:
    api.services.ctx.driver_factory = registry.driver_for  # the real libvirt driver
    address = f"qemu+ssh://root:hunter2@127.0.0.1:{closed_port()}/system"
    caplog.set_level(logging.DEBUG)
    with pytest.raises(model.HostProblemError) as err:
        api.services.hosts.add(
            model.HostSettings(name="kvm", type=model.HostType.LIBVIRT, address=address)
        )
    assert "root:***@127.0.0.1" in str(err.value)  # the refusal names the host, masked
    assert "added VM host kvm" in caplog.text  # what is logged says which host
    assert "hunter2" not in caplog.text
    assert "hunter2" not in str(err.value)
    assert api.services.hosts.list() == []
