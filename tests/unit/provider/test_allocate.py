"""vmhost_provider.allocate without a server: the body it sends, the Juju constraints named
from the server's structured no-capacity reasons, and what it does with the server's answers
(a VM taken meanwhile, other conflicts). Allocation through the real API over fake hosts is in
``tests/functional/api/test_provider_allocate.py``."""

from __future__ import annotations

from typing import Any

import pytest
from vmhost_provider.allocate import (
    CHECK_CONSTRAINTS,
    NoCapacity,
    allocate_or_compose,
    no_capacity,
    prepare,
    with_fields,
)
from vmhost_provider.constraints import ConstraintsError, parse
from vmhost_provider.translate import TranslationError

from vmhost import client as vmclient
from vmhost import model, schemas

GB = 1000**3
MIB = 1024**2


def vm(vm_id: int) -> schemas.Vm:
    return schemas.Vm.model_validate(
        {
            "id": vm_id,
            "name": f"vm{vm_id}",
            "hostname": f"vm{vm_id}",
            "host": {"id": 1, "name": "h1", "resource_uri": "/api/v1/vm-hosts/1"},
            "origin": "composed",
            "state": "ready",
            "power_state": "running",
            "cores": 1,
            "memory_mib": 2048,
            "pinned_cores": [],
            "hugepages_backed": False,
            "disks": [],
            "interfaces": [],
            "instance_type": "virtual-machine",
            "project": "",
            "uuid": "",
            "error": "",
            "resource_uri": f"/api/v1/vms/{vm_id}",
        }
    )


class Vms:
    """Answers of ``client.vms`` set by each test; every call recorded."""

    def __init__(self, calls: list[tuple[str, Any]]) -> None:
        self.calls = calls
        self.offered: list[schemas.Vm] = []
        self.taken: set[int] = set()  # VMs another allocator takes just before we do
        self.refuse: vmclient.ClientError | None = None

    def idle(self, body: schemas.HostComposeBody, limit: int = 100) -> list[schemas.Vm]:
        self.calls.append(("idle", body))
        return self.offered[:limit]

    def allocate(self, vm_id: int, owner: str) -> schemas.Vm:
        self.calls.append(("allocate", vm_id))
        if vm_id in self.taken:
            raise vmclient.ConflictError(f"VM 'vm{vm_id}' is already allocated", status=409)
        return vm(vm_id).model_copy(update={"owner": owner})

    def allocate_matching(
        self, body: schemas.HostComposeBody, owner: str, *, compose: bool = False
    ) -> schemas.AllocateResult:
        """The server's one-request answer: the first offered VM nobody took meanwhile, else
        (with ``compose``) a composed one."""
        self.calls.append(("allocate_matching", (body, owner, compose)))
        free = [v for v in self.offered if v.id not in self.taken]
        if free:
            got = free[0].model_copy(update={"owner": owner})
            return schemas.AllocateResult(
                system_id=str(got.id),
                resource_uri=got.resource_uri,
                host=got.host,
                vm=got,
                reused=True,
            )
        if self.refuse is not None:
            raise self.refuse
        if not compose:
            raise vmclient.ConflictError("no idle VM satisfies the request", status=409)
        made = vm(99).model_copy(update={"owner": owner})
        return schemas.AllocateResult(
            system_id="99", resource_uri=made.resource_uri, host=made.host, vm=made, reused=False
        )

    def release(self, vm_id: int) -> schemas.Vm:
        self.calls.append(("release", vm_id))
        return vm(vm_id)

    def delete(self, vm_id: int) -> schemas.Deleted:
        self.calls.append(("delete", vm_id))
        return schemas.Deleted(id=vm_id, name=f"vm{vm_id}")

    def compose(self, body: schemas.HostComposeBody) -> schemas.ComposeResult:
        self.calls.append(("compose", body))
        if self.refuse is not None:
            raise self.refuse
        made = vm(99)
        return schemas.ComposeResult(
            system_id="99", resource_uri=made.resource_uri, host=made.host, vm=made
        )


class Spaces:
    def __init__(self, calls: list[tuple[str, Any]]) -> None:
        self.calls = calls

    def list(self) -> list[schemas.Space]:
        self.calls.append(("spaces", None))
        return [schemas.Space(id=1, space="db", network="br-db")]


class Answers:
    """Stands in for the server's answers (not its logic: the server's checks run in the
    functional tests)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.vms = Vms(self.calls)
        self.spaces = Spaces(self.calls)

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


@pytest.fixture
def server() -> Answers:
    return Answers()


# -- the body -------------------------------------------------------------------------------------


def test_the_body_is_the_translated_request() -> None:
    _, body, _ = prepare(
        "cores=4 mem=8G root-disk=40G spaces=db,^public tags=ssd,^old zones=z1,z2"
    )
    assert body.model_dump(exclude_defaults=True) == {
        "cores": 4,
        "memory_mib": 8192,
        "disks": [{"size_bytes": 40 * 1024 * MIB}],
        "interfaces": [{"name": "eth0", "space": "db"}],
        "tags": ["ssd"],
        "not_tags": ["old"],
        "not_spaces": ["public"],
        "zones": ["z1", "z2"],
    }
    assert with_fields(body, owner="juju:m1").owner == "juju:m1" and body.owner is None


def test_the_body_is_what_the_server_accepts() -> None:
    _, body, _ = prepare(
        "cores=2 mem=1G root-disk-source=fast arch=arm64 virt-type=container zones=z1",
        storage="root:10(ssd),data:20",
        interfaces="0:space=db,type=macvlan;1:network=br1",
    )
    sent = body.model_dump(mode="json", exclude_unset=True)
    again = schemas.HostComposeBody.model_validate(with_fields(body, owner="o").model_dump())
    assert schemas.HostComposeBody.model_validate(sent, strict=True) == body
    assert again.zone == "z1" and again.architecture == "arm64" and again.owner == "o"
    assert [d.size_bytes for d in body.disk_specs()] == [10 * GB, 20 * GB]
    assert [(i.name, i.space, i.network, i.kind) for i in body.interface_specs()] == [
        ("eth0", "db", None, "macvlan"),
        ("eth1", None, "br1", None),
    ]
    assert body.instance_type == "container"


def test_unsupported_constraints_are_warnings(server: Answers) -> None:
    got = allocate_or_compose(server, "cores=1 cpu-power=100 instance-type=m5.large", owner="o")
    assert got.unsupported == ("cpu-power", "instance-type")
    (sent,) = [b for name, b in server.calls if name == "compose"]
    assert sent.cores == 1 and sent.owner == "o"


def test_bad_constraints_are_refused_before_anything_is_asked(server: Answers) -> None:
    with pytest.raises(ConstraintsError, match='unknown constraint "cheese"'):
        allocate_or_compose(server, "cheese=1", owner="o")
    with pytest.raises(ConstraintsError, match='bad "mem" constraint'):
        allocate_or_compose(server, "mem=lots", owner="o")
    with pytest.raises(TranslationError, match='no network is mapped to space "dmz"'):
        allocate_or_compose(server, "spaces=dmz", owner="o")
    assert server.names() == ["spaces"]  # the one look-up spaces need, nothing else


# -- the warm pool --------------------------------------------------------------------------------


def test_the_first_vm_offered_is_taken(server: Answers) -> None:
    server.vms.offered = [vm(3), vm(4)]
    got = allocate_or_compose(server, "cores=1", owner="me", warm_pool=True)
    assert got.reused and got.vm.id == 3 and got.vm.owner == "me"
    # one request: no idle list, no per-host reads, no re-check (the server takes the VM)
    assert server.names() == ["allocate_matching"]
    ((body, owner, compose),) = [args for name, args in server.calls]
    assert (body.cores, owner, compose) == (1, "me", True)


def test_a_vm_taken_meanwhile_is_skipped(server: Answers) -> None:
    # the server skips a VM another allocator took (its CAS: tests/functional/test_allocation
    # .py); the provider gives what the one request answers
    server.vms.offered = [vm(3), vm(4)]
    server.vms.taken.add(3)
    got = allocate_or_compose(server, "cores=1", owner="me", warm_pool=True)
    assert got.reused and got.vm.id == 4
    assert server.names() == ["allocate_matching"]


def test_nothing_offered_composes(server: Answers) -> None:
    got = allocate_or_compose(server, "cores=1", owner="me", warm_pool=True)
    assert not got.reused and got.vm.owner == "me"
    assert server.names() == ["allocate_matching"]  # the miss composes in the same request
    allocate_or_compose(server, "cores=1", owner="me")  # no warm pool: the idle VMs unread
    assert server.names() == ["allocate_matching", "compose"]


def test_no_capacity_on_a_warm_pool_miss(server: Answers) -> None:
    server.vms.refuse = no_room(reason("memory", 2, "lack 8192 MiB of memory"))
    with pytest.raises(NoCapacity) as caught:
        allocate_or_compose(server, "mem=8G", owner="me", warm_pool=True)
    assert caught.value.constraints == ("mem",)
    assert server.names() == ["allocate_matching"]


# -- no capacity: structured reasons in Juju's words ----------------------------------------------


def reason(check: str, hosts: int, words: str, **subject: Any) -> schemas.Reason:
    failure = {"check": check, "reason": words, "detail": words, "subject": subject}
    return schemas.Reason.model_validate(
        {"check": check, "hosts": hosts, "reason": words, "failures": [failure]}
    )


def no_room(*reasons: schemas.Reason) -> vmclient.NoCapacityError:
    return vmclient.NoCapacityError(
        "No VM host can take this request; ...", status=409, reasons=list(reasons)
    )


def test_no_capacity_names_the_constraint(server: Answers) -> None:
    server.vms.refuse = no_room(reason("memory", 2, "lack 16384 MiB of memory"))
    with pytest.raises(NoCapacity) as caught:
        allocate_or_compose(server, "cores=2 mem=16G", owner="o")
    assert caught.value.constraints == ("mem",)
    assert str(caught.value) == (
        "no VM host can satisfy constraint mem=16384M (2 hosts lack 16384 MiB of memory)"
    )


def test_no_capacity_with_several_checks(server: Answers) -> None:
    server.vms.refuse = no_room(
        reason("zone", 3, "not in zones z7,z8"),
        reason("cores", 1, "lack 64 free cores"),
        reason("status", 1, "unreachable (not ready)"),
    )
    with pytest.raises(NoCapacity) as caught:
        allocate_or_compose(server, "cores=64 zones=z7,z8", owner="o")
    assert caught.value.constraints == ("zones", "cores")
    assert str(caught.value) == (
        "no VM host can satisfy constraints zones=z7,z8 (3 hosts not in zones z7,z8), "
        "cores=64 (1 host lack 64 free cores); also 1 host unreachable (not ready)"
    )


def test_every_failure_of_a_host_is_named() -> None:
    both = schemas.Reason.model_validate(
        {
            "check": "cores",
            "hosts": 1,
            "reason": "lack 8 free cores",
            "host": {"id": 1, "name": "kvm-3"},
            "failures": [
                {"check": "cores", "reason": "lack 8 free cores", "detail": "8 requested"},
                {"check": "memory", "reason": "lack 9 GiB", "detail": "9216 MiB requested"},
            ],
        }
    )
    cons, body, _ = prepare("cores=8 mem=9G")
    found = no_capacity(no_room(both), cons, body)
    assert found.constraints == ("cores", "mem")
    assert "cores=8 (1 host lack 8 free cores), mem=9216M (1 host lack 9 GiB)" in str(found)


@pytest.mark.parametrize(
    ("constraints", "extras", "check", "words", "subject", "named"),
    [
        (
            "mem=1G",
            {},
            "cores",
            "lack 1 free cores",
            {},
            "cores (not set: vmhost's default cores=1)",
        ),
        ("arch=arm64", {}, "architecture", "are not arm64", {}, "arch=arm64"),
        ("tags=gpu", {}, "tags", "lack tags gpu", {}, "tags=gpu"),
        ("virt-type=container", {}, "instance-type", "cannot run containers", {}, "virt-type="),
        (
            "spaces=db",
            {},
            "network",
            "have no network in space 'db'",
            {"space": "db"},
            "spaces=db",
        ),
        ("spaces=^db", {}, "spaces", "have networks only in excluded spaces db", {}, "spaces=^db"),
        (
            "root-disk=1T",
            {},
            "storage",
            "lack 1099.51 GB in storage pool 'default'",
            {"storage_pool": "default"},
            "root-disk=",
        ),
        (
            "root-disk-source=nvme",
            {},
            "storage",
            "have no storage pool 'nvme'",
            {"storage_pool": "nvme"},
            "root-disk-sou",
        ),
        ("", {"storage": "root:50"}, "storage", "lack 50 GB in pool 'x'", {}, "storage="),
        ("", {"interfaces": "0:space=db"}, "network", "have no network", {}, "interfaces="),
        (
            "spaces=db",
            {"interfaces": "0:network=br9"},
            "network",
            "have no network 'br9'",
            {"network": "br9", "nic": "eth0"},
            "interfaces=",
        ),
        ("", {"interfaces": "0:space=db,type=sriov"}, "sriov", "lack a free VF", {}, "interfa"),
        ("mem=1G", {}, "hugepages", "lack 1 GiB of 2048 KiB hugepages", {}, "mem=1024M"),
    ],
)
def test_reasons_map_to_juju_constraints(
    server: Answers,
    constraints: str,
    extras: dict[str, str],
    check: str,
    words: str,
    subject: dict[str, Any],
    named: str,
) -> None:
    server.vms.refuse = no_room(reason(check, 1, words, **subject))
    with pytest.raises(NoCapacity) as caught:
        allocate_or_compose(server, constraints, owner="o", **extras)
    message = str(caught.value)
    assert message.startswith(f"no VM host can satisfy constraint {named}"), message
    assert caught.value.reasons[0].check == check


def test_every_server_check_is_mapped() -> None:
    # Every check the server can report (model.Check) names a Juju constraint, except those
    # about the host's state or the choice of host (no constraint can be relaxed for them) and
    # the resource pool (Juju has no constraint for it; the provider never asks for one).
    unmapped = {c for c in model.Check if c.about_host_state} | {model.Check.POOL}
    assert unmapped == {"host", "status", "driver", "pool"}
    assert set(CHECK_CONSTRAINTS) == set(model.Check) - unmapped
    assert all(isinstance(key, str) and key for key in CHECK_CONSTRAINTS.values())


def test_a_check_this_provider_does_not_know_is_reported_as_is(server: Answers) -> None:
    server.vms.refuse = no_room(reason("gpu", 2, "lack a GPU"))
    with pytest.raises(NoCapacity) as caught:
        allocate_or_compose(server, "", owner="o")
    assert caught.value.constraints == ()
    assert str(caught.value) == "no VM host can take this machine: ..."


def test_no_hosts_at_all(server: Answers) -> None:
    server.vms.refuse = vmclient.ConflictError(
        "No VM host can take this request; there are no VM hosts", status=409
    )
    with pytest.raises(NoCapacity, match="no VM host can take this machine: there are no VM"):
        allocate_or_compose(server, "", owner="o")


def test_other_conflicts_are_not_no_capacity(server: Answers) -> None:
    server.vms.refuse = vmclient.ConflictError("cannot claim: VM hosts kept changing", status=409)
    with pytest.raises(vmclient.ConflictError, match="kept changing"):
        allocate_or_compose(server, "", owner="o")


def test_the_structured_reasons_are_read_not_the_words() -> None:
    # the same words, different subjects: the subject decides, not the English text
    cons, body, _ = prepare("root-disk-source=nvme")
    on_source = no_room(reason("storage", 1, "lack 8 GB in storage pool 'x'", storage_pool="nvme"))
    elsewhere = no_room(reason("storage", 1, "lack 8 GB in storage pool 'nvme'"))
    assert no_capacity(on_source, cons, body).constraints == ("root-disk-source",)
    assert no_capacity(elsewhere, cons, body).constraints == ("root-disk",)
    assert parse("root-disk-source=nvme") == cons
