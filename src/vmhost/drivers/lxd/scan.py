"""The GETs that read a whole LXD host, about a dozen whatever its size (``discovery.py`` and
``instances.py`` parse what they return).

Instances come in ONE call (``recursion=1``, all projects when the certificate may see them,
else the configured project); volumes per pool for the configured project and ``default``
(custom volumes shared from there); warnings only when the host cannot run VMs (their text is
LXD's reason).
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from vmhost.drivers import base

from . import discovery
from .client import LxdClient

JsonList = list[dict[str, Any]]


def path(*segments: str) -> str:
    """``/1.0/<segments>``, each percent-encoded."""
    return "/1.0/" + "/".join(urllib.parse.quote(s, safe="") for s in segments)


def instances(client: LxdClient, project: str) -> JsonList:
    """Every instance in ONE call: all projects when allowed, else the configured one."""
    if client.has_extension("instance_all_projects"):
        try:
            found: JsonList = client.get(
                "/1.0/instances", params={"recursion": "1", "all-projects": "true"}
            )
            return found
        except base.DriverAuthError:
            pass  # a certificate restricted to projects: only ours is visible
    project_only: JsonList = client.get(
        "/1.0/instances", params={"recursion": "1"}, project=project
    )
    return project_only


def volumes(client: LxdClient, project: str, pools: JsonList) -> dict[str, JsonList]:
    """Each pool's volumes in the configured project and ``default``, tagged with the project."""
    found: dict[str, JsonList] = {}
    projects = [project] if project == "default" else [project, "default"]
    for pool in pools:
        name = str(pool["name"])
        found[name] = []
        for owner in projects:
            try:
                items = client.get(
                    path("storage-pools", name, "volumes"),
                    params={"recursion": "1"},
                    project=owner,
                )
            except base.DriverAuthError:
                continue
            for item in items or ():
                found[name].append({"project": owner, **item})
    return found


def warnings(client: LxdClient, server: dict[str, Any]) -> JsonList:
    """LXD's warnings when the host has no QEMU driver (why VMs do not run), else none."""
    driver = str((server.get("environment") or {}).get("driver", ""))
    if "qemu" in driver or not client.has_extension("warnings"):
        return []
    try:
        found: JsonList = client.get("/1.0/warnings", params={"recursion": "1"}) or []
    except base.DriverAuthError:
        return []
    return found


def raw_host(client: LxdClient, project: str) -> discovery.RawHost:
    """Everything ``discovery.inventory`` reads, fetched now."""
    server = client.get("/1.0")
    client.host_info = server
    pools: JsonList = client.get("/1.0/storage-pools", params={"recursion": "1"})
    pool_resources = {
        str(p["name"]): client.get(path("storage-pools", str(p["name"]), "resources"))
        for p in pools
    }
    return discovery.RawHost(
        server=server,
        resources=client.get("/1.0/resources"),
        pools=pools,
        pool_resources=pool_resources,
        volumes=volumes(client, project, pools),
        networks=client.get("/1.0/networks", params={"recursion": "1"}),
        instances=instances(client, project),
        warnings=warnings(client, server),
    )
