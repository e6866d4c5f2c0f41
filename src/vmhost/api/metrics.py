"""Prometheus metrics: request counts and latencies, hosts, VMs and capacity.

Served at ``/api/v1/metrics`` (a token is needed, as everywhere under ``/api/``; configure
Prometheus with ``authorization: {credentials: <read-only token>}``). Each app has its own
registry, so several apps in one process (tests) do not collide.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import fastapi
import prometheus_client
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vmhost import schemas
from vmhost.service import Services, views

from . import auth, deps, errors

router = fastapi.APIRouter(prefix=schemas.API_PREFIX, route_class=errors.ErrorRoute)


class Metrics:
    """The registry and the request metrics of one app."""

    def __init__(self, services: Services) -> None:
        self.registry = prometheus_client.CollectorRegistry(auto_describe=True)
        self.requests = prometheus_client.Counter(
            "vmhost_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = prometheus_client.Histogram(
            "vmhost_http_request_duration_seconds",
            "Time to answer HTTP requests",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60),
            registry=self.registry,
        )
        self.registry.register(_StateCollector(services))


class _StateCollector(Collector):
    """Hosts, VMs and capacity, read from the database at scrape time."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = self.services.hosts.counts()
        hosts = GaugeMetricFamily("vmhost_hosts", "VM hosts", labels=["status", "driver"])
        for status, driver, n in counts.hosts:
            hosts.add_metric([status, driver], n)
        yield hosts
        vms = GaugeMetricFamily("vmhost_vms", "VM records", labels=["origin", "state"])
        for origin, state, n in counts.vms:
            vms.add_metric([origin, state], n)
        yield vms
        families = {
            key: GaugeMetricFamily(
                f"vmhost_host_{key}", f"{key.replace('_', ' ')} per host", labels=["host", "use"]
            )
            for key in ("cores", "memory_mib", "hugepages_mib", "storage_bytes")
        }
        for detail in self.services.hosts.list():
            res = views.resources(detail.view)
            name = detail.host.name
            parts: tuple[tuple[str, object, str], ...] = (
                ("cores", res.cores, ""),
                ("memory_mib", res.memory, "_mib"),
                ("hugepages_mib", res.hugepages, "_mib"),
                ("storage_bytes", res.storage, "_bytes"),
            )
            for key, part, suffix in parts:
                for use in ("allocated", "other", "free"):
                    families[key].add_metric([name, use], getattr(part, use + suffix))
                cap = getattr(part, "capacity" + suffix, getattr(part, "total" + suffix, 0))
                families[key].add_metric([name, "capacity"], cap)
        yield from families.values()


#: Methods counted by name; any other (made up by a client) is counted as ``other``, as every
#: path that matches no route is counted as route ``unmatched``: a client cannot add series.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class MetricsMiddleware:
    """Count and time every HTTP request, by route template (not by raw path)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            method = method if method in KNOWN_METHODS else "other"
            self.metrics.requests.labels(method, template, str(status[0])).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - start)


@router.get(
    "/metrics",
    dependencies=[fastapi.Depends(auth.reader)],
    response_model=None,
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "Prometheus text format",
        },
        **errors.responses(401),
    },
    tags=["metrics"],
)
def metrics(request: fastapi.Request) -> fastapi.responses.Response:
    """Prometheus metrics."""
    deps.services_of(request)
    registry = request.app.state.metrics.registry
    return fastapi.responses.Response(
        prometheus_client.generate_latest(registry),
        media_type=prometheus_client.CONTENT_TYPE_LATEST,
    )
