"""What a compose obtained, and the one NUMA node a VM is bound to."""

from __future__ import annotations

from vmhost import model


def test_sole_numa_node_only_when_exactly_one() -> None:
    assert model.sole_numa_node((1,)) == 1
    assert model.sole_numa_node(()) is None
    assert model.sole_numa_node((0, 1)) is None
    assert model.sole_numa_node((0, 0)) is None  # two entries are not one node


def test_as_found_takes_size_and_uuid_from_the_vm_and_the_rest_from_the_plan() -> None:
    found = model.DiscoveredVm(
        name="web",
        cores=4,
        memory_mib=2048,
        pinned_cores=(2, 3),
        hugepages_backed=True,
        numa_node=0,
        power_state="stopped",
        uuid="u-1",
    )
    disk = model.VmDisk("root", 8 * 1000**3, "default", "web-root")
    nic = model.VmInterface("eth0", "br0", model.NetworkKind.BRIDGE, "52:54:00:00:00:01")
    composed = model.ComposedVm.as_found(
        found,
        disks=(disk,),
        interfaces=(nic,),
        instance_type=model.InstanceType.CONTAINER,
        power_state="running",
    )
    assert composed == model.ComposedVm(
        name="web",
        cores=4,
        memory_mib=2048,
        pinned_cores=(2, 3),
        hugepages_backed=True,
        disks=(disk,),
        interfaces=(nic,),
        instance_type=model.InstanceType.CONTAINER,
        power_state="running",
        uuid="u-1",
    )
