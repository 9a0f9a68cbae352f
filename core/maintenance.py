"""Maintenance plans (R-MAINT 定期巡检): when each inspection falls, what it inspects, and how
a finding's severity maps to the follow-up's priority (docs/maintenance.md).

An occurrence is named by its **nominal** instant, the one the RRULE gives: that name is
the unique key the scheduler opens it under, so a moved date (a holiday year published
later, a changed ``on-closed-day``) never opens it twice. Pure: no database, no clock.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from dateutil.rrule import rrule, rrulestr

from core import sla
from core.contract import Contract, Device, MaintenancePlan

if TYPE_CHECKING:
    from core.calendar import Calendar
    from core.loaded import LoadedContract

__all__ = [
    "FOLLOW_UP_PRIORITY",
    "SEVERITIES",
    "Occurrence",
    "devices_for",
    "next_start",
    "occurrences",
    "parse_rule",
]

Severity = Literal["minor", "major", "critical"]
SEVERITIES: tuple[str, ...] = ("minor", "major", "critical")
FOLLOW_UP_PRIORITY: dict[str, str] = {"critical": "P1", "major": "P2", "minor": "P3"}
"""A finding's follow-up case gets this priority unless the recorder names one (ours: the
handbook grades faults but not inspection findings)."""

MAX_MOVE_DAYS = 31  # how far a closed run may push an occurrence; further: not moved


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One inspection of a plan: ``nominal`` (its key), ``start`` (moved off a closed day
    when the plan says so) and ``due`` (``due-within`` after the start)."""

    contract_id: str
    plan_id: str
    nominal: datetime
    start: datetime
    due: datetime
    moved: str | None  # why the start differs from the nominal instant

    @property
    def key(self) -> str:
        return f"{self.contract_id}/{self.plan_id}/{self.nominal.isoformat()}"


def parse_rule(text: str) -> None:
    """Raise ValueError when ``text`` is no RRULE we accept (DTSTART is the contract's)."""
    if "DTSTART" in text.upper():
        raise ValueError("DTSTART is not allowed: a plan starts on the contract period's start")
    rrulestr(text, dtstart=datetime(2000, 1, 1))


@lru_cache(maxsize=4096)
def _instants(text: str, dtstart: datetime, last: date) -> tuple[datetime, ...]:
    """Every nominal wall time of the rule from ``dtstart`` through ``last`` (the contract
    period's end plus the move slack): finite, sorted, so a window is a bisect away."""
    rule = rrulestr(text, dtstart=dtstart)
    assert isinstance(rule, rrule)  # one RRULE line, no RDATE/EXDATE set
    end = datetime.combine(last, time.max)
    return tuple(rule.between(dtstart, end, inc=True))


def _first(contract: Contract, plan: MaintenancePlan) -> datetime:
    hour, minute = (int(part) for part in plan.at.split(":"))
    return datetime.combine(contract.period.start, time(hour % 24, minute))


def occurrences(
    lc: LoadedContract, plan: MaintenancePlan, after: datetime, until: datetime
) -> Iterator[Occurrence]:
    """The plan's occurrences whose (moved) start lies in ``(after, until]``, within the
    contract period, in order (lazily: ``next(...)`` reads only what it needs); a moved one
    that lands on a start already taken is dropped."""
    contract = lc.contract
    cal = lc.calendar(plan.calendar)
    low = after.astimezone(cal.tz).replace(tzinfo=None)
    high = until.astimezone(cal.tz).replace(tzinfo=None)
    # a start moved forward comes from a nominal instant in the closed run just before the
    # window, one moved back from the closed run just after it
    if plan.on_closed_day == "next-business-day":
        low = datetime.combine(_closed_run(cal, low.date(), -1), time())
    elif plan.on_closed_day == "previous-business-day":
        high = datetime.combine(_closed_run(cal, high.date(), 1), time.max)
    last = contract.period.end + timedelta(days=MAX_MOVE_DAYS)
    instants = _instants(plan.rrule, _first(contract, plan), last)
    taken: set[datetime] = set()
    for wall in instants[bisect_left(instants, low) :]:
        if wall > high:
            return
        nominal = wall.replace(tzinfo=cal.tz)
        start, moved = _moved(cal, plan, nominal)
        day = start.astimezone(cal.tz).date()
        if not contract.period.start <= day <= contract.period.end or start in taken:
            continue
        if after < start <= until:
            taken.add(start)
            due, _ = sla.due_after(lc, plan.calendar, plan.due_duration, start)
            yield Occurrence(contract.id, plan.id, nominal, start, due, moved)


def _closed_run(cal: Calendar, day: date, step: int) -> date:
    """The farthest day of the run of closed days next to ``day`` in direction ``step``
    (``day`` itself when its neighbour is open), at most MAX_MOVE_DAYS away."""
    for _ in range(MAX_MOVE_DAYS):
        neighbour = day + timedelta(days=step)
        if cal.is_business_day(neighbour):
            break
        day = neighbour
    return day


def next_start(lc: LoadedContract, plan: MaintenancePlan, after: datetime) -> datetime | None:
    """The start of the plan's first occurrence after ``after`` (None: none in its period)."""
    end = datetime.combine(lc.contract.period.end, time(), tzinfo=after.tzinfo)
    until = max(after, end) + timedelta(days=MAX_MOVE_DAYS + 2)
    found = next(occurrences(lc, plan, after, until), None)
    return found.start if found is not None else None


def _moved(cal: Calendar, plan: MaintenancePlan, nominal: datetime) -> tuple[datetime, str | None]:
    """The start of an occurrence: ``nominal``, or moved off a closed day of ``cal``."""
    day = nominal.astimezone(cal.tz).date()
    if plan.on_closed_day == "keep" or cal.is_business_day(day):
        return nominal, None
    step = 1 if plan.on_closed_day == "next-business-day" else -1
    target = _business_day(cal, day, step)
    if target is None:
        return nominal, None
    wall = datetime.combine(target, nominal.astimezone(cal.tz).time())
    why = cal.explain_closed(day) or "closed"
    return wall.replace(tzinfo=cal.tz), f"{day} is closed on {plan.calendar} ({why}): {target}"


def _business_day(cal: Calendar, day: date, step: int) -> date | None:
    for offset in range(1, MAX_MOVE_DAYS + 1):
        candidate = day + timedelta(days=step * offset)
        if cal.is_business_day(candidate):
            return candidate
    return None


def devices_for(contract: Contract, plan: MaintenancePlan) -> list[Device]:
    """The covered devices the plan inspects: at its sites or named by serial (neither:
    every device of the contract), in the contract's order."""
    if not plan.sites and not plan.devices:
        return list(contract.devices)
    sites, serials = set(plan.sites), set(plan.devices)
    return [d for d in contract.devices if d.site in sites or d.serial in serials]
