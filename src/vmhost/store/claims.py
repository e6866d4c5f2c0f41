"""A claim's writes: the host's compare-and-swap and the VM record, as one statement on
PostgreSQL."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from vmhost import model
from vmhost.model.accounting import Allocation

from . import driver, hosts, vms
from . import tables as t


@functools.lru_cache(maxsize=64)
def _claim_statement(host_keys: tuple[str, ...], vm_keys: tuple[str, ...]) -> driver.Statement:
    """``WITH cas AS (UPDATE hosts ... WHERE id AND generation RETURNING id) INSERT INTO vms
    SELECT cas.id, ...``: the VM row is inserted only if the compare-and-swap updated the host.
    Parameters: ``cas_id``, ``cas_generation``, ``h_<column>`` (the host's new values, the new
    generation among them) and ``v_<column>`` (the VM's)."""
    cas = (
        sa.update(t.hosts)
        .where(*hosts.CAS_WHERE)
        .values({k: sa.bindparam(f"h_{k}", type_=t.hosts.c[k].type) for k in host_keys})
        .returning(t.hosts.c.id)
        .cte("cas")
    )
    row = sa.select(cas.c.id, *(sa.bindparam(f"v_{k}", type_=t.vms.c[k].type) for k in vm_keys))
    insert = sa.insert(t.vms).from_select(["host_id", *vm_keys], row).add_cte(cas)
    return driver.Statement(insert.returning(t.vms.c.id))


def insert_claim(
    conn: sa.Connection,
    vm: model.Vm,
    allocation: Allocation,
    generation: int,
    host_values: Mapping[str, Any],
) -> int:
    """A claim's two writes, in the caller's transaction: the new usage of the VM's host
    (``host_values``) by compare-and-swap of its ``generation`` (as
    :func:`hosts.cas_update_host`), and the record of ``vm``. The new VM's id.

    On PostgreSQL both are one statement, so one round trip (the insert selects from the
    update's RETURNING, so it inserts nothing when the CAS fails); SQLite, which has no
    data-modifying CTEs, runs the two. Raises GenerationConflictError, having written nothing,
    when another writer changed the host first.
    """
    host_id = vm.host_id
    if conn.dialect.name != "postgresql":
        hosts.cas_update_host(conn, host_id, generation, host_values)
        return vms.insert_vm(conn, vm, allocation)
    new_host = {"generation": generation + 1, **host_values}
    new_vm = vms.insert_values(vm, allocation)
    statement = _claim_statement(tuple(new_host), tuple(new_vm))
    values = {
        "cas_id": host_id,
        "cas_generation": generation,
        **{f"h_{k}": v for k, v in new_host.items()},
        **{f"v_{k}": v for k, v in new_vm.items()},
    }
    vm_id = vms.fetch_id(statement.execute(conn, values))
    if vm_id is None:
        raise hosts.generation_conflict(host_id, generation)
    return vm_id
