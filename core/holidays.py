"""Holiday and make-up workday data per region and year, gathered from plugins and YAML."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from core.errors import CalendarDataMissing

if TYPE_CHECKING:
    pass


@dataclass(frozen=True, slots=True)
class HolidayYear:
    """One region's closed dates (holidays) and extra open dates (make-up workdays) in a year."""

    region: str
    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str
    names: tuple[tuple[date, str], ...] = ()  # optional (date, holiday name) for explanations
    # planned from a region's statutory rules past its published data (no make-up workdays)
    provisional: bool = False

    def name_of(self, day: date) -> str | None:
        for d, name in self.names:
            if d == day:
                return name
        return None


# A region's provisional rule: closed dates with their names for a year, None when it cannot
# plan that year (see the ``register_holiday_rules`` hook).
HolidayRule = Callable[[int], Mapping[date, str] | None]


class RegionHolidays:
    """A read-only view of one region, handed to a Calendar; unknown years raise.

    ``horizon`` is the last date with published (not provisional) data, None when none is.
    """

    def __init__(
        self,
        region: str,
        lookup: Callable[[str, int], HolidayYear | None],
        horizon: date | None = None,
    ) -> None:
        self.name = region
        self._lookup = lookup
        self.horizon = horizon

    def year(self, year: int) -> HolidayYear:
        found = self._lookup(self.name, year)
        if found is None:
            raise CalendarDataMissing(self.name, year)
        return found

    def has_year(self, year: int) -> bool:
        return self._lookup(self.name, year) is not None


class HolidayRegistry:
    """Collects ``register(region, year, ...)`` calls; a later call replaces an earlier one.

    Past a region's last published year, ``planned`` falls back to the region's provisional
    rule (``register_rule``), if it has one; ``get`` only ever answers published data.
    """

    def __init__(self) -> None:
        self._years: dict[tuple[str, int], HolidayYear] = {}
        self._rules: dict[str, tuple[HolidayRule, str]] = {}
        self._planned: dict[tuple[str, int], HolidayYear | None] = {}

    def register(
        self,
        region: str,
        year: int,
        holidays: Iterable[date] = (),
        workdays: Iterable[date] = (),
        source: str = "unknown",
        names: Iterable[tuple[date, str]] = (),
    ) -> None:
        entry = HolidayYear(
            region=region.upper(),
            year=int(year),
            holidays=frozenset(holidays),
            workdays=frozenset(workdays),
            source=source,
            names=tuple(sorted(names)),
        )
        stray = [d for d in entry.holidays | entry.workdays if d.year != entry.year]
        if stray:
            raise ValueError(f"{source}: {region} {year}: dates outside the year: {sorted(stray)}")
        both = entry.holidays & entry.workdays
        if both:
            raise ValueError(f"{source}: {region} {year}: both holiday and workday: {sorted(both)}")
        self._years[(entry.region, entry.year)] = entry
        self._planned.clear()

    def register_rule(self, region: str, rule: HolidayRule, source: str = "unknown") -> None:
        """Plan ``region``'s years after its last published one with ``rule``."""
        if not callable(rule):
            raise TypeError(f"{source}: {region}: a holiday rule is a callable, not {rule!r}")
        self._rules[region.upper()] = (rule, source)
        self._planned.clear()

    def get(self, region: str, year: int) -> HolidayYear | None:
        """Published data only."""
        return self._years.get((region.upper(), year))

    def planned(self, region: str, year: int) -> HolidayYear | None:
        """Published data, else (after the horizon) the provisional rule's plan, else None."""
        key = (region.upper(), year)
        found = self._years.get(key)
        if found is not None:
            return found
        if key not in self._planned:
            self._planned[key] = self._provisional(*key)
        return self._planned[key]

    def horizon(self, region: str) -> date | None:
        """The last date with published data: 31 December of the region's last year."""
        years = self.years(region)
        return date(years[-1], 12, 31) if years else None

    def has_rule(self, region: str) -> bool:
        return region.upper() in self._rules

    def rule_source(self, region: str) -> str | None:
        found = self._rules.get(region.upper())
        return found[1] if found else None

    def region(self, region: str) -> RegionHolidays:
        return RegionHolidays(region.upper(), self.planned, self.horizon(region))

    def _provisional(self, region: str, year: int) -> HolidayYear | None:
        found = self._rules.get(region)
        horizon = self.horizon(region)
        if found is None or (horizon is not None and year <= horizon.year):
            return None  # a gap before the horizon stays missing: never plan over real data
        rule, source = found
        days = rule(year)
        if days is None:
            return None
        stray = sorted(d for d in days if d.year != year)
        if stray:
            raise ValueError(f"{source}: {region} {year}: dates outside the year: {stray}")
        return HolidayYear(
            region=region,
            year=year,
            holidays=frozenset(days),
            workdays=frozenset(),
            source=source,
            names=tuple(sorted(days.items())),
            provisional=True,
        )

    def regions(self) -> list[str]:
        return sorted({r for r, _ in self._years})

    def years(self, region: str) -> list[int]:
        return sorted(y for r, y in self._years if r == region.upper())


# --- the data horizon, loudly ------------------------------------------------------------------


DEFAULT_HORIZON_DAYS = 60


@dataclass(frozen=True, slots=True)
class RegionHorizon:
    """How far one region's published holiday data reaches, seen from ``today``."""

    region: str
    data_until: date | None  # last date with published data; None: none at all
    days_left: int | None  # days from today to data_until (negative: already past it)
    rule: str | None  # the provisional rule's source, None when the region has none

    def warning(self, within: int) -> str | None:
        """One line when the data ends within ``within`` days (or has ended), else None."""
        if self.data_until is not None and self.days_left is not None:
            if self.days_left > within:
                return None
            when = (
                f"ended {self.data_until} ({-self.days_left} days ago)"
                if self.days_left < 0
                else f"ends {self.data_until} ({self.days_left} days left)"
            )
        else:
            when = "is missing"
        after = (
            "later deadlines are provisional, planned from the statutory rules"
            if self.rule
            else "later deadlines cannot be planned (no provisional rule)"
        )
        return (
            f"calendar region {self.region}: published holiday data {when}; {after}; "
            "add the year's schedule (docs/calendars.md)"
        )


def horizon_report(
    registry: HolidayRegistry, regions: Iterable[str], today: date
) -> list[RegionHorizon]:
    """The horizon of each region, in name order."""
    found = []
    for region in sorted({r.upper() for r in regions}):
        until = registry.horizon(region)
        found.append(
            RegionHorizon(
                region=region,
                data_until=until,
                days_left=None if until is None else (until - today).days,
                rule=registry.rule_source(region),
            )
        )
    return found


def horizon_warnings(
    registry: HolidayRegistry, regions: Iterable[str], today: date, within: int
) -> list[str]:
    """The warning lines of ``horizon_report`` (empty when every region reaches far enough)."""
    lines = (h.warning(within) for h in horizon_report(registry, regions, today))
    return [line for line in lines if line]
