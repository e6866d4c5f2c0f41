"""Refusals through the API: the message names the host and the figures, and the body carries
the same as data (check, host, subject, figures) so no client parses English; found VMs' NUMA
accounts; no VM without a NIC unless asked."""

from __future__ import annotations

from typing import Any

from api_support import ApiEnv
from core_support import add_fake_host, inventory

from vmhost import model
from vmhost.drivers import fake

GIB = 1024


def _refused(response: Any) -> dict[str, Any]:
    assert response.status_code == 409, response.text
    body = dict(response.json())
    assert set(body) == {"message", "fields", "reasons"}
    return body


def test_compose_on_a_named_host_names_it_with_every_failing_resource(api: ApiEnv) -> None:
    for name in ("kvm-1", "kvm-2", "kvm-3"):
        add_fake_host(api.services, name, inventory(cores=4, memory_mib=8 * GIB))
    api.compose("kvm-3", cores=2, memory_mib=2 * GIB)
    before = api.host("kvm-3")
    body = _refused(
        api.post("/api/v1/vm-hosts/kvm-3/compose", {"cores": 3, "memory_mib": 8 * GIB})
    )
    assert body["message"] == (
        "host 'kvm-3' cannot take this VM: 3 cores requested, 2 free (4 cores × 1.0, 2 used); "
        "8192 MiB of memory requested, 6144 free (8192 MiB × 1.0, 2048 used)"
    )
    [reason] = body["reasons"]
    assert reason["host"] == {"id": before["id"], "name": "kvm-3"}
    assert (reason["check"], reason["hosts"]) == ("cores", 1)
    assert reason["reason"] == "lack 3 free cores and 8192 MiB of memory"
    assert [f["check"] for f in reason["failures"]] == ["cores", "memory"]
    cores, memory = (f["figures"] for f in reason["failures"])
    assert cores == {
        "unit": "cores",
        "requested": 3,
        "free": 2,
        "total": 4,
        "set_aside": 0,
        "reserved": 0,
        "ratio": 1.0,
        "capacity": 4,
        "used": 2,
        "limit": 4,
    }
    assert (memory["requested"], memory["free"], memory["capacity"], memory["used"]) == (
        8192,
        6144,
        8192,
        2048,
    )
    # the same through the anywhere route with ``host``, and candidates: one host considered
    again = _refused(api.post("/api/v1/vms", {"cores": 3, "memory_mib": 8 * GIB, "host": "kvm-3"}))
    assert again["message"] == body["message"]
    candidates = api.post(
        "/api/v1/vms/candidates", {"cores": 3, "memory_mib": 8 * GIB, "host": "kvm-3"}
    ).json()
    assert candidates["considered"] == 1 and candidates["message"] == body["message"]
    assert api.host("kvm-3") == before


def test_several_hosts_keep_the_summary_with_shared_figures(api: ApiEnv) -> None:
    add_fake_host(api.services, "a", inventory(cores=4, memory_mib=8 * GIB))
    add_fake_host(api.services, "b", inventory(cores=4, memory_mib=8 * GIB))
    api.post("/api/v1/zones", {"name": "z2"})
    api.add_host("c", "fake://numa", zone="z2")
    body = _refused(api.post("/api/v1/vms", {"memory_mib": 12 * GIB, "zone": "default"}))
    assert body["message"] == (
        "No VM host can take this request; 3 hosts considered: "
        "2 lack 12288 MiB of memory; 1 not in zone 'default'"
    )
    memory, zone = body["reasons"]
    assert (memory["check"], memory["hosts"], memory["host"]) == ("memory", 2, None)
    assert memory["failures"][0]["figures"]["requested"] == 12 * GIB
    assert memory["failures"][0]["figures"]["free"] == 8 * GIB  # both hosts: 8 GiB free
    assert zone["host"] == {"id": api.host("c")["id"], "name": "c"}
    assert zone["failures"] == [
        {
            "check": "zone",
            "reason": "not in zone 'default'",
            "detail": "not in zone 'default'",
            "subject": {
                "numa_node": None,
                "storage_pool": None,
                "network": None,
                "space": None,
                "nic": None,
                "hugepage_size_kib": None,
            },
            "figures": None,
        }
    ]


def test_no_vm_is_larger_than_its_host_whatever_the_ratio(api: ApiEnv) -> None:
    api.add_host("small", "fake://small", cpu_over_commit_ratio=2.0, memory_over_commit_ratio=2.0)
    body = _refused(api.post("/api/v1/vm-hosts/small/compose", {"cores": 5}))
    assert body["message"].startswith(
        "host 'small' cannot take this VM: 5 cores requested, at most 4 for one VM"
    )
    assert body["reasons"][0]["failures"][0]["figures"]["limit"] == 4
    big = _refused(api.post("/api/v1/vm-hosts/small/compose", {"memory_mib": 12 * GIB}))
    assert big["reasons"][0]["reason"] == "have less than 12288 MiB of memory for one VM"
    assert api.compose("small", cores=4, memory_mib=8 * GIB)["vm"]["cores"] == 4


def test_host_without_a_network_refuses_a_vm_unless_no_interfaces(api: ApiEnv) -> None:
    plain = inventory()
    plain["networks"] = []
    add_fake_host(api.services, "bare", plain)
    body = _refused(api.post("/api/v1/vm-hosts/bare/compose", {}))
    assert body["message"] == (
        "host 'bare' cannot take this VM: have no host network to attach the VM's interfaces to"
    )
    assert body["reasons"][0]["check"] == "network"
    assert api.get("/api/v1/vms").json() == []
    vm = api.compose("bare", no_interfaces=True)["vm"]
    assert vm["interfaces"] == []
    both = api.post(
        "/api/v1/vm-hosts/bare/compose", {"no_interfaces": True, "interfaces": "eth0:network=x"}
    )
    assert both.status_code == 400 and "no_interfaces" in both.json()["fields"], both.text


def test_found_vm_pinned_on_two_nodes_has_its_memory_split(api: ApiEnv) -> None:
    host = api.add_host("n", "fake://numa")  # cores 0-7 on node 0, 8-15 on node 1
    hv = fake.hypervisor_for(api.services.ctx.connection(host["id"]))
    hv.vms["found"] = model.DiscoveredVm("found", 2, 2048, pinned_cores=(1, 9))
    assert api.post(f"/api/v1/vm-hosts/{host['id']}/refresh").status_code == 200
    numa = api.get(f"/api/v1/vm-hosts/{host['id']}/resources").json()["numa"]
    assert [n["memory"]["used_mib"] for n in numa] == [1024, 1024]
