"""OAuth 1.0 PLAINTEXT on the MAAS API (src/vmhost/maas/auth.py): the headers of both real
clients are accepted; every malformed or wrong one is a 401 with a readable text and changes
nothing; a read-only key reads but may not change."""

from __future__ import annotations

from collections.abc import Iterator

import fastapi
import pytest
from fastapi.testclient import TestClient
from maas_support import MaasEnv, go_header, libmaas_header

from vmhost.maas import PREFIX
from vmhost.maas.auth import (
    MaasPrincipal,
    maas_api_key,
    parse_authorization,
    require_maas_admin,
    require_maas_token,
)
from vmhost.maas.errors import MaasRouter


@pytest.fixture
def probe(maas: MaasEnv) -> Iterator[TestClient]:
    """An app whose MAAS routes read (any key) and create a zone (admin keys only), over the
    fixture's services and tokens."""
    router = MaasRouter(prefix=PREFIX)

    @router.get("/probe/")
    async def read(principal: MaasPrincipal = fastapi.Depends(require_maas_token)) -> object:
        return {"username": principal.username, "admin": principal.is_admin}

    @router.post("/probe/")
    async def change(principal: MaasPrincipal = fastapi.Depends(require_maas_admin)) -> object:
        return maas.services.zones.create(f"made-by-{principal.username}")

    app = fastapi.FastAPI()
    app.state.services = maas.services
    app.include_router(router)
    with TestClient(app) as client:
        yield client


def _zones(maas: MaasEnv) -> list[str]:
    return sorted(z["name"] for z in maas.services.zones.list())


def test_both_clients_headers_are_accepted(maas: MaasEnv, probe: TestClient) -> None:
    for header in (go_header(maas.admin_key), libmaas_header(maas.admin_key)):
        response = probe.get(f"{PREFIX}/probe/", headers={"Authorization": header})
        assert response.status_code == 200, response.text
        assert response.json() == {"username": "juju", "admin": True}
    response = probe.post(f"{PREFIX}/probe", headers={"Authorization": go_header(maas.admin_key)})
    assert response.status_code == 200, response.text
    assert "made-by-juju" in _zones(maas)


def _bad_headers(maas: MaasEnv) -> dict[str, str | None]:
    name, token_id, secret = maas.admin_key.split(":", 2)
    other_name, other_id, _ = maas.reader_key.split(":", 2)
    return {
        "missing": None,
        "bearer": f"Bearer {secret}",
        "hmac": go_header(maas.admin_key).replace("PLAINTEXT", "HMAC-SHA1"),
        "no signature method": go_header(maas.admin_key).replace(
            'oauth_signature_method="PLAINTEXT", ', ""
        ),
        "garbage": "OAuth this is not a header",
        "unknown key": go_header(f"nobody:999:{secret}"),
        "key of another token": go_header(f"{other_name}:{other_id}:{secret}"),
        "wrong secret": go_header(f"{name}:{token_id}:vmh_not-the-secret"),
        "no secret": go_header(f"{name}:{token_id}:"),
    }


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("missing", "no credentials"),
        ("bearer", "scheme must be OAuth"),
        ("hmac", "must be PLAINTEXT, not 'HMAC-SHA1'"),
        ("no signature method", "must be PLAINTEXT, not 'missing'"),
        ("garbage", "malformed"),
        ("unknown key", "Invalid API key."),
        ("key of another token", "Invalid API key."),
        ("wrong secret", "Invalid API key."),
        ("no secret", "signature must be '&' followed by the token secret"),
    ],
)
def test_bad_authorization_is_401_and_changes_nothing(
    maas: MaasEnv, probe: TestClient, case: str, words: str
) -> None:
    header = _bad_headers(maas)[case]
    headers = {"Authorization": header} if header is not None else {}
    before = _zones(maas)
    for method in ("GET", "POST"):
        response = probe.request(method, f"{PREFIX}/probe/", headers=headers)
        assert response.status_code == 401, (case, response.text)
        assert response.headers["content-type"].startswith("text/plain")
        assert response.text.startswith("Authorization Error: ")
        assert words in response.text
        assert maas.admin_key.split(":", 2)[2] not in response.text
    assert _zones(maas) == before


def test_secret_never_logged(
    maas: MaasEnv, probe: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    secret = maas.admin_key.split(":", 2)[2]
    name, token_id, _ = maas.admin_key.split(":", 2)
    with caplog.at_level("DEBUG"):
        probe.get(f"{PREFIX}/probe/", headers={"Authorization": go_header(maas.admin_key)})
        wrong = go_header(f"{name}:{token_id}:{secret}x")
        assert probe.get(f"{PREFIX}/probe/", headers={"Authorization": wrong}).status_code == 401
    assert secret not in caplog.text


def test_read_only_key_reads_but_may_not_change(maas: MaasEnv, probe: TestClient) -> None:
    header = {"Authorization": libmaas_header(maas.reader_key)}
    response = probe.get(f"{PREFIX}/probe/", headers=header)
    assert response.json() == {"username": "viewer", "admin": False}
    before = _zones(maas)
    response = probe.post(f"{PREFIX}/probe/", headers=header)
    assert response.status_code == 403
    assert response.text == "This method is reserved for admin users."
    assert _zones(maas) == before


def test_revoked_token_key_stops_working(maas: MaasEnv, probe: TestClient) -> None:
    header = {"Authorization": go_header(maas.admin_key)}
    assert probe.get(f"{PREFIX}/probe/", headers=header).status_code == 200
    maas.services.tokens.revoke(maas.admin_key.split(":", 1)[0])
    response = probe.get(f"{PREFIX}/probe/", headers=header)
    assert response.status_code == 401
    assert response.text == "Authorization Error: Invalid API key."


def test_key_and_header_round_trip() -> None:
    key = maas_api_key("juju", 7, "vmh_abc-DEF_123")
    assert key == "juju:7:vmh_abc-DEF_123"
    for header in (go_header(key), libmaas_header(key)):
        credentials = parse_authorization(header)
        assert (credentials.consumer_key, credentials.token_key, credentials.secret) == (
            "juju",
            "7",
            "vmh_abc-DEF_123",
        )


def test_server_prints_a_maas_key_that_authenticates(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from vmhost import server
    from vmhost.maas.auth import authenticate
    from vmhost.service import Services
    from vmhost.settings import Settings

    data = str(tmp_path)
    code = server.main(
        ["token", "create", "juju-ops", "--role", "admin", "--maas-key", "--data-dir", data]
    )
    out, err = capsys.readouterr()
    assert code == 0
    key = out.strip()
    name, token_id, secret = key.split(":", 2)
    assert name == "juju-ops" and token_id.isdigit() and secret.startswith("vmh_")
    assert secret not in err
    services = Services.create(Settings(data_dir=data))
    try:
        principal = authenticate(services, parse_authorization(go_header(key)))
        assert principal.username == "juju-ops" and principal.is_admin
    finally:
        services.close()
