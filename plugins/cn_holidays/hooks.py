"""Registers region "CN" for every year the ``chinese_calendar`` package fully covers.

Holidays are the statutory days off (weekend days inside a holiday period included, as the
package lists them); workdays are the make-up working weekends (调休上班). A year counts as
covered only when the package lists its four fixed festivals (New Year, Spring Festival,
Labour Day, National Day): a half-announced year must raise CalendarDataMissing rather than
silently treat the missing holidays as working days. Years after the package's last one come
from ``contracts/calendars/*.yaml`` (see docs/calendars.md), which also override package years;
past every published year, the law's rules plan provisional years (``provisional``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Mapping

import chinese_calendar
from chinese_calendar.constants import Holiday, holidays, workdays

from core import hookimpl
from plugins.cn_holidays import provisional

REGION = "CN"
SOURCE = f"chinese_calendar {chinese_calendar.__version__}"

# Present in every year since 2004; the others (清明, 端午, 中秋) only since 2008.
_EVERY_YEAR = frozenset(
    {Holiday.new_years_day, Holiday.spring_festival, Holiday.labour_day, Holiday.national_day}
)


@hookimpl
def register_holidays(register: Callable[..., None]) -> None:
    """One ``register("CN", year, ...)`` per fully covered year."""
    closed = _by_year(holidays)
    extra_open = _by_year(workdays)
    for year in covered_years():
        year_workdays = extra_open.get(year, {})
        names = [(day, label(h)) for day, h in closed[year].items()]
        names += [(day, f"{label(h)} make-up workday 调休上班") for day, h in year_workdays.items()]
        register(
            REGION,
            year,
            holidays=sorted(closed[year]),
            workdays=sorted(year_workdays),
            source=SOURCE,
            names=names,
        )


@hookimpl
def register_holiday_rules(register: Callable[..., None]) -> None:
    """Region "CN" past the package's last year: the statutory rules (``provisional``)."""
    register(REGION, provisional.provisional_year, source=provisional.SOURCE)


def covered_years() -> list[int]:
    """Years for which the package lists the full set of statutory holidays."""
    closed = _by_year(holidays)
    return sorted(y for y, days in closed.items() if set(days.values()) >= _EVERY_YEAR)


def label(holiday: Holiday) -> str:
    """English and Chinese name, e.g. "National Day 国庆节"."""
    return f"{holiday.value} {holiday.chinese}"


def _by_year(table: Mapping[dt.date, Holiday | str]) -> dict[int, dict[dt.date, Holiday]]:
    # The package stores Holiday.<x>.value (the English name) in some versions, members in others.
    years: dict[int, dict[dt.date, Holiday]] = defaultdict(dict)
    for day, value in table.items():
        years[day.year][day] = value if isinstance(value, Holiday) else Holiday(value)
    return dict(years)
