"""MAAS's storage rule: a disk tag that names a storage pool selects that pool."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection

from vmhost import model


def select_pools(
    request: model.ComposeRequest, pool_names: Collection[str]
) -> model.ComposeRequest:
    """``request`` with, on each disk that names no pool, the first of its tags that is the
    name of a storage pool (on any host) as its pool; the other tags stay. MAAS's drivers
    treated a storage tag equal to a pool's name as that pool (``root:40(fast)``)."""
    disks = []
    for disk in request.disks:
        named = next((tag for tag in disk.tags if tag in pool_names), None)
        if disk.pool is None and named is not None:
            disk = dataclasses.replace(
                disk, pool=named, tags=tuple(t for t in disk.tags if t != named)
            )
        disks.append(disk)
    if tuple(disks) == request.disks:
        return request
    return dataclasses.replace(request, disks=tuple(disks))
