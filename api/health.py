"""Liveness, readiness and metrics endpoints (no authentication, no case data)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from sqlalchemy import func, or_, select, text

from core import orm
from core.case import OPEN_STATUSES
from core.migrate import require_current


@get("/healthz", sync_to_thread=False, tags=["health"], operation_id="healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@get("/readyz", sync_to_thread=True, tags=["health"], operation_id="readyz")
def readyz(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The database answers and its schema is at the newest migration (else 503)."""
    runtime = request.app.state.runtime
    with runtime.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    require_current(runtime.engine)
    return {"status": "ready"}


@get(
    "/metrics",
    sync_to_thread=True,
    tags=["health"],
    operation_id="metrics",
    media_type="text/plain; version=0.0.4",
)
def metrics(request: Request[Any, Any, Any]) -> Response[str]:
    """Prometheus text format: requests, latencies, open cases, breached clocks."""
    runtime = request.app.state.runtime
    now = runtime.clock()
    with runtime.sessions() as session:
        open_cases = session.scalar(
            select(func.count())
            .select_from(orm.Case)
            .where(orm.Case.status.in_([s.value for s in OPEN_STATUSES]))
        )
        breached = session.scalar(
            select(func.count())
            .select_from(orm.SlaClock)
            .where(
                or_(
                    orm.SlaClock.breached_at.is_not(None),
                    (orm.SlaClock.state == "running") & (orm.SlaClock.deadline < now),
                )
            )
        )
    gauges = {
        "casetrack_open_cases": ("Cases not yet resolved or closed.", float(open_cases or 0)),
        "casetrack_breached_clocks": ("SLA clocks past their deadline.", float(breached or 0)),
    }
    body = request.app.state.metrics.render(gauges)
    return Response(body, media_type="text/plain; version=0.0.4")
