"""The `lxd` endpoint, requirer side of the LXD charm's `lxd-https` interface.

Wire format (plain strings; what canonical/charm-lxd reads and writes):

    requirer (us), app databag:   version = "1.0"
                                  certificate = PEM of the client certificate LXD is to trust
                                  projects = "a,b"   (optional: restrict the certificate)
    provider, unit databag of a standalone LXD, or app databag of a cluster:
                                  version = "1.0"
                                  certificate = PEM of the server's certificate
                                  certificate_fingerprint = its SHA-256
                                  addresses = "10.0.0.5:8443,..."   (no scheme)

We write in the application databag, so LXD trusts one certificate for the whole application
(named `juju-relation-<our app>`, removed when the integration goes). Each standalone LXD unit,
or each cluster, becomes one VM host: `lxd-<unit>` or `lxd-<app>`, with the server certificate
published here pinned (no trust on first contact). Remote data without
version "1.0", or without a certificate or an address, is logged and ignored.
"""

from __future__ import annotations

import dataclasses
import logging
import re

import ops

logger = logging.getLogger(__name__)

VERSION = "1.0"
_NOT_NAME = re.compile(r"[^a-z0-9-]+")


@dataclasses.dataclass(frozen=True)
class Server:
    """An LXD server or cluster as published, ready to be a VM host."""

    name: str
    address: str  # https://HOST:PORT
    certificate: str  # the server's PEM, pinned when the host is registered


def host_name(source: ops.Unit | ops.Application) -> str:
    """The VM host name for an LXD unit or cluster application."""
    return "lxd-" + _NOT_NAME.sub("-", source.name.lower()).strip("-")


class LxdRequirer(ops.Object):
    """Publishes our client certificate (leader) and reads the LXD servers' answers."""

    def __init__(self, charm: ops.CharmBase, relation_name: str):
        super().__init__(charm, relation_name)
        self._relation_name = relation_name

    def publish(self, certificate: str) -> None:
        """Offer our certificate on every `lxd` relation (leader only)."""
        for relation in self.model.relations[self._relation_name]:
            relation.data[self.model.app].update({"version": VERSION, "certificate": certificate})

    def servers(self) -> list[Server]:
        """Every LXD server or cluster that answered, with its first address."""
        found: list[Server] = []
        for relation in self.model.relations[self._relation_name]:
            if relation.app is not None and (cluster := self._read(relation, relation.app)):
                found.append(cluster)
                continue
            for unit in sorted(relation.units, key=lambda u: u.name):
                if server := self._read(relation, unit):
                    found.append(server)
        return found

    def names(self) -> set[str]:
        """The host names of every LXD unit and application still related (answered or not)."""
        names: set[str] = set()
        for relation in self.model.relations[self._relation_name]:
            if relation.app is not None:
                names.add(host_name(relation.app))
            names.update(host_name(unit) for unit in relation.units)
        return names

    def _read(self, relation: ops.Relation, source: ops.Unit | ops.Application) -> Server | None:
        data = relation.data[source]
        if not data:
            return None
        if data.get("version") != VERSION:
            logger.warning(
                "ignoring %s data from %s: version %r, not %r",
                self._relation_name,
                source.name,
                data.get("version"),
                VERSION,
            )
            return None
        addresses = [a.strip() for a in data.get("addresses", "").split(",") if a.strip()]
        if not addresses or not data.get("certificate"):
            logger.warning(
                "ignoring %s data from %s: no address or certificate",
                self._relation_name,
                source.name,
            )
            return None
        address = addresses[0]
        if not re.fullmatch(r"[\w.\-\[\]:]+", address):
            logger.warning(
                "ignoring %s address %r from %s", self._relation_name, address, source.name
            )
            return None
        return Server(host_name(source), f"https://{address}", data["certificate"])
