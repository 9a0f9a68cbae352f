"""Business calendars: every rule of core.calendar, one scenario at a time."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from chinese_calendar import constants as cn_data

from core.calendar import Calendar
from core.errors import (
    CalendarDataMissing,
    CalendarError,
    NaiveDatetimeError,
    NoOpenTimeError,
)
from core.holidays import HolidayRegistry
from plugins.cn_holidays import provisional

SH = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
H = timedelta(hours=1)
WEEKDAYS = range(5)
OFFICE = (time(8, 30), time(17, 30))


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def real_length(start: datetime, end: datetime) -> timedelta:
    """Elapsed real time (Python subtracts same-zone datetimes as wall clock times)."""
    return timedelta(seconds=end.timestamp() - start.timestamp())


def cn_registry(years: range = range(2004, 2027)) -> HolidayRegistry:
    """China's data from chinese_calendar (the cn_holidays plugin is built elsewhere)."""
    registry = HolidayRegistry()
    for year in years:
        holidays = {d: n for d, n in cn_data.holidays.items() if d.year == year}
        workdays = [d for d in cn_data.workdays if d.year == year]
        names = [(d, str(n)) for d, n in holidays.items()]
        registry.register("CN", year, holidays, workdays, "chinese_calendar", names)
    return registry


def cn_business(registry: HolidayRegistry | None = None, **kw: object) -> Calendar:
    registry = registry or cn_registry()
    return Calendar(
        "Asia/Shanghai",
        {d: [OFFICE] for d in WEEKDAYS},
        region=registry.region("CN"),
        name="cn-business",
        **kw,
    )


# --- spans ----------------------------------------------------------------------------------


def test_several_spans_per_day_skip_the_lunch_break():
    cal = Calendar("Asia/Shanghai", {0: [(time(13), time(18)), (time(9), time(12))]})
    monday = date(2026, 11, 23)
    assert cal.add(sh(2026, 11, 23, 10), 4 * H) == sh(2026, 11, 23, 15)
    assert cal.elapsed(sh(2026, 11, 23, 11), sh(2026, 11, 23, 14)) == 2 * H
    assert not cal.is_open(sh(2026, 11, 23, 12, 30))
    assert cal.next_close(sh(2026, 11, 23, 10)) == sh(2026, 11, 23, 12)
    assert cal.next_open(sh(2026, 11, 23, 12, 30)) == sh(2026, 11, 23, 13)
    assert cal.spans_on(monday) == [
        (sh(2026, 11, 23, 9), sh(2026, 11, 23, 12)),
        (sh(2026, 11, 23, 13), sh(2026, 11, 23, 18)),
    ]
    # 8 h a week: 4 h left today, 4 h next Monday.
    assert cal.add(sh(2026, 11, 23, 14), 8 * H) == sh(2026, 11, 30, 14)


def test_touching_and_overlapping_spans_merge():
    cal = Calendar(
        "Asia/Shanghai", {0: [(time(8), time(12)), (time(12), time(18)), (time(9), time(10))]}
    )
    assert cal.next_close(sh(2026, 11, 23, 9)) == sh(2026, 11, 23, 18)
    assert cal.spans_on(date(2026, 11, 23)) == [(sh(2026, 11, 23, 8), sh(2026, 11, 23, 18))]
    assert cal.elapsed(sh(2026, 11, 23), sh(2026, 11, 24)) == 10 * H


def test_midnight_crossing_span_belongs_to_its_start_date():
    night = (time(22), time(6))
    monday, tuesday = date(2026, 11, 23), date(2026, 11, 24)
    cal = Calendar("Asia/Shanghai", {d: [night] for d in range(7)}, holidays=[monday])
    # Monday is a holiday: its 22:00-06:00 shift is closed, the hours after midnight included.
    assert not cal.is_open(sh(2026, 11, 23, 23))
    assert not cal.is_open(sh(2026, 11, 24, 2))
    # Sunday's shift runs into the holiday: it stays open until Monday 06:00.
    assert cal.is_open(sh(2026, 11, 23, 5, 59))
    assert cal.next_close(sh(2026, 11, 23, 1)) == sh(2026, 11, 23, 6)
    assert cal.is_open(sh(2026, 11, 24, 22))
    assert cal.spans_on(tuesday) == [(sh(2026, 11, 24, 22), sh(2026, 11, 25, 6))]
    assert cal.spans_on(monday) == []
    assert not cal.is_business_day(monday)
    assert cal.elapsed(sh(2026, 11, 22, 12), sh(2026, 11, 25, 12)) == 16 * H
    assert cal.add(sh(2026, 11, 23, 5), 2 * H) == sh(2026, 11, 24, 23)


def test_a_night_shift_followed_by_a_morning_span_is_one_stretch():
    cal = Calendar(
        "Asia/Shanghai", {d: [(time(22), time(6)), (time(6), time(8))] for d in range(7)}
    )
    assert cal.next_close(sh(2026, 11, 24, 23)) == sh(2026, 11, 25, 8)
    assert cal.next_close(sh(2026, 11, 25, 7)) == sh(2026, 11, 25, 8)


def test_whole_day_spans_and_the_24x7_factory():
    whole = Calendar("Asia/Shanghai", {d: [(time(0), time(0))] for d in range(7)})
    always = Calendar.always("Asia/Shanghai")
    a, b = sh(2026, 11, 20, 13, 7), sh(2026, 12, 3, 1, 2)
    for cal in (whole, always):
        assert cal.is_open(sh(2026, 11, 25))
        assert cal.elapsed(a, b) == b - a
        assert cal.add(a, 100 * H) == a + 100 * H
        assert cal.is_business_day(date(2026, 11, 29))
    # A span (t, t) other than midnight is 24 h from t.
    from_eight = Calendar("Asia/Shanghai", {2: [(time(8), time(8))]})
    assert from_eight.spans_on(date(2026, 11, 25)) == [(sh(2026, 11, 25, 8), sh(2026, 11, 26, 8))]


def test_weekly_factory():
    cal = Calendar.weekly("Asia/Shanghai", WEEKDAYS, *OFFICE, name="office")
    assert cal.name == "office"
    assert cal.add(sh(2026, 11, 27, 17), H) == sh(2026, 11, 30, 9)  # Friday → Monday


# --- holidays and make-up workdays -----------------------------------------------------------


def test_holidays_close_whole_dates():
    wednesday = date(2026, 11, 25)
    cal = Calendar.weekly("Asia/Shanghai", WEEKDAYS, time(9), time(17), holidays=[wednesday])
    assert cal.add(sh(2026, 11, 24, 16), 8 * H) == sh(2026, 11, 26, 16)
    assert not cal.is_open(sh(2026, 11, 25, 10))
    assert cal.spans_on(wednesday) == []
    assert cal.explain_closed(wednesday) == "holiday"
    assert cal.explain_closed(date(2026, 11, 29)) == "closed on Sunday"
    assert cal.explain_closed(date(2026, 11, 26)) is None


def test_make_up_workday_uses_mondays_spans_by_default():
    sunday = date(2026, 11, 29)
    week = {0: [(time(8, 30), time(17, 30))], 5: [(time(10), time(12))]}
    cal = Calendar("Asia/Shanghai", week, workdays=[sunday])
    assert cal.spans_on(sunday) == [(sh(2026, 11, 29, 8, 30), sh(2026, 11, 29, 17, 30))]
    assert cal.business_day(sh(2026, 11, 28, 9), 1) == sunday


def test_make_up_workday_with_a_stated_weekdays_spans():
    sunday = date(2026, 11, 29)
    week = {0: [(time(8, 30), time(17, 30))], 5: [(time(10), time(12))]}
    cal = Calendar("Asia/Shanghai", week, workdays=[sunday], workday_spans=5)
    assert cal.spans_on(sunday) == [(sh(2026, 11, 29, 10), sh(2026, 11, 29, 12))]
    assert "workday_spans=Sat" in repr(cal)


def test_a_workday_on_an_open_weekday_keeps_its_own_spans():
    saturday = date(2026, 11, 28)
    week = {0: [(time(8, 30), time(17, 30))], 5: [(time(10), time(12))]}
    cal = Calendar("Asia/Shanghai", week, workdays=[saturday])
    assert cal.spans_on(saturday) == [(sh(2026, 11, 28, 10), sh(2026, 11, 28, 12))]


def test_a_date_both_holiday_and_workday_is_rejected():
    day = date(2026, 10, 1)
    with pytest.raises(CalendarError, match="both holiday and workday"):
        Calendar.always("UTC", holidays=[day], workdays=[day])


# --- China: National Day 2026 ----------------------------------------------------------------


def test_business_days_around_national_day_2026():
    cal = cn_business()
    # Oct 1-7 closed; Sep 20 (Sun) and Oct 10 (Sat) are make-up workdays; Sep 25-27 Mid-Autumn.
    assert cal.business_day(sh(2026, 9, 30, 10), 0) == date(2026, 9, 30)
    assert cal.business_day(sh(2026, 9, 30, 10), 1) == date(2026, 10, 8)
    assert cal.business_day(sh(2026, 9, 30, 10), 3) == date(2026, 10, 10)
    assert cal.business_day(sh(2026, 9, 30, 10), 4) == date(2026, 10, 12)
    assert cal.business_day(sh(2026, 10, 3, 10), 0) == date(2026, 10, 8)
    assert cal.business_day(sh(2026, 10, 3, 10), 1) == date(2026, 10, 8)
    assert cal.business_day(sh(2026, 9, 19, 10), 0) == date(2026, 9, 20)
    assert cal.business_day(sh(2026, 9, 18, 10), 1) == date(2026, 9, 20)
    assert cal.business_day(sh(2026, 9, 24, 10), 1) == date(2026, 9, 28)
    # The local date counts: 2026-09-30 20:00 UTC is already Oct 1 in Shanghai.
    assert cal.business_day(datetime(2026, 9, 30, 20, tzinfo=UTC), 0) == date(2026, 10, 8)
    assert cal.business_day(date(2026, 9, 30), 1) == date(2026, 10, 8)


def test_open_time_around_national_day_2026():
    cal = cn_business()
    assert cal.add(sh(2026, 9, 30, 16), 2 * H) == sh(2026, 10, 8, 9)
    assert cal.elapsed(sh(2026, 9, 30, 17), sh(2026, 10, 8, 9, 30)) == 1.5 * H
    assert cal.is_open(sh(2026, 10, 10, 9))  # Saturday, make-up workday
    assert not cal.is_open(sh(2026, 10, 11, 9))
    assert cal.next_open(sh(2026, 10, 1, 9)) == sh(2026, 10, 8, 8, 30)
    assert cal.explain_closed(date(2026, 10, 2)) == "holiday: National Day"
    assert cal.explain_closed(date(2026, 10, 11)) == "closed on Sunday"
    assert cal.holiday_year(2026).names
    assert cal.holiday_year(1999) is None


def test_a_year_without_data_raises_calendar_data_missing():
    cal = cn_business(cn_registry(range(2026, 2027)))
    # Within 2026 nothing else is needed (no span crosses midnight).
    assert cal.add(sh(2026, 12, 30, 9), 9 * H) == sh(2026, 12, 31, 9)
    with pytest.raises(CalendarDataMissing) as caught:
        cal.is_open(sh(2030, 10, 1, 10))
    assert (caught.value.region, caught.value.year) == ("CN", 2030)
    with pytest.raises(CalendarDataMissing) as caught:
        cal.add(sh(2026, 12, 31, 9), 10 * H)
    assert caught.value.year == 2027
    with pytest.raises(CalendarDataMissing):
        cal.business_day(date(2026, 12, 31), 1)


def test_past_the_horizon_a_rule_plans_the_year_provisionally():
    registry = cn_registry(range(2025, 2027))
    registry.register_rule("CN", provisional.provisional_year, source="statutory rules")
    cal = cn_business(registry)
    assert cal.horizon == date(2026, 12, 31)
    # 2027-02-05 (除夕, a Friday) is closed; 2027-02-09 is its 补假; the real schedule's
    # make-up Saturdays are unknown, so no weekend opens
    assert cal.next_open(sh(2027, 2, 4, 18)) == sh(2027, 2, 11, 8, 30)
    assert not any(
        cal.is_business_day(date(2027, 1, 1) + k * timedelta(1))
        for k in range(365)
        if (date(2027, 1, 1) + k * timedelta(1)).weekday() >= 5
    )
    assert cal.explain_closed(date(2027, 2, 5)) == "holiday: Spring Festival 春节"
    assert cal.provisional_years(date(2026, 12, 30), date(2027, 1, 4)) == (2027,)
    assert cal.provisional_years(date(2026, 1, 1), date(2026, 12, 31)) == ()
    # the rule never covers a year before the horizon
    with pytest.raises(CalendarDataMissing):
        cal.is_open(sh(2024, 6, 3, 10))


def test_published_data_moves_the_horizon_and_wins_over_the_rule():
    registry = cn_registry(range(2025, 2027))
    registry.register_rule("CN", provisional.provisional_year, source="statutory rules")
    registry.register("CN", 2027, [date(2027, 2, 5)], [date(2027, 2, 20)], "published")
    cal = cn_business(registry)
    assert cal.horizon == date(2027, 12, 31)
    assert cal.provisional_years(date(2027, 1, 1), date(2028, 1, 3)) == (2028,)
    assert cal.is_business_day(date(2027, 2, 20))  # the published make-up Saturday
    assert cal.is_business_day(date(2027, 2, 9))  # the rule's 补假 no longer applies


def test_a_gap_in_the_data_only_matters_to_answers_that_cross_it():
    registry = cn_registry(range(2026, 2027))
    registry.register("CN", 2030, [date(2030, 10, 1)], [], "test")
    cal = cn_business(registry)
    assert cal.is_open(sh(2026, 10, 8, 9))
    assert not cal.is_open(sh(2030, 10, 1, 10))  # 2027-2029 are not needed for this
    assert cal.is_open(sh(2026, 10, 8, 9))
    with pytest.raises(CalendarDataMissing) as caught:
        cal.elapsed(sh(2026, 10, 8, 9), sh(2030, 10, 8, 9))
    assert caught.value.year == 2027


def test_assume_weekdays_computes_a_year_without_data_as_plain_weekdays():
    cal = cn_business(cn_registry(range(2026, 2027)), assume_weekdays=True)
    assert cal.is_open(sh(2030, 10, 1, 10))  # a Tuesday; no National Day data for 2030
    assert cal.business_day(date(2026, 12, 31), 1) == date(2027, 1, 1)
    assert not cal.is_open(sh(2026, 10, 1, 10))  # 2026 still has its data
    assert cal.explain_closed(date(2026, 10, 1)) == "holiday: National Day"
    assert "assume_weekdays=True" in repr(cal)


def test_explicit_dates_override_the_region():
    extra, closed = date(2026, 10, 2), date(2026, 10, 10)
    cal = cn_business(holidays=[closed], workdays=[extra])
    assert cal.is_business_day(extra)
    assert not cal.is_business_day(closed)


# --- date overrides ---------------------------------------------------------------------------


def test_a_half_day_override_closes_the_afternoon():
    eve = date(2026, 12, 31)  # a Thursday
    cal = Calendar.weekly(
        "Asia/Shanghai", WEEKDAYS, *OFFICE, dates={eve: [(time(8, 30), time(12))]}
    )
    assert cal.spans_on(eve) == [(sh(2026, 12, 31, 8, 30), sh(2026, 12, 31, 12))]
    assert cal.is_open(sh(2026, 12, 31, 11, 59)) and not cal.is_open(sh(2026, 12, 31, 12))
    assert cal.next_close(sh(2026, 12, 31, 9)) == sh(2026, 12, 31, 12)
    # 2 h left on the eve, the other 2 h from Friday's opening
    assert cal.add(sh(2026, 12, 31, 10), 4 * H) == sh(2027, 1, 1, 10, 30)
    assert cal.elapsed(sh(2026, 12, 31), sh(2027, 1, 1)) == 3.5 * H
    assert cal.business_day(sh(2026, 12, 30, 9), 1) == eve


def test_an_extended_day_override_opens_longer_and_on_a_weekend():
    thursday, saturday = date(2026, 10, 15), date(2026, 10, 17)
    long_day, weekend = [(time(8), time(20))], [(time(9), time(13))]
    cal = Calendar.weekly(
        "Asia/Shanghai", WEEKDAYS, *OFFICE, dates={thursday: long_day, saturday: weekend}
    )
    assert cal.elapsed(sh(2026, 10, 15), sh(2026, 10, 16)) == 12 * H
    assert cal.add(sh(2026, 10, 15, 17, 30), 2 * H) == sh(2026, 10, 15, 19, 30)
    assert cal.is_business_day(saturday)
    assert cal.next_open(sh(2026, 10, 16, 18)) == sh(2026, 10, 17, 9)
    assert cal.business_day(date(2026, 10, 16), 1) == saturday


def test_a_one_off_closure_override():
    wednesday = date(2026, 11, 11)
    cal = Calendar.weekly("Asia/Shanghai", WEEKDAYS, *OFFICE, dates={wednesday: []})
    assert not cal.is_business_day(wednesday)
    assert cal.spans_on(wednesday) == []
    assert cal.explain_closed(wednesday) == "closed on this date (date override)"
    assert cal.add(sh(2026, 11, 10, 17), 1 * H) == sh(2026, 11, 12, 9)
    assert cal.business_day(date(2026, 11, 10), 1) == date(2026, 11, 12)


def test_an_override_wins_over_a_holiday_and_a_make_up_workday():
    """National Day 2026: Oct 1 a holiday, Sat Oct 10 a make-up workday (region CN)."""
    holiday, make_up = date(2026, 10, 1), date(2026, 10, 10)
    duty_morning = [(time(9), time(12))]
    cal = cn_business(dates={holiday: duty_morning, make_up: []})
    assert cal.spans_on(holiday) == [(sh(2026, 10, 1, 9), sh(2026, 10, 1, 12))]
    assert not cal.is_business_day(make_up)
    assert cal.explain_closed(make_up) == "closed on this date (date override)"
    # the holiday next to it still closes its date: only overridden dates change
    assert cal.explain_closed(date(2026, 10, 2)) == "holiday: National Day"
    assert cal.business_day(date(2026, 9, 30), 1) == holiday
    assert cal.business_day(date(2026, 10, 1), 1) == date(2026, 10, 8)
    # an override of an explicit holiday (both given) wins as well
    both = cn_business(holidays=[holiday], dates={holiday: duty_morning})
    assert both.is_business_day(holiday)


def test_an_override_on_a_dst_day_in_berlin():
    spring = date(2026, 3, 29)  # a Sunday: 02:00 CET -> 03:00 CEST
    whole_day = [(time(0), time(0))]
    cal = Calendar("Europe/Berlin", {0: [(time(8), time(17))]}, dates={spring: whole_day})
    assert cal.elapsed(berlin(2026, 3, 29), berlin(2026, 3, 30)) == 23 * H
    assert cal.add(berlin(2026, 3, 29, 1), 2 * H) == berlin(2026, 3, 29, 4)


def test_an_override_of_new_years_eve_reaches_into_the_next_year():
    eve = date(2026, 12, 31)
    cal = Calendar("UTC", {}, dates={eve: [(time(22), time(2))]})
    assert cal.is_open(datetime(2027, 1, 1, 1, tzinfo=UTC))  # asked first: looks back at Dec 31
    assert cal.next_close(datetime(2026, 12, 31, 23, tzinfo=UTC)) == datetime(
        2027, 1, 1, 2, tzinfo=UTC
    )
    assert cal.add(datetime(2026, 6, 1, tzinfo=UTC), 4 * H) == datetime(2027, 1, 1, 2, tzinfo=UTC)


def test_overlapping_override_spans_merge_and_bad_ones_are_refused():
    day = date(2026, 11, 24)
    cal = Calendar("UTC", {}, dates={day: [(time(9), time(12)), (time(11), time(14))]})
    utc = datetime(2026, 11, 24, tzinfo=UTC)
    assert cal.spans_on(day) == [(utc + 9 * H, utc + 14 * H)]
    with pytest.raises(CalendarError, match=r"pair of datetime\.time"):
        Calendar("UTC", {}, dates={day: [("09:00", "12:00")]})
    with pytest.raises(CalendarError, match=r"needs a datetime\.date"):
        Calendar("UTC", {}, dates={utc: []})
    assert repr(cal) == "Calendar('UTC', no weekly spans, dates=1)"


# --- errors -----------------------------------------------------------------------------------


class _NoOffset(tzinfo):
    def utcoffset(self, dt: datetime | None) -> None:
        return None


@pytest.mark.parametrize(
    "naive", [datetime(2026, 11, 25, 9), datetime(2026, 11, 25, 9, tzinfo=_NoOffset())]
)
def test_naive_datetimes_are_refused(naive: datetime):
    cal = Calendar.always("Asia/Shanghai")
    aware = sh(2026, 11, 25, 9)
    calls = [
        lambda: cal.add(naive, H),
        lambda: cal.add(naive, timedelta(0)),
        lambda: cal.elapsed(naive, aware),
        lambda: cal.elapsed(aware, naive),
        lambda: cal.is_open(naive),
        lambda: cal.next_open(naive),
        lambda: cal.next_close(naive),
        lambda: cal.business_day(naive, 1),
    ]
    for call in calls:
        with pytest.raises(NaiveDatetimeError, match="no time zone"):
            call()


def test_an_empty_week_has_no_open_time():
    cal = Calendar("Asia/Shanghai", {})
    t = sh(2026, 11, 25, 9)
    assert not cal.is_open(t)
    assert cal.elapsed(t, t + 1000 * H) == timedelta(0)
    for call in (
        lambda: cal.add(t, H),
        lambda: cal.add(t, timedelta(0)),
        lambda: cal.next_open(t),
        lambda: cal.next_close(t),
        lambda: cal.business_day(t, 1),
    ):
        with pytest.raises(NoOpenTimeError, match=r"never open|no business day"):
            call()


def test_holidays_up_to_the_horizon_give_no_open_time():
    mondays = [date(2090, 1, 2) + timedelta(weeks=k) for k in range(11 * 53)]
    cal = Calendar("UTC", {0: [(time(9), time(17))]}, holidays=mondays)
    with pytest.raises(NoOpenTimeError, match="before 2101"):
        cal.add(datetime(2090, 1, 1, tzinfo=UTC), H)
    with pytest.raises(NoOpenTimeError):
        cal.next_open(datetime(2090, 1, 1, tzinfo=UTC))


def test_a_24x7_calendar_never_closes():
    with pytest.raises(NoOpenTimeError, match="never closes"):
        Calendar.always("Asia/Shanghai").next_close(sh(2026, 11, 25))


def test_years_outside_1970_2100_raise():
    cal = Calendar.always("UTC")
    with pytest.raises(CalendarError, match="1970"):
        cal.is_open(datetime(1969, 6, 1, tzinfo=UTC))
    with pytest.raises(CalendarError, match="2100"):
        cal.add(datetime(2100, 12, 31, tzinfo=UTC), 48 * H)
    with pytest.raises(CalendarError):
        cal.business_day(date(2101, 1, 1), 0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("Mars/Olympus", {}), "unknown time zone"),
        (("UTC", {7: [(time(9), time(17))]}), "weekday"),
        (("UTC", {0: [("09:00", "17:00")]}), "pair of datetime.time"),
        (("UTC", {0: [(time(9, tzinfo=UTC), time(17))]}), "without tzinfo"),
    ],
)
def test_invalid_definitions_are_refused(args: tuple, message: str):
    with pytest.raises(CalendarError, match=message):
        Calendar(*args)


def test_invalid_workday_spans_and_n():
    with pytest.raises(CalendarError, match="workday_spans"):
        Calendar("UTC", {}, workday_spans=7)
    with pytest.raises(ValueError, match="n >= 0"):
        Calendar.always("UTC").business_day(date(2026, 1, 1), -1)


# --- add, elapsed, next_open, next_close -------------------------------------------------------


def test_zero_duration_gives_the_next_opening():
    cal = Calendar.weekly("Asia/Shanghai", WEEKDAYS, *OFFICE)
    assert cal.add(sh(2026, 11, 27, 18), timedelta(0)) == sh(2026, 11, 30, 8, 30)
    assert cal.add(sh(2026, 11, 27, 10), timedelta(0)) == sh(2026, 11, 27, 10)
    assert cal.add(sh(2026, 11, 27, 17, 30), timedelta(0)) == sh(2026, 11, 30, 8, 30)


def test_add_landing_on_a_close_returns_the_close():
    cal = Calendar.weekly("Asia/Shanghai", WEEKDAYS, *OFFICE)
    assert cal.add(sh(2026, 11, 27, 8, 30), 9 * H) == sh(2026, 11, 27, 17, 30)
    assert cal.add(sh(2026, 11, 27, 7), 9 * H) == sh(2026, 11, 27, 17, 30)
    assert cal.add(sh(2026, 11, 27, 17, 30), H) == sh(2026, 11, 30, 9, 30)


def test_negative_duration_counts_backwards():
    cal = Calendar.weekly("Asia/Shanghai", WEEKDAYS, *OFFICE)
    assert cal.add(sh(2026, 11, 30, 9, 30), -2 * H) == sh(2026, 11, 27, 16, 30)
    # The latest moment with that much open time before: the opening, not Friday's close.
    assert cal.add(sh(2026, 11, 30, 9, 30), -H) == sh(2026, 11, 30, 8, 30)
    assert cal.elapsed(cal.add(sh(2026, 11, 30, 12), -50 * H), sh(2026, 11, 30, 12)) == 50 * H


def test_elapsed_is_antisymmetric():
    cal = cn_business()
    a, b = sh(2026, 9, 28, 10), sh(2026, 10, 9, 15)
    assert cal.elapsed(a, b) == (7.5 + 9 + 9 + 9 + 6.5) * H  # Sep 28 (part), 29, 30, Oct 8, 9
    assert cal.elapsed(b, a) == -cal.elapsed(a, b)
    assert cal.elapsed(a, a) == timedelta(0)


def test_next_open_and_next_close():
    cal = Calendar.weekly("Asia/Shanghai", WEEKDAYS, *OFFICE)
    friday_noon = sh(2026, 11, 27, 12)
    assert cal.next_open(friday_noon) == friday_noon
    assert cal.next_close(friday_noon) == sh(2026, 11, 27, 17, 30)
    assert cal.next_open(sh(2026, 11, 28, 12)) == sh(2026, 11, 30, 8, 30)
    assert cal.next_close(sh(2026, 11, 28, 12)) == sh(2026, 11, 30, 17, 30)
    # A close is not inside its span: the next span is the one asked about.
    assert cal.next_close(sh(2026, 11, 27, 17, 30)) == sh(2026, 11, 30, 17, 30)
    assert cal.next_open(sh(2026, 11, 27, 8, 30)) == sh(2026, 11, 27, 8, 30)


def test_results_are_in_the_calendars_zone():
    cal = Calendar.weekly("Asia/Shanghai", WEEKDAYS, *OFFICE)
    start = datetime(2026, 11, 27, 1, tzinfo=UTC)  # 09:00 in Shanghai
    for result in (
        cal.add(start, H),
        cal.next_open(start),
        cal.next_close(start),
        cal.add(start, timedelta(0)),
        cal.spans_on(date(2026, 11, 27))[0][0],
    ):
        assert result.tzinfo is cal.tz
    assert cal.add(start, H) == sh(2026, 11, 27, 10)
    assert cal.tz == SH


def test_sub_second_inputs_round_to_the_microsecond():
    cal = Calendar.weekly("Asia/Shanghai", WEEKDAYS, *OFFICE)
    start = sh(2026, 11, 27, 9, 0, 0, 123457)
    assert cal.add(start, timedelta(seconds=1.5)) == sh(2026, 11, 27, 9, 0, 1, 623457)


# --- DST ---------------------------------------------------------------------------------------


def test_dst_days_in_berlin_last_as_long_as_they_really_do():
    office = Calendar("Europe/Berlin", {6: [(time(8), time(17))]})
    whole = Calendar("Europe/Berlin", {6: [(time(0), time(0))]})
    spring, autumn = date(2026, 3, 29), date(2026, 10, 25)
    assert office.elapsed(berlin(2026, 3, 29), berlin(2026, 3, 30)) == 9 * H
    assert whole.elapsed(berlin(2026, 3, 29), berlin(2026, 3, 30)) == 23 * H
    assert whole.elapsed(berlin(2026, 10, 25), berlin(2026, 10, 26)) == 25 * H
    assert whole.add(berlin(2026, 3, 29), 23 * H) == berlin(2026, 3, 30)
    assert whole.add(berlin(2026, 10, 25), 2 * H) == datetime(
        2026, 10, 25, 2, tzinfo=BERLIN, fold=1
    )
    ((start, end),) = whole.spans_on(spring)
    assert real_length(start, end) == 23 * H
    assert whole.next_close(berlin(2026, 10, 25, 12)) == berlin(2026, 10, 26)
    assert office.add(berlin(2026, 10, 25, 16), 2 * H) == berlin(2026, 11, 1, 9)
    assert office.spans_on(autumn) == [(berlin(2026, 10, 25, 8), berlin(2026, 10, 25, 17))]


def test_wall_times_in_the_spring_gap_shift_forward_and_ambiguous_ones_take_the_first():
    gap = Calendar("Europe/Berlin", {6: [(time(2, 30), time(4))]})
    # 02:30 does not exist on 2026-03-29: read with the winter offset, i.e. 03:30 CEST.
    assert gap.spans_on(date(2026, 3, 29)) == [(berlin(2026, 3, 29, 3, 30), berlin(2026, 3, 29, 4))]
    ambiguous = Calendar("Europe/Berlin", {6: [(time(2, 30), time(3))]})
    # 02:30 happens twice on 2026-10-25: the first (CEST, +02:00) is meant → 1.5 h.
    ((start, end),) = ambiguous.spans_on(date(2026, 10, 25))
    assert start.utcoffset() == 2 * H
    assert real_length(start, end) == 1.5 * H


# --- year boundaries, long distances ---------------------------------------------------------


def test_a_night_span_from_new_years_eve_crosses_into_the_next_year():
    week = {d: [(time(22), time(6))] for d in range(7)}
    cal = Calendar("Asia/Shanghai", week)
    assert cal.is_open(sh(2027, 1, 1, 3))
    assert cal.elapsed(sh(2026, 12, 31, 12), sh(2027, 1, 1, 12)) == 8 * H
    assert cal.add(sh(2026, 12, 31, 23), 2 * H) == sh(2027, 1, 1, 1)
    assert cal.next_close(sh(2026, 12, 31, 23)) == sh(2027, 1, 1, 6)
    assert cal.spans_on(date(2026, 12, 31)) == [(sh(2026, 12, 31, 22), sh(2027, 1, 1, 6))]
    closed = Calendar("Asia/Shanghai", week, holidays=[date(2026, 12, 31)])
    assert not closed.is_open(sh(2027, 1, 1, 3))
    assert closed.add(sh(2026, 12, 31, 12), H) == sh(2027, 1, 1, 23)


def test_the_first_query_of_a_new_year_looks_back_at_new_years_eve():
    week = {d: [(time(22), time(6))] for d in range(7)}
    holiday = Calendar("Asia/Shanghai", week, holidays=[date(2026, 12, 31)])
    assert not holiday.is_open(sh(2027, 1, 1, 3))
    assert Calendar("Asia/Shanghai", week).is_open(sh(2027, 1, 1, 3))


def test_24x7_runs_seamlessly_over_new_year():
    cal = Calendar.always("Asia/Shanghai")
    assert cal.add(sh(2026, 12, 31, 23), 2 * H) == sh(2027, 1, 1, 1)
    assert cal.elapsed(sh(2020, 6, 1), sh(2026, 6, 1)) == sh(2026, 6, 1) - sh(2020, 6, 1)


def test_add_spanning_many_years():
    always = Calendar.always("Europe/Berlin")
    start = berlin(1990, 5, 17, 10, 30)
    far = always.add(start, timedelta(days=365 * 80))
    assert far == (start.astimezone(UTC) + timedelta(days=365 * 80)).astimezone(BERLIN)
    office = Calendar.weekly("Asia/Shanghai", WEEKDAYS, *OFFICE)
    hours = 9 * 5 * 52 * 60 * H  # about 60 years of office hours
    due = office.add(sh(2020, 1, 6, 8, 30), hours)
    assert due.year in (2079, 2080)
    assert office.elapsed(sh(2020, 1, 6, 8, 30), due) == hours
    assert office.add(due, -hours) == sh(2020, 1, 6, 8, 30)


def test_answers_do_not_depend_on_the_order_years_were_compiled_in():
    def make() -> Calendar:
        week = {
            0: [(time(22), time(6))],
            2: [(time(9), time(12)), (time(13), time(18))],
            6: [(time(0), time(0))],
        }
        return Calendar("Europe/Berlin", week, holidays=[date(2024, 12, 30)])

    forward, backward, jumping = make(), make(), make()
    forward.is_open(berlin(2020, 1, 1, 12))
    backward.is_open(berlin(2030, 1, 1, 12))
    jumping.is_open(berlin(2025, 1, 1, 12))
    a, b = berlin(2021, 3, 3, 10), berlin(2028, 10, 29, 12)
    for cal in (forward, backward, jumping):
        assert cal.elapsed(a, b) == forward.elapsed(a, b)
        assert cal.add(a, 1234 * H) == forward.add(a, 1234 * H)
        assert cal.add(b, -1234 * H) == forward.add(b, -1234 * H)
        assert cal.is_open(berlin(2024, 12, 31, 2)) is False


def test_threads_compiling_different_years_get_consistent_answers():
    starts = [sh(year, month, 3, 10) for year in range(1995, 2060, 3) for month in (1, 6, 12)]
    expected = [Calendar.weekly("Asia/Shanghai", WEEKDAYS, *OFFICE).add(t, 77 * H) for t in starts]
    shared = Calendar.weekly("Asia/Shanghai", WEEKDAYS, *OFFICE)
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda t: shared.add(t, 77 * H), starts[::-1]))
    assert got[::-1] == expected


# --- business days -------------------------------------------------------------------------


def test_business_day_n_zero_and_n_positive_over_a_weekend_and_new_year():
    cal = Calendar.weekly("Asia/Shanghai", WEEKDAYS, *OFFICE, holidays=[date(2027, 1, 1)])
    assert cal.business_day(sh(2026, 12, 31, 20), 0) == date(2026, 12, 31)  # after closing
    assert cal.business_day(sh(2026, 12, 31, 20), 1) == date(2027, 1, 4)
    assert cal.business_day(sh(2027, 1, 2, 10), 0) == date(2027, 1, 4)
    # 10 years of weekdays, checked against a simple count.
    day, count = date(2026, 1, 1), 0
    while count < 2600:
        day += timedelta(days=1)
        if day.weekday() < 5 and day != date(2027, 1, 1):
            count += 1
    assert cal.business_day(date(2026, 1, 1), 2600) == day


def test_is_business_day_and_spans_on_need_a_plain_date():
    cal = Calendar.weekly("Asia/Shanghai", WEEKDAYS, *OFFICE)
    assert cal.is_business_day(date(2026, 11, 25))
    assert not cal.is_business_day(date(2026, 11, 28))
    with pytest.raises(TypeError):
        cal.is_business_day(sh(2026, 11, 25))


# --- the handbook's call-center rule -----------------------------------------------------------


def test_call_center_rule_checks_working_hours_next_to_the_24x7_clock():
    """Arrivals while the desk is staffed run on working hours, others on the duty clock."""
    working = cn_business()
    duty = Calendar.always("Asia/Shanghai", name="duty")

    def due(arrival: datetime) -> datetime:
        clock = working if working.is_open(arrival) else duty
        return clock.add(arrival, 4 * H)

    assert working.is_open(sh(2026, 9, 30, 10)) and duty.is_open(sh(2026, 9, 30, 10))
    assert due(sh(2026, 9, 30, 16)) == sh(2026, 10, 8, 11)  # staffed: office hours
    assert not working.is_open(sh(2026, 10, 2, 10)) and duty.is_open(sh(2026, 10, 2, 10))
    assert due(sh(2026, 10, 2, 10)) == sh(2026, 10, 2, 14)  # holiday: the 24x7 clock


def test_repr_is_readable():
    cal = cn_business()
    assert repr(cal) == (
        "Calendar('Asia/Shanghai', Mon-Fri 08:30-17:30, region='CN', name='cn-business')"
    )
    assert repr(Calendar("UTC", {})) == "Calendar('UTC', never open)"
    assert "Mon-Sun 00:00-00:00" in repr(Calendar.always("UTC"))
