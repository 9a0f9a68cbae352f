"""Report periods: a month (``2026-09``), a quarter (``2026Q3``) or a range of local dates,
turned into a half-open interval of UTC instants in the contract's time zone."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import msgspec

from core.errors import InvalidField

PeriodKind = Literal["month", "quarter", "range"]
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
YEARS = range(1970, 3000)  # a report period lies in these years (no year 0 or 10000)
QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


class ReportPeriod(msgspec.Struct, frozen=True, kw_only=True):
    """``[start, end)`` in UTC; ``first``/``last`` are the local dates it covers (inclusive)."""

    label: str  # 2026Q3, 2026-09, 2026-07-01..2026-07-31
    kind: PeriodKind
    first: date
    last: date
    tz: str
    start: datetime
    end: datetime


class InvalidPeriod(InvalidField):
    """A period that is not ``YYYY-MM``, ``YYYYQn`` or a ``from``..``to`` of dates in order."""

    title = "invalid report period"


def _bounds(first: date, last: date, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    start = datetime.combine(first, time(0), zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), zone).astimezone(UTC)
    return start, end


def _period(label: str, kind: PeriodKind, first: date, last: date, tz: str) -> ReportPeriod:
    start, end = _bounds(first, last, tz)
    return ReportPeriod(label=label, kind=kind, first=first, last=last, tz=tz, start=start, end=end)


def month(year: int, number: int, tz: str) -> ReportPeriod:
    first = date(year, number, 1)
    nxt = date(year + number // 12, number % 12 + 1, 1)
    return _period(f"{year:04d}-{number:02d}", "month", first, nxt - timedelta(days=1), tz)


def quarter(year: int, number: int, tz: str) -> ReportPeriod:
    first = date(year, 3 * number - 2, 1)
    nxt = date(year + number // 4, (3 * number) % 12 + 1, 1)
    return _period(f"{year:04d}Q{number}", "quarter", first, nxt - timedelta(days=1), tz)


def parse_period(text: str, tz: str, *, field: str = "period") -> ReportPeriod:
    """``2026Q3`` or ``2026-09`` as a period in ``tz``; InvalidPeriod naming ``field``."""
    text = text.strip()
    m = QUARTER.match(text) or MONTH.match(text)
    if m is not None and int(m[1]) not in YEARS:
        raise InvalidPeriod(field, f"{text!r}: the year must be {YEARS.start}..{YEARS.stop - 1}")
    if m := QUARTER.match(text):
        return quarter(int(m[1]), int(m[2]), tz)
    if (m := MONTH.match(text)) and 1 <= int(m[2]) <= 12:
        return month(int(m[1]), int(m[2]), tz)
    raise InvalidPeriod(field, f"{text!r} is not a quarter (2026Q3) or a month (2026-09)")


def date_range(first: str, last: str, tz: str) -> ReportPeriod:
    """The local dates ``first``..``last`` (inclusive, ISO ``YYYY-MM-DD``)."""
    days: list[date] = []
    for name, text in (("from", first), ("to", last)):
        try:
            days.append(date.fromisoformat(text))
        except ValueError:
            raise InvalidPeriod(name, f"{text!r} is not a date (YYYY-MM-DD)") from None
    for name, day in (("from", days[0]), ("to", days[1])):
        if day.year not in YEARS:
            raise InvalidPeriod(name, f"{day}: the year must be {YEARS.start}..{YEARS.stop - 1}")
    if days[1] < days[0]:
        raise InvalidPeriod("to", f"{last} is before {first}")
    if (days[1] - days[0]).days > 3 * 366:
        raise InvalidPeriod("to", "a report covers at most three years")
    return _period(f"{days[0]}..{days[1]}", "range", days[0], days[1], tz)


def period_containing(kind: Literal["month", "quarter"], day: date, tz: str) -> ReportPeriod:
    """The month or quarter that contains local date ``day``."""
    if kind == "month":
        return month(day.year, day.month, tz)
    return quarter(day.year, (day.month - 1) // 3 + 1, tz)


def previous_period(kind: Literal["month", "quarter"], now: datetime, tz: str) -> ReportPeriod:
    """The last month or quarter that ended at or before ``now`` (local time in ``tz``)."""
    today = now.astimezone(ZoneInfo(tz)).date()
    current = period_containing(kind, today, tz)
    return period_containing(kind, current.first - timedelta(days=1), tz)
