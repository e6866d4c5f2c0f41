"""Repository functions for VM records (claims included)."""

from __future__ import annotations

import collections
import time
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from vmhost import model
from vmhost.model.accounting import Allocation

from . import driver
from . import tables as t


def spec_to_json(vm: model.Vm) -> dict[str, Any]:
    """The parts of a VM kept in the ``spec`` column."""
    return {
        "pinned_cores": list(vm.pinned_cores),
        "hugepages_backed": vm.hugepages_backed,
        "hugepage_size_kib": vm.hugepage_size_kib,
        "numa_node": vm.numa_node,
        "numa_memory_mib": [list(x) for x in vm.numa_memory_mib],
        "disks": [[d.name, d.size_bytes, d.pool, d.volume] for d in vm.disks],
        "interfaces": [
            [i.name, i.network, i.kind.value, i.mac_address, i.space] for i in vm.interfaces
        ],
        "addresses": list(vm.addresses),
    }


def vm_from_row(row: Any) -> model.Vm:
    """A Vm from a ``vms`` row."""
    spec = row.spec
    return model.Vm(
        id=row.id,
        host_id=row.host_id,
        name=row.name,
        origin=model.VmOrigin(row.origin),
        state=model.VmState(row.state),
        cores=row.cores,
        memory_mib=row.memory_mib,
        pinned_cores=tuple(spec.get("pinned_cores", ())),
        hugepages_backed=spec.get("hugepages_backed", False),
        hugepage_size_kib=spec.get("hugepage_size_kib"),
        numa_node=spec.get("numa_node"),
        numa_memory_mib=tuple((a, b) for a, b in spec.get("numa_memory_mib", ())),
        disks=tuple(model.VmDisk(d[0], d[1], d[2], d[3]) for d in spec.get("disks", ())),
        interfaces=tuple(
            model.VmInterface(i[0], i[1], model.NetworkKind(i[2]), i[3], i[4])
            for i in spec.get("interfaces", ())
        ),
        instance_type=model.InstanceType(row.instance_type),
        power_state=row.power_state,
        project=row.project,
        hostname=row.hostname,
        uuid=row.uuid,
        error=row.error,
        created_at=row.created_at,
        owner=row.owner,
        addresses=tuple(spec.get("addresses", ())),
    )


def _vm_values(vm: model.Vm, now: float) -> dict[str, Any]:
    """The columns every write of a VM record sets from the VM (an insert sets more)."""
    return {
        "state": vm.state.value,
        "cores": vm.cores,
        "memory_mib": vm.memory_mib,
        "power_state": vm.power_state,
        "uuid": vm.uuid,
        "hostname": vm.hostname,
        "spec": spec_to_json(vm),
        "error": vm.error,
        "origin": vm.origin.value,
        "updated_at": now,
    }


# Built once, run on the driver cursor (store/driver.py); the new id comes back by RETURNING.
_INSERT_VM = driver.Statement(sa.insert(t.vms).returning(t.vms.c.id))


def insert_values(vm: model.Vm, allocation: Allocation) -> dict[str, Any]:
    """Every column an insert of ``vm`` sets but ``host_id``, always in this order (also
    the claim's, ``claims.insert_claim``)."""
    now = time.time()
    return _vm_values(vm, now) | {
        "name": vm.name,
        "instance_type": vm.instance_type.value,
        "project": vm.project,
        "allocation": allocation.to_json(),
        "created_at": now,
        "owner": vm.owner,
    }


def fetch_id(cursor: Any) -> int | None:
    """The id an INSERT ... RETURNING on the driver cursor returned (None: no row); closes it."""
    try:
        row = cursor.fetchone()
    finally:
        cursor.close()
    return None if row is None else int(row[0])


def insert_vm(conn: sa.Connection, vm: model.Vm, allocation: Allocation) -> int:
    """A VM record (a claim when its state is ``claimed``)."""
    values = {"host_id": vm.host_id, **insert_values(vm, allocation)}
    # the keys, always in this order, pick the statement compiled for them
    vm_id = fetch_id(_INSERT_VM.execute(conn, values, tuple(values)))
    if vm_id is None:
        raise RuntimeError("the INSERT returned no primary key")
    return vm_id


def update_vm(
    conn: sa.Connection,
    vm: model.Vm,
    allocation: Allocation | None = None,
    *,
    expect_state: model.VmState | None = None,
) -> bool:
    """Write a VM record back; with ``expect_state``, only if it is still in that state.
    Whether a row was written."""
    values = _vm_values(vm, time.time())
    if allocation is not None:
        values["allocation"] = allocation.to_json()
    query = sa.update(t.vms).where(t.vms.c.id == vm.id)
    if expect_state is not None:
        query = query.where(t.vms.c.state == expect_state.value)
    return conn.execute(query.values(**values)).rowcount == 1


def set_vm_state(conn: sa.Connection, vm_id: int, state: model.VmState, error: str = "") -> None:
    """Change a VM's state only."""
    conn.execute(
        sa.update(t.vms)
        .where(t.vms.c.id == vm_id)
        .values(state=state.value, error=error, updated_at=time.time())
    )


def set_power_state(conn: sa.Connection, vm_id: int, power_state: str) -> None:
    """Record a power state."""
    conn.execute(sa.update(t.vms).where(t.vms.c.id == vm_id).values(power_state=power_state))


def delete_vm(conn: sa.Connection, vm_id: int) -> None:
    """Drop a VM record."""
    conn.execute(sa.delete(t.vms).where(t.vms.c.id == vm_id))


def get_vm(conn: sa.Connection, vm_id: int) -> tuple[model.Vm, Allocation]:
    """A VM and its allocation, or NotFoundError."""
    row = conn.execute(sa.select(t.vms).where(t.vms.c.id == vm_id)).first()
    if row is None:
        raise model.NotFoundError("VM", vm_id)
    return vm_from_row(row), Allocation.from_json(row.allocation)


def list_vms(
    conn: sa.Connection,
    host_id: int | None = None,
    states: Sequence[model.VmState] | None = None,
    origin: model.VmOrigin | None = None,
    filters: Mapping[str, Any] | None = None,
    owner: str | None = None,
    allocated: bool | None = None,
) -> list[tuple[model.Vm, Allocation]]:
    """VM records, optionally of one host, in some states, of one origin, of one owner;
    ``allocated`` True/False keeps VMs that have an owner / have none."""
    query = sa.select(t.vms).order_by(t.vms.c.id)
    if host_id is not None:
        query = query.where(t.vms.c.host_id == host_id)
    if states:
        query = query.where(t.vms.c.state.in_([s.value for s in states]))
    if origin is not None:
        query = query.where(t.vms.c.origin == origin.value)
    if owner is not None:
        query = query.where(t.vms.c.owner == owner)
    if allocated is not None:
        query = query.where(t.vms.c.owner != "" if allocated else t.vms.c.owner == "")
    for key, value in (filters or {}).items():
        query = query.where(getattr(t.vms.c, key) == value)
    return [(vm_from_row(r), Allocation.from_json(r.allocation)) for r in conn.execute(query)]


def vm_name_taken(conn: sa.Connection, name: str) -> bool:
    """Whether a VM on any host is named ``name`` (exactly; one entry of ``ix_vms_name``)."""
    query = sa.select(t.vms.c.id).where(t.vms.c.name == name).limit(1)
    return conn.execute(query).first() is not None


# The warm pool's reads and its allocation, built once and run on the driver cursor
# (store/driver.py): the columns ``vm_from_row`` reads, a page of idle VMs cheapest first, and
# the compare-and-swap of the owner that answers the VM as it now is (RETURNING).
_VM_COLUMNS = tuple(
    t.vms.c[name]
    for name in (
        "id",
        "host_id",
        "name",
        "origin",
        "state",
        "cores",
        "memory_mib",
        "spec",
        "instance_type",
        "power_state",
        "project",
        "hostname",
        "uuid",
        "error",
        "created_at",
        "owner",
    )
)
_VmRow = collections.namedtuple("_VmRow", [c.name for c in _VM_COLUMNS])  # type: ignore[misc]
_IDLE = (
    t.vms.c.state == model.VmState.READY.value,
    t.vms.c.origin == model.VmOrigin.COMPOSED.value,
    t.vms.c.owner == "",
)
_IDLE_PAGE = {
    typed: driver.Statement(
        sa.select(*_VM_COLUMNS)
        .where(
            *_IDLE,
            t.vms.c.cores >= sa.bindparam("min_cores"),
            t.vms.c.memory_mib >= sa.bindparam("min_memory_mib"),
            *([t.vms.c.instance_type == sa.bindparam("instance_type")] if typed else []),
        )
        .order_by(t.vms.c.cores + t.vms.c.memory_mib / 1024.0, t.vms.c.id)
        .limit(sa.bindparam("limit"))
        .offset(sa.bindparam("offset"))
    )
    for typed in (False, True)
}
_TAKE = driver.Statement(
    sa.update(t.vms).where(t.vms.c.id == sa.bindparam("take_id"), *_IDLE).returning(*_VM_COLUMNS)
)
_VM_PROCESSORS: dict[str, list[tuple[int, driver.Processor]]] = {}


def _vms_of(conn: sa.Connection, cursor: Any) -> list[model.Vm]:
    """The VMs of a driver cursor's rows (``_VM_COLUMNS``); the cursor is closed."""
    try:
        rows = cursor.fetchall()
        processors = _VM_PROCESSORS.get(conn.dialect.name)
        if processors is None:
            processors = driver.result_processors(_VM_COLUMNS, conn.dialect, cursor)
            _VM_PROCESSORS[conn.dialect.name] = processors
    finally:
        cursor.close()
    vms = []
    for row in rows:
        values = list(row)
        for i, processor in processors:
            values[i] = processor(values[i])
        vms.append(vm_from_row(_VmRow._make(values)))
    return vms


def idle_page(
    conn: sa.Connection,
    min_cores: int,
    min_memory_mib: int,
    instance_type: model.InstanceType | None,
    limit: int,
    offset: int = 0,
) -> list[model.Vm]:
    """:func:`idle_vms` for one page (``limit`` records from ``offset``), read on the driver
    cursor: what the warm pool's allocation reads."""
    values: dict[str, Any] = {
        "min_cores": min_cores,
        "min_memory_mib": min_memory_mib,
        "limit": limit,
        "offset": offset,
    }
    if instance_type is not None:
        values["instance_type"] = instance_type.value
    return _vms_of(conn, _IDLE_PAGE[instance_type is not None].execute(conn, values))


def take_vm(conn: sa.Connection, vm_id: int, owner: str) -> model.Vm | None:
    """:func:`allocate_vm` answering the VM as it is once allocated (None when nothing
    changed: it was not idle), in one statement."""
    cursor = _TAKE.execute(
        conn,
        {"take_id": vm_id, "owner": owner, "updated_at": time.time()},
        ("owner", "updated_at"),
    )
    vms = _vms_of(conn, cursor)
    return vms[0] if vms else None


def idle_vms(
    conn: sa.Connection,
    min_cores: int = 0,
    min_memory_mib: int = 0,
    instance_type: model.InstanceType | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[model.Vm]:
    """Composed, ready VMs without an owner, at least this big, of this type, cheapest first
    (cores + memory in GiB, then id), a page at a time. Records only: their allocations are
    not read."""
    v = t.vms.c
    query = (
        sa.select(*(c for c in t.vms.c if c.name != "allocation"))
        .where(
            v.state == model.VmState.READY.value,
            v.origin == model.VmOrigin.COMPOSED.value,
            v.owner == "",
        )
        .order_by(v.cores + v.memory_mib / 1024.0, v.id)
    )
    if min_cores:
        query = query.where(v.cores >= min_cores)
    if min_memory_mib:
        query = query.where(v.memory_mib >= min_memory_mib)
    if instance_type is not None:
        query = query.where(v.instance_type == instance_type.value)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return [vm_from_row(row) for row in conn.execute(query)]


def allocate_vm(conn: sa.Connection, vm_id: int, owner: str) -> bool:
    """Give an idle, ready, composed VM to ``owner``: one ``UPDATE ... WHERE owner = ''``, so
    of two allocators racing for the same VM exactly one wins. False when nothing changed."""
    result = conn.execute(
        sa.update(t.vms)
        .where(
            t.vms.c.id == vm_id,
            t.vms.c.owner == "",
            t.vms.c.origin == model.VmOrigin.COMPOSED.value,
            t.vms.c.state == model.VmState.READY.value,
        )
        .values(owner=owner, updated_at=time.time())
    )
    return bool(result.rowcount == 1)


def release_vm(conn: sa.Connection, vm_id: int) -> bool:
    """Clear a VM's owner (it becomes idle). False when the VM does not exist."""
    result = conn.execute(
        sa.update(t.vms).where(t.vms.c.id == vm_id).values(owner="", updated_at=time.time())
    )
    return bool(result.rowcount == 1)


def set_observed(
    conn: sa.Connection, vm_id: int, power_state: str, addresses: Sequence[str]
) -> None:
    """Record what the host says now about a VM: power state and addresses (spec JSON)."""
    row = conn.execute(sa.select(t.vms.c.spec).where(t.vms.c.id == vm_id)).first()
    if row is None:
        raise model.NotFoundError("VM", vm_id)
    spec = {**row.spec, "addresses": list(addresses)}
    conn.execute(
        sa.update(t.vms)
        .where(t.vms.c.id == vm_id)
        .values(power_state=power_state, spec=spec, updated_at=time.time())
    )


def count_vms(conn: sa.Connection) -> int:
    """How many VM records exist."""
    return int(conn.execute(sa.select(sa.func.count()).select_from(t.vms)).scalar_one())
