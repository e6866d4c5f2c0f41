"""The verified-token cache (``TokensService.cached``): a token this process verified is
accepted without a database read, and a revoked or expired one is refused at once with the
cache warm, whichever process revokes it; PostgreSQL has no cache (no shared marker file)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import types
from typing import Any

import core_support
import pytest
from api_support import ApiEnv, make_services

from vmhost import store
from vmhost.service import AuthenticationError
from vmhost.service import tokens as tokens_service


def _warm(api: ApiEnv, token: str) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(3):
        assert api.client.get("/api/v1/vm-hosts", headers=headers).status_code == 200
    assert api.services.tokens.cached(token) is not None  # accepted from the cache now
    return headers


def test_a_verified_token_is_answered_from_the_cache(api: ApiEnv) -> None:
    headers = _warm(api, api.reader_token)
    identity = api.services.tokens.cached(api.reader_token)
    assert identity is not None and identity.name == "test-reader" and not identity.is_admin
    assert api.client.get("/api/v1/vm-hosts", headers=headers).status_code == 200
    assert api.services.tokens.cached("vmh_wrong") is None
    for header in ("Bearer vmh_wrong", "Bearer vmh_other"):  # refusals are never kept
        response = api.client.get("/api/v1/vm-hosts", headers={"Authorization": header})
        assert response.status_code == 401
    assert api.services.tokens.cached("vmh_wrong") is None
    assert api.services.tokens.cached(None) is None


def test_a_revoked_token_is_refused_at_once_with_the_cache_warm(api: ApiEnv) -> None:
    created = api.post("/api/v1/tokens", {"name": "temp", "role": "readonly"}).json()
    headers = _warm(api, created["token"])
    assert api.delete("/api/v1/tokens/temp").status_code == 200
    response = api.client.get("/api/v1/vm-hosts", headers=headers)
    assert response.status_code == 401
    assert created["token"] not in response.text
    assert api.services.tokens.cached(created["token"]) is None
    # the other tokens are verified again once, then cached again
    assert api.get("/api/v1/vm-hosts").status_code == 200
    assert api.services.tokens.cached(api.admin_token) is not None


def test_a_revocation_by_other_services_is_seen_at_once(api: ApiEnv, tmp_path: Any) -> None:
    created = api.post("/api/v1/tokens", {"name": "temp", "role": "admin"}).json()
    headers = _warm(api, created["token"])
    other = make_services(str(tmp_path / "data"))  # another process's services, same store
    try:
        other.tokens.revoke("temp")
    finally:
        other.close()
    assert api.client.get("/api/v1/vm-hosts", headers=headers).status_code == 401


def test_a_revocation_by_the_server_command_in_another_process_is_seen_at_once(
    api: ApiEnv, tmp_path: Any
) -> None:
    created = api.post("/api/v1/tokens", {"name": "ops", "role": "admin"}).json()
    headers = _warm(api, created["token"])
    data_dir = str(tmp_path / "data")
    command = [sys.executable, "-m", "vmhost.server", "--data-dir", data_dir]
    done = subprocess.run(
        [*command, "token", "revoke", "ops"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "VMHOST_LOG_LEVEL": "WARNING"},
    )
    assert done.returncode == 0, done.stderr
    assert api.client.get("/api/v1/vm-hosts", headers=headers).status_code == 401
    assert created["token"] not in done.stdout + done.stderr


def test_a_token_expiring_with_the_cache_warm_is_refused_at_once(
    api: ApiEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = api.post(
        "/api/v1/tokens", {"name": "soon", "role": "readonly", "expires_in_days": 1}
    ).json()
    headers = _warm(api, created["token"])
    later = time.time() + 2 * 86400  # the tokens service's clock only, two days on
    monkeypatch.setattr(
        tokens_service, "time", types.SimpleNamespace(time=lambda: later, strftime=time.strftime)
    )
    assert api.services.tokens.cached(created["token"]) is None
    response = api.client.get("/api/v1/vm-hosts", headers=headers)
    assert response.status_code == 401
    assert "expired" in response.json()["message"]


def test_a_token_replaced_by_local_admin_is_refused_at_once(api: ApiEnv) -> None:
    first, new = api.services.tokens.local_admin(None)
    assert new
    headers = _warm(api, first)
    second, new = api.services.tokens.local_admin(None)  # a new run: the old one is revoked
    assert new and second != first
    assert api.client.get("/api/v1/vm-hosts", headers=headers).status_code == 401
    assert api.client.get("/api/v1/vm-hosts", headers=_warm(api, second)).status_code == 200


def test_the_marker_is_beside_a_sqlite_file_only(tmp_path: Any) -> None:
    db = tmp_path / "vmhost.db"
    assert store.tokens.revocation_marker(f"sqlite:///{db}") == f"{db}-revocations"
    assert store.tokens.revocation_marker("sqlite://") is None
    assert store.tokens.revocation_marker("sqlite:///:memory:") is None
    assert store.tokens.revocation_marker("postgresql://u@127.0.0.1/vmhost") is None
    marker = str(tmp_path / "m")
    assert store.tokens.revocation_generation(marker) == ""
    store.tokens.mark_revocation(marker)
    first = store.tokens.revocation_generation(marker)
    store.tokens.mark_revocation(marker)
    assert first and store.tokens.revocation_generation(marker) not in ("", first)
    assert oct(os.stat(marker).st_mode & 0o777) == "0o600"
    assert sorted(os.listdir(tmp_path)) == ["m"]  # no temporary file left


@pytest.mark.postgres
def test_postgresql_checks_every_token_in_the_database(
    postgres_server: Any, tmp_path: Any
) -> None:
    with postgres_server.fresh_database("token_cache") as url:
        services = core_support.make_services(str(tmp_path / "pg"), url)
        try:
            _, token = services.tokens.create("pg", "readonly")
            assert services.tokens.authenticate(token).name == "pg"
            assert services.tokens.cached(token) is None  # no cache: nothing shares a file
            services.tokens.revoke("pg")
            with pytest.raises(AuthenticationError):
                services.tokens.authenticate(token)
        finally:
            services.close()
