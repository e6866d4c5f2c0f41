"""Mounting the web UI on the app: its pages, the login, and the static assets (CSS, JS, icon),
all served by vmhost itself (no CDN: the pages work on a machine with no internet)."""

from __future__ import annotations

import pathlib

import fastapi
from fastapi.staticfiles import StaticFiles

from . import add_host, catalog, compose, host_list, host_pages, login, ops, settings

STATIC = pathlib.Path(__file__).parent / "static"


def install(app: fastapi.FastAPI) -> None:
    """Serve the web UI from ``app`` (its ``state.services`` must be set)."""
    # add_host first: its /hosts/add must win over the host pages' /hosts/{key}
    for module in (login, host_list, add_host, host_pages, settings, compose, catalog, ops):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
