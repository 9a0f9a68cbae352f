"""Business calendars: weekly open spans, holidays, make-up workdays and date overrides, as fast
SLA clocks."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import CalendarDataMissing, CalendarError, NaiveDatetimeError, NoOpenTimeError
from core.holidays import HolidayYear, RegionHolidays

__all__ = ["FIRST_YEAR", "LAST_YEAR", "Calendar"]

FIRST_YEAR = 1970
LAST_YEAR = 2100

_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DAY_FULL = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_ONE_DAY = timedelta(days=1)
_fromts = datetime.fromtimestamp
# tzinfo classes whose utcoffset() is never None: lets the hot path skip that call.
_ALWAYS_AWARE = frozenset({ZoneInfo, timezone})
# Seconds of the durations seen by ``add`` (bounded: callers may compute arbitrary ones).
_SECONDS: dict[timedelta, float] = {}
_SECONDS_MAX = 4096
# How many intervals past the start ``add`` looks before bisecting all of them.
_NEAR = 9

# One span of a weekday, compiled: wall-clock start, wall-clock end, ends on the next day.
_Span = tuple[time, time, bool]
# An open interval in UTC epoch seconds, half-open [start, end).
_Interval = tuple[float, float]


@dataclass(frozen=True, slots=True)
class _Year:
    """One compiled local year: what is closed/open and the open intervals of its dates."""

    holidays: frozenset[date]
    workdays: frozenset[date]
    overridden: frozenset[date]  # dates whose spans come from a date override
    region_data: HolidayYear | None
    days: dict[int, list[_Interval]]  # date ordinal -> merged intervals of spans starting then
    business: list[int]  # sorted ordinals of business days
    intervals: list[_Interval]  # every interval of the year, sorted by start
    open_seconds: float  # their total length (before merging across days)


class _State(NamedTuple):
    """An immutable snapshot of a contiguous run of compiled years.

    Snapshots are swapped whole, so readers need no lock. ``cum[i]`` is the open time before
    ``starts[i]`` counted from an arbitrary origin; extending a snapshot keeps the ``cum`` of
    every interval that stays, so a value computed from a snapshot stays valid in its
    extensions. A tuple, so the hot paths can unpack it in one step.
    """

    lo: float  # instants in [lo, hi) are answered exactly by these arrays
    hi: float
    starts: list[float]
    ends: list[float]
    cum: list[float]  # len(starts) + 1 entries; cum[-1] is the open time up to the last end
    edge: float  # start of the year after the last compiled one: an end < edge is final
    first: int  # first and last compiled local year
    last: int


_EMPTY = _State(float("inf"), float("-inf"), [], [], [0.0], float("-inf"), 0, -1)


class Calendar:
    """Open time of a service desk or on-call rota in one IANA zone.

    ``week`` maps Monday=0 … Sunday=6 to spans ``(start, end)`` of wall-clock time; a span
    whose end is not after its start ends on the next day, so ``(time(0), time(0))`` is a
    whole day. A span belongs to the date it starts on: a holiday closes it entirely.
    ``workdays`` open dates whose weekday is closed (China's make-up workdays), with the spans
    of weekday ``workday_spans``. ``region`` adds a holiday plugin's data year by year; past
    the region's published data (``horizon``) its provisional rule plans the year (see
    ``provisional_years``); a year with neither raises ``CalendarDataMissing`` unless
    ``assume_weekdays`` is set. ``dates`` gives single dates their own spans (an empty list
    closes the date): such an override wins over the weekday's spans, holidays and make-up
    workdays, explicit or the region's, and is applied when its year is compiled.

    Arithmetic is in UTC seconds, so a DST day is as long as it really is. Wall times are
    converted with zoneinfo: an ambiguous time (autumn) means its first occurrence, a time in
    the spring gap is read with the offset before the change, i.e. shifted forward by the gap
    (02:30 in Berlin on the last Sunday of March is 03:30 CEST).

    Open intervals are compiled lazily per local year (1970–2100, outside raises
    ``CalendarError``) into sorted arrays of epoch seconds with prefix sums of open time, so
    ``add`` and ``elapsed`` are a bisect and some arithmetic whatever the distance; touching
    intervals are merged, across midnight and New Year too. Whole-second inputs give exact
    results; sub-second parts go through float seconds and come back rounded to the
    microsecond. Results are in the calendar's zone. When nothing opens (or closes) before
    2101 the methods raise ``NoOpenTimeError`` rather than search forever. Safe to share
    between threads: compiled state is replaced, never modified.
    """

    def __init__(
        self,
        tz: str | ZoneInfo,
        week: Mapping[int, Sequence[tuple[time, time]]],
        holidays: Iterable[date] = (),
        workdays: Iterable[date] = (),
        *,
        region: RegionHolidays | None = None,
        assume_weekdays: bool = False,
        workday_spans: int = 0,
        dates: Mapping[date, Sequence[tuple[time, time]]] | None = None,
        name: str | None = None,
    ) -> None:
        self.tz: ZoneInfo = _zone(tz)
        self.name = name
        self.region = region
        self.assume_weekdays = assume_weekdays
        self._week = _compile_week(week)
        if workday_spans not in range(7):
            raise CalendarError(f"workday_spans must be a weekday 0..6, not {workday_spans!r}")
        self._workday_spans = workday_spans
        closed, extra = frozenset(holidays), frozenset(workdays)
        if closed & extra:
            raise CalendarError(f"both holiday and workday: {sorted(closed & extra)}")
        self._holidays = _by_year(closed)
        self._workdays = _by_year(extra)
        self._dates = _compile_dates(dates or {})
        self._never_open = not any(self._week) and not any(
            spans for year in self._dates.values() for spans in year.values()
        )
        self._years: dict[int, _Year] = {}
        self._state = _EMPTY

    # --- factories ------------------------------------------------------------------------

    @classmethod
    def always(cls, tz: str | ZoneInfo, **kw: Any) -> Calendar:
        """A 24x7 calendar (holidays or a region may still close whole dates)."""
        return cls(tz, {d: [(time(0), time(0))] for d in range(7)}, **kw)

    @classmethod
    def weekly(
        cls, tz: str | ZoneInfo, days: Iterable[int], start: time, end: time, **kw: Any
    ) -> Calendar:
        """The same span ``start``–``end`` on each of ``days`` (Monday=0)."""
        return cls(tz, {d: [(start, end)] for d in days}, **kw)

    # --- clock arithmetic (hot paths: keep them flat) -------------------------------------

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment ``duration`` of open time has passed after ``start``.

        A zero duration gives ``next_open(start)``. A negative one counts backwards: the
        latest moment ``x`` with ``elapsed(x, start) == -duration``.
        """
        # One set lookup for the usual tzinfo classes; None's class is not in it, so a naive
        # datetime falls through to utcoffset(), which is None for it.
        if start.tzinfo.__class__ not in _ALWAYS_AWARE and start.utcoffset() is None:
            raise _naive("start", start)
        s = start.timestamp()
        d = _SECONDS.get(duration)  # a dict hit is ~4x cheaper than total_seconds()
        if d is None:
            d = duration.total_seconds()
            if len(_SECONDS) < _SECONDS_MAX:  # contracts use a handful of durations
                _SECONDS[duration] = d
        if d <= 0.0:
            return self._add_backwards(start, s, d)
        st = self._state
        lo, hi, starts, ends, cum, _e, _f, _l = st
        if not lo <= s < hi:
            st = self._cover(s)
            lo, hi, starts, ends, cum, _e, _f, _l = st
        i = bisect_right(starts, s) - 1
        if i < 0:
            target = cum[0] + d
        else:
            e = ends[i]
            target = cum[i] + ((s if s < e else e) - starts[i]) + d
        # Typical SLA durations end a few intervals later: try a short window before
        # bisecting the whole array.
        k = i + _NEAR
        if k < len(cum) and cum[k] >= target:
            j = bisect_left(cum, target, i + 1, k) - 1
        else:
            if target > cum[-1]:
                _lo, _hi, starts, ends, cum, _e, _f, _l = self._reach_forward(st, target, start)
            j = bisect_left(cum, target) - 1
        return _fromts(starts[j] + (target - cum[j]), self.tz)

    def elapsed(self, a: datetime, b: datetime) -> timedelta:
        """Open time in [a, b); negative when b < a."""
        if a.tzinfo.__class__ not in _ALWAYS_AWARE and a.utcoffset() is None:
            raise _naive("a", a)
        if b.tzinfo.__class__ not in _ALWAYS_AWARE and b.utcoffset() is None:
            raise _naive("b", b)
        sa = a.timestamp()
        sb = b.timestamp()
        lo, hi, starts, ends, cum, _e, _f, _l = self._state
        # Open time in [x, y) only depends on instants before y, hence y <= hi is enough.
        if not (lo <= sa <= hi and lo <= sb <= hi):
            low, high = (sa, sb) if sa <= sb else (sb, sa)
            lo, hi, starts, ends, cum, _e, _f, _l = self._cover(low, high, inclusive=True)
        i = bisect_right(starts, sa) - 1
        if i < 0:
            ca = cum[0]
        else:
            e = ends[i]
            ca = cum[i] + ((sa if sa < e else e) - starts[i])
        i = bisect_right(starts, sb) - 1
        if i < 0:
            cb = cum[0]
        else:
            e = ends[i]
            cb = cum[i] + ((sb if sb < e else e) - starts[i])
        return timedelta(0, cb - ca)

    def is_open(self, t: datetime) -> bool:
        """Whether ``t`` is inside an open span."""
        s = _seconds("t", t)
        lo, hi, starts, ends, _c, _e, _f, _l = self._state
        if not lo <= s < hi:
            lo, hi, starts, ends, _c, _e, _f, _l = self._cover(s)
        i = bisect_right(starts, s) - 1
        return i >= 0 and s < ends[i]

    def next_open(self, t: datetime) -> datetime:
        """``t`` itself (in the calendar's zone) when open, else the next opening."""
        s = _seconds("t", t)
        st = self._cover(s)
        while True:
            i = bisect_right(st.starts, s) - 1
            if i >= 0 and s < st.ends[i]:
                return t.astimezone(self.tz)
            if i + 1 < len(st.starts):
                return _fromts(st.starts[i + 1], self.tz)
            st = self._extend_forward(st, t, "opens")

    def next_close(self, t: datetime) -> datetime:
        """The end of the open stretch containing ``t``, or of the next one when closed.

        Touching spans (e.g. 24x7, or 22:00–06:00 followed by 06:00–08:00) are one stretch.
        A stretch still open at the end of 2100 raises ``NoOpenTimeError`` ("never closes").
        """
        s = _seconds("t", t)
        st = self._cover(s)
        while True:
            i = bisect_right(st.starts, s) - 1
            if not (i >= 0 and s < st.ends[i]):
                i += 1
            # An end at or after the next year's start may still merge with that year's spans.
            if i < len(st.starts) and st.ends[i] < st.edge:
                return _fromts(st.ends[i], self.tz)
            st = self._extend_forward(st, t, "closes")

    # --- business days --------------------------------------------------------------------

    def is_business_day(self, d: date) -> bool:
        """Whether at least one open span starts on local date ``d``."""
        return _day(d).toordinal() in self._year(d.year).days

    def spans_on(self, d: date) -> list[tuple[datetime, datetime]]:
        """Open intervals of the spans starting on local date ``d``, merged and in order."""
        d = _day(d)
        tz = self.tz
        return [
            (_fromts(a, tz), _fromts(b, tz))
            for a, b in self._year(d.year).days.get(d.toordinal(), ())
        ]

    def business_day(self, t: datetime | date, n: int) -> date:
        """The n-th business day strictly after ``t``'s local date (n ≥ 1); for n = 0 that
        date when it is a business day, else the next business day."""
        if n < 0:
            raise ValueError(f"business_day needs n >= 0, not {n}")
        day = self._local_date(t)
        year = self._year(day.year)
        if n == 0:
            if day.toordinal() in year.days:
                return day
            n = 1
        if self._never_open:
            raise self._no_open_time("has no business day")
        ords = year.business
        k = bisect_right(ords, day.toordinal())
        y = day.year
        while len(ords) - k < n:
            n -= len(ords) - k
            y += 1
            if y > LAST_YEAR:
                raise self._no_open_time(f"has too few business days after {day} before 2101")
            ords, k = self._year(y).business, 0
        return date.fromordinal(ords[k + n - 1])

    # --- the data horizon -----------------------------------------------------------------

    @property
    def horizon(self) -> date | None:
        """The last date of the region's published holiday data (None: no region, or none)."""
        return None if self.region is None else self.region.horizon

    def provisional_years(self, first: date, last: date) -> tuple[int, ...]:
        """The years in [first, last] whose holidays were planned from the region's rules
        rather than published data (compiling them if needed)."""
        found = []
        for year in range(_day(first).year, _day(last).year + 1):
            data = self._year(year).region_data
            if data is not None and data.provisional:
                found.append(year)
        return tuple(found)

    # --- explanations ---------------------------------------------------------------------

    def holiday_year(self, year: int) -> HolidayYear | None:
        """The region's data for ``year`` (names for explanations), if it has any."""
        if self.region is None or not self.region.has_year(year):
            return None
        return self.region.year(year)

    def explain_closed(self, d: date) -> str | None:
        """Why no span starts on ``d`` ("holiday: National Day", "closed on Sunday"), or None."""
        d = _day(d)
        year = self._year(d.year)
        if d.toordinal() in year.days:
            return None
        if d in year.overridden:
            return "closed on this date (date override)"
        if d in year.holidays:
            name = year.region_data.name_of(d) if year.region_data else None
            return f"holiday: {name}" if name else "holiday"
        return f"closed on {_DAY_FULL[d.weekday()]}"

    def __repr__(self) -> str:
        week = _describe_week(self._week)
        if self._dates and not any(self._week):
            week = "no weekly spans"
        parts = [repr(self.tz.key), week]
        if self._workday_spans:
            parts.append(f"workday_spans={_DAY_NAMES[self._workday_spans]}")
        count = sum(len(v) for v in self._holidays.values())
        if count:
            parts.append(f"holidays={count}")
        count = sum(len(v) for v in self._workdays.values())
        if count:
            parts.append(f"workdays={count}")
        count = sum(len(v) for v in self._dates.values())
        if count:
            parts.append(f"dates={count}")
        if self.region is not None:
            parts.append(f"region={self.region.name!r}")
            if self.assume_weekdays:
                parts.append("assume_weekdays=True")
        if self.name is not None:
            parts.append(f"name={self.name!r}")
        return f"Calendar({', '.join(parts)})"

    # --- slow paths -----------------------------------------------------------------------

    def _add_backwards(self, start: datetime, s: float, d: float) -> datetime:
        """``add`` for a zero (next opening) or negative (count backwards) duration."""
        if d == 0.0:
            return self.next_open(start)
        st = self._cover(s)
        i = bisect_right(st.starts, s) - 1
        base = st.cum[0] if i < 0 else st.cum[i] + (min(s, st.ends[i]) - st.starts[i])
        target = base + d
        while target < st.cum[0]:
            st = self._extend_backward(st, start, base)
        j = bisect_right(st.cum, target) - 1
        return _fromts(st.starts[j] + (target - st.cum[j]), self.tz)

    def _local_date(self, t: datetime | date) -> date:
        if isinstance(t, datetime):
            _seconds("t", t)
            return t.astimezone(self.tz).date()
        return t

    def _no_open_time(self, what: str) -> NoOpenTimeError:
        return NoOpenTimeError(f"calendar {self._label()} {what}")

    def _label(self) -> str:
        return repr(self.name) if self.name is not None else repr(self)

    def _year_of(self, s: float) -> int:
        try:
            year = _fromts(s, self.tz).year
        except (OverflowError, OSError, ValueError) as exc:
            raise CalendarError(f"instant {s} is outside the supported years") from exc
        _check_year(year)
        return year

    def _cover(self, low: float, high: float | None = None, *, inclusive: bool = False) -> _State:
        """A snapshot answering every instant in [low, high] exactly (high defaults to low).

        ``high == hi`` is allowed when ``inclusive``: open time before an instant only
        depends on the instants before it. Years are compiled as one contiguous run; when a
        year in between has no data, the run restarts at the instants asked about, so an
        answer never depends on a year it does not need (nor on the order of queries).
        """
        high = low if high is None else high
        st = self._state
        if _covers(st, low, high, inclusive):
            return st
        try:
            grown = self._grow(st, low, high, inclusive)
        except CalendarDataMissing:
            if st is _EMPTY:
                raise
            grown = self._grow(_EMPTY, low, high, inclusive)
        self._state = grown
        return grown

    def _grow(self, st: _State, low: float, high: float, inclusive: bool) -> _State:
        if st.first > st.last:
            year = self._year_of(low)
            st = self._extended(st, year, year)
        while low < st.lo:  # before the run, or in the reach of the previous Dec 31's spans
            st = self._extended(st, min(self._year_of(low), st.first - 1), st.last)
        while not _covers(st, st.lo, high, inclusive):
            st = self._extended(st, st.first, max(self._year_of(high), st.last + 1))
        return st

    def _reach_forward(self, st: _State, target: float, start: datetime) -> _State:
        """``st`` extended with years ahead until the cumulative open time reaches ``target``."""
        if self._never_open:
            raise self._no_open_time("is never open")
        while st.cum[-1] < target:
            # Jump as many years as the missing open time suggests, so an add across decades
            # merges once rather than year by year.
            missing, year = target - st.cum[-1], st.last
            while missing > 0 and year < LAST_YEAR:
                year += 1
                missing -= self._year(year).open_seconds
            if year == st.last:
                raise self._no_open_time(
                    f"has too little open time after {start.isoformat()} before 2101"
                )
            st = self._state = self._extended(st, st.first, year)
        return st

    def _extend_forward(self, st: _State, t: datetime, what: str) -> _State:
        if self._never_open:
            raise self._no_open_time("is never open")
        if st.last >= LAST_YEAR:
            raise self._no_open_time(f"never {what} after {t.isoformat()} before 2101")
        st = self._state = self._extended(st, st.first, st.last + 1)
        return st

    def _extend_backward(self, st: _State, start: datetime, base: float) -> _State:
        if st.first <= FIRST_YEAR:
            raise self._no_open_time(
                f"has too little open time before {start.isoformat()} since 1970"
                if base > st.cum[0]
                else "is never open before that"
            )
        st = self._state = self._extended(st, st.first - 1, st.last)
        return st

    def _extended(self, st: _State, first: int, last: int) -> _State:
        """``st`` extended to years [first, last] (a superset of its own, or any if empty).

        Pure apart from the per-year cache: a snapshot is never modified, so a reader holding
        an older one stays consistent, and cum values carry over (see ``_State``).
        """
        _check_year(first)
        _check_year(last)
        if st.first > st.last:
            new = self._intervals(first, last)
            return _merge_into(st, new, first, last, self._window(first, last))
        if last > st.last:
            new = self._intervals(st.last + 1, last)
            st = _merge_into(st, new, st.first, last, self._window(st.first, last))
        if first < st.first:
            new = self._intervals(first, st.first - 1)
            st = _merge_into(st, new, first, st.last, self._window(first, st.last))
        return st

    def _intervals(self, first: int, last: int) -> list[_Interval]:
        return [iv for year in range(first, last + 1) for iv in self._year(year).intervals]

    def _window(self, first: int, last: int) -> tuple[float, float]:
        """(lo, edge) for compiled years [first, last].

        lo: spans starting on Dec 31 of the year before ``first`` may reach past midnight;
        instants before the latest such end depend on that uncompiled date.
        edge: spans of later years start at or after local midnight of Jan 1 of last + 1.
        """
        tz = self.tz
        dec31 = date(first - 1, 12, 31)
        lo = _instant(date(first, 1, 1), time(0), tz)
        override = self._dates.get(dec31.year, {}).get(dec31, ())
        for _start, en, crosses in self._spans_of_weekday(dec31.weekday()) + override:
            if crosses:
                lo = max(lo, _instant(dec31 + _ONE_DAY, en, tz))
        return lo, _instant(date(last + 1, 1, 1), time(0), tz)

    def _spans_of_weekday(self, weekday: int) -> tuple[_Span, ...]:
        """Spans a date of that weekday has if open (its own, else the make-up workday's)."""
        return self._week[weekday] or self._week[self._workday_spans]

    def _year(self, year: int) -> _Year:
        found = self._years.get(year)
        if found is None:
            found = self._years[year] = self._compile_year(year)
        return found

    def _compile_year(self, year: int) -> _Year:
        _check_year(year)
        closed, extra, region_data = self._special_days(year)
        tz, week, alt = self.tz, self._week, self._week[self._workday_spans]
        overrides = self._dates.get(year, {})
        days: dict[int, list[_Interval]] = {}
        intervals: list[_Interval] = []
        total = 0.0
        for ordinal in range(date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal() + 1):
            day = date.fromordinal(ordinal)
            spans = overrides.get(day)
            if spans is None:  # no override: the weekday's spans, holidays, make-up workdays
                if day in closed:
                    continue
                spans = week[day.weekday()] or (alt if day in extra else ())
            found = _merge(sorted(_day_intervals(day, spans, tz)))
            if found:
                days[ordinal] = found
                intervals.extend(found)
                total += sum(e - s for s, e in found)
        intervals.sort()
        return _Year(
            closed, extra, frozenset(overrides), region_data, days, sorted(days), intervals, total
        )

    def _special_days(
        self, year: int
    ) -> tuple[frozenset[date], frozenset[date], HolidayYear | None]:
        """Holidays and workdays of ``year``: the region's, overridden by explicit ones."""
        closed = self._holidays.get(year, frozenset())
        extra = self._workdays.get(year, frozenset())
        region = self.region
        if region is None or (self.assume_weekdays and not region.has_year(year)):
            return closed, extra, None
        data = region.year(year)  # raises CalendarDataMissing: never a silently wrong deadline
        return (data.holidays - extra) | closed, (data.workdays - closed) | extra, data


# --- helpers ------------------------------------------------------------------------------


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise CalendarError(f"unknown time zone {tz!r}") from exc


def _compile_week(week: Mapping[int, Sequence[tuple[time, time]]]) -> tuple[tuple[_Span, ...], ...]:
    days: list[tuple[_Span, ...]] = [() for _ in range(7)]
    for weekday, spans in week.items():
        if weekday not in range(7):
            raise CalendarError(f"weekday must be 0 (Monday) .. 6 (Sunday), not {weekday!r}")
        days[weekday] = _compile_spans(spans)
    return tuple(days)


def _compile_dates(
    dates: Mapping[date, Sequence[tuple[time, time]]],
) -> dict[int, dict[date, tuple[_Span, ...]]]:
    """Date overrides by year; an empty tuple of spans closes the date."""
    years: dict[int, dict[date, tuple[_Span, ...]]] = {}
    for day, spans in dates.items():
        if not isinstance(day, date) or isinstance(day, datetime):
            raise CalendarError(f"a date override needs a datetime.date, not {day!r}")
        years.setdefault(day.year, {})[day] = _compile_spans(spans)
    return years


def _compile_spans(spans: Sequence[tuple[time, time]]) -> tuple[_Span, ...]:
    found: list[_Span] = []
    for span in spans:
        start, end = span
        if not (isinstance(start, time) and isinstance(end, time)):
            raise CalendarError(f"a span is a pair of datetime.time, not {span!r}")
        if start.tzinfo is not None or end.tzinfo is not None:
            raise CalendarError(f"span times are wall-clock times without tzinfo: {span!r}")
        found.append((start, end, end <= start))
    return tuple(sorted(found))


def _by_year(days: frozenset[date]) -> dict[int, frozenset[date]]:
    years: dict[int, set[date]] = {}
    for d in days:
        years.setdefault(_day(d).year, set()).add(d)
    return {y: frozenset(v) for y, v in years.items()}


def _day(d: date) -> date:
    """A plain date (a datetime's date part is not what callers mean here)."""
    if isinstance(d, datetime):
        raise TypeError(f"expected a date, got the datetime {d!r}")
    return d


def _covers(st: _State, low: float, high: float, inclusive: bool) -> bool:
    return st.lo <= low and (high < st.hi or (inclusive and high == st.hi))


def _check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise CalendarError(f"year {year} is outside the supported years {FIRST_YEAR}–{LAST_YEAR}")


def _naive(what: str, value: datetime) -> NaiveDatetimeError:
    return NaiveDatetimeError(
        f"{what}={value.isoformat()} has no time zone; calendars need aware datetimes "
        "(e.g. datetime(..., tzinfo=ZoneInfo('Asia/Shanghai')))"
    )


def _seconds(what: str, t: datetime) -> float:
    """Epoch seconds of an aware datetime; a naive one raises NaiveDatetimeError."""
    if t.tzinfo.__class__ not in _ALWAYS_AWARE and t.utcoffset() is None:
        raise _naive(what, t)
    return t.timestamp()


def _instant(day: date, wall: time, tz: ZoneInfo) -> float:
    """Epoch seconds of a wall time (fold=0: first of two, gap times shifted forward)."""
    return datetime(
        day.year,
        day.month,
        day.day,
        wall.hour,
        wall.minute,
        wall.second,
        wall.microsecond,
        tzinfo=tz,
    ).timestamp()


def _day_intervals(day: date, spans: Sequence[_Span], tz: ZoneInfo) -> list[_Interval]:
    found = []
    for start, end, crosses in spans:
        a = _instant(day, start, tz)
        b = _instant(day + _ONE_DAY if crosses else day, end, tz)
        if b > a:  # a span swallowed by a DST gap has no open time
            found.append((a, b))
    return found


def _merge(intervals: Iterable[_Interval]) -> list[_Interval]:
    """Sorted intervals with overlapping or touching ones joined."""
    out: list[_Interval] = []
    for s, e in intervals:
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def _merge_into(
    st: _State, new: list[_Interval], first: int, last: int, window: tuple[float, float]
) -> _State:
    """A new snapshot with ``new`` intervals (all before or all after the current ones)
    merged in, keeping the ``cum`` of every interval that stays."""
    starts, ends, cum = st.starts, st.ends, st.cum
    new = _merge(sorted(new))
    if new and starts and new[0][0] < starts[0]:
        # Prepend: re-merge the old intervals the new ones reach, count cum backwards.
        reach = new[-1][1]
        k = bisect_right(starts, reach)
        front = _merge(sorted(new + list(zip(starts[:k], ends[:k], strict=True))))
        acc = cum[k]
        front_cum = []
        for s, e in reversed(front):
            acc -= e - s
            front_cum.append(acc)
        front_cum.reverse()
        starts = [s for s, _ in front] + starts[k:]
        ends = [e for _, e in front] + ends[k:]
        cum = front_cum + cum[k:]
    elif new:
        # Append: re-merge the old tail the new ones touch, count cum onwards.
        k = len(starts)
        while k and ends[k - 1] >= new[0][0]:
            k -= 1
        tail = _merge(sorted(list(zip(starts[k:], ends[k:], strict=True)) + new))
        acc = cum[k]
        tail_cum = []
        for s, e in tail:
            acc += e - s
            tail_cum.append(acc)
        starts = starts[:k] + [s for s, _ in tail]
        ends = ends[:k] + [e for _, e in tail]
        cum = cum[: k + 1] + tail_cum
    lo, edge = window
    hi = max(edge, ends[-1]) if ends else edge  # inside the last interval is surely open
    return _State(lo, hi, starts, ends, cum, edge, first, last)


def _describe_week(week: tuple[tuple[_Span, ...], ...]) -> str:
    """'Mon-Fri 08:30-17:30' style summary, grouping weekdays with identical spans."""
    groups: list[tuple[list[int], tuple[_Span, ...]]] = []
    for weekday, spans in enumerate(week):
        if not spans:
            continue
        if groups and groups[-1][1] == spans and groups[-1][0][-1] == weekday - 1:
            groups[-1][0].append(weekday)
        else:
            groups.append(([weekday], spans))
    if not groups:
        return "never open"
    text = []
    for days, spans in groups:
        label = _DAY_NAMES[days[0]] + (f"-{_DAY_NAMES[days[-1]]}" if len(days) > 1 else "")
        text.append(f"{label} " + ",".join(f"{_hm(s)}-{_hm(e)}" for s, e, _ in spans))
    return "; ".join(text)


def _hm(t: time) -> str:
    return t.strftime("%H:%M:%S" if t.second or t.microsecond else "%H:%M")
