"""The in-process vmhost of the benches that drive the API through TestClient
(``bench_maas.py``, ``bench_provider.py``): a fresh SQLite store, fake hosts in it, and the
app started as ``vmhost-server`` starts it (``src/vmhost/server.py``: what start-up allocated
is frozen, so the collector does not walk it again on every collection)."""

from __future__ import annotations

import gc
import tempfile
from typing import Any

from vmhost import model
from vmhost.service import Services, Settings


def store(prefix: str) -> Services:
    """Services on a new SQLite store in a temporary folder named ``prefix...``."""
    return Services.create(Settings(data_dir=tempfile.mkdtemp(prefix=prefix), log_level="WARNING"))


def add_fake_host(
    services: Services, name: str, address: str, inventory: dict[str, Any], **settings: Any
) -> None:
    """A fake VM host with this inventory (``settings``: more of its ``HostSettings``)."""
    services.hosts.add(
        model.HostSettings(name=name, type=model.HostType.FAKE, address=address, **settings),
        options={"inventory": inventory},
    )


def server_app(services: Services) -> Any:
    """The API app on ``services``, the heap frozen as the server freezes it once started."""
    from vmhost.api.app import create_app

    app = create_app(services)
    gc.collect()
    gc.freeze()
    return app
