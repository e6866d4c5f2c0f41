"""ComposeSpec → LXD payloads (pure): table tests for VMs and containers."""

from __future__ import annotations

from typing import Any

import pytest

from vmhost import model
from vmhost.drivers import base
from vmhost.drivers.lxd import instance_spec, units
from vmhost.drivers.lxd.instance_spec import HostCapability, ImageSource, plan_instance

GB = 1000**3
VM = model.InstanceType.VIRTUAL_MACHINE
CT = model.InstanceType.CONTAINER
BR = model.NetworkKind.BRIDGE


def spec(**kw: Any) -> base.ComposeSpec:
    values: dict[str, Any] = {
        "name": "vm1",
        "cores": 2,
        "memory_mib": 2048,
        "disks": (model.VmDisk("root", 8 * GB, "default"),),
        "interfaces": (model.VmInterface("eth0", "vmhbr0", BR),),
    }
    values.update(kw)
    return base.ComposeSpec(**values)


def test_vm_defaults() -> None:
    plan = plan_instance(spec(), project="vmhost", image="vmhost-test")
    assert plan.project == "vmhost"
    assert plan.instance == {
        "name": "vm1",
        "type": "virtual-machine",
        "profiles": [],
        "config": {
            "limits.cpu": "2",
            "limits.memory": "2048MiB",
            "user.vmhost.managed": "true",
        },
        "devices": {
            "root": {"type": "disk", "path": "/", "pool": "default", "size": "8000000000"},
            "eth0": {"type": "nic", "name": "eth0", "nictype": "bridged", "parent": "vmhbr0"},
        },
        "source": {"type": "image", "alias": "vmhost-test"},
        "description": "composed by vmhost",
    }
    assert plan.volumes == ()
    assert plan.disk_devices == ("root",)
    assert plan.nic_devices == ("eth0",)


@pytest.mark.parametrize(
    ("kw", "config"),
    [
        # count
        ({"cores": 4}, {"limits.cpu": "4"}),
        # pinned: a list, ranges compressed
        ({"cores": 4, "pinned_cores": (0, 1, 2, 3)}, {"limits.cpu": "0-3"}),
        ({"cores": 2, "pinned_cores": (2, 0)}, {"limits.cpu": "0,2"}),
        ({"cores": 5, "pinned_cores": (8, 1, 2, 3, 10)}, {"limits.cpu": "1-3,8,10"}),
        # one pinned core must be "n-n": "3" would mean three floating cores
        ({"cores": 1, "pinned_cores": (3,)}, {"limits.cpu": "3-3"}),
        # memory in MiB, hugepages
        ({"memory_mib": 512}, {"limits.memory": "512MiB"}),
        ({"hugepages_backed": True}, {"limits.memory.hugepages": "true"}),
        (
            {"hugepages_backed": True, "hugepage_size_kib": 2048},
            {"limits.memory.hugepages": "true"},
        ),
        # NUMA affinity is expressed through pinning only
        (
            {"cores": 2, "pinned_cores": (4, 5), "numa_nodes": (1,)},
            {"limits.cpu": "4-5"},
        ),
        # cloud-init
        ({"user_data": "#cloud-config\n{}\n"}, {"cloud-init.user-data": "#cloud-config\n{}\n"}),
    ],
)
def test_vm_config(kw: dict[str, Any], config: dict[str, str]) -> None:
    plan = plan_instance(spec(**kw), capability=HostCapability(hugepage_size_kib=2048))
    got = plan.instance["config"]
    for key, value in config.items():
        assert got[key] == value
    assert "numa" not in str(got)
    if not kw.get("hugepages_backed"):
        assert "limits.memory.hugepages" not in got


def test_cloud_init_key_on_old_lxd() -> None:
    cap = HostCapability(api_extensions=frozenset({"projects"}))
    plan = plan_instance(spec(user_data="#cloud-config\n"), capability=cap)
    assert plan.instance["config"]["user.user-data"] == "#cloud-config\n"
    cap = HostCapability(api_extensions=frozenset({"projects", "cloud_init"}))
    plan = plan_instance(spec(user_data="#cloud-config\n"), capability=cap)
    assert plan.instance["config"]["cloud-init.user-data"] == "#cloud-config\n"


@pytest.mark.parametrize(
    ("nic", "device"),
    [
        (
            model.VmInterface("eth0", "vmhbr0", model.NetworkKind.BRIDGE),
            {"type": "nic", "name": "eth0", "nictype": "bridged", "parent": "vmhbr0"},
        ),
        (
            model.VmInterface("eth0", "eno1", model.NetworkKind.MACVLAN),
            {"type": "nic", "name": "eth0", "nictype": "macvlan", "parent": "eno1"},
        ),
        (  # a physical NIC is shared through macvlan, never passed through whole
            model.VmInterface("eth0", "eno1", model.NetworkKind.PHYSICAL),
            {"type": "nic", "name": "eth0", "nictype": "macvlan", "parent": "eno1"},
        ),
        (
            model.VmInterface("eth0", "enp5s0f0", model.NetworkKind.SRIOV, "00:16:3e:00:00:01"),
            {
                "type": "nic",
                "name": "eth0",
                "nictype": "sriov",
                "parent": "enp5s0f0",
                "hwaddr": "00:16:3e:00:00:01",
            },
        ),
        (
            model.VmInterface("eth0", "ovn1", model.NetworkKind.NETWORK),
            {"type": "nic", "name": "eth0", "network": "ovn1"},
        ),
    ],
)
def test_nic_kinds(nic: model.VmInterface, device: dict[str, str]) -> None:
    plan = plan_instance(spec(interfaces=(nic,)))
    assert plan.instance["devices"]["eth0"] == device


def test_nic_names_default_and_unique() -> None:
    nics = (
        model.VmInterface("", "vmhbr0", BR),
        model.VmInterface("", "vmhbr1", BR),
        model.VmInterface("eth0", "vmhbr1", BR),  # clashes with the first default name
        model.VmInterface("bad name!", "vmhbr1", BR),
    )
    plan = plan_instance(spec(interfaces=nics))
    assert plan.nic_devices == ("eth0", "eth1", "eth2", "eth3")
    assert [plan.instance["devices"][d]["parent"] for d in plan.nic_devices] == [
        "vmhbr0",
        "vmhbr1",
        "vmhbr1",
        "vmhbr1",
    ]


def test_vm_extra_disks_are_block_volumes() -> None:
    disks = (
        model.VmDisk("root", 20 * GB, "fast"),
        model.VmDisk("data", 100 * GB, "default"),
        model.VmDisk("", 5 * GB, "fast"),
    )
    plan = plan_instance(spec(disks=disks))
    devices = plan.instance["devices"]
    assert devices["root"] == {"type": "disk", "path": "/", "pool": "fast", "size": "20000000000"}
    assert devices["data"] == {"type": "disk", "pool": "default", "source": "vm1-data"}
    assert devices["disk2"] == {"type": "disk", "pool": "fast", "source": "vm1-disk2"}
    assert plan.disk_devices == ("root", "data", "disk2")
    assert [(v.pool, v.name, v.size_bytes) for v in plan.volumes] == [
        ("default", "vm1-data", 100 * GB),
        ("fast", "vm1-disk2", 5 * GB),
    ]
    assert plan.volumes[0].payload == {
        "name": "vm1-data",
        "type": "custom",
        "content_type": "block",
        "config": {"size": "100000000000", "user.vmhost.instance": "vm1"},
        "description": "disk data of vm1, composed by vmhost",
    }


def test_volume_name_given_by_service_is_kept() -> None:
    disks = (model.VmDisk("root", GB, "default"), model.VmDisk("data", GB, "default", "x-42"))
    plan = plan_instance(spec(disks=disks))
    assert plan.volumes[0].name == "x-42"
    assert plan.instance["devices"]["data"]["source"] == "x-42"


def test_container_two_disks_two_nics() -> None:
    plan = plan_instance(
        spec(
            name="ct1",
            instance_type=CT,
            cores=1,
            memory_mib=256,
            disks=(
                model.VmDisk("root", GB, "default"),
                model.VmDisk("data", 2 * GB, "default"),
                model.VmDisk("logs", GB, "default"),
            ),
            interfaces=(
                model.VmInterface("eth0", "vmhbr0", BR),
                model.VmInterface("eth1", "vmhbr1", BR),
            ),
        ),
        image="vmhost-test",
        capability=HostCapability(can_run_vms=False, vm_unsupported_reason="no vsock"),
    )
    inst = plan.instance
    assert inst["type"] == "container"
    assert inst["devices"]["data"] == {
        "type": "disk",
        "pool": "default",
        "source": "ct1-data",
        "path": "/mnt/data",
    }
    assert inst["devices"]["logs"]["path"] == "/mnt/logs"
    assert inst["devices"]["eth1"]["parent"] == "vmhbr1"
    assert {v.payload["content_type"] for v in plan.volumes} == {"filesystem"}
    assert inst["config"]["limits.cpu"] == "1"
    assert inst["config"]["limits.memory"] == "256MiB"


def test_container_pinned() -> None:
    plan = plan_instance(spec(instance_type=CT, cores=2, pinned_cores=(0, 1)))
    assert plan.instance["config"]["limits.cpu"] == "0-1"


def test_vm_on_host_without_vm_support_is_refused_with_lxd_reason() -> None:
    cap = HostCapability(
        can_run_vms=False, vm_unsupported_reason="vhost_vsock kernel module not loaded"
    )
    with pytest.raises(base.DriverUnsupportedError) as err:
        plan_instance(spec(), capability=cap)
    assert "vhost_vsock kernel module not loaded" in str(err.value)
    assert "virtual-machine" in str(err.value)


def test_container_hugepages_refused() -> None:
    with pytest.raises(base.DriverUnsupportedError, match="only available to virtual machines"):
        plan_instance(spec(instance_type=CT, hugepages_backed=True))


def test_hugepage_size_other_than_host_default_refused() -> None:
    cap = HostCapability(hugepage_size_kib=2048)
    with pytest.raises(base.DriverUnsupportedError, match="1048576 KiB"):
        plan_instance(spec(hugepages_backed=True, hugepage_size_kib=1048576), capability=cap)


def test_containers_unsupported() -> None:
    with pytest.raises(base.DriverUnsupportedError):
        plan_instance(spec(instance_type=CT), capability=HostCapability(can_run_containers=False))


@pytest.mark.parametrize(
    ("text", "source"),
    [
        ("vmhost-test", {"type": "image", "alias": "vmhost-test"}),
        ("none", {"type": "none"}),
        ("", {"type": "none"}),
        (
            "ubuntu:24.04",
            {
                "type": "image",
                "alias": "24.04",
                "server": instance_spec.UBUNTU_SERVER,
                "protocol": "simplestreams",
                "mode": "pull",
            },
        ),
        (
            "images:debian/12",
            {
                "type": "image",
                "alias": "debian/12",
                "server": instance_spec.IMAGES_SERVER,
                "protocol": "simplestreams",
                "mode": "pull",
            },
        ),
        ("local:thing", {"type": "image", "alias": "local:thing"}),
    ],
)
def test_image_source(text: str, source: dict[str, str]) -> None:
    assert ImageSource.parse(text).payload() == source
    assert plan_instance(spec(), image=text).instance["source"] == source


@pytest.mark.parametrize(
    ("arch", "expected"), [("amd64", "x86_64"), ("arm64/generic", "aarch64"), ("x86_64", "x86_64")]
)
def test_architecture(arch: str, expected: str) -> None:
    assert plan_instance(spec(architecture=arch)).instance["architecture"] == expected


def test_no_architecture_key_when_unset() -> None:
    assert "architecture" not in plan_instance(spec()).instance


# -- units --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "count", "pinned"),
    [
        ("4", 4, ()),
        ("0-3", 4, (0, 1, 2, 3)),
        ("0,2", 2, (0, 2)),
        ("0,2,10-12,14-16,18-18", 9, (0, 2, 10, 11, 12, 14, 15, 16, 18)),
        ("3-3", 1, (3,)),
        ("", None, ()),
        (None, None, ()),
        ("x", None, ()),
        ("3-1", None, ()),
    ],
)
def test_parse_cpu_limit(text: str | None, count: int | None, pinned: tuple[int, ...]) -> None:
    assert units.parse_cpu_limit(text) == (count, pinned)


@pytest.mark.parametrize("cores", [(0,), (0, 1), (0, 2), (1, 2, 3, 8, 10), (5, 6, 7, 9)])
def test_cpu_set_round_trip(cores: tuple[int, ...]) -> None:
    assert units.parse_cpu_limit(units.format_cpu_set(cores)) == (len(cores), cores)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("2048MiB", 2048 * 1024**2),
        ("8GB", 8 * 1000**3),
        ("10GiB", 10 * 1024**3),
        ("1073741824", 1024**3),
        ("512kB", 512000),
        ("1.5GiB", 3 * 1024**3 // 2),
        ("junk", None),
        (None, None),
    ],
)
def test_parse_size(text: str | None, size: int | None) -> None:
    assert units.parse_size(text) == size
