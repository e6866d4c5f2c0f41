"""Mounting the web UI on the app: its pages, the login, and the static assets (CSS, JS, icon),
all served by vmhost itself (no CDN: the pages work on a machine with no internet)."""

from __future__ import annotations

import pathlib

import fastapi
from fastapi.staticfiles import StaticFiles

from . import host_list, host_pages, login, ops, settings

STATIC = pathlib.Path(__file__).parent / "static"


def install(app: fastapi.FastAPI) -> None:
    """Serve the web UI from ``app`` (its ``state.services`` must be set)."""
    for module in (login, host_list, host_pages, settings, ops):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
