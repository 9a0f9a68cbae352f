"""Property tests: random calendars against a minute-stepping oracle built from the raw rules.

The calendars have random weekly spans, holidays, make-up workdays and date overrides (their
own spans, or none) on dates of the window, so overrides meet holidays and workdays too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.calendar import Calendar

ZONES = ("UTC", "Asia/Shanghai", "Europe/Berlin", "America/New_York")
# Windows around DST changes (Berlin Mar 29 / Oct 25, New York Mar 8 / Nov 1, 2026), across a
# New Year, and a plain summer fortnight.
ANCHORS = (
    date(2026, 3, 24),
    date(2026, 10, 20),
    date(2026, 3, 3),
    date(2026, 10, 27),
    date(2026, 12, 24),
    date(2025, 6, 2),
)
WINDOW_DAYS = 12
MINUTE = timedelta(minutes=1)
PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WeekSpec = dict[int, list[tuple[time, time]]]
DateSpec = dict[date, list[tuple[time, time]]]


@dataclass(frozen=True)
class Case:
    """A random calendar plus the open minutes the raw rules give inside a window."""

    calendar: Calendar
    open_minutes: frozenset[int]  # epoch minutes m with [60m, 60m + 60) open
    first: int  # the oracle is exact for minutes in [first, last)
    last: int
    spans_by_day: dict[date, list[tuple[float, float]]]


# --- the oracle: straight from the rules, no compiled arrays ---------------------------------


def raw_spans(
    day: date,
    week: WeekSpec,
    holidays: set[date],
    workdays: set[date],
    workday_spans: int,
    zone: ZoneInfo,
    overrides: DateSpec,
) -> list[tuple[float, float]]:
    """Epoch-second intervals of the spans starting on ``day``, read off the rules directly:
    a date override first, else a holiday closes the date, else its weekday's or a make-up
    workday's spans."""
    if day in overrides:
        spans = overrides[day]
    elif day in holidays:
        spans = []
    else:
        spans = week.get(day.weekday()) or (week.get(workday_spans, []) if day in workdays else [])
    found = []
    for start, end in spans:
        end_day = day + timedelta(days=1) if end <= start else day
        a = datetime.combine(day, start, zone).timestamp()
        b = datetime.combine(end_day, end, zone).timestamp()
        if b > a:
            found.append((a, b))
    return found


def oracle_add(case: Case, start: int, minutes: int) -> int | None:
    """Walk minute by minute; None when the answer lies beyond the oracle's window."""
    m, counted = start, 0
    while m < case.last:
        if m in case.open_minutes:
            if minutes == 0:
                return m
            counted += 1
            if counted == minutes:
                return m + 1
        m += 1
    return None


def oracle_elapsed(case: Case, a: int, b: int) -> int:
    low, high = min(a, b), max(a, b)
    count = sum(1 for m in range(low, high) if m in case.open_minutes)
    return count if a <= b else -count


def instant(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, UTC)


def minute_of(t: datetime) -> int:
    seconds = t.timestamp()
    assert seconds % 60 == 0, t
    return int(seconds) // 60


# --- strategies ------------------------------------------------------------------------------

wall_times = st.builds(
    time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]) | st.integers(0, 59)
)
day_spans = st.lists(st.tuples(wall_times, wall_times), max_size=2)
weeks = st.dictionaries(st.integers(0, 6), day_spans, max_size=7).filter(
    lambda week: any(week.values())
)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    zone = ZoneInfo(draw(st.sampled_from(ZONES)))
    anchor = draw(st.sampled_from(ANCHORS))
    week = draw(weeks)
    days = [anchor + timedelta(days=k) for k in range(-2, WINDOW_DAYS + 2)]
    holidays = draw(st.sets(st.sampled_from(days), max_size=4))
    workdays = draw(st.sets(st.sampled_from(days), max_size=3)) - holidays
    workday_spans = draw(st.integers(0, 6))
    overrides = draw(st.dictionaries(st.sampled_from(days), day_spans, max_size=4))
    calendar = Calendar(
        zone.key,
        week,
        holidays,
        workdays,
        workday_spans=workday_spans,
        dates=overrides,
        name="random",
    )
    spans_by_day = {
        day: raw_spans(day, week, holidays, workdays, workday_spans, zone, overrides)
        for day in days
    }
    open_minutes = {
        m
        for intervals in spans_by_day.values()
        for a, b in intervals
        for m in range(int(a) // 60, int(b) // 60)
    }
    # Spans of the day before the anchor may reach into it; those of the last day start
    # after the window's end.
    first = minute_of(datetime.combine(anchor, time(0), zone))
    last = minute_of(datetime.combine(anchor + timedelta(days=WINDOW_DAYS), time(0), zone))
    return Case(calendar, frozenset(open_minutes), first, last, spans_by_day)


def window_minute(case: Case, data: st.DataObject, label: str) -> int:
    return data.draw(st.integers(case.first, case.last - 1), label=label)


# --- properties ------------------------------------------------------------------------------


@PROPERTY
@given(case=cases(), data=st.data())
def test_add_matches_the_oracle(case: Case, data: st.DataObject):
    start = window_minute(case, data, "start")
    available = sum(1 for m in range(start, case.last) if m in case.open_minutes)
    minutes = data.draw(st.integers(0, min(available, 4 * 1440)), label="minutes")
    expected = oracle_add(case, start, minutes)
    if expected is None:  # zero minutes from a closed moment with no opening in the window
        return
    assert minute_of(case.calendar.add(instant(start), minutes * MINUTE)) == expected


@PROPERTY
@given(case=cases(), data=st.data())
def test_elapsed_matches_the_oracle(case: Case, data: st.DataObject):
    a, b = window_minute(case, data, "a"), window_minute(case, data, "b")
    assert case.calendar.elapsed(instant(a), instant(b)) == oracle_elapsed(case, a, b) * MINUTE


@PROPERTY
@given(case=cases(), data=st.data())
def test_open_next_open_next_close_match_the_oracle(case: Case, data: st.DataObject):
    m = window_minute(case, data, "t")
    cal, is_open = case.calendar, case.open_minutes.__contains__
    assert cal.is_open(instant(m)) == is_open(m)
    opening = next((k for k in range(m, case.last) if is_open(k)), None)
    if opening is not None:
        assert minute_of(cal.next_open(instant(m))) == opening
        closing = next((k for k in range(opening, case.last) if not is_open(k)), None)
        if closing is not None:
            assert minute_of(cal.next_close(instant(m))) == closing


@PROPERTY
@given(case=cases())
def test_business_days_and_spans_match_the_rules(case: Case):
    cal = case.calendar
    for day, intervals in list(case.spans_by_day.items())[1:-1]:
        assert cal.is_business_day(day) == bool(intervals), day
        got = [(a.timestamp(), b.timestamp()) for a, b in cal.spans_on(day)]
        merged: list[tuple[float, float]] = []
        for a, b in sorted(intervals):
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
            else:
                merged.append((a, b))
        assert got == merged, day


@PROPERTY
@given(case=cases(), data=st.data())
def test_elapsed_undoes_add_both_ways(case: Case, data: st.DataObject):
    start = instant(window_minute(case, data, "start"))
    duration = data.draw(st.integers(0, 20 * 1440), label="minutes") * MINUTE
    cal = case.calendar
    assert cal.elapsed(start, cal.add(start, duration)) == duration
    assert cal.elapsed(cal.add(start, -duration), start) == duration


@PROPERTY
@given(case=cases(), data=st.data())
def test_add_is_monotonic_in_start_and_duration(case: Case, data: st.DataObject):
    a1, a2 = sorted([window_minute(case, data, "a1"), window_minute(case, data, "a2")])
    d1, d2 = sorted(data.draw(st.lists(st.integers(0, 5 * 1440), min_size=2, max_size=2)))
    cal = case.calendar
    assert cal.add(instant(a1), d1 * MINUTE) <= cal.add(instant(a2), d1 * MINUTE)
    assert cal.add(instant(a1), d1 * MINUTE) <= cal.add(instant(a1), d2 * MINUTE)


@PROPERTY
@given(case=cases(), data=st.data())
def test_elapsed_is_additive(case: Case, data: st.DataObject):
    a, b, c = (instant(window_minute(case, data, label)) for label in "abc")
    cal = case.calendar
    assert cal.elapsed(a, b) + cal.elapsed(b, c) == cal.elapsed(a, c)
    assert cal.elapsed(b, a) == -cal.elapsed(a, b)
