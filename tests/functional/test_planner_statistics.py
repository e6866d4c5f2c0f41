"""PostgreSQL gets statistics of ``hosts`` while a fleet registers (``store/hosts.py``,
``keep_statistics``), so the candidate query is planned from them before autovacuum runs."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from core_support import add_fake_host

from vmhost.service import Services

pytestmark = pytest.mark.postgres


def _reltuples(services: Services) -> float:
    """PostgreSQL's estimate of the rows in ``hosts``: -1 until the table is first analyzed."""
    with services.ctx.db.read() as conn:
        value = conn.execute(
            sa.text("SELECT reltuples FROM pg_class WHERE relname = 'hosts'")
        ).scalar_one()
    return float(value)


def test_hosts_are_analyzed_when_the_count_reaches_a_power_of_two(pg_services: Services) -> None:
    seen = []
    for n in range(1, 17):
        add_fake_host(pg_services, f"h{n}")
        seen.append(_reltuples(pg_services))
    # never analyzed for hosts 1-7, analyzed at 8 and again at 16, not in between
    assert seen == [-1.0] * 7 + [8.0] * 8 + [16.0]


def test_the_statistics_describe_hosts_as_kept_after_their_refresh(pg_services: Services) -> None:
    for n in range(1, 9):
        add_fake_host(pg_services, f"h{n}")
    with pg_services.ctx.db.read() as conn:
        values, freqs = conn.execute(
            sa.text(
                "SELECT most_common_vals::text, most_common_freqs FROM pg_stats "
                "WHERE tablename = 'hosts' AND attname = 'status'"
            )
        ).one()
    # analyzed after the refresh: every host is ready, none is the insert's "new"
    assert (values, list(freqs)) == ("{ready}", [1.0])
