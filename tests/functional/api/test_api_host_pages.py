"""``GET /api/v1/vm-hosts?limit=&offset=``: pages of the host list, and answers that follow every
change (the list and read routes keep what they rendered of a host while its row is unchanged)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from api_support import ApiEnv

from vmhost import model
from vmhost.service import HostDetail, Services


def _names(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [h["name"] for h in response.json()]


def test_pages_are_slices_of_the_whole_list_in_id_order(api: ApiEnv) -> None:
    for i in range(7):
        api.add_host(f"h{i}", f"fake://{'small' if i % 2 else 'numa'}/{i}")
    whole = api.get("/api/v1/vm-hosts").json()
    assert [h["name"] for h in whole] == [f"h{i}" for i in range(7)]
    assert api.get("/api/v1/vm-hosts", params={"limit": 3, "offset": 2}).json() == whole[2:5]
    assert api.get("/api/v1/vm-hosts", params={"limit": 3}).json() == whole[:3]
    assert api.get("/api/v1/vm-hosts", params={"offset": 5}).json() == whole[5:]
    assert _names(api.get("/api/v1/vm-hosts", params={"limit": 10, "offset": 6})) == ["h6"]
    assert _names(api.get("/api/v1/vm-hosts", params={"limit": 2, "offset": 7})) == []
    # read-only tokens page too
    page = api.client.get("/api/v1/vm-hosts?limit=1&offset=1", headers=api.reader)
    assert _names(page) == ["h1"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=-1", "limit"),
        ("limit=1001", "limit"),
        ("limit=abc", "limit"),
        ("limit=1.5", "limit"),
        ("limit=", "limit"),
        ("offset=-1", "offset"),
        ("offset=x", "offset"),
        ("limit=2&offset=99999999999999999999999", "offset"),
    ],
)
def test_bad_page_values_are_422_naming_the_field(api: ApiEnv, query: str, field: str) -> None:
    api.add_host("only")
    response = api.get(f"/api/v1/vm-hosts?{query}")
    assert response.status_code == 422, response.text
    body = response.json()
    assert field in body["fields"], body
    assert body["message"].startswith(f"{field}:")
    assert _names(api.get("/api/v1/vm-hosts")) == ["only"]


def test_the_page_parameters_are_documented(api: ApiEnv) -> None:
    operation = api.client.get("/api/openapi.json").json()["paths"]["/api/v1/vm-hosts"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert params["limit"]["schema"]["anyOf"][0] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 1000,
    }
    assert params["offset"]["schema"]["minimum"] == 0
    assert "limit" in params["limit"]["description"] or params["limit"]["description"]
    assert "422" in operation["responses"]


def test_list_and_read_follow_every_change(api: ApiEnv) -> None:
    api.add_host("a", "fake://numa/a")
    b = api.add_host("b", "fake://numa/b")
    before = api.get("/api/v1/vm-hosts").json()
    api.compose("b", cores=2, memory_mib=2048)
    after = api.get("/api/v1/vm-hosts").json()
    assert before[0] == after[0]  # host a unchanged
    assert after[1]["used"]["cores"] == before[1]["used"]["cores"] + 2
    assert api.host("b") == after[1]
    api.put(f"/api/v1/vm-hosts/{b['id']}", {"cpu_over_commit_ratio": 3.0})
    assert api.host("b")["cpu_over_commit_ratio"] == 3.0
    assert api.get("/api/v1/vm-hosts").json()[1]["cpu_over_commit_ratio"] == 3.0
    api.post("/api/v1/zones", {"name": "z9"})
    api.put(f"/api/v1/vm-hosts/{b['id']}", {"zone": "z9"})
    assert api.get("/api/v1/vm-hosts?offset=1").json()[0]["zone"]["name"] == "z9"
    assert api.delete(f"/api/v1/vm-hosts/{b['id']}?decompose=true").status_code in (200, 204)
    assert _names(api.get("/api/v1/vm-hosts")) == ["a"]
    assert api.get(f"/api/v1/vm-hosts/{b['id']}").status_code == 404


def _render(detail: HostDetail) -> tuple[str, int, str]:
    return detail.host.name, detail.view.usage.vcpus.total, detail.host.zone.name


def _small_hosts_and_render(
    services: Services, names: tuple[str, ...], calls: list[str]
) -> Callable[[HostDetail], tuple[str, int, str]]:
    """Small fake hosts of these names, and a render that notes in ``calls`` whom it renders."""
    for name in names:
        services.hosts.add(
            model.HostSettings(name=name, type=model.HostType.FAKE, address=f"fake://small/{name}")
        )

    def render(detail: HostDetail) -> tuple[str, int, str]:
        calls.append(detail.host.name)
        return _render(detail)

    return render


def test_rendered_hosts_are_those_read_whole(services: Services) -> None:
    """On SQLite and PostgreSQL: the stored rows decode to the records a full read gives, and
    only a changed host is rendered again."""
    calls: list[str] = []
    render = _small_hosts_and_render(services, ("x", "y", "z"), calls)
    whole = services.hosts.list()
    assert services.host_list.rendered(render) == [_render(d) for d in whole]
    assert calls == ["x", "y", "z"]
    assert services.host_list.rendered(render, limit=2, offset=1) == [
        _render(whole[1]),
        _render(whole[2]),
    ]
    assert calls == ["x", "y", "z"]  # nothing changed: nothing rendered again
    y = whole[1].host.id
    services.vms.compose(model.ComposeRequest(cores=3, memory_mib=1024, host_id=y, hostname="v"))
    assert services.host_list.rendered(render, host_ids=[y]) == [("y", 3, "default")]
    assert calls == ["x", "y", "z", "y"]
    for got, detail in zip(
        services.host_list.rendered(render), services.hosts.list(), strict=True
    ):
        assert got == _render(detail)
    assert services.host_list.rendered(lambda d: d, host_ids=[y])[0] == services.hosts.get(y)


def test_a_read_of_one_host_does_not_wait_for_a_list_being_rendered(services: Services) -> None:
    """While another call holds the rendered hosts (a whole list rendering in a worker thread),
    a read of one host renders its own row, the same answer, and keeps nothing."""
    calls: list[str] = []
    render = _small_hosts_and_render(services, ("p", "q"), calls)
    q = services.hosts.list()[1]
    with services.host_list._lock:  # what a list rendering in another thread holds
        assert services.host_list.rendered(render, host_ids=[q.host.id]) == [_render(q)]
        assert services.host_list.rendered(render, host_ids=[q.host.id]) == [_render(q)]
    assert calls == ["q", "q"]  # rendered each time: nothing was kept while it was busy
    assert services.host_list.rendered(render, host_ids=[q.host.id]) == [_render(q)]
    assert services.host_list.rendered(render, host_ids=[q.host.id]) == [_render(q)]
    assert calls == ["q", "q", "q"]  # once free, kept again
