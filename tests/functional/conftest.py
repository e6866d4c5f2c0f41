"""Fixtures for functional tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from core_support import make_services, reset_fakes

from vmhost.service import Services


@pytest.fixture
def services(tmp_path) -> Iterator[Services]:  # type: ignore[no-untyped-def]
    """Services on a fresh SQLite file."""
    reset_fakes()
    s = make_services(str(tmp_path / "data"))
    yield s
    s.close()
    reset_fakes()
