"""Prometheus-style metrics: request counts and latency histograms, plus case gauges."""

from __future__ import annotations

import threading
import time
from bisect import bisect_left
from collections import defaultdict
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Registry:
    """Per-process counters (each worker process exposes its own, like any multi-worker app)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.buckets: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * len(BUCKETS))
        self.sums: dict[tuple[str, str], float] = defaultdict(float)
        self.counts: dict[tuple[str, str], int] = defaultdict(int)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self.lock:
            self.requests[(method, route, status)] += 1
            key = (method, route)
            index = bisect_left(BUCKETS, seconds)
            if index < len(BUCKETS):
                self.buckets[key][index] += 1
            self.sums[key] += seconds
            self.counts[key] += 1

    def render(self, gauges: dict[str, tuple[str, Any]]) -> str:
        """Counters, histograms, then each gauge: a value, or ``{labels: value}`` such as
        ``{'region="CN"': 27.0}``."""
        lines = [
            "# HELP casetrack_http_requests_total HTTP requests by method, route and status.",
            "# TYPE casetrack_http_requests_total counter",
        ]
        with self.lock:
            for (method, route, status), n in sorted(self.requests.items()):
                lines.append(
                    f'casetrack_http_requests_total{{method="{method}",route="{route}",'
                    f'status="{status}"}} {n}'
                )
            lines += [
                "# HELP casetrack_http_request_duration_seconds Request latency.",
                "# TYPE casetrack_http_request_duration_seconds histogram",
            ]
            for (method, route), counts in sorted(self.buckets.items()):
                labels = f'method="{method}",route="{route}"'
                running = 0
                for bound, n in zip(BUCKETS, counts, strict=True):
                    running += n
                    lines.append(
                        f'casetrack_http_request_duration_seconds_bucket{{{labels},le="{bound}"}} '
                        f"{running}"
                    )
                total = self.counts[(method, route)]
                lines.append(
                    f'casetrack_http_request_duration_seconds_bucket{{{labels},le="+Inf"}} {total}'
                )
                lines.append(
                    f"casetrack_http_request_duration_seconds_sum{{{labels}}} "
                    f"{self.sums[(method, route)]:.6f}"
                )
                lines.append(f"casetrack_http_request_duration_seconds_count{{{labels}}} {total}")
        for name, (help_text, value) in gauges.items():
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
            if isinstance(value, dict):
                lines += [f"{name}{{{labels}}} {v:g}" for labels, v in sorted(value.items())]
            else:
                lines.append(f"{name} {value:g}")
        return "\n".join(lines) + "\n"


def metrics_middleware(registry: Registry) -> Any:
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

            try:
                await app(scope, receive, capture)
            finally:
                route = scope.get("path_template") or _template(scope)
                registry.observe(scope["method"], route, status, time.perf_counter() - start)

        return middleware

    return factory


def _template(scope: Scope) -> str:
    handler = scope.get("route_handler")
    paths = getattr(handler, "paths", None)
    return sorted(paths)[0] if paths else "unmatched"
