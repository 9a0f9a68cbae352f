"""Liveness, readiness and metrics endpoints (no authentication, no case data)."""

from __future__ import annotations

from datetime import date

import msgspec
from litestar import Response, get
from litestar.datastructures import State
from sqlalchemy import text

from api.deps import RuntimeDep, SessionDep
from api.gauges import business_gauges
from api.metrics import CONTENT_TYPE, exposition
from core.jobs.deliver import PENDING_STATES
from core.store.migrate import require_current
from core.store.queries import gauges


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
    media_type=CONTENT_TYPE,
)
def metrics(state: State, runtime: RuntimeDep, session: SessionDep) -> Response[bytes]:
    """Prometheus text format: requests and latencies of every worker process of this host,
    the scheduler's and workers' counters written to the same metrics directory, and the
    desk's gauges read from the database (open cases, breached clocks, the outbox, the
    holiday data's horizon). docs/ops/metrics.md lists them."""
    now = runtime.clock()
    families = business_gauges(gauges(session, now, PENDING_STATES), runtime.horizon(), now)
    body = exposition(state.metrics, families)
    return Response(body, media_type=CONTENT_TYPE)
