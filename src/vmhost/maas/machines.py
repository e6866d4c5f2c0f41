"""``machines/`` and ``machines/{system_id}/`` (and ``pods/{id}/?op=compose``)."""

from __future__ import annotations

from .errors import MaasRouter

router = MaasRouter()
