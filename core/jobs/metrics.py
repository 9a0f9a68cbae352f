"""What the scheduler loop and the notification workers count, for Prometheus.

Recorded with prometheus_client. A process started with ``PROMETHEUS_MULTIPROC_DIR`` set
(`casetrack serve`, `casetrack scheduler` and `casetrack worker` set it to the metrics
directory: cli/metrics.py) writes its values to its own files there, and one scrape of that
directory sums every process of the host (docs/ops/metrics.md). The metrics are made on first
use, after the command has chosen the directory: a value made before would stay in memory.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

PASS_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
SEND_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True, slots=True)
class JobMetrics:
    """The scheduler's and the workers' counters (one set per process)."""

    passes: Counter  # outcome: ok | error
    pass_seconds: Histogram
    last_pass: Gauge  # the runtime clock of the newest pass, as a Unix time
    escalations: Counter
    breaches: Counter
    planned: Counter
    relayed: Counter
    deliveries: Counter  # channel, outcome: sent | failed | retried | dead
    send_seconds: Histogram  # channel


@cache
def job_metrics() -> JobMetrics:
    """The process's job metrics, made (and registered) once."""
    return JobMetrics(
        passes=Counter(
            "casetrack_scheduler_passes",
            "Scheduler passes (tick + relay) by outcome (ok, error).",
            ["outcome"],
        ),
        pass_seconds=Histogram(
            "casetrack_scheduler_pass_duration_seconds",
            "How long one scheduler pass (tick + relay) took.",
            buckets=PASS_BUCKETS,
        ),
        last_pass=Gauge(
            "casetrack_scheduler_last_pass_timestamp_seconds",
            "When the newest successful scheduler pass ran (Unix time, the runtime's clock).",
            multiprocess_mode="max",  # the newest over every scheduler, living or not
        ),
        escalations=Counter(
            "casetrack_scheduler_escalations",
            "Escalation levels fired (one `escalated` event each).",
        ),
        breaches=Counter(
            "casetrack_scheduler_breaches",
            "SLA clocks the scheduler marked breached.",
        ),
        planned=Counter(
            "casetrack_notifications_planned",
            "Notifications the scheduler queued in the outbox.",
        ),
        relayed=Counter(
            "casetrack_notifications_relayed",
            "Notifications the relay handed to the broker.",
        ),
        deliveries=Counter(
            "casetrack_notification_deliveries",
            "Notifications a worker tried to send, by channel and outcome "
            "(sent, failed, retried, dead).",
            ["channel", "outcome"],
        ),
        send_seconds=Histogram(
            "casetrack_notification_send_duration_seconds",
            "How long a notifier took to send one notice (or digest), by channel.",
            ["channel"],
            buckets=SEND_BUCKETS,
        ),
    )


def record_pass(
    *, now: datetime, seconds: float, events: int, breaches: int, planned: int, relayed: int
) -> None:
    """One pass that finished: its counts, its duration, its instant."""
    metrics = job_metrics()
    metrics.passes.labels(outcome="ok").inc()
    metrics.pass_seconds.observe(seconds)
    metrics.last_pass.set(now.timestamp())
    metrics.escalations.inc(events)
    metrics.breaches.inc(breaches)
    metrics.planned.inc(planned)
    metrics.relayed.inc(relayed)


def record_failed_pass(seconds: float) -> None:
    """A pass the database or the broker broke off."""
    metrics = job_metrics()
    metrics.passes.labels(outcome="error").inc()
    metrics.pass_seconds.observe(seconds)


def record_delivery(channel: str, outcome: str, rows: int, seconds: float | None) -> None:
    """A worker's send of ``rows`` notifications (one digest of several counts each row);
    ``seconds``: how long the notifier took (None: no notifier was asked)."""
    metrics = job_metrics()
    metrics.deliveries.labels(channel=channel, outcome=outcome).inc(rows)
    if seconds is not None:
        metrics.send_seconds.labels(channel=channel).observe(seconds)


# --- reading the host's directory -----------------------------------------------------------


class HostCollector(Collector):
    """The merged values of every process writing to ``directory`` (counters and histograms
    summed, gauges by their multiprocess mode). Like prometheus_client's MultiProcessCollector,
    but a file a process has only just created (still empty) is skipped rather than failing
    the scrape: it holds no value yet."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def collect(self) -> Iterable[Metric]:
        files = [str(p) for p in self.directory.glob("*.db") if _has_header(p)]
        return MultiProcessCollector.merge(files, accumulate=True)


def _has_header(path: Path) -> bool:
    try:
        return path.stat().st_size >= 8
    except FileNotFoundError:  # a live gauge file removed as its process ended
        return False


def host_registry(directory: str | os.PathLike[str]) -> CollectorRegistry:
    """A registry of the sums of every process writing to ``directory``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HostCollector(directory))
    return registry
