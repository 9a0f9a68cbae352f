"""The agent console's queues: open cases by who holds them and how urgent they are.

One statement per page (the next deadline's clock kind and calendar come from correlated
subqueries on ``ix_sla_clocks_case``), keyset-paginated like ``core.store.queries.list_cases``.
Business time left is computed in Python on the deadline clock's calendar, so a P3 due Monday
09:00 shows 0 h left at Friday 18:00 on an 8x5 calendar, not 63 h.

Page authors call :func:`queue_page` with a :class:`Viewer` (``viewer_for`` builds one from
the staff directory) and :func:`contract_calendars` as the calendar resolver.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

import msgspec
from sqlalchemy import BindParameter, ColumnElement, Select, and_, bindparam, false, or_, select
from sqlalchemy.orm import Session

from core import clocks
from core.calendar import Calendar
from core.case import OPEN_STATUSES, Priority, Status
from core.contract_calendars import build_calendar, visible_calendars
from core.errors import CalendarError, InvalidCursor, InvalidQuery, NotFoundError
from core.loaded import ContractSet
from core.staff import StaffDirectory
from core.store.orm import Case, CaseEvent, SlaClock
from core.store.queries import AwareDatetime, Page, PositiveId, check_limit

QueueName = Literal[
    "mine", "group", "unassigned", "breaching", "breached", "pending_vendor", "pending_customer"
]
QUEUES: tuple[str, ...] = (
    "mine",
    "group",
    "unassigned",
    "breaching",
    "breached",
    "pending_vendor",
    "pending_customer",
)
SORTS: tuple[str, ...] = ("deadline", "priority", "number", "opened")
# a case is "breaching" when its next deadline falls within this window (issue 14: 1 h)
BREACHING_WITHIN = timedelta(hours=1)
# rendered inline (not as bind parameters) so that the text equals the partial index's
# predicate (core.store.orm.OPEN_CASES_SQL) and a generic plan can still use that index
_OPEN = Case.status.in_(
    bindparam("open_statuses", sorted(s.value for s in OPEN_STATUSES), literal_execute=True)
)

# inline too: the partial index ix_case_events_opened_by's predicate is kind = 'opened'
_OPENED: BindParameter[str] = bindparam("opened_kind", "opened", literal_execute=True)

# (contract id, calendar name) -> the calendar, or None when it cannot be built any more
ClockCalendar = Callable[[str, str], Calendar | None]


class NextDeadline(msgspec.Struct, kw_only=True):
    """The running clock that falls due first."""

    kind: str  # response, restore, ...
    calendar: str
    due_at: datetime  # UTC


class QueueRow(msgspec.Struct, kw_only=True):
    """One case in a queue, with the time left on its most urgent clock."""

    number: str
    customer_id: str
    caller_company: str | None
    summary: str
    priority: str
    status: str
    assignee: str | None
    opened_at: datetime
    breached: bool
    next_deadline: NextDeadline | None
    # open time left on the deadline clock's calendar; negative once overdue, None without
    # a running clock (or when the contract's calendar is gone)
    business_seconds_left: int | None


class Viewer(msgspec.Struct, frozen=True, kw_only=True):
    """Who asks: the assignee names that are "me", those of "my group", the customer scope;
    ``actors``: how the desk records this person as an actor, so that "mine" also holds the
    open cases they opened (a service-desk agent's own calls, whoever works them)."""

    me: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()
    group: tuple[str, ...] = ()
    customer_id: str | None = None  # a customer principal: only this company's cases


class QueueFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Narrowing within a queue; empty lists mean any."""

    customer_id: str | None = None
    priority: list[Priority] = msgspec.field(default_factory=list)
    status: list[Status] = msgspec.field(default_factory=list)


class _QueueCursor(msgspec.Struct, tag="queue", tag_field="o"):
    queue: str
    sort: str
    value: str | None  # the sort key of the last row (ISO text for instants), None: no deadline
    id: PositiveId


# --- who is "me" and "my group" ----------------------------------------------------------------


def viewer_for(
    directory: StaffDirectory | None, name: str, *, customer_id: str | None = None
) -> Viewer:
    """The viewer signed in as ``name`` (a staff id or name; a token's name).

    Cases are assigned by engineer id or name, so both count as "me". The staff directory has
    no groups: "my group" is everyone who shares an on-site zone with the viewer in the rota
    (``zones`` in staff.yaml), and, for someone without a zone, everyone holding one of the
    viewer's roles. Without a directory entry the group is the viewer alone.
    """
    person = directory.person(name) if directory is not None else None
    if directory is None or person is None:
        return Viewer(me=(name,), group=(name,), customer_id=customer_id)
    me = tuple(dict.fromkeys((person.id, person.name, name)))
    zones = [z for z, pieces in directory.zone_weekly.items() if _works(pieces, person.id)]
    if zones:
        ids = {p.engineer for z in zones for p in directory.zone_weekly[z]}
        members = [p for p in directory.people if p.id in ids]
    else:
        members = [p for p in directory.people if set(p.roles) & set(person.roles)]
    group = tuple(dict.fromkeys([*me, *(n for p in members for n in (p.id, p.name))]))
    return Viewer(me=me, group=group, customer_id=customer_id)


def _works(pieces: Sequence[Any], engineer: str) -> bool:
    return any(piece.engineer == engineer for piece in pieces)


def contract_calendars(contracts: ContractSet) -> ClockCalendar:
    """The calendar a clock was planned on: its contract's, else the catalog's by name."""
    built: dict[str, Calendar] = {}

    def resolve(contract_id: str, name: str) -> Calendar | None:
        loaded = contracts.contracts.get(contract_id)
        try:
            if loaded is not None:
                return loaded.calendar(name)
            if name not in built:
                spec = visible_calendars(None, contracts.catalog)[name]
                built[name] = build_calendar(spec, contracts.registry, name=name)
            return built[name]
        except (KeyError, NotFoundError, CalendarError):
            return None

    return resolve


# --- the query -------------------------------------------------------------------------------


def _membership(queue: str, viewer: Viewer, now: datetime) -> list[ColumnElement[bool]]:
    """The WHERE of one queue (open cases only)."""
    if queue == "mine":
        return [_OPEN, or_(_assigned_to(viewer.me), _opened_by(viewer.actors))]
    if queue == "group":
        return [_OPEN, _assigned_to(viewer.group)]
    if queue == "unassigned":
        return [_OPEN, Case.assignee.is_(None)]
    if queue == "breaching":
        soon = now + BREACHING_WITHIN
        return [_OPEN, Case.next_deadline >= now, Case.next_deadline < soon]
    if queue == "breached":
        late = or_(Case.breached.is_(True), Case.next_deadline < now)
        return [_OPEN, late]
    if queue in ("pending_vendor", "pending_customer"):
        return [Case.status == queue]
    raise NotFoundError(f"no queue {queue!r} (queues: {', '.join(QUEUES)})")


def _assigned_to(names: Sequence[str]) -> ColumnElement[bool]:
    return Case.assignee.in_(list(names)) if names else false()


def _opened_by(actors: Sequence[str]) -> ColumnElement[bool]:
    """Cases whose `opened` event names one of ``actors`` (index ix_case_events_opened_by)."""
    if not actors:
        return false()
    opened = select(CaseEvent.case_id).where(
        CaseEvent.kind == "opened", CaseEvent.actor.in_(list(actors))
    )
    return Case.id.in_(opened)


def opened_any(session: Session, actors: Sequence[str]) -> bool:
    """Whether any case's `opened` event names one of ``actors`` (one index probe).

    "mine" asks this first: for someone who never opened a case (most engineers and
    managers) the page is then the assigned cases alone, a range of
    ``ix_cases_open_assignee``; with the "or opened by" branch PostgreSQL walks every case
    by deadline, and when fewer than a page match it reads them all (docs/benchmarks.md,
    "Console pages", 2026-12-06: 345 ms at 1M cases)."""
    found = session.scalar(
        select(CaseEvent.case_id)
        .where(CaseEvent.kind == _OPENED, CaseEvent.actor.in_(list(actors)))
        .limit(1)
    )
    return found is not None


def _filters(flt: QueueFilter, viewer: Viewer) -> list[ColumnElement[bool]] | None:
    """The filter's WHERE; None when the customer scope rules every row out."""
    where: list[ColumnElement[bool]] = []
    customer = flt.customer_id
    if viewer.customer_id is not None:
        if customer not in (None, viewer.customer_id):
            return None
        customer = viewer.customer_id
    if customer is not None:
        where.append(Case.customer_id == customer)
    if flt.priority:
        where.append(Case.priority.in_([str(p) for p in flt.priority]))
    if flt.status:
        where.append(Case.status.in_([str(s) for s in flt.status]))
    return where


_SORT_COLUMNS: dict[str, Any] = {
    "deadline": Case.next_deadline,
    "priority": Case.priority,
    "number": Case.number,
    "opened": Case.opened_at,
}
_INSTANT_SORTS = frozenset({"deadline", "opened"})


def _parse_sort(sort: str) -> tuple[str, bool]:
    """``deadline`` / ``-deadline`` → (key, descending)."""
    key, desc = (sort[1:], True) if sort.startswith("-") else (sort, False)
    if key not in _SORT_COLUMNS:
        spelled = ", ".join(f"{k}, -{k}" for k in SORTS)
        raise InvalidQuery(f"sort must be one of {spelled}; not {sort!r}")
    return key, desc


def _ordered(stmt: Select[Any], key: str, desc: bool) -> Select[Any]:
    col = _SORT_COLUMNS[key]
    first = col.desc() if desc else col.asc()
    if key == "deadline":  # cases without a running clock come last either way
        first = first.nulls_last()
    return stmt.order_by(first, Case.id.desc() if desc else Case.id.asc())


def _seek(key: str, desc: bool, value: Any, last_id: int) -> ColumnElement[bool]:
    """Rows after (value, last_id) in the order of ``_ordered``."""
    col = _SORT_COLUMNS[key]
    after_id = Case.id < last_id if desc else Case.id > last_id
    if value is None:  # only the deadline sort has NULLs, and they come last
        return and_(col.is_(None), after_id)
    beyond = col < value if desc else col > value
    cond = or_(beyond, and_(col == value, after_id))
    return or_(cond, col.is_(None)) if key == "deadline" else cond


def _kind_of_next(column: Any) -> Any:
    """The running clock whose deadline is the case's next deadline (lowest id on a tie)."""
    return (
        select(column)
        .where(
            SlaClock.case_id == Case.id,
            SlaClock.state == clocks.RUNNING,
            SlaClock.deadline == Case.next_deadline,
        )
        .order_by(SlaClock.id)
        .limit(1)
        .scalar_subquery()
    )


_ROW_COLS: list[Any] = [
    Case.id,
    Case.number,
    Case.contract_id,
    Case.customer_id,
    Case.caller_company,
    Case.summary,
    Case.priority,
    Case.status,
    Case.assignee,
    Case.opened_at,
    Case.breached,
    Case.next_deadline,
]


def queue_statement(
    queue: str,
    viewer: Viewer,
    now: datetime,
    *,
    flt: QueueFilter | None = None,
    sort: str = "deadline",
    after: str | None = None,
    limit: int = 50,
) -> Select[Any] | None:
    """The one SELECT of a queue page (``limit + 1`` rows); None when the scope excludes all."""
    key, desc = _parse_sort(sort)
    where = _membership(queue, viewer, now)
    narrowed = _filters(flt or QueueFilter(), viewer)
    if narrowed is None:
        return None
    columns = [
        *_ROW_COLS,
        _kind_of_next(SlaClock.kind).label("clock_kind"),
        _kind_of_next(SlaClock.calendar).label("clock_calendar"),
    ]
    stmt: Select[Any] = select(*columns).where(*where, *narrowed)
    if after is not None:
        cursor = _decode(after, queue, sort)
        stmt = stmt.where(_seek(key, desc, _cursor_value(key, cursor.value), cursor.id))
    return _ordered(stmt, key, desc).limit(limit + 1)


def queue_page(
    session: Session,
    queue: str,
    viewer: Viewer,
    now: datetime,
    calendars: ClockCalendar,
    *,
    flt: QueueFilter | None = None,
    sort: str = "deadline",
    after: str | None = None,
    limit: int = 50,
) -> Page[QueueRow]:
    """One page of ``queue`` as ``viewer`` sees it at ``now``; ``next_cursor`` continues it.

    ``sort``: deadline (most urgent first, cases without a running clock last), priority
    (P1 first), number, opened (oldest first); a leading ``-`` reverses. NotFoundError for an
    unknown queue, InvalidQuery for a bad sort or limit, InvalidCursor for a cursor of another
    queue or sort.
    """
    check_limit(limit)
    if now.tzinfo is None or now.utcoffset() is None:
        raise InvalidQuery("now must carry a time zone")
    if queue == "mine" and viewer.actors and not opened_any(session, viewer.actors):
        viewer = msgspec.structs.replace(viewer, actors=())  # the assignee index alone
    stmt = queue_statement(queue, viewer, now, flt=flt, sort=sort, after=after, limit=limit)
    if stmt is None:
        return Page(items=[])
    rows = session.execute(stmt).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [_row(r, now, calendars) for r in rows]
    next_cursor = None
    if more:
        key, _ = _parse_sort(sort)
        value = getattr(rows[-1], _SORT_COLUMNS[key].key)
        text = value.isoformat() if isinstance(value, datetime) else value
        next_cursor = _encode(_QueueCursor(queue=queue, sort=sort, value=text, id=rows[-1].id))
    return Page(items=items, next_cursor=next_cursor)


def business_left(calendar: Calendar | None, now: datetime, due: datetime) -> int | None:
    """Open seconds from ``now`` to ``due`` on ``calendar`` (negative once ``due`` passed)."""
    if calendar is None:
        return None
    try:
        return round(calendar.elapsed(now, due).total_seconds())
    except CalendarError:
        return None


def _row(r: Any, now: datetime, calendars: ClockCalendar) -> QueueRow:
    nxt, left = None, None
    if r.next_deadline is not None and r.clock_kind is not None:
        nxt = NextDeadline(kind=r.clock_kind, calendar=r.clock_calendar, due_at=r.next_deadline)
        left = business_left(calendars(r.contract_id, r.clock_calendar), now, r.next_deadline)
    return QueueRow(
        number=r.number,
        customer_id=r.customer_id,
        caller_company=r.caller_company,
        summary=r.summary,
        priority=r.priority,
        status=r.status,
        assignee=r.assignee,
        opened_at=r.opened_at,
        breached=bool(r.breached) or (r.next_deadline is not None and r.next_deadline < now),
        next_deadline=nxt,
        business_seconds_left=left,
    )


# --- cursors -----------------------------------------------------------------------------------


def _encode(cursor: _QueueCursor) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(cursor)).rstrip(b"=").decode("ascii")


def _decode(token: str, queue: str, sort: str) -> _QueueCursor:
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
        cursor = msgspec.json.decode(raw, type=_QueueCursor)
    except (binascii.Error, ValueError, msgspec.DecodeError) as exc:
        raise InvalidCursor("the cursor is not one this server handed out") from exc
    if cursor.queue != queue or cursor.sort != sort:
        raise InvalidCursor("the cursor belongs to another queue or ordering")
    return cursor


def _cursor_value(key: str, value: str | None) -> Any:
    if value is None:
        if key != "deadline":
            raise InvalidCursor("the cursor is not one this server handed out")
        return None
    if key not in _INSTANT_SORTS:
        return value
    try:
        return msgspec.convert(value, AwareDatetime)
    except msgspec.ValidationError as exc:
        raise InvalidCursor("the cursor is not one this server handed out") from exc
