"""What the MAAS API's catalogue shows (``src/vmhost/maas/catalog.py``): the zones that hold a
VM host, the spaces with their subnets, and the boot resources (series × architecture).

**Spaces and subnets.** A MAAS space is a vmhost space (``spaces set``); each (host, network)
whose network has an IPv4 CIDR is a subnet, in the space its network is mapped to on that host
(a host's own mapping first, then the every-host one; of several, the first by name) or in
MAAS's ``undefined`` space (id -1). Juju skips a space without subnets. Ids are stable: each
space name, (host, network) and boot resource gets its id the first time it is shown
(``store.maas_catalog.assign_ids``) and keeps it, so Juju can store them.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Collection, Iterable, Mapping

from vmhost import model, store

from .context import Context

UNDEFINED_SPACE = "undefined"
UNDEFINED_SPACE_ID = -1
MANAGED_KINDS = frozenset({"bridge", "network"})  # LXD bridges, libvirt networks: their DHCP


@dataclasses.dataclass(frozen=True, slots=True)
class MaasSubnet:
    """A host network with an IPv4 CIDR."""

    id: int
    cidr: str
    space: str
    host_id: int
    host: str
    network: str
    dhcp_on: bool


@dataclasses.dataclass(frozen=True, slots=True)
class MaasSpace:
    """A space and its subnets."""

    id: int
    name: str
    subnets: tuple[MaasSubnet, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class MaasBootResource:
    """An image the hosts can run: ``ubuntu/<series>`` on an architecture."""

    id: int
    name: str
    architecture: str


def ipv4_network(cidr: str) -> str | None:
    """``cidr`` as an IPv4 network (``10.0.0.0/24``), or None (empty, IPv6, not a CIDR)."""
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None
    return str(network) if network.version == 4 else None


def space_of(
    host_id: int, network: str, mapping: Mapping[int | None, Mapping[str, tuple[str, ...]]]
) -> str:
    """The space of a host's network (``undefined`` when none maps to it)."""
    for scope in (host_id, None):
        spaces = sorted(s for s, nets in mapping.get(scope, {}).items() if network in nets)
        if spaces:
            return spaces[0]
    return UNDEFINED_SPACE


def boot_resource_names(
    series: Iterable[str], architectures: Iterable[str]
) -> list[tuple[str, str]]:
    """(``ubuntu/<series>``, architecture) for every pair, sorted, each once."""
    return sorted({(f"ubuntu/{s}", a) for s in series for a in architectures})


class MaasCatalogService:
    """Zones, spaces, subnets and boot resources as the MAAS API shows them."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _ids(self, kind: str, keys: list[str]) -> dict[str, int]:
        """Stable ids of ``keys``: read, and written only for keys shown the first time."""
        with self.ctx.db.read() as conn:
            found = store.maas_catalog.stable_ids(conn, kind, keys)
        if len(found) < len(set(keys)):
            with self.ctx.db.write() as conn:
                found = store.maas_catalog.assign_ids(conn, kind, keys)
        return found

    def zones(self) -> list[model.Zone]:
        """The zones that hold a VM host (Juju tries each zone it is given)."""
        with self.ctx.db.read() as conn:
            named = store.catalog.list_named(conn, "zone")
        return [model.Zone(z["id"], z["name"], z["description"]) for z in named if z["hosts"]]

    def subnets(self, host_ids: Collection[int] | None = None) -> list[MaasSubnet]:
        """Every (host, network) with an IPv4 CIDR, by id; only those of ``host_ids`` when
        given (a machine's JSON links its host's subnets only)."""
        with self.ctx.db.read() as conn:
            networks = store.maas_catalog.host_networks(conn, host_ids)
            mapping = store.catalog.space_map(conn)
            usable = [(n, cidr) for n in networks if (cidr := ipv4_network(n.cidr)) is not None]
            keys = [f"{n.host_id}/{n.network}" for n, _ in usable]
            ids = store.maas_catalog.stable_ids(conn, "subnet", keys)
        if len(ids) < len(set(keys)):
            if host_ids is None:
                ids = self._ids("subnet", keys)
            else:  # the first show: every host's subnets get their ids, in host order
                self.subnets()
                with self.ctx.db.read() as conn:
                    ids = store.maas_catalog.stable_ids(conn, "subnet", keys)
        subnets = [
            MaasSubnet(
                id=ids[f"{n.host_id}/{n.network}"],
                cidr=cidr,
                space=space_of(n.host_id, n.network, mapping),
                host_id=n.host_id,
                host=n.host,
                network=n.network,
                dhcp_on=n.kind in MANAGED_KINDS,
            )
            for n, cidr in usable
        ]
        return sorted(subnets, key=lambda s: s.id)

    def subnet(self, subnet_id: int) -> MaasSubnet:
        """One subnet by id (NotFoundError)."""
        for subnet in self.subnets():
            if subnet.id == subnet_id:
                return subnet
        raise model.NotFoundError("subnet", subnet_id)

    def spaces(self) -> list[MaasSpace]:
        """Every vmhost space with its subnets, then ``undefined`` with the subnets of
        networks in no space, by id."""
        with self.ctx.db.read() as conn:
            names = sorted(store.catalog.space_names(conn))
        subnets = self.subnets()
        ids = self._ids("space", names)
        spaces = [
            MaasSpace(ids[name], name, tuple(s for s in subnets if s.space == name))
            for name in names
        ]
        undefined = tuple(s for s in subnets if s.space == UNDEFINED_SPACE)
        return [
            MaasSpace(UNDEFINED_SPACE_ID, UNDEFINED_SPACE, undefined),
            *sorted(spaces, key=lambda s: s.id),
        ]

    def space(self, key: int | str) -> MaasSpace:
        """One space by id or name (NotFoundError)."""
        for space in self.spaces():
            if key in (space.id, space.name) or str(key) == str(space.id):
                return space
        raise model.NotFoundError("space", key)

    def space_name(self, key: str, field: str = "space") -> str:
        """The space a MAAS request means by ``key`` (Juju sends the id, people the name);
        InvalidInputError naming ``field`` and the key when there is none."""
        try:
            return self.space(key).name
        except model.NotFoundError:
            raise model.InvalidInputError.for_field(
                field, f"Unknown space: {key!r} (no space has that id or name)"
            ) from None

    def boot_resources(self) -> list[MaasBootResource]:
        """One per (series, architecture) some host can run: the series of its series -> image
        map (``model.series_images``) on each of its architectures, by id."""
        with self.ctx.db.read() as conn:
            hosts = store.maas_catalog.host_images(conn)
        pairs = sorted(
            {
                pair
                for h in hosts
                for pair in boot_resource_names(model.series_images(h.options), h.architectures)
            }
        )
        ids = self._ids("boot-resource", [f"{n} {a}" for n, a in pairs])
        found = [MaasBootResource(ids[f"{n} {a}"], n, a) for n, a in pairs]
        return sorted(found, key=lambda r: r.id)
