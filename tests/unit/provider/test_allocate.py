"""vmhost_provider.allocate with a small in-memory stand-in for the vmhost client.

``FakeVmHost`` implements the client methods allocate-or-compose uses (spaces, the idle list,
hosts, allocate/release/delete, compose) over plain dictionaries, with just enough placement
to compose on the first host that fits; a test sets ``refuse`` to make compose answer the
server's 409 with per-check reasons. Everything it is asked is recorded in ``calls``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from vmhost_provider.allocate import (
    CHECK_CONSTRAINTS,
    NoCapacity,
    allocate_or_compose,
    compose_body,
    mismatch,
    release,
)
from vmhost_provider.constraints import ConstraintsError, parse
from vmhost_provider.translate import TranslationError, translate

from vmhost import client as vmclient
from vmhost import model, schemas
from vmhost.schemas.hosts import NamedRef

GB = 1000**3
MIB = 1024**2


@dataclasses.dataclass
class Host:
    id: int
    name: str
    zone: str = "default"
    pool: str = "default"
    tags: tuple[str, ...] = ()
    architectures: tuple[str, ...] = ("amd64/generic",)
    networks: dict[str, list[str]] = dataclasses.field(
        default_factory=lambda: {"br0": [], "br-db": ["db"], "br-pub": ["public"]}
    )

    def wire(self) -> schemas.VmHost:
        return schemas.VmHost.model_construct(
            id=self.id,
            name=self.name,
            tags=list(self.tags),
            architectures=list(self.architectures),
            zone=NamedRef(name=self.zone, description="", id=1, resource_uri=""),
            pool=NamedRef(name=self.pool, description="", id=1, resource_uri=""),
            networks=[
                schemas.hosts.HostNetwork(name=n, kind="bridge", spaces=s)
                for n, s in self.networks.items()
            ],
        )


def vm_json(
    vm_id: int,
    host: Host,
    *,
    cores: int = 2,
    memory_mib: int = 4096,
    disks: tuple[tuple[int, str], ...] = ((20 * GB, "default"),),
    nics: tuple[tuple[str, str, str | None], ...] = (("eth0", "br0", None),),
    instance_type: str = "virtual-machine",
    owner: str = "",
) -> dict[str, Any]:
    return {
        "id": vm_id,
        "name": f"vm{vm_id}",
        "hostname": f"vm{vm_id}",
        "host": {"id": host.id, "name": host.name, "resource_uri": f"/h/{host.id}"},
        "origin": "composed",
        "state": "ready",
        "power_state": "running",
        "cores": cores,
        "memory_mib": memory_mib,
        "pinned_cores": [],
        "hugepages_backed": False,
        "disks": [{"name": f"d{i}", "size_bytes": s, "pool": p} for i, (s, p) in enumerate(disks)],
        "interfaces": [
            {"name": n, "network": net, "kind": "bridge", "space": sp} for n, net, sp in nics
        ],
        "instance_type": instance_type,
        "project": "",
        "uuid": "",
        "error": "",
        "resource_uri": f"/api/v1/vms/{vm_id}",
        "owner": owner,
    }


class FakeVmHost:
    """The client methods allocation uses, in memory."""

    def __init__(self, hosts: list[Host], spaces: tuple[str, ...] = ("db", "public")) -> None:
        self.hosts = {h.id: h for h in hosts}
        self.spaces = spaces
        self.vms: dict[int, dict[str, Any]] = {}
        self.calls: list[tuple[str, Any]] = []
        self.refuse: vmclient.ConflictError | None = None
        self.steal: set[int] = set()  # VMs another allocator takes just before we do

    def add_vm(self, host_id: int, **kwargs: Any) -> int:
        vm_id = len(self.vms) + 1
        self.vms[vm_id] = vm_json(vm_id, self.hosts[host_id], **kwargs)
        return vm_id

    def list_spaces(self) -> list[schemas.Space]:
        self.calls.append(("list_spaces", None))
        return [schemas.Space(id=i, space=s, network=f"br-{s}") for i, s in enumerate(self.spaces)]

    def idle_vms(self, limit: int = 100, **request: Any) -> list[schemas.Vm]:
        """Every idle VM, unfiltered (the provider's own checks must do the work)."""
        self.calls.append(("idle_vms", request))
        found = [v for v in self.vms.values() if v["owner"] == ""]
        return [schemas.Vm.model_validate(v) for v in found[:limit]]

    def get_host(self, key: int | str) -> schemas.VmHost:
        self.calls.append(("get_host", key))
        if key not in self.hosts:
            raise vmclient.NotFoundError(f"VM host {key!r} does not exist", status=404)
        return self.hosts[int(key)].wire()

    def allocate_vm(self, vm_id: int, owner: str) -> schemas.Vm:
        self.calls.append(("allocate_vm", vm_id))
        vm = self.vms[vm_id]
        if vm_id in self.steal:
            vm["owner"] = "someone-else"
        if vm["owner"]:
            raise vmclient.ConflictError(f"VM 'vm{vm_id}' is already allocated", status=409)
        vm["owner"] = owner
        return schemas.Vm.model_validate(vm)

    def release_vm(self, vm_id: int) -> schemas.Vm:
        self.calls.append(("release_vm", vm_id))
        self.vms[vm_id]["owner"] = ""
        return schemas.Vm.model_validate(self.vms[vm_id])

    def delete_vm(self, vm_id: int) -> schemas.Deleted:
        self.calls.append(("delete_vm", vm_id))
        vm = self.vms.pop(vm_id)
        return schemas.Deleted(id=vm_id, name=vm["name"])

    def compose(self, key: int | str | None = None, /, **body: Any) -> schemas.ComposeResult:
        self.calls.append(("compose", body))
        if self.refuse is not None:
            raise self.refuse
        host = next(iter(self.hosts.values()))
        vm_id = len(self.vms) + 1
        nics = tuple(
            (n["name"], n.get("network") or f"br-{n['space']}", n.get("space"))
            for n in body["interfaces"]
        )
        self.vms[vm_id] = vm_json(
            vm_id,
            host,
            cores=body["cores"],
            memory_mib=body["memory_mib"],
            disks=tuple((d["size_bytes"], d.get("pool") or "default") for d in body["disks"]),
            nics=nics or (("eth0", "br0", None),),
            instance_type=body["instance_type"],
            owner=body.get("owner", ""),
        )
        vm = schemas.Vm.model_validate(self.vms[vm_id])
        return schemas.ComposeResult(
            system_id=str(vm_id), resource_uri=vm.resource_uri, host=vm.host, vm=vm
        )

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


def no_room(*reasons: tuple[str, int, str]) -> vmclient.NoCapacityError:
    considered = sum(n for _, n, _ in reasons)
    parts = "; ".join(f"{n} {r}" for _, n, r in reasons)
    return vmclient.NoCapacityError(
        f"No VM host can take this request; {considered} hosts considered: {parts}",
        status=409,
        reasons=[schemas.Reason(check=c, hosts=n, reason=r) for c, n, r in reasons],
    )


@pytest.fixture
def vmh() -> FakeVmHost:
    return FakeVmHost(
        [Host(1, "h1", zone="z1", tags=("ssd",)), Host(2, "h2", zone="z2", tags=("gpu",))]
    )


# -- compose --------------------------------------------------------------------------------------


def test_compose_sends_the_translated_request_with_the_owner(vmh: FakeVmHost) -> None:
    got = allocate_or_compose(
        vmh,
        "cores=4 mem=8G root-disk=40G spaces=db,^public tags=ssd,^old zones=z1,z2",
        owner="juju:m1",
    )
    assert not got.reused and got.vm.owner == "juju:m1"
    (body,) = [b for name, b in vmh.calls if name == "compose"]
    assert body == {
        "cores": 4,
        "memory_mib": 8192,
        "disks": [{"size_bytes": 40 * 1024 * MIB, "tags": []}],
        "interfaces": [{"name": "eth0", "space": "db"}],
        "instance_type": "virtual-machine",
        "tags": ["ssd"],
        "not_tags": ["old"],
        "not_spaces": ["public"],
        "zones": ["z1", "z2"],
        "owner": "juju:m1",
    }
    assert "idle_vms" not in vmh.names()  # no warm pool: the idle list is not even read
    assert got.vm_id == got.vm.id and got.host == "h1"


def test_the_body_is_what_the_server_accepts() -> None:
    request = translate(
        parse("cores=2 mem=1G root-disk-source=fast arch=arm64 virt-type=container zones=z1"),
        storage="root:10(ssd),data:20",
        interfaces="0:space=db,type=macvlan;1:network=br1",
    )
    body = schemas.HostComposeBody.model_validate(compose_body(request, "o"), strict=True)
    assert body.zone == "z1" and body.architecture == "arm64" and body.owner == "o"
    assert [d.size_bytes for d in body.disk_specs()] == [10 * GB, 20 * GB]
    assert [(i.name, i.space, i.network, i.kind) for i in body.interface_specs()] == [
        ("eth0", "db", None, "macvlan"),
        ("eth1", None, "br1", None),
    ]
    assert body.instance_type == "container"


def test_unsupported_constraints_are_warnings(vmh: FakeVmHost) -> None:
    got = allocate_or_compose(vmh, "cores=1 cpu-power=100 instance-type=m5.large", owner="o")
    assert got.unsupported == ("cpu-power", "instance-type")
    assert got.vm.cores == 1


def test_bad_constraints_are_refused_before_anything_is_asked(vmh: FakeVmHost) -> None:
    with pytest.raises(ConstraintsError, match='unknown constraint "cheese"'):
        allocate_or_compose(vmh, "cheese=1", owner="o")
    with pytest.raises(ConstraintsError, match='bad "mem" constraint'):
        allocate_or_compose(vmh, "mem=lots", owner="o")
    with pytest.raises(TranslationError, match='no network is mapped to space "dmz"'):
        allocate_or_compose(vmh, "spaces=dmz", owner="o")
    assert "compose" not in vmh.names() and "idle_vms" not in vmh.names()


# -- the warm pool --------------------------------------------------------------------------------


def test_warm_pool_reuses_the_cheapest_matching_idle_vm(vmh: FakeVmHost) -> None:
    big = vmh.add_vm(1, cores=8, memory_mib=16384)
    small = vmh.add_vm(1, cores=2, memory_mib=4096)
    vmh.add_vm(1, cores=1, memory_mib=1024)  # too small
    vmh.add_vm(1, cores=4, memory_mib=8192, owner="taken")
    got = allocate_or_compose(vmh, "cores=2 mem=2G", owner="juju:m1", warm_pool=True)
    assert got.reused and got.vm.id == small and got.vm.owner == "juju:m1"
    assert "compose" not in vmh.names()
    again = allocate_or_compose(vmh, "cores=2 mem=2G", owner="juju:m2", warm_pool=True)
    assert again.reused and again.vm.id == big
    third = allocate_or_compose(vmh, "cores=2 mem=2G", owner="juju:m3", warm_pool=True)
    assert not third.reused and "compose" in vmh.names()


def test_a_vm_taken_meanwhile_is_skipped(vmh: FakeVmHost) -> None:
    first = vmh.add_vm(1)
    second = vmh.add_vm(1)
    vmh.steal.add(first)
    got = allocate_or_compose(vmh, "cores=1", owner="me", warm_pool=True)
    assert got.reused and got.vm.id == second
    assert [c for c in vmh.calls if c[0] == "allocate_vm"] == [
        ("allocate_vm", first),
        ("allocate_vm", second),
    ]


def test_hosts_are_read_once_and_only_for_candidates(vmh: FakeVmHost) -> None:
    for _ in range(3):
        vmh.add_vm(2, cores=1)
    vmh.add_vm(1, cores=16, memory_mib=1024)  # fails the VM checks: its host is not read
    allocate_or_compose(vmh, "cores=1 mem=2G zones=z1", owner="o", warm_pool=True)
    assert [c for c in vmh.calls if c[0] == "get_host"] == [("get_host", 2)]


@pytest.mark.parametrize(
    ("constraints", "why"),
    [
        ("cores=4", "has 2 cores, fewer than 4"),
        ("mem=8G", "has 4096 MiB of memory, less than 8192"),
        ("root-disk=30G", f"root disk has {20 * GB} bytes, fewer than {30 * 1024**3}"),
        ("root-disk-source=fast", "root disk is in storage pool 'default', not 'fast'"),
        ("virt-type=container", "is a virtual-machine, not a container"),
        ("arch=arm64", "is on a host that is not arm64"),
        ("zones=z2", "is in zone 'z1', not 'z2'"),
        ("zones=z2,z3", "is in zone 'z1', not one of z2,z3"),
        ("tags=gpu", "is on a host without tags gpu"),
        ("tags=^ssd", "is on a host with excluded tags ssd"),
        ("spaces=db", "has no NIC on space 'db'"),
        ("spaces=^public", "has NIC eth1 in excluded space 'public'"),
    ],
)
def test_no_reuse_when_the_idle_vm_does_not_match(constraints: str, why: str) -> None:
    host = Host(1, "h1", zone="z1", tags=("ssd",))
    vmh = FakeVmHost([host])
    vm_id = vmh.add_vm(1, nics=(("eth0", "br0", None), ("eth1", "br-pub", None)))
    vm = schemas.Vm.model_validate(vmh.vms[vm_id])
    assert mismatch(vm, host.wire(), translate(parse(constraints))) == why
    got = allocate_or_compose(vmh, constraints, owner="o", warm_pool=True)
    assert not got.reused and got.vm.id != vm_id
    assert vmh.vms[vm_id]["owner"] == ""


def test_matching_vms_with_spaces_and_disks() -> None:
    host = Host(1, "h1", zone="z1")
    vm = schemas.Vm.model_validate(
        vm_json(
            1,
            host,
            cores=4,
            memory_mib=8192,
            disks=((40 * GB, "fast"), (100 * GB, "default")),
            nics=(("eth0", "br-db", "db"), ("eth1", "br0", None)),
        )
    )
    wire = host.wire()
    assert mismatch(vm, wire, translate(parse("cores=4 mem=8G spaces=db zones=z1"))) is None
    # a NIC serves one requested NIC: the network one takes eth0, space db has none left
    both = translate(parse("spaces=db"), interfaces="0:network=br-db")
    assert mismatch(vm, wire, both) == "has no NIC on space 'db'"
    # the space comes from the host's network mapping too, not only from the NIC record
    unlabelled = schemas.Vm.model_validate(vm_json(2, host, nics=(("eth0", "br-db", None),)))
    assert mismatch(unlabelled, wire, translate(parse("spaces=db"))) is None
    two = translate(parse(""), storage="root:30(fast),data:50")
    assert mismatch(vm, wire, two) is None
    assert mismatch(vm, wire, translate(parse(""), storage="root:30,a:1,b:1")) == (
        "has 2 disks, fewer than 3"
    )
    assert mismatch(vm, wire, translate(parse("spaces=db"), interfaces="0:space=db;1:space=db"))
    named = dataclasses.replace(translate(parse("")), hostname="web1")
    assert mismatch(vm, wire, named) == "is named 'vm1', not 'web1'"


# -- no capacity ----------------------------------------------------------------------------------


def test_no_capacity_names_the_constraint(vmh: FakeVmHost) -> None:
    vmh.refuse = no_room(("memory", 2, "lack 16384 MiB of memory"))
    with pytest.raises(NoCapacity) as caught:
        allocate_or_compose(vmh, "cores=2 mem=16G", owner="o")
    assert caught.value.constraints == ("mem",)
    assert str(caught.value) == (
        "no VM host can satisfy constraint mem=16384M (2 hosts lack 16384 MiB of memory)"
    )
    assert vmh.vms == {}


def test_no_capacity_with_several_checks(vmh: FakeVmHost) -> None:
    vmh.refuse = no_room(
        ("zone", 3, "not in zones z7,z8"),
        ("cores", 1, "lack 64 free cores"),
        ("status", 1, "unreachable (not ready)"),
    )
    with pytest.raises(NoCapacity) as caught:
        allocate_or_compose(vmh, "cores=64 zones=z7,z8", owner="o")
    assert caught.value.constraints == ("zones", "cores")
    assert str(caught.value) == (
        "no VM host can satisfy constraints zones=z7,z8 (3 hosts not in zones z7,z8), "
        "cores=64 (1 host lack 64 free cores); also 1 host unreachable (not ready)"
    )


@pytest.mark.parametrize(
    ("constraints", "extras", "check", "reason", "named"),
    [
        ("mem=1G", {}, "cores", "lack 1 free cores", "cores (not set: vmhost's default cores=1)"),
        ("arch=arm64", {}, "architecture", "are not arm64", "arch=arm64"),
        ("tags=gpu", {}, "tags", "lack tags gpu", "tags=gpu"),
        ("virt-type=container", {}, "instance-type", "cannot run containers", "virt-type="),
        ("spaces=db", {}, "network", "have no network in space 'db'", "spaces=db"),
        ("spaces=^db", {}, "spaces", "have networks only in excluded spaces db", "spaces=^db"),
        ("root-disk=1T", {}, "storage", "lack 1099.51 GB in storage pool 'default'", "root-disk="),
        ("root-disk-source=nvme", {}, "storage", "have no storage pool 'nvme'", "root-disk-sou"),
        ("", {"storage": "root:50"}, "storage", "lack 50 GB in storage pool 'x'", "storage="),
        ("", {"interfaces": "0:space=db"}, "network", "have no network", "interfaces="),
        ("", {"interfaces": "0:space=db,type=sriov"}, "sriov", "lack a free SR-IOV", "interfa"),
        ("mem=1G", {}, "hugepages", "lack 1 GiB of 2048 KiB hugepages", "mem=1024M"),
    ],
)
def test_reasons_map_to_juju_constraints(
    vmh: FakeVmHost,
    constraints: str,
    extras: dict[str, str],
    check: str,
    reason: str,
    named: str,
) -> None:
    vmh.refuse = no_room((check, 1, reason))
    with pytest.raises(NoCapacity) as caught:
        allocate_or_compose(vmh, constraints, owner="o", **extras)
    assert str(caught.value).startswith(f"no VM host can satisfy constraint {named}"), str(
        caught.value
    )
    assert caught.value.reasons[0].check == check


def test_every_server_check_is_mapped() -> None:
    # Every check the server can report (model.Check) names a Juju constraint, except those
    # about the host's state or the choice of host (no constraint can be relaxed for them) and
    # the resource pool (Juju has no constraint for it; the provider never asks for one).
    unmapped = {c for c in model.Check if c.about_host_state} | {model.Check.POOL}
    assert unmapped == {"host", "status", "driver", "pool"}
    assert set(CHECK_CONSTRAINTS) == set(model.Check) - unmapped
    assert all(isinstance(key, str) and key for key in CHECK_CONSTRAINTS.values())


def test_no_hosts_at_all(vmh: FakeVmHost) -> None:
    vmh.refuse = vmclient.ConflictError(
        "No VM host can take this request; there are no VM hosts", status=409
    )
    with pytest.raises(NoCapacity, match="no VM host can take this machine: there are no VM"):
        allocate_or_compose(vmh, "", owner="o")


def test_other_conflicts_are_not_no_capacity(vmh: FakeVmHost) -> None:
    vmh.refuse = vmclient.ConflictError("cannot claim: VM hosts kept changing", status=409)
    with pytest.raises(vmclient.ConflictError, match="kept changing"):
        allocate_or_compose(vmh, "", owner="o")


# -- release --------------------------------------------------------------------------------------


def test_release_decomposes_or_keeps_the_vm(vmh: FakeVmHost) -> None:
    one = allocate_or_compose(vmh, "cores=1", owner="o").vm_id
    two = allocate_or_compose(vmh, "cores=1", owner="o").vm_id
    assert release(vmh, one) is False
    assert one not in vmh.vms
    assert release(vmh, two, warm_pool=True) is True
    assert vmh.vms[two]["owner"] == ""
    assert allocate_or_compose(vmh, "cores=1", owner="p", warm_pool=True).vm_id == two


def test_request_owner_is_used_when_none_is_given() -> None:
    request = model.ComposeRequest(owner="from-request")
    assert compose_body(request)["owner"] == "from-request"
    assert "owner" not in compose_body(model.ComposeRequest())
