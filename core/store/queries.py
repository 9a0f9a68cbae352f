"""The read side of the case store: case detail (with its outbox, masked), filtered keyset-paginated
lists, due clocks."""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

import msgspec
from sqlalchemy import ClauseElement, ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler

from core.case import OPEN_STATUSES, Priority, RequestType, Status, Visibility
from core.errors import InvalidCursor, InvalidQuery, NotFoundError
from core.limits import MAX_ID
from core.phones import PhoneNumberError, parse_phone
from core.store.orm import Case, CaseEvent, Notification, SlaClock

MAX_LIMIT = 500

T = TypeVar("T")
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]
PositiveId = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]  # a larger id is no row of ours

# --- result types (HTTP responses later: plain data, never ORM objects) ---------------------


class ClockView(msgspec.Struct, kw_only=True):
    """One SLA clock as shown to staff and customers."""

    kind: str
    state: str
    calendar: str
    target: str
    rule: str
    started_at: datetime
    deadline: datetime
    paused_at: datetime | None
    pause_cause: str | None
    pauses: list[Any]
    met_at: datetime | None
    breached_at: datetime | None
    exclusion_cause: str | None
    exclusion_note: str | None
    next_alert_at: datetime | None
    # planned from the statutory holiday rules past the published data: re-planned (and
    # cleared) when the year's schedule is loaded (docs/calendars.md)
    provisional: bool


class EventView(msgspec.Struct, kw_only=True):
    """One history entry; `hash` lets a reader check the chain it belongs to."""

    seq: int
    kind: str
    actor: str
    at: datetime
    payload: dict[str, Any]
    visibility: str
    hash: str


class CaseSummary(msgspec.Struct, kw_only=True):
    """A case as one row of a list."""

    number: str
    contract_id: str
    customer_id: str
    summary: str
    category: str
    request_type: str
    priority: str
    emergency: bool
    out_of_contract: bool  # opened outside the contract: chargeable, no SLA clocks
    status: str
    assignee: str | None
    zone: str | None
    opened_at: datetime
    updated_at: datetime
    next_deadline: datetime | None
    breached: bool
    version: int


class RecipientView(msgspec.Struct, kw_only=True):
    """Who a notification was for: staff id, name and role; addresses only masked."""

    id: str | None
    name: str
    role: str | None
    email: str | None  # masked: z***@example.cn
    mobile: str | None  # masked: 139****2312


class NotificationView(msgspec.Struct, kw_only=True):
    """One outbox row as staff see it: where it stands, never a full address."""

    id: int
    case_number: str | None  # None: a notice about no one case (a quarterly quality result)
    event_seq: int  # the case's `escalated` event it belongs to
    clock: str | None  # the clock's kind
    level: int  # the rung's number, 1 = the ladder's first (messages say 第 1 级 / level 1)
    channel: str
    template: str
    recipient: RecipientView
    state: str  # queued, sending, sent, failed, dead, dropped
    attempts: int
    last_error: str | None  # addresses in the provider's text are masked too
    send_after: datetime
    sent_at: datetime | None
    created_at: datetime


class CaseDetail(CaseSummary, kw_only=True, omit_defaults=True):
    """A case with its caller, clocks and (possibly customer-filtered) history.

    ``notifications`` (staff only) is the case's outbox; it is left out of the answer when
    there are none, and always for customers, who never see delivery state.
    """

    caller_name: str
    caller_company: str | None
    caller_phone: str | None
    caller_email: str | None
    caller_address: str | None
    channel: str
    device_serial: str | None
    site: str | None
    appointment_start: datetime | None
    appointment_end: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    clocks: list[ClockView]
    events: list[EventView]
    notifications: list[NotificationView] = msgspec.field(default_factory=list)


class Page(msgspec.Struct, Generic[T], kw_only=True):
    """One page of a list; pass `next_cursor` as `after` for the next, None on the last."""

    items: list[T]
    next_cursor: str | None = None


class DueClock(msgspec.Struct, kw_only=True):
    """A clock whose next escalation instant has come."""

    clock_id: int
    number: str
    kind: str
    deadline: datetime
    next_alert_at: datetime
    alert_level: int


class CaseFilter(msgspec.Struct, kw_only=True):
    """What to list; every criterion is optional and they combine with AND.

    Empty `status`/`priority` lists mean "any". `due_before` lists cases whose next deadline
    is before that instant, most urgent first; `opened_from`/`opened_to` are half-open.
    `text`: the summary or the case number contains it, ignoring case (``%`` and ``_`` are
    plain characters); a blank text means "any".
    """

    customer_id: str | None = None
    contract_id: str | None = None
    status: list[Status] = msgspec.field(default_factory=list)
    priority: list[Priority] = msgspec.field(default_factory=list)
    breached: bool | None = None
    due_before: datetime | None = None
    opened_from: datetime | None = None
    opened_to: datetime | None = None
    text: str | None = None


# Columns are selected by name from the struct fields so that nothing else (internal hash
# heads, and never case_secrets) can leak into a response.
_SUMMARY_COLS = [getattr(Case, name) for name in CaseSummary.__struct_fields__]
_DETAIL_COLS = [
    getattr(Case, name)
    for name in CaseDetail.__struct_fields__
    if name not in ("clocks", "events", "notifications")
]
_CLOCK_COLS = [getattr(SlaClock, name) for name in ClockView.__struct_fields__]
_EVENT_COLS = [getattr(CaseEvent, name) for name in EventView.__struct_fields__]


# --- one case --------------------------------------------------------------------------------


def case_belongs_to(session: Session, number: str, customer_id: str) -> bool:
    """Whether case ``number`` exists and is ``customer_id``'s (one answer for missing and
    not-yours: the caller turns both into the same 404)."""
    found = session.scalar(
        select(Case.id).where(Case.number == number, Case.customer_id == customer_id)
    )
    return found is not None


def case_is_complaint(session: Session, number: str) -> bool:
    """Whether case ``number`` exists and was opened as a complaint (request type)."""
    found = session.scalar(select(Case.request_type).where(Case.number == number))
    return found == RequestType.COMPLAINT.value


def get_case(session: Session, number: str, *, customer_id: str | None = None) -> CaseDetail:
    """The case with its clocks and history; a customer sees only customer-visible events.

    Another customer's case is NotFoundError, exactly like a missing one, so that a customer
    cannot probe which case numbers exist.
    """
    stmt = select(Case.id, *_DETAIL_COLS).where(Case.number == number)
    if customer_id is not None:
        stmt = stmt.where(Case.customer_id == customer_id)
    row = session.execute(stmt).one_or_none()
    if row is None:
        raise NotFoundError(f"case {number} not found")
    clocks = session.execute(
        select(*_CLOCK_COLS).where(SlaClock.case_id == row.id).order_by(SlaClock.id)
    ).all()
    events_stmt = select(*_EVENT_COLS).where(CaseEvent.case_id == row.id).order_by(CaseEvent.seq)
    if customer_id is not None:
        events_stmt = events_stmt.where(CaseEvent.visibility == Visibility.CUSTOMER.value)
    events = session.execute(events_stmt).all()
    notifications = [] if customer_id is not None else case_notifications(session, row.id)
    return msgspec.convert(
        {
            **row._mapping,
            "clocks": [msgspec.convert(c, ClockView, from_attributes=True) for c in clocks],
            "events": [msgspec.convert(e, EventView, from_attributes=True) for e in events],
            "notifications": notifications,
        },
        CaseDetail,
    )


def detail_of_new_case(
    case: Case, events: Sequence[CaseEvent], *, customer_view: bool = False
) -> CaseDetail:
    """The detail of a case just opened, from the rows written (no read back): all of its
    events are the ones appended, and a customer sees only the customer-visible ones. It has
    no notifications yet: only the scheduler writes them, after the case is committed."""
    shown = [e for e in events if not customer_view or e.visibility == Visibility.CUSTOMER.value]
    return msgspec.convert(
        {
            **_utc_fields(case, [col.key for col in _DETAIL_COLS]),
            "clocks": [_utc_fields(c, ClockView.__struct_fields__) for c in case.clocks],
            "events": [_utc_fields(e, EventView.__struct_fields__) for e in shown],
        },
        CaseDetail,
    )


def _utc_fields(row: Any, fields: Sequence[str]) -> dict[str, Any]:
    """Attribute values as the database would return them: datetimes in UTC."""
    values = {name: getattr(row, name) for name in fields}
    return {k: v.astimezone(UTC) if isinstance(v, datetime) else v for k, v in values.items()}


# --- notifications (the outbox as staff see it) -----------------------------------------------

_NOTIFICATION_COLS = [
    getattr(Notification, name)
    for name in NotificationView.__struct_fields__
    if name not in ("case_number", "clock", "recipient")
]


def notification_rows() -> Select[Any]:
    """Outbox rows with their case number and clock kind: one statement, no N+1.

    The recipient JSON is selected whole and masked in `notification_view`; callers add
    their WHERE, ORDER BY and LIMIT.
    """
    return (
        select(
            *_NOTIFICATION_COLS,
            Notification.recipient,
            Case.number.label("case_number"),
            SlaClock.kind.label("clock"),
        )
        .outerjoin(Case, Case.id == Notification.case_id)
        .outerjoin(SlaClock, SlaClock.id == Notification.clock_id)
    )


def notification_view(row: Any) -> NotificationView:
    """One row of `notification_rows` as staff may see it: addresses masked everywhere."""
    person: dict[str, Any] = row.recipient or {}
    email, mobile = person.get("email"), person.get("mobile") or person.get("phone")
    values = {
        name: getattr(row, name)
        for name in NotificationView.__struct_fields__
        if name != "recipient"
    }
    values["last_error"] = redact(row.last_error, [email, mobile])
    values["level"] = row.level + 1  # stored as the ladder index
    values["recipient"] = RecipientView(
        id=person.get("id"),
        name=str(person.get("name") or ""),
        role=person.get("role"),
        email=mask_email(email) if email else None,
        mobile=mask_mobile(mobile) if mobile else None,
    )
    return msgspec.convert(values, NotificationView)


def case_notifications(session: Session, case_id: int) -> list[NotificationView]:
    """Every notification of one case, oldest first (index ix_notifications_case)."""
    stmt = notification_rows().where(Notification.case_id == case_id).order_by(Notification.id)
    return [notification_view(r) for r in session.execute(stmt)]


def mask_email(address: str) -> str:
    """``zhang.wei@example.cn`` → ``z***@example.cn``: the domain shows where it went."""
    local, at, domain = address.strip().rpartition("@")
    return f"{local[0]}***@{domain}" if at and local else "***"


def mask_mobile(number: str) -> str:
    """``13963112312`` (also ``+86 139-6311-2312``) → ``139****2312``; ``+85291234567`` →
    ``+852****4567``: the operator prefix and the last four digits, never the whole number.
    A mainland number is shown nationally; anything core.phones cannot read, by its digits."""
    try:
        parsed = parse_phone(number)
    except PhoneNumberError:
        digits, international = re.sub(r"\D", "", unicodedata.normalize("NFKC", number)), False
    else:
        international = parsed.region != "CN"
        digits = parsed.digits if international else parsed.digits.removeprefix("86")
    if len(digits) < 8:
        return "****" + digits[-2:] if len(digits) > 4 else "****"
    return ("+" if international else "") + f"{digits[:3]}****{digits[-4:]}"


_EMAIL = re.compile(r"[^\s<>()\[\]'\",;:@]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"(?<![\d+])(?:\+\d{8,15}|1[3-9]\d{9})(?!\d)")


def redact(text: str | None, addresses: Sequence[str | None] = ()) -> str | None:
    """A provider's error text with the recipient's addresses (and any e-mail address or
    mobile number in it) masked: ``invalid e-mail address 'z***@example.cn'``."""
    if not text:
        return text
    for address in addresses:
        if address and address.strip():
            masked = mask_email(address) if "@" in address else mask_mobile(address)
            text = text.replace(address.strip(), masked)
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    return _PHONE.sub(lambda m: mask_mobile(m.group(0)), text)


# --- lists -----------------------------------------------------------------------------------


class _ByIdDesc(msgspec.Struct, tag="id", tag_field="o"):
    """Cursor of the default ordering: newest case first."""

    id: PositiveId


class _ByDeadlineAsc(msgspec.Struct, tag="due", tag_field="o"):
    """Cursor of the due-before ordering: earliest deadline first, id breaking ties."""

    deadline: AwareDatetime
    id: PositiveId


class NotificationCursor(msgspec.Struct, tag="notification", tag_field="o"):
    """Cursor of the notification list (core.jobs.outbox): newest notification first."""

    id: PositiveId


_Cursor = _ByIdDesc | _ByDeadlineAsc | NotificationCursor
_C = TypeVar("_C", bound=_Cursor)


def encode_cursor(cursor: _Cursor) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(cursor)).rstrip(b"=").decode("ascii")


def decode_cursor(token: str, expected: type[_C]) -> _C:
    """The cursor inside `token`, or InvalidCursor if it is garbled or of another ordering."""
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
        cursor = msgspec.json.decode(raw, type=_Cursor)
    except (binascii.Error, ValueError, msgspec.DecodeError) as exc:
        # ValueError covers non-ASCII text; msgspec.ValidationError is a DecodeError
        raise InvalidCursor("the cursor is not one this server handed out") from exc
    if not isinstance(cursor, expected):
        raise InvalidCursor("the cursor belongs to a different ordering of the list")
    if isinstance(cursor, _ByDeadlineAsc) and not _has_utc(cursor.deadline):
        raise InvalidCursor("the cursor is not one this server handed out")
    return cursor


def list_cases(
    session: Session, flt: CaseFilter, *, limit: int = 50, after: str | None = None
) -> Page[CaseSummary]:
    """One page of cases matching `flt`: newest first, or most urgent first with due_before."""
    check_limit(limit)
    by_deadline = flt.due_before is not None
    stmt = select(Case.id, *_SUMMARY_COLS).where(*_conditions(flt))
    if by_deadline:
        stmt = stmt.order_by(Case.next_deadline.asc(), Case.id.asc())
    else:
        stmt = stmt.order_by(Case.id.desc())
    if after is not None:
        ordering: type[_ByIdDesc | _ByDeadlineAsc] = _ByDeadlineAsc if by_deadline else _ByIdDesc
        stmt = _seek(stmt, decode_cursor(after, ordering))
    # one row more than asked tells whether another page exists without an extra COUNT
    rows = session.execute(stmt.limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [msgspec.convert(r, CaseSummary, from_attributes=True) for r in rows]
    next_cursor = None
    if more:
        last = rows[-1]
        key: _Cursor = (
            _ByDeadlineAsc(deadline=last.next_deadline, id=last.id)
            if by_deadline
            else _ByIdDesc(id=last.id)
        )
        next_cursor = encode_cursor(key)
    return Page(items=items, next_cursor=next_cursor)


def customer_history(
    session: Session, customer_id: str, *, limit: int = 50, after: str | None = None
) -> Page[CaseSummary]:
    """A customer's cases, newest first; open one with get_case(..., customer_id=...)."""
    return list_cases(session, CaseFilter(customer_id=customer_id), limit=limit, after=after)


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidQuery(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")


def _aware(name: str, value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidQuery(f"{name} must carry a time zone: {value.isoformat()}")
    if not _has_utc(value):
        raise InvalidQuery(f"{name} is out of range: {value.isoformat()} has no UTC time")
    return value


def _has_utc(value: datetime) -> bool:
    """Whether ``value`` can be stored or compared as UTC: year 1 at +23:59 cannot."""
    try:
        value.astimezone(UTC)
    except OverflowError:
        return False
    return True


def _conditions(flt: CaseFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if flt.customer_id is not None:
        where.append(Case.customer_id == flt.customer_id)
    if flt.contract_id is not None:
        where.append(Case.contract_id == flt.contract_id)
    if flt.status:
        where.append(Case.status.in_([str(s) for s in flt.status]))
    if flt.priority:
        where.append(Case.priority.in_(list(flt.priority)))
    if flt.breached is not None:
        where.append(Case.breached == flt.breached)
    if flt.due_before is not None:
        where.append(Case.next_deadline < _aware("due_before", flt.due_before))
    if flt.opened_from is not None:
        where.append(Case.opened_at >= _aware("opened_from", flt.opened_from))
    if flt.opened_to is not None:
        where.append(Case.opened_at < _aware("opened_to", flt.opened_to))
    if flt.text is not None and flt.text.strip():
        where.append(_containing(flt.text.strip()))
    return where


def _containing(text: str) -> ColumnElement[bool]:
    """Summary or number holds ``text``, case-insensitively; NUL cannot be in either column
    (PostgreSQL refuses it in a parameter), so it is refused as a bad query."""
    if "\x00" in text:
        raise InvalidQuery("the search text must not contain NUL")
    return or_(
        Case.summary.icontains(text, autoescape=True),
        Case.number.icontains(text, autoescape=True),
    )


def _seek(stmt: Select[Any], cursor: _ByIdDesc | _ByDeadlineAsc) -> Select[Any]:
    """Rows after the cursor: (next_deadline, id) > (d, i) spelt portably as OR/AND."""
    if isinstance(cursor, _ByIdDesc):
        return stmt.where(Case.id < cursor.id)
    return stmt.where(
        # the redundant `>=` bound lets both planners start an index range at the cursor and
        # read (next_deadline, id) in order; the OR alone is a multi-index OR plus a sort
        Case.next_deadline >= cursor.deadline,
        or_(
            Case.next_deadline > cursor.deadline,
            and_(Case.next_deadline == cursor.deadline, Case.id > cursor.id),
        ),
    )


# --- the escalation scan ---------------------------------------------------------------------


def _due_clocks_stmt(now: datetime, limit: int) -> Select[Any]:
    # The due clocks are found first, in index order with the LIMIT inside, and only then
    # joined to their cases: planned per call, PostgreSQL otherwise over-estimates the due
    # rows at mid sizes and hash-joins every case (bench/store.py). IS NOT NULL is spelt out
    # so both planners see that the partial index's predicate is implied.
    due = (
        select(
            SlaClock.id.label("clock_id"),
            SlaClock.case_id,
            SlaClock.kind,
            SlaClock.deadline,
            SlaClock.next_alert_at,
            SlaClock.alert_level,
        )
        .where(SlaClock.next_alert_at.is_not(None), SlaClock.next_alert_at <= now)
        .order_by(SlaClock.next_alert_at)
        .limit(limit)
        .subquery("due")
    )
    return (
        select(
            due.c.clock_id,
            Case.number,
            due.c.kind,
            due.c.deadline,
            due.c.next_alert_at,
            due.c.alert_level,
        )
        .join(Case, Case.id == due.c.case_id)
        .order_by(due.c.next_alert_at, due.c.clock_id)
    )


def due_clocks(session: Session, now: datetime, *, limit: int = 1000) -> list[DueClock]:
    """Clocks whose next alert is due at `now`, the longest-waiting first."""
    if limit < 1:
        raise InvalidQuery(f"limit must be at least 1, not {limit}")
    rows = session.execute(_due_clocks_stmt(_aware("now", now), limit)).all()
    return [msgspec.convert(r, DueClock, from_attributes=True) for r in rows]


class _Explain(Executable, ClauseElement):
    """EXPLAIN of a statement, compiled by the dialect so that bind values are processed."""

    inherit_cache = False

    def __init__(self, stmt: Select[Any], prefix: str) -> None:
        self.stmt = stmt
        self.prefix = prefix


@compiles(_Explain)
def _compile_explain(element: _Explain, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{element.prefix} {compiler.process(element.stmt, **kw)}"


def explain_due_clocks(session: Session, now: datetime, *, limit: int = 1000) -> str:
    """The database's plan for the due-clocks query (to prove the partial index is used)."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    stmt = _Explain(
        _due_clocks_stmt(_aware("now", now), limit), "EXPLAIN QUERY PLAN" if sqlite else "EXPLAIN"
    )
    rows = session.execute(stmt).all()
    # SQLite: (id, parent, notused, detail); PostgreSQL: one text column per plan line
    return "\n".join(str(r[-1]) for r in rows)


# --- gauges for /metrics -------------------------------------------------------------------


class Gauges(msgspec.Struct, frozen=True, kw_only=True):
    """The desk's state in numbers: what /metrics exposes from the database."""

    open_cases: int
    # (priority, status, count) of the open cases, one entry per pair that has any
    open_by: list[tuple[str, str, int]] = msgspec.field(default_factory=list)
    breached_clocks: int  # breached, or running past the deadline
    provisional_clocks: int  # running or paused, planned past the published holiday data
    notifications: dict[str, int]  # count by state
    oldest_due: datetime | None  # send_after of the oldest due notification still pending


def gauges(session: Session, now: datetime, pending: Sequence[str]) -> Gauges:
    """Count what /metrics shows; ``pending``: the notification states not yet final."""
    open_statuses = [s.value for s in OPEN_STATUSES]
    open_by = [
        (str(priority), str(status), int(count))
        for priority, status, count in session.execute(
            select(Case.priority, Case.status, func.count())
            .where(Case.status.in_(open_statuses))
            .group_by(Case.priority, Case.status)
            .order_by(Case.priority, Case.status)
        )
    ]
    late = and_(SlaClock.state == "running", SlaClock.deadline < now)
    breached = session.scalar(
        select(func.count())
        .select_from(SlaClock)
        .where(or_(SlaClock.breached_at.is_not(None), late))
    )
    provisional = session.scalar(
        select(func.count())
        .select_from(SlaClock)
        .where(SlaClock.provisional.is_(True), SlaClock.state.in_(["running", "paused"]))
    )
    by_state = session.execute(
        select(Notification.state, func.count()).group_by(Notification.state)
    )
    oldest = session.scalar(
        select(func.min(Notification.send_after)).where(
            Notification.state.in_(list(pending)), Notification.send_after <= now
        )
    )
    return Gauges(
        open_cases=sum(count for _, _, count in open_by),
        open_by=open_by,
        breached_clocks=int(breached or 0),
        provisional_clocks=int(provisional or 0),
        notifications={str(state): int(count) for state, count in by_state},
        oldest_due=oldest,
    )
