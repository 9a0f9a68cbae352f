"""The desk's business gauges, as Prometheus metric families built for one scrape.

They are read from the database, which every process shares: one value per scrape, whichever
worker answers it (never summed over processes, unlike the request counters).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily

from core.case import NotificationState
from core.holidays import RegionHorizon
from core.jobs.deliver import PENDING_STATES
from core.store.queries import Gauges


def business_gauges(
    counted: Gauges, horizon: Sequence[RegionHorizon], now: datetime
) -> list[GaugeMetricFamily]:
    """Open cases, clocks, the outbox and the holiday data's horizon, as of ``now``."""
    return [
        *_cases(counted),
        _gauge(
            "casetrack_breached_clocks", "SLA clocks past their deadline.", counted.breached_clocks
        ),
        _gauge(
            "casetrack_provisional_clocks",
            "Running or paused SLA clocks planned past the published holiday data.",
            counted.provisional_clocks,
        ),
        _horizon(horizon),
        *_outbox(counted, now),
    ]


def _gauge(name: str, help_text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, help_text, value=float(value))


def _cases(counted: Gauges) -> list[GaugeMetricFamily]:
    by = GaugeMetricFamily(
        "casetrack_open_cases_by_priority_and_status",
        "Cases not yet resolved or closed, by priority and status.",
        labels=["priority", "status"],
    )
    for priority, status, count in counted.open_by:
        by.add_metric([priority, status], float(count))
    total = _gauge("casetrack_open_cases", "Cases not yet resolved or closed.", counted.open_cases)
    return [total, by]


def _horizon(horizon: Sequence[RegionHorizon]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "casetrack_calendar_data_days_left",
        "Days until a holiday region's published data ends (negative: ended).",
        labels=["region"],
    )
    for h in horizon:
        if h.days_left is not None:
            family.add_metric([h.region], float(h.days_left))
    return family


def _outbox(counted: Gauges, now: datetime) -> list[GaugeMetricFamily]:
    """Delivery health: rows by state, dead letters waiting for a manager, and how late the
    oldest due notification is (it grows when the scheduler or the workers stop)."""
    by_state = counted.notifications
    oldest = counted.oldest_due
    late = (now - oldest).total_seconds() if oldest is not None else 0.0
    states = GaugeMetricFamily(
        "casetrack_notifications_by_state",
        "Outbox rows by state (queued, sending, sent, failed, dead, dropped).",
        labels=["state"],
    )
    for state in NotificationState:
        states.add_metric([state.value], float(by_state.get(state, 0)))
    pending = sum(by_state.get(state, 0) for state in PENDING_STATES)
    return [
        states,
        _gauge(
            "casetrack_notifications_dead",
            "Notifications whose retries ran out (dead letters).",
            by_state.get(NotificationState.DEAD, 0),
        ),
        _gauge(
            "casetrack_notifications_failed",
            "Notifications the provider refused for good.",
            by_state.get(NotificationState.FAILED, 0),
        ),
        _gauge(
            "casetrack_notifications_pending",
            "Notifications queued or handed to a worker, not yet sent.",
            pending,
        ),
        _gauge(
            "casetrack_notifications_oldest_due_seconds",
            "How long the oldest due, unsent notification has waited.",
            max(late, 0.0),
        ),
    ]
