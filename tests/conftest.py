"""Fixtures shared by every test tier: the real components ``scripts/setup-hosts`` prepares.

Each fixture skips (with the reason the script recorded) when its component is missing, so a
tier never fails for lack of a daemon; see ``support/hosts.py``. Heavy imports (pylxd,
libvirt) happen inside the fixtures, so tiers that do not use them do not pay for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from support import hosts

# Every skip is recorded per tox environment; scripts/test fails the run on any but the
# Juju-controller tests (support/skips.py).
from support.skips import (  # noqa: F401
    pytest_collectreport,
    pytest_runtest_logreport,
    pytest_sessionstart,
)

if TYPE_CHECKING:
    from support.postgres import PostgresServer


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server for the whole session (stopped with ``-m fast``)."""
    status = hosts.require_postgres()
    from support.postgres import PostgresServer

    server = PostgresServer.start(status["bin_dir"])
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """SQLAlchemy URL ``postgresql+psycopg://postgres@127.0.0.1:PORT/postgres``."""
    return postgres_server.url


@pytest.fixture(scope="module")
def postgres_module_url(
    postgres_server: PostgresServer, request: pytest.FixtureRequest
) -> Iterator[str]:
    """A fresh, empty database for the current test module; dropped afterwards."""
    with postgres_server.fresh_database(request.module.__name__) as url:
        yield url


@pytest.fixture(scope="session")
def lxd_status() -> dict[str, Any]:
    """The ``lxd`` entry of the set-up status (skips when LXD is not usable)."""
    return hosts.require_lxd()


@pytest.fixture(scope="session")
def lxd_client(lxd_status: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Any:
    """pylxd over HTTPS with a trusted RSA-2048 client certificate and pinned server cert."""
    from support import lxd

    directory: Path = tmp_path_factory.mktemp("lxd-client")
    with lxd.trusted_client(directory, lxd_status["https"]) as client:
        yield client


@pytest.fixture(scope="session")
def libvirt_status() -> dict[str, Any]:
    """The ``libvirt`` entry of the set-up status (skips when libvirt is not usable)."""
    return hosts.require_libvirt()


@pytest.fixture(scope="session")
def libvirt_conn(libvirt_status: dict[str, Any]) -> Any:
    """A libvirt connection to ``qemu:///system`` for the session."""
    import libvirt

    conn = libvirt.open(libvirt_status["uri"])
    try:
        yield conn
    finally:
        conn.close()
