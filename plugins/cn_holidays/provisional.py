"""China's statutory holidays planned from the law's rules, for years nobody has published yet.

《全国年节及纪念日放假办法》 (as revised in 2024, in force since 2025-01-01), article 2, gives
every citizen 13 days off a year:

- New Year's Day 元旦: 1 day, 1 January;
- Spring Festival 春节: 4 days, New Year's Eve 除夕 (the last day of the 12th lunar month) and
  the 1st to 3rd of the 1st lunar month;
- Tomb-sweeping Day 清明节: 1 day, the day of the solar term 清明;
- Labour Day 劳动节: 2 days, 1 and 2 May;
- Dragon Boat Festival 端午节: 1 day, the 5th of the 5th lunar month;
- Mid-autumn Festival 中秋节: 1 day, the 15th of the 8th lunar month;
- National Day 国庆节: 3 days, 1 to 3 October.

Article 6: a statutory day that falls on a Saturday or Sunday is made up on a working day
(补假). We give it on the first weekday after the festival that is not already off; the same
for a statutory day that coincides with another festival's (中秋 inside 国庆). What the law
leaves to each year's State Council notice — moving days into long runs and the make-up
working weekends (调休上班) — is not guessed: a provisional year has no make-up workdays.

The lunar dates come from ``LUNAR_FESTIVALS`` below (2025–2050), computed with two
independent libraries (``lunardate`` 0.3.0 and ``lunar_python`` 1.4.8, which agree on every
date) and checked by ``tests/test_cn_holidays.py`` against ``lunardate``; 清明 comes from
``chinese_calendar.get_solar_terms`` (the package's 寿星 formula with its corrections), which
agrees with ``lunar_python``'s astronomical one for every year of the table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import chinese_calendar

LAW = "全国年节及纪念日放假办法 (2024 revision)"
FIRST_YEAR = 2025  # the 2024 revision's day counts apply from 2025 on
SOURCE = f"provisional: statutory rules of {LAW}, no make-up workdays"

NEW_YEAR = "New Year's Day 元旦"
SPRING = "Spring Festival 春节"
QINGMING = "Tomb-sweeping Day 清明节"
LABOUR = "Labour Day 劳动节"
DRAGON_BOAT = "Dragon Boat Festival 端午节"
MID_AUTUMN = "Mid-autumn Festival 中秋节"
NATIONAL = "National Day 国庆节"
IN_LIEU = "补假 day in lieu"

# Gregorian dates of lunar 1/1 (春节), 5/5 (端午) and 8/15 (中秋), per year.
LUNAR_FESTIVALS: dict[int, tuple[dt.date, dt.date, dt.date]] = {
    2025: (dt.date(2025, 1, 29), dt.date(2025, 5, 31), dt.date(2025, 10, 6)),
    2026: (dt.date(2026, 2, 17), dt.date(2026, 6, 19), dt.date(2026, 9, 25)),
    2027: (dt.date(2027, 2, 6), dt.date(2027, 6, 9), dt.date(2027, 9, 15)),
    2028: (dt.date(2028, 1, 26), dt.date(2028, 5, 28), dt.date(2028, 10, 3)),
    2029: (dt.date(2029, 2, 13), dt.date(2029, 6, 16), dt.date(2029, 9, 22)),
    2030: (dt.date(2030, 2, 3), dt.date(2030, 6, 5), dt.date(2030, 9, 12)),
    2031: (dt.date(2031, 1, 23), dt.date(2031, 6, 24), dt.date(2031, 10, 1)),
    2032: (dt.date(2032, 2, 11), dt.date(2032, 6, 12), dt.date(2032, 9, 19)),
    2033: (dt.date(2033, 1, 31), dt.date(2033, 6, 1), dt.date(2033, 9, 8)),
    2034: (dt.date(2034, 2, 19), dt.date(2034, 6, 20), dt.date(2034, 9, 27)),
    2035: (dt.date(2035, 2, 8), dt.date(2035, 6, 10), dt.date(2035, 9, 16)),
    2036: (dt.date(2036, 1, 28), dt.date(2036, 5, 30), dt.date(2036, 10, 4)),
    2037: (dt.date(2037, 2, 15), dt.date(2037, 6, 18), dt.date(2037, 9, 24)),
    2038: (dt.date(2038, 2, 4), dt.date(2038, 6, 7), dt.date(2038, 9, 13)),
    2039: (dt.date(2039, 1, 24), dt.date(2039, 5, 27), dt.date(2039, 10, 2)),
    2040: (dt.date(2040, 2, 12), dt.date(2040, 6, 14), dt.date(2040, 9, 20)),
    2041: (dt.date(2041, 2, 1), dt.date(2041, 6, 3), dt.date(2041, 9, 10)),
    2042: (dt.date(2042, 1, 22), dt.date(2042, 6, 22), dt.date(2042, 9, 28)),
    2043: (dt.date(2043, 2, 10), dt.date(2043, 6, 11), dt.date(2043, 9, 17)),
    2044: (dt.date(2044, 1, 30), dt.date(2044, 5, 31), dt.date(2044, 10, 5)),
    2045: (dt.date(2045, 2, 17), dt.date(2045, 6, 19), dt.date(2045, 9, 25)),
    2046: (dt.date(2046, 2, 6), dt.date(2046, 6, 8), dt.date(2046, 9, 15)),
    2047: (dt.date(2047, 1, 26), dt.date(2047, 5, 29), dt.date(2047, 10, 4)),
    2048: (dt.date(2048, 2, 14), dt.date(2048, 6, 15), dt.date(2048, 9, 22)),
    2049: (dt.date(2049, 2, 2), dt.date(2049, 6, 4), dt.date(2049, 9, 11)),
    2050: (dt.date(2050, 1, 23), dt.date(2050, 6, 23), dt.date(2050, 9, 30)),
}
LAST_YEAR = max(LUNAR_FESTIVALS)

_ONE_DAY = dt.timedelta(days=1)


def statutory_days(year: int) -> list[tuple[str, list[dt.date]]]:
    """The law's festivals of ``year`` in date order, each with its statutory dates.

    Spring Festival's 除夕 may fall in the previous December (never since 1900, but the rule
    would say so); only dates inside ``year`` count for that year. Raises KeyError for a year
    outside the table.
    """
    spring, dragon_boat, mid_autumn = LUNAR_FESTIVALS[year]
    festivals = [
        (NEW_YEAR, [dt.date(year, 1, 1)]),
        (SPRING, [spring + k * _ONE_DAY for k in range(-1, 3)]),
        (QINGMING, [qingming(year)]),
        (LABOUR, [dt.date(year, 5, 1), dt.date(year, 5, 2)]),
        (DRAGON_BOAT, [dragon_boat]),
        (MID_AUTUMN, [mid_autumn]),
        (NATIONAL, [dt.date(year, 10, k) for k in (1, 2, 3)]),
    ]
    return sorted(
        ((name, [d for d in days if d.year == year]) for name, days in festivals),
        key=lambda festival: festival[1][0],
    )


def qingming(year: int) -> dt.date:
    """The day of the solar term 清明 (4–6 April)."""
    for day, term in chinese_calendar.get_solar_terms(dt.date(year, 4, 1), dt.date(year, 4, 30)):
        if term == "清明":
            return day
    raise LookupError(f"chinese_calendar gives no 清明 in April {year}")  # pragma: no cover


def provisional_year(year: int) -> dict[dt.date, str] | None:
    """Closed dates of ``year`` with their names, planned from the law; None outside
    2025–2050 (before the current law, or past the lunar table)."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return None
    off: dict[dt.date, str] = {}
    for name, days in statutory_days(year):
        owed = 0
        for day in days:
            if day in off or day.weekday() >= 5:
                owed += 1  # 补假: made up on a working day (article 6)
            off.setdefault(day, name)
        for day in _in_lieu(days[-1], owed, off):
            off[day] = f"{name} {IN_LIEU}"
    return off


def _in_lieu(after: dt.date, count: int, off: dict[dt.date, str]) -> Iterator[dt.date]:
    """The first ``count`` weekdays after ``after`` that are not off already (same year)."""
    day = after
    while count:
        day += _ONE_DAY
        if day.year != after.year:
            return
        if day.weekday() < 5 and day not in off:
            count -= 1
            yield day
