"""Helpers for service-level functional tests: services on a database, fake hosts."""

from __future__ import annotations

from typing import Any

from vmhost import model
from vmhost.drivers import fake
from vmhost.service import Services, Settings

GIB = 1024


def inventory(
    cores: int = 10, memory_mib: int = 10 * GIB, pool_bytes: int = 10**12
) -> dict[str, Any]:
    """A plain fake host inventory."""
    return {
        "cores": cores,
        "memory_mib": memory_mib,
        "storage_pools": [
            {"name": "default", "type": "dir", "path": "/p", "total_bytes": pool_bytes}
        ],
        "networks": [{"name": "br0", "kind": "bridge"}],
    }


def make_services(data_dir: str, database_url: str = "", **settings: Any) -> Services:
    """Services on SQLite in ``data_dir`` (or the given database)."""
    return Services.create(Settings(data_dir=data_dir, database_url=database_url, **settings))


def add_fake_host(
    services: Services, name: str, inv: dict[str, Any] | None = None, **options: Any
) -> int:
    """Register a fake host with this inventory; returns its id."""
    detail = services.hosts.add(
        model.HostSettings(name=name, type=model.HostType.FAKE, address=f"fake://{name}"),
        options={"inventory": inv or inventory(), **options},
    )
    assert detail.host.status == "ready", detail.host.last_error
    return int(detail.host.id)


def assert_accounts_exact(services: Services) -> None:
    """Every host's stored usage equals the sum of its VM records."""
    from vmhost.service import accounts

    with services.ctx.db.read() as conn:
        for detail in services.hosts.list():
            assert detail.view.usage.to_json() == accounts.recount(conn, detail.view.id).to_json()


def reset_fakes() -> None:
    """Forget fake hypervisors between tests."""
    fake.reset()
