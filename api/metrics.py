"""Prometheus metrics of the HTTP API, rendered by prometheus_client (docs/ops/metrics.md).

Request counts and latencies are counted by an ASGI middleware. Under `casetrack serve`
every process writes its values to the metrics directory (``PROMETHEUS_MULTIPROC_DIR``), and
a scrape of any worker merges the files of every process of the host: the totals of all
``--workers``, and of a scheduler or worker writing to the same directory. Without that
variable (an app built in a test) the app's own registry is rendered. The business gauges are
read from the database at scrape time, once per scrape, and appended to either.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.registry import Collector

from core.jobs.metrics import HostCollector, job_metrics

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # the classic text format
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

disable_created_metrics()  # no *_created series: multiprocess mode has none either


class HttpMetrics:
    """The API's request metrics, registered in the app's own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "casetrack_http_requests",
            "HTTP requests by method, route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "casetrack_http_request_duration_seconds",
            "Request latency by method, route and status.",
            ["method", "route", "status"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.in_progress = Gauge(
            "casetrack_http_requests_in_progress",
            "Requests being answered now (over the living worker processes).",
            registry=self.registry,
            multiprocess_mode="livesum",
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route, str(status)).observe(seconds)


def metrics_middleware(metrics: HttpMetrics) -> Any:
    """ASGI middleware factory timing every HTTP request by its route template."""

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            start = time.perf_counter()
            status = 500

            async def capture(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            metrics.in_progress.inc()
            try:
                await app(scope, receive, capture)
            finally:
                metrics.in_progress.dec()
                route = scope.get("path_template") or _template(scope)
                metrics.observe(scope["method"], route, status, time.perf_counter() - start)

        return middleware

    return factory


def _template(scope: Scope) -> str:
    handler = scope.get("route_handler")
    paths = getattr(handler, "paths", None)
    return sorted(paths)[0] if paths else "unmatched"


# --- a scrape ----------------------------------------------------------------------------------


class _Fixed(Collector):
    """Metric families computed before the scrape (the business gauges)."""

    def __init__(self, families: Iterable[Any]) -> None:
        self.families = list(families)

    def collect(self) -> Iterator[Any]:
        yield from self.families


class _Registry(Collector):
    """Everything another registry holds."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Any]:
        yield from self.registry.collect()


def multiprocess_dir() -> str | None:
    """The directory every process of this host writes its metrics to, if any."""
    return os.environ.get(MULTIPROC_ENV) or None


def exposition(metrics: HttpMetrics, business: Iterable[Any]) -> bytes:
    """One scrape: the host's merged process metrics (or this app's alone), then ``business``
    (metric families computed once for this scrape)."""
    registry = CollectorRegistry(auto_describe=False)
    if (directory := multiprocess_dir()) is not None:
        registry.register(HostCollector(directory))
    else:
        job_metrics()  # their families show even before the first pass
        registry.register(_Registry(metrics.registry))
        registry.register(_Registry(REGISTRY))  # the jobs' metrics of this process
    registry.register(_Fixed(business))
    return generate_latest(registry)


def process_ended() -> None:
    """This process stops: its live gauges (requests in progress) leave the host's sums."""
    if (directory := multiprocess_dir()) is not None:
        from prometheus_client.multiprocess import mark_process_dead

        mark_process_dead(os.getpid(), directory)
