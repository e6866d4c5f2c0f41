"""One grammar, two front doors: the same MAAS ``storage``/``interfaces`` strings sent as they
are to ``POST /api/v1/vms/candidates`` and turned into a request by the Juju provider's
translation must give the same outcome: the same request accepted by the server (and the same
candidates), or the same error, word for word.

Each row runs through the real API over fake hosts (``big``: pools ``default`` and ``fast``
tagged ``ssd``, networks ``br0``, ``br-db``; ``small``: ``default``, ``br0``), with the spaces
``db`` (``br-db``) and ``public`` (``br0``) mapped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from api_support import ApiEnv, lxd_stub, make_services, make_tokens
from fastapi.testclient import TestClient
from vmhost_provider.constraints import Constraints
from vmhost_provider.translate import TranslationError, translate

from vmhost import model, schemas
from vmhost.api import convert
from vmhost.api.app import create_app
from vmhost.client.base import dump
from vmhost.drivers import fake

LONG = "a-very-long-interface-label"

#: (storage, interfaces, what the row is about)
ROWS: list[tuple[str | None, str | None, str]] = [
    # storage: accepted
    ("root:40", None, "a labelled root"),
    ("40", None, "an unlabelled root"),
    ("root:1.5", None, "decimal GB"),
    ("0.3", None, "exact decimal sizes"),
    ("root:8,data:20,logs:1", None, "extra disks, in the order written"),
    ("root:8(a,,b)", None, "empty tags skipped (no pool has them: refused by every host)"),
    ("root:40(fast)", None, "a tag naming a pool selects it"),
    ("root:40(ssd)", None, "a pool tag"),
    ("root:40(ssd,fast)", None, "a pool named by a later tag"),
    ("root:40(nvme,fast)", None, "a pool name after an unknown tag"),
    ("root:8,data:100(fast)", None, "a pool for an extra disk"),
    ("root:0,data:10", None, "Juju's root:0: the default root size"),
    ("root:0(,)", None, "a zero root with empty tags"),
    ("0:8(default),1:20(fast)", None, "MAAS's own example"),
    ("8:1", None, "a numeric label"),
    ("1152921504.606846976", None, "the size limit"),
    # storage: refused
    ("8,,9", None, "an empty item"),
    ("root:8()", None, "empty parentheses"),
    ("root:8 ", None, "a trailing space"),
    ("my-disk:8", None, "a dash in a label"),
    ("1.2.3", None, "not a number"),
    ("root:8(ssd", None, "an unclosed parenthesis"),
    ("root:8,data:0", None, "a zero-sized extra disk"),
    ("root:1152921504606846977", None, "over the size limit"),
    ("root:8;data:9", None, "a semicolon"),
    # interfaces: accepted
    (None, "eth0:space=db", "a space"),
    (None, "0:space=db", "a numeric label"),
    (None, "eth0:network=br-db", "a network"),
    (None, "eth0:name=br-db", "MAAS's name key"),
    (None, "eth0:space=db,type=bridge", "a type"),
    (None, "eth0:space=db,not_space=x", "not_space beside space"),
    (None, "eth0:space=db;eth1:space=public", "two NICs"),
    (None, "0:space=db,space=public", "a repeated key is an OR"),
    (None, "0:space=public,space=db", "an OR the other way round"),
    (None, "n:name=br-db,network=br0", "an OR of networks"),
    (None, "0:space=db,space=db", "a repeat of one value"),
    (None, f"{LONG}:space=db", "a long label: MAAS's hashed name"),
    (None, "0:space=db,space=public;1:not_space=public", "an exclusion removes an alternative"),
    (None, "a", "one character: no constraint"),
    # interfaces: refused
    (None, "a:space=", "an empty value"),
    (None, "eth0", "no colon"),
    (None, "a:", "no key"),
    (None, "-a:space=db", "a bad label"),
    (None, "eth0:space=db;eth0:space=public", "a label twice"),
    (None, "0:space=db;eth0:space=public", "two labels, one interface name"),
    (None, "eth0:bogus=1", "an unknown key"),
    (None, "eth0:subnet_cidr=10.0.0.0/24", "a MAAS key vmhost does not implement"),
    (None, "eth0:type=physical", "a bad type"),
    (None, "eth0:type=bridge,type=sriov", "two types"),
    (None, "0:space=db;1:not_space=db", "a space both required and excluded"),
    (None, "eth0:space=nospace", "a space nothing is mapped to"),
    (None, "eth0:space=db,space=nospace", "an OR with an unmapped space"),
    # both
    ("root:20(fast),data:5", "eth0:space=db;eth1:network=br0", "disks and NICs"),
    ("root:20(fast)", "eth0:space=public", "no host has both"),
]


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What the server made of a request, or the error (field and message) it got."""

    request: model.ComposeRequest | None = None
    candidates: tuple[tuple[str, tuple[str, ...]], ...] = ()
    error: tuple[str, str] | None = None


def _serve(api: ApiEnv, body: dict[str, Any]) -> Outcome:
    response = api.post("/api/v1/vms/candidates?limit=10", body)
    answer = response.json()
    if response.status_code != 200:
        assert response.status_code in (400, 422), response.text
        field, messages = next(iter(answer["fields"].items()))
        return Outcome(error=(field, messages[0]))
    # what the route accepted, as the route builds it
    wire = schemas.HostComposeBody.model_validate(body)
    request = api.services.vms.validate(convert.compose_request(wire, None))
    found = tuple((c["host"]["name"], tuple(c["disk_pools"])) for c in answer["candidates"])
    return Outcome(request, found)


def through_the_api(api: ApiEnv, storage: str | None, interfaces: str | None) -> Outcome:
    body = {k: v for k, v in (("storage", storage), ("interfaces", interfaces)) if v is not None}
    return _serve(api, body)


def through_the_provider(api: ApiEnv, storage: str | None, interfaces: str | None) -> Outcome:
    try:
        body = translate(Constraints(), storage=storage, interfaces=interfaces)
    except TranslationError as exc:
        return Outcome(error=(exc.constraint, str(exc)))
    return _serve(api, dump(body))  # the JSON the client sends


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiEnv]:
    """One API for the whole table: its rows only ask where a VM would go (nothing claimed)."""
    fake.reset()
    with pytest.MonkeyPatch.context() as monkeypatch:
        stub = lxd_stub(monkeypatch)
        services = make_services(str(tmp_path_factory.mktemp("grammar") / "data"), stub)
        admin, reader, expired = make_tokens(services)
        app = create_app(services)
        with TestClient(app, raise_server_exceptions=False) as client:
            api = ApiEnv(services, app, client, admin, reader, expired, stub)
            api.add_host("big", "fake://numa")
            api.add_host("small", "fake://small")
            for space, network in (("db", "br-db"), ("public", "br0")):
                mapped = api.post("/api/v1/spaces", {"space": space, "network": network})
                assert mapped.status_code == 201
            yield api
        services.close()
    fake.reset()


def test_the_table_is_big_enough() -> None:
    assert len(ROWS) >= 40
    strings = {s for row in ROWS for s in row[:2]}
    for named in ("eth0:space=db,not_space=x", "a:space=", f"{LONG}:space=db"):
        assert named in strings


@pytest.mark.parametrize(("storage", "interfaces", "about"), ROWS, ids=[r[2] for r in ROWS])
def test_api_and_provider_agree(
    hosts: ApiEnv, storage: str | None, interfaces: str | None, about: str
) -> None:
    api = through_the_api(hosts, storage, interfaces)
    provider = through_the_provider(hosts, storage, interfaces)
    assert api == provider, about
    if api.request is not None:
        assert all(len(nic.name.encode()) <= 15 for nic in api.request.interfaces)


def test_what_the_rows_mean(hosts: ApiEnv) -> None:
    """A few rows spelled out, so that agreeing on something wrong would show."""
    pool = through_the_api(hosts, "root:40(nvme,fast)", None).request
    assert pool is not None and pool.disks[0] == model.DiskRequest(
        40 * 10**9, "fast", ("nvme",), "root"
    )
    either = through_the_api(hosts, None, "0:space=db,space=public")
    assert either.request is not None
    assert either.request.interfaces[0].spaces == ("db", "public")
    assert {host for host, _ in either.candidates} == {"big", "small"}
    excluded = through_the_api(hosts, None, "eth0:space=db,not_space=x").request
    assert excluded is not None and excluded.not_spaces == ("x",)
    assert through_the_api(hosts, None, "a:space=").error == (
        "interfaces",
        "Empty value for interfaces constraint 'space' in label 'a'",
    )
    long_name = through_the_api(hosts, None, f"{LONG}:space=db").request
    assert long_name is not None
    assert (
        long_name.interfaces[0].name.startswith("eth-") and len(long_name.interfaces[0].name) == 15
    )
    root = through_the_api(hosts, "root:0,data:10", None).request
    assert root is not None and [d.size_bytes for d in root.disks] == [8 * 10**9, 10 * 10**9]
