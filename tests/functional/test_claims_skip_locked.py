"""PostgreSQL claims pass over host rows another claim holds (``FOR UPDATE SKIP LOCKED`` in
``store/candidates.py``), and still claim a held host once it is let go."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import threading
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from core_support import GIB, add_fake_host, assert_accounts_exact

from vmhost import model
from vmhost.service import Services
from vmhost.service.claims import Claim

if TYPE_CHECKING:
    pass

REQUEST = model.ComposeRequest(cores=1, memory_mib=1 * GIB, disks=(model.DiskRequest(10**9),))
pytestmark = pytest.mark.postgres


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


def test_a_claim_takes_the_next_best_host_while_the_best_is_held(pg_services: Services) -> None:
    best, other = add_fake_host(pg_services, "best"), add_fake_host(pg_services, "other")
    # pack: equal hosts go in id order, so an unheld "best" is taken first
    assert pg_services.claims.candidates(REQUEST, 1).candidates[0].view.id == best
    holder = RowHolder(pg_services, best)
    try:
        # waiting for the held row would block until let go; passing over it does not
        claim = _claim_in_thread(pg_services, "while-held").result(timeout=30)
    finally:
        holder.let_go()
    assert claim.vm.host_id == other
    # let go, the best host can be claimed again
    again = pg_services.claims.claim(dataclasses.replace(REQUEST, host_id=best), "after")
    assert again.vm.host_id == best
    assert_accounts_exact(pg_services)


def test_the_only_host_held_is_claimed_once_let_go(pg_services: Services) -> None:
    only = add_fake_host(pg_services, "only")
    holder = RowHolder(pg_services, only)
    future = _claim_in_thread(pg_services, "waits")
    try:
        # the page skips the held row; the last pass ranks every host and its CAS waits for
        # the row, so the request is not refused as if there were no capacity
        done, _ = concurrent.futures.wait([future], timeout=1.0)
        assert not done, future.exception() or future.result()
    finally:
        holder.let_go()
    claim = future.result(timeout=30)
    assert claim.vm.host_id == only
    detail = pg_services.hosts.get(only)
    assert detail.view.usage.vcpus.allocated == 1
    assert detail.view.usage.vms.total == 1
    assert_accounts_exact(pg_services)
