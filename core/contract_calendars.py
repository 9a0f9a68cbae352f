"""Calendars from contract YAML: clock, span and weekday parsing, holiday views, built Calendars."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import time
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from core.contract import WEEKDAYS, CalendarSpec, Contract, TierCatalog, default_calendars
from core.holidays import HolidayRegistry, HolidayYear, RegionHolidays

if TYPE_CHECKING:
    from core.calendar import Calendar

WEEKDAY_INDEX = {name: index for index, name in enumerate(WEEKDAYS)}


def parse_clock(text: str) -> time:
    """``"08:30"`` → time(8, 30); ``"24:00"`` (end of day) → time(0)."""
    hours, _, minutes = text.strip().partition(":")
    h, m = int(hours), int(minutes)
    if h == 24 and m == 0:
        return time(0)
    if not (0 <= h < 24 and 0 <= m < 60):
        raise ValueError(f"{text.strip()!r} is not a time of day (00:00 to 24:00)")
    return time(h, m)


def parse_span(text: str) -> tuple[time, time]:
    """``"08:30-17:30"`` → (08:30, 17:30); an end not after the start crosses midnight."""
    first, sep, second = text.partition("-")
    if not sep:
        raise ValueError(f"{text!r} is not a span: expected HH:MM-HH:MM such as 08:30-17:30")
    if first.strip().startswith("24"):
        raise ValueError(f"span {text.strip()!r} starts at 24:00: write 00:00 instead")
    start, end = parse_clock(first), parse_clock(second)
    if start == end and not (second.strip() == "24:00" and start == time(0)):
        raise ValueError(
            f"span {text.strip()!r} is empty (start equals end): write 00:00-24:00 for a whole day"
        )
    return start, end


def first_overlap(spans: Sequence[tuple[time, time]]) -> tuple[int, int] | None:
    """Indices (i, j), i < j, of the first two spans of one date that share a moment, or None.

    A span whose end is not after its start runs to that time of the next day; touching
    spans (08:00-12:00, 12:00-14:00) do not overlap.
    """
    minutes = []
    for start, end in spans:
        a, b = start.hour * 60 + start.minute, end.hour * 60 + end.minute
        minutes.append((a, b + 1440 if b <= a else b))
    for j, (a2, b2) in enumerate(minutes):
        for i, (a1, b1) in enumerate(minutes[:j]):
            if a1 < b2 and a2 < b1:
                return i, j
    return None


def parse_days(text: str) -> list[int]:
    """``"mon-fri"`` → [0..4], ``"sat,sun"`` → [5, 6]; a range may wrap (``sun-mon``)."""
    days: list[int] = []
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        if first.strip() not in WEEKDAY_INDEX or (last and last.strip() not in WEEKDAY_INDEX):
            raise ValueError(f"{part.strip()!r} is not a weekday or range such as mon-fri")
        start = WEEKDAY_INDEX[first.strip()]
        stop = WEEKDAY_INDEX[last.strip()] if last else start
        days += [(start + offset) % 7 for offset in range((stop - start) % 7 + 1)]
    return days


def parse_week(week: Mapping[str, Sequence[str]]) -> dict[int, list[tuple[time, time]]]:
    """Week keys → weekday index (0 = Monday) → sorted spans; a day named twice merges."""
    result: dict[int, list[tuple[time, time]]] = {}
    for days, spans in week.items():
        parsed = [parse_span(span) for span in spans]
        for day in parse_days(days):
            result.setdefault(day, []).extend(parsed)
    return {day: sorted(spans) for day, spans in sorted(result.items())}


def _without_workdays(year: HolidayYear | None) -> HolidayYear | None:
    return None if year is None else replace(year, workdays=frozenset())


def region_holidays(
    registry: HolidayRegistry, region: str, *, make_up_workdays: bool = True
) -> RegionHolidays:
    """The registry's view of ``region``; optionally without its make-up workdays (调休)."""
    if make_up_workdays:
        return registry.region(region)
    return RegionHolidays(
        region.upper(),
        lambda r, y: _without_workdays(registry.planned(r, y)),
        registry.horizon(region),
    )


def build_calendar(
    spec: CalendarSpec, registry: HolidayRegistry, *, name: str, weekdays_only: bool = False
) -> Calendar:
    """A Calendar from its YAML spec; ``weekdays_only`` drops the region's make-up workdays.

    The spec's own ``workdays:`` stay: they are dates the contract opened on purpose.
    """
    from core.calendar import Calendar

    region = None
    if spec.region is not None:
        keep = spec.make_up_workdays and not weekdays_only
        region = region_holidays(registry, spec.region, make_up_workdays=keep)
    return Calendar(
        ZoneInfo(spec.tz),
        parse_week(spec.week),
        tuple(spec.holidays),
        tuple(spec.workdays),
        region=region,
        assume_weekdays=spec.assume_weekdays,
        workday_spans=WEEKDAY_INDEX[spec.workday_spans],
        dates={day: [parse_span(span) for span in spans] for day, spans in spec.dates.items()},
        name=name,
    )


def visible_calendars(contract: Contract | None, catalog: TierCatalog) -> dict[str, CalendarSpec]:
    """Every calendar name a contract can use: its own, then the catalog's, then defaults."""
    merged = dict(default_calendars())
    merged.update(catalog.calendars)
    if contract is not None:
        merged.update(contract.calendars)
    return merged
