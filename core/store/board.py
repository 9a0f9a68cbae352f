"""The managers' board: open cases by priority and status, this month's SLA compliance per
clock kind, breaches by customer, dead letters, and the holiday-data horizon warning.

Every figure is one aggregate statement (GROUP BY with CASE sums), identical on SQLite and
PostgreSQL. "This month" is the calendar month of ``now`` on the desk's time zone.

A clock counts toward a month when its deadline falls in that month. It is *breached* when it
was marked breached or is still running past its deadline, *met* when it stopped in time, and
*open* when it is running or paused before its deadline. Cancelled clocks and clocks excluded
from the SLA (``exclusion_cause``) are left out. Compliance is met / (met + breached); open
clocks are not yet decided and do not lower it (None when nothing is decided yet).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from core import clocks
from core.case import OPEN_STATUSES
from core.errors import InvalidQuery
from core.store.orm import Case, Notification, SlaClock
from core.store.queries import NotificationView, notification_rows, notification_view

NEWEST_DEAD = 5


class OpenCount(msgspec.Struct, frozen=True, kw_only=True):
    priority: str
    status: str
    count: int


class Compliance(msgspec.Struct, frozen=True, kw_only=True):
    """One clock kind's clocks due this month."""

    kind: str
    met: int
    breached: int
    open: int
    percent_met: float | None  # met / (met + breached) x 100, one decimal; None: none decided


class CustomerBreaches(msgspec.Struct, frozen=True, kw_only=True):
    customer_id: str
    breached: int


class Board(msgspec.Struct, kw_only=True):
    """What the managers' board shows, as plain data."""

    now: datetime
    month_start: datetime  # UTC instant of the 1st, 00:00 on the desk's zone
    month_end: datetime  # exclusive
    open_cases: list[OpenCount]
    compliance: list[Compliance]
    breaches_by_customer: list[CustomerBreaches]
    dead_letters: int
    newest_dead_letters: list[NotificationView]
    horizon_warnings: list[str]


def month_bounds(now: datetime, tz: str) -> tuple[datetime, datetime]:
    """[first instant of ``now``'s month, first of the next) on ``tz``, in UTC."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise InvalidQuery("now must carry a time zone")
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    end = start.replace(year=year, month=month)
    return start.astimezone(UTC), end.astimezone(UTC)


def _breached(now: datetime) -> ColumnElement[bool]:
    late = and_(SlaClock.state == clocks.RUNNING, SlaClock.deadline < now)
    return or_(SlaClock.state == clocks.BREACHED, SlaClock.breached_at.is_not(None), late)


def _met() -> ColumnElement[bool]:
    return and_(SlaClock.state == clocks.MET, SlaClock.breached_at.is_(None))


def _counted(start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    return [
        SlaClock.deadline >= start,
        SlaClock.deadline < end,
        SlaClock.state != clocks.CANCELLED,
        SlaClock.exclusion_cause.is_(None),
    ]


def _sum(cond: ColumnElement[bool]) -> Any:
    return func.sum(case((cond, 1), else_=0))


def open_cases(session: Session) -> list[OpenCount]:
    """Open cases by (priority, status), P1 first."""
    stmt = (
        select(Case.priority, Case.status, func.count())
        .where(Case.status.in_(sorted(s.value for s in OPEN_STATUSES)))
        .group_by(Case.priority, Case.status)
        .order_by(Case.priority, Case.status)
    )
    return [OpenCount(priority=p, status=s, count=int(n)) for p, s, n in session.execute(stmt)]


def compliance(session: Session, now: datetime, start: datetime, end: datetime) -> list[Compliance]:
    """Met / breached / open clocks due in [start, end), per clock kind."""
    breached, met = _breached(now), _met()
    undecided = and_(SlaClock.state.in_(sorted(clocks.ACTIVE)), ~breached)
    stmt = (
        select(SlaClock.kind, _sum(met), _sum(breached), _sum(undecided))
        .where(*_counted(start, end))
        .group_by(SlaClock.kind)
        .order_by(SlaClock.kind)
    )
    out = []
    for kind, n_met, n_breached, n_open in session.execute(stmt):
        n_met, n_breached, n_open = int(n_met or 0), int(n_breached or 0), int(n_open or 0)
        decided = n_met + n_breached
        pct = round(100 * n_met / decided, 1) if decided else None
        out.append(
            Compliance(kind=kind, met=n_met, breached=n_breached, open=n_open, percent_met=pct)
        )
    return out


def breaches_by_customer(
    session: Session, now: datetime, start: datetime, end: datetime
) -> list[CustomerBreaches]:
    """Breached clocks due in [start, end) per customer, most first.

    The customer is looked up per breached clock (a correlated subquery on the primary key)
    rather than joined: both planners otherwise tend to hash-join the whole case table."""
    customer = (
        select(Case.customer_id).where(Case.id == SlaClock.case_id).scalar_subquery()
    ).label("customer_id")
    count = func.count()
    stmt = (
        select(customer, count)
        .where(*_counted(start, end), _breached(now))
        .group_by(customer)
        .order_by(count.desc(), customer)
    )
    return [CustomerBreaches(customer_id=c, breached=int(n)) for c, n in session.execute(stmt)]


def dead_letters(session: Session, newest: int = NEWEST_DEAD) -> tuple[int, list[NotificationView]]:
    """How many notifications are dead, and the newest few (addresses masked)."""
    total = session.scalar(
        select(func.count()).select_from(Notification).where(Notification.state == "dead")
    )
    rows = session.execute(
        notification_rows()
        .where(Notification.state == "dead")
        .order_by(Notification.id.desc())
        .limit(newest)
    )
    return int(total or 0), [notification_view(r) for r in rows]


def board(
    session: Session, now: datetime, *, tz: str, horizon_warnings: Sequence[str] = ()
) -> Board:
    """The managers' board at ``now``; ``horizon_warnings``: ``Runtime.horizon_warnings()``."""
    start, end = month_bounds(now, tz)
    dead, newest = dead_letters(session)
    return Board(
        now=now,
        month_start=start,
        month_end=end,
        open_cases=open_cases(session),
        compliance=compliance(session, now, start, end),
        breaches_by_customer=breaches_by_customer(session, now, start, end),
        dead_letters=dead,
        newest_dead_letters=newest,
        horizon_warnings=list(horizon_warnings),
    )
