"""Fixtures for functional tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from core_support import make_services, reset_fakes

from vmhost.service import Services


@pytest.fixture(params=["sqlite", "postgresql"])
def services(request, tmp_path) -> Iterator[Services]:  # type: ignore[no-untyped-def]
    """Services on a fresh SQLite file, and the same on a fresh PostgreSQL database."""
    reset_fakes()
    url = ""
    if request.param == "postgresql":
        url = fresh_database(request.getfixturevalue("postgres_url"))
    s = make_services(str(tmp_path / "data"), url)
    yield s
    s.close()
    reset_fakes()


def fresh_database(server_url: str) -> str:
    """A new, empty database on the test PostgreSQL server."""
    import uuid

    import sqlalchemy as sa

    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name


def _pg_bin() -> str | None:
    import glob

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A throwaway PostgreSQL server on 127.0.0.1 (the server refuses to run as root, so as
    ``postgres``), stopped at the end of the session."""
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (run scripts/setup-hosts)")
    if os.geteuid() != 0:
        pytest.skip("starting a throwaway PostgreSQL needs root (to run it as postgres)")
    import shutil
    import socket
    import subprocess
    import tempfile

    # not under pytest's tmp dir: that is mode 700 root, and postgres must reach its data dir
    base = tempfile.mkdtemp(prefix="vmhost-pg-")
    shutil.chown(base, "postgres")
    os.chmod(base, 0o700)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def as_postgres(*cmd: str) -> None:
        subprocess.run(
            ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(cmd)],
            check=True,
            timeout=120,
            capture_output=True,
        )

    as_postgres(f"{bin_dir}/initdb", "-D", f"{base}/data", "-A", "trust", "-U", "postgres")
    as_postgres(
        f"{bin_dir}/pg_ctl",
        "-D",
        f"{base}/data",
        "-o",
        f"'-k {base} -h 127.0.0.1 -p {port} -c max_connections=300'",
        "-l",
        f"{base}/log",
        "-w",
        "-t",
        "60",
        "start",
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        as_postgres(f"{bin_dir}/pg_ctl", "-D", f"{base}/data", "-m", "fast", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)
