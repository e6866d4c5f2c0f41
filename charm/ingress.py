"""The optional `ingress` endpoint, requirer side of the `ingress` interface (v2), e.g. with the
haproxy charm in front of several units.

Wire format (every value JSON-encoded):

    requirer app databag (leader):  model = "m"   name = "vmhost-manager"   port = 5240
                                    strip-prefix = true   scheme = "http" | "https"
    requirer unit databag (each):   host = "10.0.0.7"   ip = "10.0.0.7"
    provider app databag:           ingress = {"url": "http://proxy/m-vmhost-manager/"}

With `strip-prefix` the proxy forwards `/m-vmhost-manager/api/v1/...` as `/api/v1/...`, so API
clients use the published URL as their base URL. Provider data that does not parse is logged and
read as "no URL yet".
"""

from __future__ import annotations

import json
import logging

import ops

logger = logging.getLogger(__name__)


class IngressRequirer(ops.Object):
    """Asks for ingress to the service's port and reads the URL the proxy gives."""

    def __init__(self, charm: ops.CharmBase, relation_name: str):
        super().__init__(charm, relation_name)
        self._relation_name = relation_name

    def publish(self, *, port: int, tls: bool) -> None:
        """Write our request: the app's (leader only) and this unit's address (every unit)."""
        relation = self.model.get_relation(self._relation_name)
        if relation is None:
            return
        if self.model.unit.is_leader():
            relation.data[self.model.app].update(
                {
                    "model": json.dumps(self.model.name),
                    "name": json.dumps(self.model.app.name),
                    "port": json.dumps(port),
                    "strip-prefix": json.dumps(True),
                    "scheme": json.dumps("https" if tls else "http"),
                }
            )
        binding = self.model.get_binding(relation)
        address = binding.network.bind_address if binding is not None else None
        if address is not None:
            relation.data[self.model.unit].update(
                {"host": json.dumps(str(address)), "ip": json.dumps(str(address))}
            )

    def url(self) -> str | None:
        """The URL the proxy serves the service at, once it has answered."""
        relation = self.model.get_relation(self._relation_name)
        if relation is None or relation.app is None:
            return None
        raw = relation.data[relation.app].get("ingress")
        if not raw:
            return None
        try:
            url = json.loads(raw)["url"]
        except (ValueError, KeyError, TypeError):
            logger.warning("ignoring malformed %s data: %r", self._relation_name, raw[:200])
            return None
        return url if isinstance(url, str) and url.startswith(("http://", "https://")) else None
