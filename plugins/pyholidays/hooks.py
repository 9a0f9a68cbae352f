"""Registers regions HK (Hong Kong), MO (Macau) and TW (Taiwan) from python-holidays.

python-holidays (``holidays`` on PyPI) computes the public holidays of about 200 countries
and subdivisions from their rules (lunar festivals, substitutes and "observed" days included),
with their names. This plugin registers each region of ``REGIONS`` for every year from
``FIRST_YEAR`` to ``LAST_YEAR``, with the holiday categories listed there (our choices,
docs/calendars.md):

- HK: ``public`` (statutory holidays) and ``optional`` (general holidays: Good Friday, Easter,
  Christmas... the days banks, government and most offices close);
- MO: ``public`` (the obligatory holidays of the labour law);
- TW: ``public``, with the package's make-up working Saturdays (補班) as workdays.

The mainland (``CN``) stays with ``cn_holidays`` (chinese-calendar, with the 调休 make-up
workdays). A YAML file under ``contracts/calendars/`` for the same region and year replaces a
year, e.g. to correct a date the government announced differently.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from functools import cache

import holidays

from core import hookimpl

# region code in contracts → (python-holidays country code, categories)
REGIONS: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "HK": ("HK", ("public", "optional")),
    "MO": ("MO", ("public",)),
    "TW": ("TW", ("public",)),
}
FIRST_YEAR = 2015
LAST_YEAR = 2035
SOURCE = f"python-holidays {holidays.__version__}"


@hookimpl
def register_holidays(register: Callable[..., None]) -> None:
    """One ``register(region, year, holidays=..., workdays=..., names=...)`` per region-year."""
    for region, (country, categories) in REGIONS.items():
        for year in range(FIRST_YEAR, LAST_YEAR + 1):
            names, workdays = region_year(country, categories, year)
            register(
                region,
                year,
                holidays=[day for day, _ in names],
                workdays=list(workdays),
                source=SOURCE,
                names=list(names),
            )


@cache  # the package computes from rules (~15 ms a year): once per process is enough
def region_year(
    country: str, categories: tuple[str, ...], year: int
) -> tuple[tuple[tuple[dt.date, str], ...], tuple[dt.date, ...]]:
    """``(((date, name), ...), (make-up workday, ...))`` of one country and year, sorted."""
    table = holidays.country_holidays(country, years=year, categories=categories)
    closed = {day: name for day, name in table.items() if day.year == year}
    extra: set[dt.date] = getattr(table, "weekend_workdays", set())
    workdays = sorted(d for d in extra if d.year == year and d not in closed)
    return tuple(sorted(closed.items())), tuple(workdays)
