"""The managers' board page: open cases by priority and status, this month's SLA compliance
per clock kind, breaches by customer, dead letters with a retry button, and the holiday data
horizon warning — the same ``core.store.board.board`` the API's GET /api/v1/board returns,
kept per process for ``board_cache_seconds`` so that polling does not re-run its queries.
The breach figures refresh by htmx polling (``/board/live``); the retry calls the same
``core.jobs.outbox.retry`` as POST /api/v1/notifications/{id}/retry."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Request, Response, get, post
from litestar.concurrency import sync_to_thread
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect

from api.deps import runtime_of
from api.notifications import MANAGERS
from core.charts import Series, horizontal_bar_chart, stacked_bar_chart
from core.jobs.outbox import retry
from core.limits import MAX_ID
from core.runtime import Runtime
from core.store.board import Board, board
from web.auth import page_principal
from web.render import page, translator

BOARD_ROLES = {"roles": MANAGERS}  # who sees the API's board and retries dead letters
NotificationId = Annotated[int, PathParameter(ge=1, le=MAX_ID)]
Retried = Annotated[int | None, QueryParameter(ge=1, le=MAX_ID)]


class BoardCache:
    """The last Board for ``ttl`` seconds (monotonic time); one per server process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._entry: tuple[float, Board] | None = None

    def get(self, ttl: float, compute: Callable[[], Board]) -> Board:
        with self._lock:
            entry = self._entry
            if entry is not None and self.clock() < entry[0]:
                return entry[1]
        fresh = compute()
        if ttl > 0:
            with self._lock:
                self._entry = (self.clock() + ttl, fresh)
        return fresh

    def clear(self) -> None:
        with self._lock:
            self._entry = None


def cache_of(request: Request[Any, Any, Any]) -> BoardCache:
    state = request.app.state
    cache = getattr(state, "board_cache", None)
    if cache is None:
        cache = BoardCache()
        state.board_cache = cache
    return cache


def _compute(runtime: Runtime) -> Board:
    with runtime.sessions() as session:
        return board(
            session,
            runtime.clock(),
            tz=runtime.settings.timezone,
            horizon_warnings=runtime.horizon_warnings(),
        )


async def current_board(request: Request[Any, Any, Any]) -> Board:
    runtime = runtime_of(request)
    ttl = runtime.settings.board_cache_seconds
    return await sync_to_thread(cache_of(request).get, ttl, lambda: _compute(runtime))


# --- charts ----------------------------------------------------------------------------------


def month_label(data: Board, tz: str) -> str:
    """The board's month on the desk's zone, e.g. 2026-12."""
    return data.month_start.astimezone(ZoneInfo(tz)).strftime("%Y-%m")


def open_chart(data: Board, t: Callable[..., str]) -> str:
    priorities = sorted({row.priority for row in data.open_cases})
    statuses = sorted({row.status for row in data.open_cases})
    if not priorities:
        return ""
    counts = {(row.priority, row.status): row.count for row in data.open_cases}
    series = [
        Series(t("board_status_" + s), tuple(float(counts.get((p, s), 0)) for p in priorities))
        for s in statuses
    ]
    return stacked_bar_chart(t("board_open_cases"), priorities, series)


def compliance_chart(data: Board, t: Callable[..., str]) -> str:
    decided = [c for c in data.compliance if c.percent_met is not None]
    if not decided:
        return ""
    return horizontal_bar_chart(
        t("board_compliance"),
        [c.kind for c in decided],
        [float(c.percent_met or 0) for c in decided],
        unit="%",
    )


def breaches_chart(data: Board, t: Callable[..., str]) -> str:
    if not data.breaches_by_customer:
        return ""
    return horizontal_bar_chart(
        t("board_breaches"),
        [b.customer_id for b in data.breaches_by_customer],
        [float(b.breached) for b in data.breaches_by_customer],
    )


# --- pages -----------------------------------------------------------------------------------


@get("/board", opt=BOARD_ROLES)
async def board_page(request: Request[Any, Any, Any], retried: Retried = None) -> Response[Any]:
    """The whole board; ``?retried=ID`` says which dead letter was sent again."""
    data = await current_board(request)
    t = translator(request)
    return page(
        request,
        "board/board.html",
        board=data,
        open_svg=open_chart(data, t),
        compliance_svg=compliance_chart(data, t),
        breaches_svg=breaches_chart(data, t),
        poll_seconds=runtime_of(request).settings.board_poll_seconds,
        month=month_label(data, runtime_of(request).settings.timezone),
        timezone=runtime_of(request).settings.timezone,
        retried=retried,
    )


@get("/board/live", opt=BOARD_ROLES)
async def board_live(request: Request[Any, Any, Any]) -> Response[Any]:
    """The breach figures alone (compliance and breaches by customer), for htmx polling."""
    data = await current_board(request)
    t = translator(request)
    return page(
        request,
        "board/_live.html",
        board=data,
        compliance_svg=compliance_chart(data, t),
        breaches_svg=breaches_chart(data, t),
        poll_seconds=runtime_of(request).settings.board_poll_seconds,
        month=month_label(data, runtime_of(request).settings.timezone),
        timezone=runtime_of(request).settings.timezone,
    )


@post("/board/dead-letters/{notification_id:int}/retry", opt=BOARD_ROLES, status_code=303)
async def board_retry(request: Request[Any, Any, Any], notification_id: NotificationId) -> Redirect:
    """Send a dead letter again (back to queued, attempts reset; recorded on the case)."""
    principal = page_principal(request)
    runtime = runtime_of(request)
    await sync_to_thread(
        lambda: retry(runtime, notification_id, actor=principal.actor, now=runtime.clock())
    )
    cache_of(request).clear()
    return Redirect(f"/board?retried={notification_id}", status_code=303)


BOARD_ROUTES = [board_page, board_live, board_retry]
