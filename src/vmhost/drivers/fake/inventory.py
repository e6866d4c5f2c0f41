"""Fake hosts' inventories: named profiles and plain data (tests, JSON) -> ``HostInventory``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vmhost import model

GIB = 1024


def _nodes(
    count: int, cores_each: int, memory_mib_each: int, hugepages: int = 0
) -> list[dict[str, Any]]:
    nodes = []
    for i in range(count):
        nodes.append(
            {
                "index": i,
                "cores": list(range(i * cores_each, (i + 1) * cores_each)),
                "memory_mib": memory_mib_each,
                "hugepages": [{"page_size_kib": 2048, "total_pages": hugepages}]
                if hugepages
                else [],
            }
        )
    return nodes


_SMALL: dict[str, Any] = {
    "cores": 4,
    "memory_mib": 8 * GIB,
    "storage_pools": [
        {
            "name": "default",
            "type": "dir",
            "path": "/var/lib/fake",
            "total_bytes": 100 * 1000**3,
        }
    ],
    "networks": [{"name": "br0", "kind": "bridge"}],
}

PROFILES: dict[str, dict[str, Any]] = {
    # a small single-node host
    "small": _SMALL,
    # "small" whose bridge hands out addresses (a VM's NIC gets one, seen at the next refresh)
    "dhcp": _SMALL | {"networks": [{"name": "br0", "kind": "bridge", "cidr": "10.20.0.0/24"}]},
    # two NUMA nodes, hugepages, SR-IOV, several pools and networks
    "numa": {
        "cores": 16,
        "memory_mib": 64 * GIB,
        "numa_nodes": _nodes(2, 8, 32 * GIB, hugepages=2048),
        "storage_pools": [
            {
                "name": "default",
                "type": "dir",
                "path": "/var/lib/fake/default",
                "total_bytes": 500 * 1000**3,
            },
            {
                "name": "fast",
                "type": "zfs",
                "path": "tank/fast",
                "total_bytes": 200 * 1000**3,
                "tags": ["ssd"],
            },
        ],
        "networks": [
            {"name": "br0", "kind": "bridge"},
            {"name": "br-db", "kind": "bridge"},
            {"name": "eno1", "kind": "physical"},
        ],
        "sriov_nics": [{"name": "enp5s0f0", "total_vfs": 8, "numa_node": 1}],
    },
}


def inventory_from_dict(data: Mapping[str, Any]) -> model.HostInventory:
    """Build an inventory from plain data (profiles, tests, JSON)."""
    numa = tuple(
        model.NumaNode(
            index=int(n["index"]),
            cores=tuple(int(c) for c in n["cores"]),
            memory_mib=int(n["memory_mib"]),
            hugepages=tuple(
                model.Hugepages(int(h["page_size_kib"]), int(h["total_pages"]))
                for h in n.get("hugepages", [])
            ),
        )
        for n in data.get("numa_nodes", [])
    )
    return model.HostInventory(
        cores=int(data["cores"]),
        memory_mib=int(data["memory_mib"]),
        numa_nodes=numa,
        storage_pools=tuple(
            model.StoragePool(
                name=p["name"],
                type=p.get("type", "dir"),
                path=p.get("path", ""),
                total_bytes=int(p["total_bytes"]),
                used_bytes=int(p.get("used_bytes", 0)),
                pool_id=p.get("pool_id", p["name"]),
                tags=tuple(p.get("tags", ())),
            )
            for p in data.get("storage_pools", [])
        ),
        networks=tuple(
            model.Network(n["name"], model.NetworkKind(n.get("kind", "bridge")), n.get("cidr", ""))
            for n in data.get("networks", [])
        ),
        sriov_nics=tuple(
            model.SriovNic(s["name"], int(s["total_vfs"]), numa_node=s.get("numa_node"))
            for s in data.get("sriov_nics", [])
        ),
        version=str(data.get("version", "fake-1.0")),
        architectures=tuple(data.get("architectures", ("amd64/generic",))),
        can_run_vms=bool(data.get("can_run_vms", True)),
        can_run_containers=bool(data.get("can_run_containers", True)),
        name=str(data.get("name", "")),
    )
