"""The `cos-agent` endpoint, provider side of the `cos_agent` interface (v0).

Our own implementation of the provider's documented databag (no PyPI package carries the
`cos_agent` library; `cosl` has only its helpers). The agent subordinate (opentelemetry-collector
or grafana-agent) reads one key of our *unit* databag, `config`, holding JSON:

    metrics_alert_rules   {"groups": [...]}  Prometheus rules (ours: none yet)
    log_alert_rules       {"groups": [...]}  Loki rules (none)
    dashboards            [base64(lzma(dashboard JSON)), ...]
    metrics_scrape_jobs   [Prometheus scrape_config, ...]: the service's /api/v1/metrics, with
                          a read-only token as the bearer credential (the endpoint needs one)
    log_slots             [] (snap slots; the service is not a snap)
    include_log_files     ["/var/log/vmhost/vmhost.log"]

Every unit writes its own databag (the relation is a subordinate one).
"""

from __future__ import annotations

import base64
import json
import lzma
import pathlib
from typing import Any

import ops

CONFIG_KEY = "config"
TOKEN_NAME = "juju-cos-agent"  # noqa: S105 (the read-only metrics token's name)
METRICS_PATH = "/api/v1/metrics"


def encode_dashboard(dashboard: dict[str, Any]) -> str:
    """A dashboard as the interface carries it: base64 of the LZMA-compressed JSON."""
    return base64.b64encode(lzma.compress(json.dumps(dashboard).encode())).decode()


def decode_dashboard(encoded: str) -> dict[str, Any]:
    """The inverse of `encode_dashboard`."""
    data: dict[str, Any] = json.loads(lzma.decompress(base64.b64decode(encoded)))
    return data


def unit_config(
    *,
    port: int,
    tls: bool,
    token: str,
    log_file: pathlib.Path,
    dashboards_dir: pathlib.Path,
) -> dict[str, Any]:
    """The `config` value: what the agent scrapes, tails and forwards."""
    dashboards = [
        encode_dashboard(json.loads(path.read_text()))
        for path in sorted(dashboards_dir.glob("*.json"))
    ]
    job: dict[str, Any] = {
        "job_name": "vmhost",
        "metrics_path": METRICS_PATH,
        "scheme": "https" if tls else "http",
        "authorization": {"credentials": token},
        "static_configs": [{"targets": [f"localhost:{port}"]}],
    }
    if tls:
        job["tls_config"] = {"insecure_skip_verify": True}  # loopback, the unit's own service
    return {
        "metrics_alert_rules": {},
        "log_alert_rules": {},
        "dashboards": dashboards,
        "metrics_scrape_jobs": [job],
        "log_slots": [],
        "include_log_files": [str(log_file)],
    }


class CosAgentProvider(ops.Object):
    """Writes this unit's `config` on every `cos-agent` relation."""

    def __init__(self, charm: ops.CharmBase, relation_name: str):
        super().__init__(charm, relation_name)
        self._relation_name = relation_name

    def publish(self, config: dict[str, Any]) -> None:
        """Write (or refresh) the unit's databag on each relation."""
        value = json.dumps(config, sort_keys=True)
        for relation in self.model.relations[self._relation_name]:
            relation.data[self.model.unit][CONFIG_KEY] = value
