"""The Juju provider's allocate-or-compose through the real API (TestClient transport) over
fake hosts: compose, warm-pool reuse, no reuse on a mismatch, NoCapacity naming the
constraint (nothing composed), release with and without the warm pool."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_support import ApiEnv
from vmhost_provider.allocate import NoCapacity, allocate_or_compose, release

from vmhost import client as vmclient
from vmhost.drivers import fake


@pytest.fixture
def vmh(api: ApiEnv) -> Iterator[vmclient.VmHostClient]:
    api.post("/api/v1/zones", {"name": "z1"})
    api.add_host("big", "fake://numa", zone="z1", tags=["ssd"])
    api.add_host("small", "fake://small")
    assert api.post("/api/v1/spaces", {"space": "db", "network": "br-db"}).status_code == 201
    assert api.post("/api/v1/spaces", {"space": "public", "network": "br0"}).status_code == 201
    with vmclient.VmHostClient("http://testserver", api.admin_token, http=api.client) as c:
        yield c


def _on_host(name: str) -> set[str]:
    return set(fake.hypervisor_at(f"fake://{name}").vms)


def test_compose_on_the_best_host(vmh: vmclient.VmHostClient) -> None:
    got = allocate_or_compose(vmh, "cores=4 mem=8G spaces=db tags=ssd", owner="juju:m1")
    assert not got.reused
    vm = vmh.vms.get(got.vm_id)
    assert vm.owner == "juju:m1" and vm.state == "ready"
    assert got.host == "big" and vm.name in _on_host("numa")
    assert (vm.cores, vm.memory_mib) == (4, 8192)
    assert [(n.network, n.space) for n in vm.interfaces] == [("br-db", "db")]
    assert vmh.vms.list(idle=True) == []


def test_zones_and_excluded_spaces(vmh: vmclient.VmHostClient) -> None:
    with pytest.raises(vmclient.InvalidInputError, match="z9x"):
        allocate_or_compose(vmh, "cores=1 zones=default,z9x", owner="o")
    small = allocate_or_compose(vmh, "cores=1 mem=1G zones=default", owner="o")
    assert small.host == "small"
    # ^public: small has only br0 (public), so only big can take it
    other = allocate_or_compose(vmh, "cores=1 mem=1G spaces=^public", owner="o")
    assert other.host == "big"


def test_warm_pool_reuses_an_idle_vm(vmh: vmclient.VmHostClient) -> None:
    first = allocate_or_compose(vmh, "cores=2 mem=2G", owner="juju:m1", warm_pool=True)
    assert not first.reused
    assert release(vmh, first.vm_id, warm_pool=True) is True
    assert [v.id for v in vmh.vms.list(idle=True)] == [first.vm_id]
    again = allocate_or_compose(vmh, "cores=1 mem=1G", owner="juju:m2", warm_pool=True)
    assert again.reused and again.vm_id == first.vm_id
    assert vmh.vms.get(first.vm_id).owner == "juju:m2"
    assert len(vmh.vms.list()) == 1  # nothing new composed


def test_no_reuse_without_the_warm_pool_or_on_a_mismatch(vmh: vmclient.VmHostClient) -> None:
    idle = allocate_or_compose(vmh, "cores=1 mem=1G", owner="x")
    release(vmh, idle.vm_id, warm_pool=True)
    plain = allocate_or_compose(vmh, "cores=1 mem=1G", owner="juju:a")
    assert not plain.reused and plain.vm_id != idle.vm_id
    for constraints in ("cores=2", "mem=2G", "spaces=db", "tags=ssd", "virt-type=container"):
        got = allocate_or_compose(vmh, constraints, owner="juju:b", warm_pool=True)
        assert not got.reused, constraints
        assert got.vm_id != idle.vm_id
    assert vmh.vms.get(idle.vm_id).owner == ""


def test_no_capacity_names_the_constraint_and_composes_nothing(
    vmh: vmclient.VmHostClient,
) -> None:
    before = {h.name: h.used.model_dump() for h in vmh.hosts.list()}
    with pytest.raises(NoCapacity) as caught:
        allocate_or_compose(vmh, "cores=2 mem=1T", owner="juju:m1", warm_pool=True)
    assert caught.value.constraints == ("mem",)
    assert str(caught.value) == (
        "no VM host can satisfy constraint mem=1048576M (2 hosts lack 1048576 MiB of memory)"
    )
    with pytest.raises(NoCapacity) as zone:
        allocate_or_compose(vmh, "cores=32 zones=z1", owner="juju:m1")
    assert set(zone.value.constraints) == {"zones", "cores"}
    assert "zones=z1 (1 host not in zone 'z1')" in str(zone.value)
    assert "cores=32 (1 host lack 32 free cores)" in str(zone.value)
    with pytest.raises(NoCapacity, match=r"constraint arch=arm64 \(2 hosts are not arm64\)"):
        allocate_or_compose(vmh, "virt-type=container arch=arm64", owner="o")
    assert vmh.vms.list() == []
    assert _on_host("numa") == set() and _on_host("small") == set()
    assert {h.name: h.used.model_dump() for h in vmh.hosts.list()} == before


def test_release_decomposes_or_keeps(vmh: vmclient.VmHostClient) -> None:
    gone = allocate_or_compose(vmh, "cores=1 mem=1G", owner="juju:a")
    kept = allocate_or_compose(vmh, "cores=1 mem=1G", owner="juju:b")
    name = vmh.vms.get(gone.vm_id).name
    assert release(vmh, gone.vm_id) is False
    with pytest.raises(vmclient.NotFoundError):
        vmh.vms.get(gone.vm_id)
    assert name not in _on_host("numa") | _on_host("small")
    assert release(vmh, kept.vm_id, warm_pool=True) is True
    vm = vmh.vms.get(kept.vm_id)
    assert vm.owner == "" and vm.state == "ready"
    assert vm.name in _on_host("numa") | _on_host("small")
    host = vmh.hosts.get(vm.host.id)
    assert host.used.cores == 1  # an idle VM still holds its resources


# -- the warm pool: the server's checks, through the provider -----------------------------------


def _idle(vmh: vmclient.VmHostClient, constraints: str, **extras: str) -> int:
    """A VM composed for the constraints and released to the warm pool: its id."""
    vm_id = allocate_or_compose(vmh, constraints, owner="maker", **extras).vm_id
    release(vmh, vm_id, warm_pool=True)
    return vm_id


def test_warm_pool_reuses_the_cheapest_matching_idle_vm(vmh: vmclient.VmHostClient) -> None:
    big = _idle(vmh, "cores=8 mem=16G")
    small = _idle(vmh, "cores=2 mem=4G")
    _idle(vmh, "cores=1 mem=1G")  # too small
    allocate_or_compose(vmh, "cores=4 mem=8G", owner="taken")
    got = allocate_or_compose(vmh, "cores=2 mem=2G", owner="juju:m1", warm_pool=True)
    assert got.reused and got.vm.id == small and got.vm.owner == "juju:m1"
    again = allocate_or_compose(vmh, "cores=2 mem=2G", owner="juju:m2", warm_pool=True)
    assert again.reused and again.vm.id == big
    third = allocate_or_compose(vmh, "cores=2 mem=2G", owner="juju:m3", warm_pool=True)
    assert not third.reused


@pytest.mark.parametrize(
    "constraints",
    [
        "cores=4",
        "mem=8G",
        "root-disk=30G",
        "root-disk-source=fast",
        "virt-type=container",
        "arch=arm64",
        "zones=default",
        "tags=^ssd",
        "tags=gpu",
        "spaces=db",
        "spaces=^public",
    ],
)
def test_no_reuse_when_the_idle_vm_does_not_match(
    vmh: vmclient.VmHostClient, constraints: str
) -> None:
    # 2 cores, 4 GiB, a 20 GB root disk on pool default, one NIC on br0 (space public), on
    # host big (zone z1, tag ssd)
    idle = _idle(vmh, "cores=2 mem=4G root-disk-source=default zones=z1", storage="root:20")
    assert vmh.vms.get(idle).host.name == "big"
    try:
        got = allocate_or_compose(vmh, constraints, owner="o", warm_pool=True)
    except NoCapacity:
        pass  # no host has it either: composed nowhere, and the idle VM not taken
    else:
        assert not got.reused and got.vm_id != idle
    assert vmh.vms.get(idle).owner == ""


def test_matching_vms_with_spaces_and_disks(vmh: vmclient.VmHostClient) -> None:
    idle = _idle(
        vmh,
        "cores=4 mem=8G zones=z1",
        storage="root:40(fast),data:100",
        interfaces="eth0:network=br-db;eth1:network=br0",
    )

    def reused(constraints: str, **extras: str) -> bool:
        got = allocate_or_compose(vmh, constraints, owner="o", warm_pool=True, **extras)
        release(vmh, got.vm_id, warm_pool=got.reused)
        return got.reused and got.vm_id == idle

    assert reused("cores=4 mem=8G spaces=db zones=z1")
    assert reused("", storage="root:30(fast),data:50")
    assert not reused("", storage="root:30,a:1,b:1")  # 2 disks, fewer than 3
    # a NIC serves one requested NIC: the network one takes eth0, space db has none left
    assert not reused("spaces=db", interfaces="0:network=br-db")
    assert not reused("spaces=db", interfaces="0:space=db;1:space=db")
    assert vmh.vms.get(idle).owner == ""


def test_allocation_asks_the_server_nothing_per_host(
    api: ApiEnv, vmh: vmclient.VmHostClient
) -> None:
    _idle(vmh, "cores=1 mem=1G")
    asked: list[str] = []
    api.client.event_hooks["request"].append(lambda r: asked.append(f"{r.method} {r.url.path}"))
    got = allocate_or_compose(vmh, "cores=1 mem=1G spaces=public", owner="o", warm_pool=True)
    assert got.reused
    # one request takes the VM (it was two: the idle list, then POST /vms/{id}/allocate)
    assert asked == ["GET /api/v1/spaces", "POST /api/v1/vms/allocate"]
    asked.clear()  # a miss composes in that same request
    miss = allocate_or_compose(vmh, "cores=1 mem=1G spaces=public", owner="p", warm_pool=True)
    assert not miss.reused and miss.vm.owner == "p"
    assert asked == ["GET /api/v1/spaces", "POST /api/v1/vms/allocate"]
