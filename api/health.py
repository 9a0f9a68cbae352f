"""Liveness, readiness and metrics endpoints (no authentication, no case data)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec
from litestar import Response, get
from litestar.datastructures import State
from sqlalchemy import text

from api.deps import RuntimeDep, SessionDep
from core.case import NotificationState
from core.jobs.deliver import PENDING_STATES
from core.store.migrate import require_current
from core.store.queries import Gauges, gauges


@get("/healthz", sync_to_thread=False, tags=["health"], operation_id="healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


class CalendarHorizon(msgspec.Struct, kw_only=True):
    """How far one holiday region's published data reaches."""

    region: str
    data_until: date | None
    days_left: int | None
    provisional_rule: str | None  # plans later years; None: they cannot be planned


class Readiness(msgspec.Struct, kw_only=True):
    status: str
    calendars: list[CalendarHorizon]
    # e.g. holiday data ending within CASETRACK_CALENDAR_HORIZON_DAYS: visible, not fatal
    warnings: list[str]


@get("/readyz", sync_to_thread=True, tags=["health"], operation_id="readyz")
def readyz(runtime: RuntimeDep) -> Readiness:
    """The database answers and its schema is at the newest migration (else 503).

    Warnings (holiday data ending soon) are listed but do not make the server unready.
    """
    with runtime.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    require_current(runtime.engine)
    horizon = runtime.horizon()
    within = runtime.settings.calendar_horizon_days
    return Readiness(
        status="ready",
        calendars=[
            CalendarHorizon(
                region=h.region,
                data_until=h.data_until,
                days_left=h.days_left,
                provisional_rule=h.rule,
            )
            for h in horizon
        ],
        warnings=[w for h in horizon if (w := h.warning(within))],
    )


@get(
    "/metrics",
    sync_to_thread=True,
    tags=["health"],
    operation_id="metrics",
    media_type="text/plain; version=0.0.4",
)
def metrics(state: State, runtime: RuntimeDep, session: SessionDep) -> Response[str]:
    """Prometheus text format: requests, latencies, open cases, breached clocks."""
    now = runtime.clock()
    counted = gauges(session, now, PENDING_STATES)
    metrics: dict[str, tuple[str, Any]] = {
        "casetrack_open_cases": ("Cases not yet resolved or closed.", float(counted.open_cases)),
        "casetrack_breached_clocks": (
            "SLA clocks past their deadline.",
            float(counted.breached_clocks),
        ),
        "casetrack_provisional_clocks": (
            "Running or paused SLA clocks planned past the published holiday data.",
            float(counted.provisional_clocks),
        ),
        "casetrack_calendar_data_days_left": (
            "Days until a holiday region's published data ends (negative: ended).",
            {
                f'region="{h.region}"': float(h.days_left)
                for h in runtime.horizon()
                if h.days_left is not None
            },
        ),
        **_outbox_gauges(counted, now),
    }
    body = state.metrics.render(metrics)
    return Response(body, media_type="text/plain; version=0.0.4")


def _outbox_gauges(counted: Gauges, now: datetime) -> dict[str, tuple[str, float]]:
    """Delivery health: dead letters waiting for a manager, and how late the oldest due
    notification is (it grows when the scheduler or the workers stop)."""
    by_state = counted.notifications
    oldest = counted.oldest_due
    late = (now - oldest).total_seconds() if oldest is not None else 0.0
    return {
        "casetrack_notifications_dead": (
            "Notifications whose retries ran out (dead letters).",
            float(by_state.get(NotificationState.DEAD, 0)),
        ),
        "casetrack_notifications_failed": (
            "Notifications the provider refused for good.",
            float(by_state.get(NotificationState.FAILED, 0)),
        ),
        "casetrack_notifications_pending": (
            "Notifications queued or handed to a worker, not yet sent.",
            float(sum(by_state.get(state, 0) for state in PENDING_STATES)),
        ),
        "casetrack_notifications_oldest_due_seconds": (
            "How long the oldest due, unsent notification has waited.",
            max(late, 0.0),
        ),
    }
