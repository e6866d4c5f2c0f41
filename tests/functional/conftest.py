"""Fixtures for functional tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from core_support import make_services, reset_fakes

from vmhost.service import Services

if TYPE_CHECKING:
    from support.postgres import PostgresServer


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


@pytest.fixture
def pg_services(
    postgres_server: PostgresServer, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Services]:
    """Services on a fresh PostgreSQL database of this test's own, for the tests of what
    only PostgreSQL does (row locks, planner statistics)."""
    reset_fakes()
    with postgres_server.fresh_database(request.node.name[:40]) as url:
        services = make_services(str(tmp_path), url)
        yield services
        services.close()
    reset_fakes()
