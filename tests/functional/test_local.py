"""``python -m vmhost.local`` (what ``scripts/run`` calls): the admin token is kept across runs
and the tokens it replaces are revoked. The local hypervisors are left out (the drivers tier
registers real ones)."""

from __future__ import annotations

import pathlib

import pytest

from vmhost import local
from vmhost.service import AuthenticationError, Services, Settings


@pytest.fixture()
def run(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(local, "register_lxd", lambda services: "skipped")
    monkeypatch.setattr(local, "register_libvirt", lambda services: "skipped")
    token_file = tmp_path / "admin-token"

    def once() -> str:
        assert local.main(["--data-dir", str(tmp_path), "--token-file", str(token_file)]) == 0
        return token_file.read_text().strip()

    return once


def _services(data_dir: pathlib.Path) -> Services:
    return Services.create(Settings(data_dir=str(data_dir)))


def test_the_admin_token_is_reused_while_valid(run, tmp_path: pathlib.Path) -> None:  # type: ignore[no-untyped-def]
    first = run()
    assert [run() for _ in range(3)] == [first] * 3
    services = _services(tmp_path)
    try:
        assert services.tokens.authenticate(first).is_admin
        assert len(services.tokens.list()) == 1
    finally:
        services.close()


def test_a_revoked_or_lost_token_is_replaced_and_old_run_tokens_revoked(
    run,  # type: ignore[no-untyped-def]
    tmp_path: pathlib.Path,
) -> None:
    first = run()
    services = _services(tmp_path)
    try:
        (record,) = services.tokens.list()
        services.tokens.revoke(record.id)
        # an operator's own token is never touched
        _, own = services.tokens.create("operator", "readonly")
    finally:
        services.close()
    second = run()
    assert second != first
    (tmp_path / "admin-token").write_text("not-a-token\n")
    third = run()
    assert third not in (first, second)
    services = _services(tmp_path)
    try:
        assert services.tokens.authenticate(third).is_admin
        for old in (first, second):
            with pytest.raises(AuthenticationError):
                services.tokens.authenticate(old)
        assert services.tokens.authenticate(own).name == "operator"
        names = {t.name for t in services.tokens.list()}
        assert len(names) == 2 and "operator" in names
    finally:
        services.close()
