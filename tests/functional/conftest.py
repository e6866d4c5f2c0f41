"""Fixtures for functional tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from core_support import make_services, reset_fakes

from vmhost.service import Services


@pytest.fixture(params=["sqlite", "postgresql"])
def services(request, tmp_path) -> Iterator[Services]:  # type: ignore[no-untyped-def]
    """Services on a fresh SQLite file, and the same on a fresh database of the real
    PostgreSQL server the session started (tests/conftest.py)."""
    reset_fakes()
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres_server")
        with server.fresh_database(request.node.name[:40]) as url:
            s = make_services(str(tmp_path / "data"), url)
            yield s
            s.close()
    else:
        s = make_services(str(tmp_path / "data"))
        yield s
        s.close()
    reset_fakes()
