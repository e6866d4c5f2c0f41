"""The server process: migrate, reconcile, optionally register local hosts, serve the API.

``vmhost-server`` (or ``python -m vmhost.server``). Stops cleanly on Ctrl-C / SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn

from vmhost.api.app import create_app
from vmhost.service import Services
from vmhost.settings import Settings

log = logging.getLogger("vmhost.server")


def main(argv: list[str] | None = None) -> int:
    """Run the manager until interrupted."""
    parser = argparse.ArgumentParser(prog="vmhost-server", description=__doc__)
    parser.add_argument("--data-dir", help="data directory (VMHOST_DATA_DIR)")
    parser.add_argument("--database-url", help="SQLAlchemy URL (VMHOST_DATABASE_URL)")
    parser.add_argument("--host", help="listen address (VMHOST_LISTEN_HOST)")
    parser.add_argument("--port", type=int, help="listen port (VMHOST_LISTEN_PORT)")
    args = parser.parse_args(argv)
    overrides = {
        k: v
        for k, v in {
            "data_dir": args.data_dir,
            "database_url": args.database_url,
            "listen_host": args.host,
            "listen_port": args.port,
        }.items()
        if v is not None
    }
    settings = Settings(**overrides)  # type: ignore[arg-type]
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    services = Services.create(settings)
    counts = services.vms.reconcile()
    log.info("reconciled at start: %s", counts)
    app = create_app(services)
    try:
        uvicorn.run(app, host=settings.listen_host, port=settings.listen_port, log_level="info")
    finally:
        services.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
