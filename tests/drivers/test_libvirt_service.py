"""vmhost's service against the REAL local libvirt (``qemu:///system``, KVM): add, refresh,
compose, decompose, adoption of domains made behind vmhost's back, and libvirt failures.

Everything goes through ``Services`` on a temporary SQLite database, as the API does, and every
result is checked against what ``virsh`` itself shows. Needs what ``scripts/setup-hosts``
prepares (libvirtd + virtlogd, the ``dir`` pool ``vmhost-test``, the isolated networks
``vmhost-net0`` / ``vmhost-net1``); skips with the reason when any of that is missing.

This nested AMD host cannot start host-model guests that ask for ``arch-capabilities``, so the
host is added with the driver option ``cpu_features_disable`` (see the driver's docstring and
``libvirt_helpers.CPU_FEATURES_DISABLE``).

VMs are tiny (1 vCPU, 128 MiB) and kernel-less: they sit in firmware, which is enough to be
``running`` under KVM. Every domain, volume and network this module makes is named
``vmhost-s<run>...`` (bridges ``vmhs<run>...``) and removed by the fixtures, also after a
failure. Only the local daemon is contacted; every wait is bounded.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import libvirt
import pytest
from functional.core_support import assert_accounts_exact
from libvirt_helpers import (
    CPU_FEATURES_DISABLE,
    configured_host,
    remove_everything_named,
    require_kvm_host,
)
from libvirt_helpers import virsh as helpers_virsh

from vmhost import model
from vmhost.model.accounting import HostUsage
from vmhost.service import Services, Settings

pytestmark = [pytest.mark.libvirt, pytest.mark.timeout(300)]

HOST = configured_host()
URI = HOST.uri
POOL = HOST.pool
NETS = HOST.networks
MIB = 1024**2
RUN = secrets.token_hex(3)
PREFIX = f"vmhost-s{RUN}"  # every domain, volume and network of this module
BRIDGE_PREFIX = f"vmhs{RUN}"  # + one digit: 11 characters, under IFNAMSIZ
OPTIONS = {"cpu_features_disable": CPU_FEATURES_DISABLE, "running_timeout_s": 30}
CPU_OVER_COMMIT = 8.0


def virsh(*args: str, check: bool = True) -> str:
    return str(helpers_virsh(URI, *args, check=check))


def pool_volumes() -> list[str]:
    """This module's volumes, as ``virsh vol-list`` shows them after a pool refresh."""
    virsh("pool-refresh", POOL)
    names = [line.split()[0] for line in virsh("vol-list", POOL).splitlines() if line.strip()]
    return sorted(n for n in names if n.startswith(PREFIX))


def domains() -> list[str]:
    """This module's domains, running or not (``virsh list --all``)."""
    return sorted(n for n in virsh("list", "--all", "--name").splitlines() if n.startswith(PREFIX))


def remove_networks() -> None:
    """Destroy (and undefine) every network this module made."""
    conn = libvirt.open(URI)
    try:
        for net in conn.listAllNetworks():
            if not net.name().startswith(PREFIX):
                continue
            persistent = net.isPersistent()
            if net.isActive():
                net.destroy()  # a transient network is gone after this
            if persistent:
                net.undefine()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    s = Services.create(Settings(data_dir=str(tmp_path_factory.mktemp("libvirt-service"))))
    yield s
    s.close()


@pytest.fixture(scope="module")
def host_id(services: Services) -> Iterator[int]:
    """The local libvirt, added through the service; everything named PREFIX goes at the end."""
    require_kvm_host()
    try:
        detail = services.hosts.add(
            model.HostSettings(
                name="kvm",
                type=model.HostType.LIBVIRT,
                address=URI,
                # every domain on the host counts, stopped ones too: leave room on this
                # 2-core machine for domains other tests may have defined meanwhile
                cpu_over_commit_ratio=CPU_OVER_COMMIT,
            ),
            options=OPTIONS,
        )
        yield int(detail.host.id)
    finally:
        remove_everything_named(URI, POOL, PREFIX)
        remove_networks()


@pytest.fixture
def clean(host_id: int) -> Iterator[int]:
    """The host id; after the test, nothing of this module is left on the host."""
    yield host_id
    remove_everything_named(URI, POOL, PREFIX)
    remove_networks()


def request(host_id: int, name: str, **kw: object) -> model.ComposeRequest:
    values: dict[str, object] = {
        "cores": 1,
        "memory_mib": 128,
        "disks": (
            model.DiskRequest(64 * MIB, pool=POOL),
            model.DiskRequest(32 * MIB, pool=POOL),
        ),
        "interfaces": (
            model.InterfaceRequest(network=NETS[0]),
            model.InterfaceRequest(network=NETS[1]),
        ),
        "hostname": name,
        "host_id": host_id,
    }
    values.update(kw)
    return model.ComposeRequest(**values)  # type: ignore[arg-type]


def no_allocations(usage: HostUsage) -> None:
    assert (usage.vms.allocated, usage.vcpus.allocated, usage.memory_mib.allocated) == (0, 0, 0)
    assert usage.disk_bytes.allocated == 0
    assert POOL not in usage.pools or usage.pools[POOL].allocated == 0


# -- adding and refreshing ----------------------------------------------------------------------


def test_added_host_is_ready_with_pools_and_networks(services: Services, host_id: int) -> None:
    detail = services.hosts.get(host_id)
    host, view = detail.host, detail.view
    assert host.status == model.HostStatus.READY.value, host.last_error
    assert host.last_error == ""
    info = dict(
        (k.strip(), v.strip())
        for k, _, v in (line.partition(":") for line in virsh("nodeinfo").splitlines())
    )
    assert view.cores == int(info["CPU(s)"])
    assert view.memory_mib == int(info["Memory size"].split()[0]) // 1024
    assert host.version.startswith("libvirt ")
    assert view.can_run_vms and view.vm_unsupported_reason == ""
    assert not view.can_run_containers
    pool = view.storage_pool(POOL)
    assert pool is not None and pool.type == "dir" and pool.total_bytes > 0
    assert view.default_pool in {p.name for p in view.pools}
    networks = dict(view.networks)
    assert networks[NETS[0]] is networks[NETS[1]] is model.NetworkKind.NETWORK

    again = services.hosts.refresh(host_id)
    assert again.host.status == model.HostStatus.READY.value
    assert again.view.usage == view.usage
    assert_accounts_exact(services)


# -- compose and decompose ----------------------------------------------------------------------


def test_compose_two_disks_two_nics_runs_under_kvm_then_decompose(
    services: Services, clean: int
) -> None:
    host_id = clean
    name = f"{PREFIX}-vm"
    before = services.hosts.refresh(host_id).view.usage
    result = services.vms.compose(request(host_id, name))
    vm = result.vm
    try:
        assert result.host_id == host_id and result.attempts == []
        assert (vm.name, vm.origin, vm.state) == (
            name,
            model.VmOrigin.COMPOSED,
            model.VmState.READY,
        )
        assert vm.power_state == "running"
        assert services.vms.get(vm.id).state is model.VmState.READY  # as stored
        assert virsh("domstate", name) == "running"
        root = ET.fromstring(virsh("dumpxml", name))
        assert root.get("type") == "kvm"
        assert vm.uuid == virsh("domuuid", name)
        assert [(d.name, d.size_bytes, d.pool, d.volume) for d in vm.disks] == [
            ("root", 64 * MIB, POOL, f"{name}-root"),
            ("disk1", 32 * MIB, POOL, f"{name}-disk1"),
        ]
        assert pool_volumes() == sorted([f"{name}-root", f"{name}-disk1"])
        iflist = [line.split() for line in virsh("domiflist", name).splitlines()]
        assert [(row[2], row[4]) for row in iflist] == [
            (NETS[0], vm.interfaces[0].mac_address),
            (NETS[1], vm.interfaces[1].mac_address),
        ]

        usage = services.hosts.get(host_id).view.usage
        assert usage.vms.allocated == before.vms.allocated + 1
        assert usage.vcpus.allocated == before.vcpus.allocated + 1
        assert usage.memory_mib.allocated == before.memory_mib.allocated + 128
        assert usage.disk_bytes.allocated == before.disk_bytes.allocated + 96 * MIB
        assert usage.pools[POOL].allocated == 96 * MIB
        assert (usage.vms.other, usage.vcpus.other) == (before.vms.other, before.vcpus.other)
        assert_accounts_exact(services)

        # a refresh finds the domain and keeps it as ours: no adopted twin, not missing
        services.hosts.refresh(host_id)
        records = [v for v in services.vms.list(host_id) if v.name == name]
        assert [(v.origin, v.state, v.power_state) for v in records] == [
            (model.VmOrigin.COMPOSED, model.VmState.READY, "running")
        ]
        assert services.hosts.get(host_id).view.usage == usage
        assert_accounts_exact(services)
    finally:
        services.vms.decompose(vm.id)

    assert domains() == []
    assert pool_volumes() == []  # `virsh vol-list vmhost-test` shows none of its volumes
    assert [v for v in services.vms.list(host_id) if v.name == name] == []
    usage = services.hosts.get(host_id).view.usage
    no_allocations(usage)
    assert usage == before
    assert_accounts_exact(services)


# -- domains made behind vmhost's back ------------------------------------------------------------


def test_domain_defined_behind_our_back_is_other_use(
    services: Services, clean: int, tmp_path: Path
) -> None:
    host_id = clean
    name = f"{PREFIX}-other"
    before = services.hosts.refresh(host_id).view.usage
    virsh("vol-create-as", POOL, f"{name}.qcow2", "48M", "--format", "qcow2")
    virsh("vol-create-as", POOL, f"{name}-data", "16M", "--format", "qcow2")
    path = virsh("vol-path", "--pool", POOL, f"{name}.qcow2")
    definition = tmp_path / "other.xml"
    definition.write_text(
        f"""<domain type='kvm'>
  <name>{name}</name>
  <memory unit='MiB'>96</memory>
  <vcpu>2</vcpu>
  <os><type arch='x86_64'>hvm</type><boot dev='hd'/></os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{path}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='volume' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source pool='{POOL}' volume='{name}-data'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:0f:0e:0c'/>
      <source network='{NETS[0]}'/>
      <model type='virtio'/>
    </interface>
  </devices>
</domain>
""",
        encoding="utf-8",
    )
    virsh("define", str(definition))

    detail = services.hosts.refresh(host_id)
    (vm,) = [v for v in services.vms.list(host_id) if v.name == name]
    assert (vm.origin, vm.state, vm.power_state) == (
        model.VmOrigin.ADOPTED,
        model.VmState.READY,
        "stopped",
    )
    assert (vm.cores, vm.memory_mib) == (2, 96)
    assert vm.uuid == virsh("domuuid", name)
    # vda by path (libvirt sizes it), vdb by pool and volume (sized from the pool)
    assert [(d.name, d.size_bytes, d.pool, d.volume) for d in vm.disks] == [
        ("vda", 48 * MIB, POOL, f"{name}.qcow2"),
        ("vdb", 16 * MIB, POOL, f"{name}-data"),
    ]
    assert [(i.kind, i.network, i.mac_address) for i in vm.interfaces] == [
        (model.NetworkKind.NETWORK, NETS[0], "52:54:00:0f:0e:0c")
    ]
    usage = detail.view.usage
    assert usage.vms.other == before.vms.other + 1
    assert usage.vcpus.other == before.vcpus.other + 2  # a stopped domain still counts
    assert usage.memory_mib.other == before.memory_mib.other + 96
    assert (
        usage.pools[POOL].other
        == (before.pools[POOL].other if POOL in before.pools else 0) + 64 * MIB
    )
    assert (usage.vms.allocated, usage.vcpus.allocated) == (
        before.vms.allocated,
        before.vcpus.allocated,
    )
    assert_accounts_exact(services)

    # a second refresh updates the record, it does not add a twin
    services.hosts.refresh(host_id)
    assert [v.id for v in services.vms.list(host_id) if v.name == name] == [vm.id]
    assert services.hosts.get(host_id).view.usage == usage

    virsh("undefine", name)
    virsh("vol-delete", "--pool", POOL, f"{name}.qcow2")
    virsh("vol-delete", "--pool", POOL, f"{name}-data")
    detail = services.hosts.refresh(host_id)
    assert [v for v in services.vms.list(host_id) if v.name == name] == []
    assert detail.view.usage == before
    assert_accounts_exact(services)


# -- failures ---------------------------------------------------------------------------------


def test_disk_bigger_than_the_pool_is_refused_before_libvirt(
    services: Services, clean: int
) -> None:
    host_id = clean
    name = f"{PREFIX}-big"
    view = services.hosts.get(host_id).view
    pool = view.storage_pool(POOL)
    assert pool is not None
    too_big = pool.total_bytes + 1024 * MIB
    before = view.usage
    with pytest.raises(model.NoCapacityError) as err:
        services.vms.compose(
            request(host_id, name, disks=(model.DiskRequest(too_big, pool=POOL),))
        )
    assert "cannot take this VM: " in str(err.value)
    assert f"{too_big / 1000**3:g} GB in storage pool '{POOL}' requested" in str(err.value)
    assert f"in storage pool '{POOL}'" in str(err.value)
    assert [v for v in services.vms.list(host_id) if v.name == name] == []
    assert services.hosts.get(host_id).view.usage == before
    assert_accounts_exact(services)
    assert domains() == [] and pool_volumes() == []


def make_network(index: int) -> tuple[str, str]:
    """A transient isolated libvirt network (no addresses, so no dnsmasq); (name, bridge)."""
    name, bridge = f"{PREFIX}-n{index}", f"{BRIDGE_PREFIX}{index}"
    xml = f"<network><name>{name}</name><bridge name='{bridge}'/></network>"
    conn = libvirt.open(URI)
    try:
        conn.networkCreateXML(xml)
    finally:
        conn.close()
    return name, bridge


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        # vmhost's inventory still lists the network; the driver's own check refuses it
        ("network-destroyed", r"network '{net}' not found on the host"),
        # libvirt thinks the network is fine; QEMU's start fails after the volumes were
        # created and the domain defined, and the driver undoes both
        ("bridge-deleted", r"cannot start '{vm}': Cannot get interface MTU on '{bridge}'"),
    ],
    ids=["network-destroyed", "bridge-deleted"],
)
def test_libvirt_error_during_compose_releases_the_claim(
    services: Services, clean: int, fault: str, expected: str
) -> None:
    host_id = clean
    name = f"{PREFIX}-fail"
    net, bridge = make_network(0 if fault == "network-destroyed" else 1)
    detail = services.hosts.refresh(host_id)
    assert dict(detail.view.networks)[net] is model.NetworkKind.NETWORK
    before = detail.view.usage
    if fault == "network-destroyed":
        virsh("net-destroy", net)
    else:
        subprocess.run(["ip", "link", "del", bridge], check=True, timeout=30)
    interfaces = (model.InterfaceRequest(network=NETS[0]), model.InterfaceRequest(network=net))
    with pytest.raises(model.NoCapacityError) as err:
        services.vms.compose(request(host_id, name, interfaces=interfaces))
    message = str(err.value)
    assert "failed to compose: kvm: " in message, message
    pattern = expected.format(net=re.escape(net), vm=re.escape(name), bridge=re.escape(bridge))
    assert re.search(pattern, message), message
    assert [v for v in services.vms.list(host_id) if v.name == name] == []  # claim released
    usage = services.hosts.get(host_id).view.usage
    assert usage == before
    no_allocations(usage)
    assert_accounts_exact(services)
    assert domains() == []  # no domain left defined
    assert pool_volumes() == []  # and no volume
