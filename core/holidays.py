"""Holiday and make-up workday data per region and year, gathered from plugins and YAML."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import CalendarDataMissing, PluginError

if TYPE_CHECKING:
    from pluggy import PluginManager


@dataclass(frozen=True, slots=True)
class HolidayYear:
    """One region's closed dates (holidays) and extra open dates (make-up workdays) in a year."""

    region: str
    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str
    names: tuple[tuple[date, str], ...] = ()  # optional (date, holiday name) for explanations

    def name_of(self, day: date) -> str | None:
        for d, name in self.names:
            if d == day:
                return name
        return None


class RegionHolidays:
    """A read-only view of one region, handed to a Calendar; unknown years raise."""

    def __init__(self, region: str, lookup: Callable[[str, int], HolidayYear | None]) -> None:
        self.name = region
        self._lookup = lookup

    def year(self, year: int) -> HolidayYear:
        found = self._lookup(self.name, year)
        if found is None:
            raise CalendarDataMissing(self.name, year)
        return found

    def has_year(self, year: int) -> bool:
        return self._lookup(self.name, year) is not None


class HolidayRegistry:
    """Collects ``register(region, year, ...)`` calls; a later call replaces an earlier one."""

    def __init__(self) -> None:
        self._years: dict[tuple[str, int], HolidayYear] = {}

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

    def get(self, region: str, year: int) -> HolidayYear | None:
        return self._years.get((region.upper(), year))

    def region(self, region: str) -> RegionHolidays:
        return RegionHolidays(region.upper(), self.get)

    def regions(self) -> list[str]:
        return sorted({r for r, _ in self._years})

    def years(self, region: str) -> list[int]:
        return sorted(y for r, y in self._years if r == region.upper())


def build_registry(pm: PluginManager, calendar_dirs: Iterable[Path] = ()) -> HolidayRegistry:
    """Plugins' data first, then every ``*.yaml`` under ``calendar_dirs`` (which overrides)."""
    from core.holiday_files import load_holiday_dir
    from core.plugins import call_register_hook

    registry = HolidayRegistry()
    call_register_hook(pm, "register_holidays", lambda plugin: _guarded(registry, plugin))
    for directory in calendar_dirs:
        for year in load_holiday_dir(Path(directory)):
            registry.register(
                year.region, year.year, year.holidays, year.workdays, year.source, year.names
            )
    return registry


def _guarded(registry: HolidayRegistry, plugin: str) -> Callable[..., None]:
    """A ``register`` callback that blames ``plugin`` for data it got wrong."""

    def register(*args: Any, **kwargs: Any) -> None:
        try:
            registry.register(*args, **kwargs)
        except (TypeError, ValueError) as exc:
            raise PluginError(plugin, f"register_holidays: {exc}") from exc

    return register
