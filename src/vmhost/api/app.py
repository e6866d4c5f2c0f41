"""The FastAPI application factory."""

from __future__ import annotations

import fastapi

from vmhost import __version__
from vmhost.service import Services


def create_app(services: Services) -> fastapi.FastAPI:
    """The API over ``services``."""
    app = fastapi.FastAPI(
        title="vmhost",
        version=__version__,
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
    )
    app.state.services = services

    @app.get("/api/v1/health", tags=["health"])
    def health() -> dict[str, str]:
        """Liveness: answers without a token."""
        return {"status": "ok", "version": __version__}

    return app
