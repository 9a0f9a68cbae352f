"""The console's queues (``/console/queues/{queue}``) and the live fragment
(``/console/live``): the rows of core.store.queues, sortable, filterable and paged by keyset
as the API's GET /api/v1/queues/{queue}; htmx swaps the table for a filter, sort or page."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, Response, get
from litestar.concurrency import sync_to_thread
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect
from sqlalchemy import desc, func, select
from sqlalchemy.orm import Session

from api.auth import STAFF
from api.deps import runtime_of
from api.queues import viewer_of
from core.case import Priority, Status
from core.errors import NotFoundError
from core.store.orm import Case, CaseEvent
from core.store.queues import (
    QUEUES,
    SORTS,
    QueueFilter,
    Viewer,
    contract_calendars,
    queue_page,
    queue_statement,
)
from web.auth import page_principal
from web.console_format import Formats
from web.render import page, translator

PAGE_SIZE = 50
LIVE_POLL_SECONDS = 10  # how often the live fragment asks again (tests lower it)
LIVE_COUNT_CAP = 100  # the live counts stop here (shown as 100+)
RECENT_ESCALATIONS = 10  # cases, each with its newest escalation
Text = Annotated[str | None, QueryParameter(max_length=512)]


def _query(**params: Any) -> str:
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


def _links(queue: str, params: dict[str, Any]) -> dict[str, Any]:
    """The header links (each sort, reversed when it is the current one) and the pages."""
    base = f"/console/queues/{queue}"
    current = params["sort"]
    sorts = {}
    for key in SORTS:
        target = f"-{key}" if current == key else key
        sorts[key] = {
            "href": f"{base}?{_query(**{**params, 'sort': target, 'cursor': None})}",
            "state": _state(current, key),
        }
    return {"base": base, "sorts": sorts}


def _state(current: str, key: str) -> str | None:
    """``aria-sort`` of a column: ascending, descending or None (not sorted by it)."""
    if current == key:
        return "ascending"
    return "descending" if current == f"-{key}" else None


def _priorities(value: str | None) -> list[Priority]:
    return [Priority(value)] if value in {p.value for p in Priority} else []


def _statuses(value: str | None) -> list[Status]:
    return [Status(value)] if value in {s.value for s in Status} else []


def _queue_context(request: Request[Any, Any, Any], queue: str, params: dict[str, Any]) -> Any:
    runtime = runtime_of(request)
    if queue not in QUEUES:
        raise NotFoundError(f"no queue {queue!r} (queues: {', '.join(QUEUES)})")
    viewer = viewer_of(runtime, page_principal(request))
    flt = QueueFilter(
        customer_id=params["customer"] or None,
        priority=_priorities(params["priority"]),
        status=_statuses(params["status"]),
    )
    with runtime.sessions() as session:
        result = queue_page(
            session,
            queue,
            viewer,
            runtime.clock(),
            contract_calendars(runtime.contracts),
            flt=flt,
            sort=params["sort"],
            after=params["cursor"],
            limit=PAGE_SIZE,
        )
    names = {lc.contract.customer.id: lc.contract.customer.name
             for lc in runtime.contracts.contracts.values()}  # fmt: skip
    next_href = None
    if result.next_cursor:
        next_href = f"/console/queues/{queue}?{_query(**{**params, 'cursor': result.next_cursor})}"
    first_href = f"/console/queues/{queue}?{_query(**{**params, 'cursor': None})}"
    return {
        "queue": queue,
        "queues": QUEUES,
        "rows": result.items,
        "params": params,
        "links": _links(queue, params),
        "next_href": next_href,
        "first_href": first_href if params["cursor"] else None,
        "priorities": [p.value for p in Priority],
        "statuses": [s.value for s in Status],
        "customers": sorted(names.items()),
        "customer_names": names,
        "fmt": Formats(runtime.settings.timezone, translator(request)),
        "poll": LIVE_POLL_SECONDS,
    }


@get("/console/queues", opt={"roles": STAFF}, sync_to_thread=False)
def queues_home(request: Request[Any, Any, Any]) -> Redirect:
    """The queues start at "mine"."""
    return Redirect("/console/queues/mine")


@get("/console/queues/{queue:str}", opt={"roles": STAFF})
async def queue_view(
    request: Request[Any, Any, Any],
    queue: Annotated[str, PathParameter(max_length=32)],
    customer: Text = None,
    priority: Text = None,
    status: Text = None,
    sort: Text = None,
    cursor: Text = None,
) -> Response[Any]:
    """One page of a queue; an htmx request (filter, sort, page) gets the table alone."""
    chosen = sort if sort in {*SORTS, *(f"-{s}" for s in SORTS)} else "deadline"
    params = {"customer": customer, "priority": priority, "status": status, "sort": chosen,
              "cursor": cursor}  # fmt: skip
    context = await sync_to_thread(_queue_context, request, queue, params)
    partial = request.headers.get("hx-target") == "queue-results"
    template = "console/_queue_table.html" if partial else "console/queue.html"
    return page(request, template, **context)


# --- the live fragment -------------------------------------------------------------------------


def _count(session: Session, queue: str, viewer: Viewer, now: datetime) -> int:
    """The queue's cases, counted up to ``LIVE_COUNT_CAP`` (shown as "100+"): the queue's
    own statement, most urgent first, case ids only, so the count stops early."""
    stmt = queue_statement(queue, viewer, now, limit=LIVE_COUNT_CAP - 1)
    if stmt is None:
        return 0
    inner = stmt.with_only_columns(Case.id).subquery()
    return int(session.execute(select(func.count()).select_from(inner)).scalar_one())


def _escalations(session: Session, limit: int) -> list[dict[str, Any]]:
    """The newest escalation of each of the ``limit`` cases escalated last."""
    rows = session.execute(
        select(Case.number, CaseEvent.at, CaseEvent.payload, CaseEvent.actor)
        .join(Case, Case.id == CaseEvent.case_id)
        .where(CaseEvent.kind == "escalated")
        .order_by(desc(CaseEvent.id))
        .limit(limit * 5)
    ).all()
    newest: dict[str, dict[str, Any]] = {}
    for r in rows:  # newest first: the first row of a case is its newest escalation
        late = bool(r.payload.get("newly_breached") or r.payload.get("breached"))
        if r.number in newest:
            newest[r.number]["breached"] |= late
            continue
        newest[r.number] = {
            "number": r.number,
            "at": r.at,
            "actor": r.actor,
            "clock": r.payload.get("clock"),
            "level": r.payload.get("level"),
            "breached": late,  # this or an earlier escalation of the case fired a breach
            "reason": r.payload.get("reason"),
        }
    return list(newest.values())[:limit]


def live_context(request: Request[Any, Any, Any]) -> dict[str, Any]:
    runtime = runtime_of(request)
    viewer = viewer_of(runtime, page_principal(request))
    now = runtime.clock()
    with runtime.sessions() as session:
        return {
            "breaching": _count(session, "breaching", viewer, now),
            "breached": _count(session, "breached", viewer, now),
            "escalations": _escalations(session, RECENT_ESCALATIONS),
            "fmt": Formats(runtime.settings.timezone, translator(request)),
            "poll": LIVE_POLL_SECONDS,
            "cap": LIVE_COUNT_CAP,
        }


@get("/console/live", opt={"roles": STAFF})
async def live_fragment(request: Request[Any, Any, Any]) -> Response[Any]:
    """Breaching and breached counts and the newest escalations; htmx asks every few seconds."""
    context = await sync_to_thread(live_context, request)
    return page(request, "console/_live.html", **context)


QUEUE_ROUTES = [queues_home, queue_view, live_fragment]
