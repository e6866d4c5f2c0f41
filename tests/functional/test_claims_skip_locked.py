"""PostgreSQL claims pass over host rows another claim holds (``FOR UPDATE SKIP LOCKED`` in
``store/candidates.py``), and still claim a held host once it is let go."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from core_support import GIB, add_fake_host, assert_accounts_exact, make_services, reset_fakes

from vmhost import model
from vmhost.service import Services
from vmhost.service.claims import Claim

if TYPE_CHECKING:
    from support.postgres import PostgresServer

REQUEST = model.ComposeRequest(cores=1, memory_mib=1 * GIB, disks=(model.DiskRequest(10**9),))
pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(
    postgres_server: PostgresServer, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Services]:
    """Services on a fresh PostgreSQL database of this test's own."""
    reset_fakes()
    with postgres_server.fresh_database(request.node.name) as url:
        services = make_services(str(tmp_path), url)
        yield services
        services.close()


class RowHolder:
    """Another transaction holding a host's row lock, as a concurrent claim does, until let go."""

    def __init__(self, services: Services, host_id: int) -> None:
        self.locked, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold, args=(services, host_id))
        self.thread.start()
        assert self.locked.wait(30), "the row lock was not taken"

    def _hold(self, services: Services, host_id: int) -> None:
        with services.ctx.db.write() as conn:
            conn.execute(
                sa.text("SELECT id FROM hosts WHERE id = :id FOR UPDATE"), {"id": host_id}
            )
            self.locked.set()
            self.release.wait(60)

    def let_go(self) -> None:
        self.release.set()
        self.thread.join(30)


def _claim_in_thread(services: Services, name: str) -> concurrent.futures.Future[Claim]:
    pool = concurrent.futures.ThreadPoolExecutor(1)
    future = pool.submit(services.claims.claim, REQUEST, name)
    pool.shutdown(wait=False)
    return future


def test_a_claim_takes_the_next_best_host_while_the_best_is_held(pg: Services) -> None:
    best, other = add_fake_host(pg, "best"), add_fake_host(pg, "other")
    # pack: equal hosts go in id order, so an unheld "best" is taken first
    assert pg.claims.candidates(REQUEST, 1).candidates[0].view.id == best
    holder = RowHolder(pg, best)
    try:
        # waiting for the held row would block until let go; passing over it does not
        claim = _claim_in_thread(pg, "while-held").result(timeout=30)
    finally:
        holder.let_go()
    assert claim.vm.host_id == other
    # let go, the best host can be claimed again
    again = pg.claims.claim(dataclasses.replace(REQUEST, host_id=best), "after")
    assert again.vm.host_id == best
    assert_accounts_exact(pg)


def test_the_only_host_held_is_claimed_once_let_go(pg: Services) -> None:
    only = add_fake_host(pg, "only")
    holder = RowHolder(pg, only)
    future = _claim_in_thread(pg, "waits")
    try:
        # the page skips the held row; the last pass ranks every host and its CAS waits for
        # the row, so the request is not refused as if there were no capacity
        done, _ = concurrent.futures.wait([future], timeout=1.0)
        assert not done, future.exception() or future.result()
    finally:
        holder.let_go()
    claim = future.result(timeout=30)
    assert claim.vm.host_id == only
    detail = pg.hosts.get(only)
    assert detail.view.usage.vcpus.allocated == 1
    assert detail.view.usage.vms.total == 1
    assert_accounts_exact(pg)
