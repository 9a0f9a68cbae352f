"""cn_holidays through the register_holidays hook, and YAML files adding or overriding years."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest
from chinese_calendar.constants import holidays as package_holidays
from chinese_calendar.constants import in_lieu_days
from chinese_calendar.constants import workdays as package_workdays
from lunardate import LunarDate

from core.errors import CalendarDataMissing
from core.holidays import HolidayRegistry
from core.plugins import make_plugin_manager
from core.sources.holiday_files import load_holiday_file
from core.sources.registry import build_registry
from plugins.cn_holidays import hooks as cn_hooks
from plugins.cn_holidays import provisional

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "calendars" / "cn-2026.yaml"


def days(first: date, last: date) -> set[date]:
    return {first + timedelta(n) for n in range((last - first).days + 1)}


@pytest.fixture
def registry() -> HolidayRegistry:
    return build_registry(make_plugin_manager(load_entrypoints=False, disabled=[]))


def test_hook_register_holidays_cn_national_day_2026(registry: HolidayRegistry) -> None:
    cn2026 = registry.region("CN").year(2026)
    assert days(date(2026, 10, 1), date(2026, 10, 7)) <= cn2026.holidays
    assert date(2026, 10, 8) not in cn2026.holidays
    assert {date(2026, 9, 20), date(2026, 10, 10)} <= cn2026.workdays
    assert not cn2026.workdays & cn2026.holidays
    assert cn2026.name_of(date(2026, 10, 1)) == "National Day 国庆节"
    assert cn2026.name_of(date(2026, 10, 10)) == "National Day 国庆节 make-up workday 调休上班"


def test_hook_register_holidays_cn_spring_festival_2026(registry: HolidayRegistry) -> None:
    cn2026 = registry.region("CN").year(2026)
    assert days(date(2026, 2, 15), date(2026, 2, 23)) <= cn2026.holidays
    assert {date(2026, 2, 14), date(2026, 2, 28)} <= cn2026.workdays
    assert cn2026.name_of(date(2026, 2, 17)) == "Spring Festival 春节"
    assert cn2026.name_of(date(2026, 3, 2)) is None


def test_hook_register_holidays_cn_covers_2004_to_2026(registry: HolidayRegistry) -> None:
    years = registry.years("CN")
    assert set(range(2004, 2027)) <= set(years)
    assert years == cn_hooks.covered_years()
    assert years == list(range(years[0], years[-1] + 1))  # no gaps
    assert registry.region("CN").year(2004).holidays >= days(date(2004, 10, 1), date(2004, 10, 7))


def test_hook_register_holidays_cn_matches_the_package(registry: HolidayRegistry) -> None:
    for year in registry.years("CN"):
        entry = registry.region("CN").year(year)
        assert entry.holidays == {d for d in package_holidays if d.year == year}
        assert entry.workdays == {d for d in package_workdays if d.year == year}
        assert entry.source == f"chinese_calendar {chinese_calendar.__version__}"


def test_hook_register_holidays_cn_uncovered_year_is_provisional(
    registry: HolidayRegistry,
) -> None:
    missing = max(registry.years("CN")) + 1
    if chinese_calendar.__version__ == "1.11.0":
        assert missing == 2027
    assert registry.horizon("CN") == date(missing - 1, 12, 31)
    assert registry.get("CN", missing) is None  # published data only
    planned = registry.region("CN").year(missing)
    assert planned.provisional and planned.workdays == frozenset()
    assert planned.source == provisional.SOURCE
    assert not registry.region("CN").year(missing - 1).provisional


def test_region_without_a_rule_still_raises() -> None:
    registry = HolidayRegistry()
    registry.register("HK", 2026, [date(2026, 7, 1)], source="test")
    with pytest.raises(CalendarDataMissing) as caught:
        registry.region("HK").year(2027)
    assert (caught.value.region, caught.value.year) == ("HK", 2027)
    assert "'HK'" in str(caught.value) and "2027" in str(caught.value)
    assert not registry.region("HK").has_year(2027)
    assert registry.horizon("HK") == date(2026, 12, 31)


def test_a_gap_before_the_horizon_is_never_planned() -> None:
    registry = HolidayRegistry()
    registry.register("CN", 2024, source="test")
    registry.register("CN", 2026, source="test")
    registry.register_rule("CN", provisional.provisional_year, source="rule")
    with pytest.raises(CalendarDataMissing):
        registry.region("CN").year(2025)  # published data is missing, not unknown
    assert registry.region("CN").year(2027).provisional


def test_hook_register_holidays_cn_partial_year_is_not_covered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A package release that already lists New Year 2027 but not the rest must not make 2027
    # look like a year without holidays.
    partial = {**package_holidays, date(2027, 1, 1): "New Year's Day"}
    monkeypatch.setattr(cn_hooks, "holidays", partial)
    registry = build_registry(make_plugin_manager(load_entrypoints=False, disabled=[]))
    assert 2027 not in registry.years("CN")


YEAR_2027 = """\
region: CN
year: 2027
source: test fixture, not the real 2027 schedule
holidays:
  - {date: 2027-01-01, name: Test Day}
  - {from: 2027-10-01, to: 2027-10-03, name: Test Week}
workdays:
  - 2027-09-26
"""


def test_yaml_file_adds_a_year_the_package_lacks(tmp_path: Path) -> None:
    (tmp_path / "cn-2027.yaml").write_text(YEAR_2027, encoding="utf-8")
    pm = make_plugin_manager(load_entrypoints=False, disabled=[])
    cn = build_registry(pm, [tmp_path]).region("CN")
    cn2027 = cn.year(2027)
    assert cn2027.holidays == {date(2027, 1, 1)} | days(date(2027, 10, 1), date(2027, 10, 3))
    assert cn2027.workdays == {date(2027, 9, 26)}
    assert cn2027.name_of(date(2027, 10, 2)) == "Test Week"
    assert cn2027.source == "test fixture, not the real 2027 schedule [cn-2027.yaml]"
    assert not cn2027.provisional
    assert cn.year(2026).source.startswith("chinese_calendar")  # package years stay


def test_yaml_file_replaces_a_package_year(tmp_path: Path) -> None:
    (tmp_path / "cn-2026.yaml").write_text(
        "region: CN\nyear: 2026\nsource: corrected\nholidays: [2026-10-01]\n", encoding="utf-8"
    )
    pm = make_plugin_manager(load_entrypoints=False, disabled=[])
    cn2026 = build_registry(pm, [tmp_path]).region("CN").year(2026)
    assert cn2026.holidays == {date(2026, 10, 1)}  # replaced, not merged
    assert cn2026.workdays == frozenset()
    assert cn2026.source == "corrected [cn-2026.yaml]"


def test_documented_example_agrees_with_the_package() -> None:
    [example] = load_holiday_file(EXAMPLE)
    assert (example.region, example.year) == ("CN", 2026)
    assert example.holidays == {d for d in package_holidays if d.year == 2026}
    assert example.workdays == {d for d in package_workdays if d.year == 2026}
    assert example.name_of(date(2026, 10, 5)) == "National Day 国庆节"


def test_hook_register_holidays_bad_plugin_data_names_the_plugin() -> None:
    from core import hookimpl
    from core.errors import PluginError

    class Broken:
        @hookimpl
        def register_holidays(self, register):
            register("XX", 2026, holidays=[date(2025, 12, 31)], source="broken")

    pm = make_plugin_manager(load_entrypoints=False)
    pm.register(Broken(), name="undo-broken")
    with pytest.raises(PluginError, match=r"undo-broken.*outside the year"):
        build_registry(pm)


# --- the provisional rule (plugins/cn_holidays/provisional.py) -----------------------------------


def _statutory(year: int) -> set[date]:
    return {d for _, festival in provisional.statutory_days(year) for d in festival}


@pytest.mark.parametrize("year", [2025, 2026])
def test_hook_register_holiday_rules_cn_reproduces_the_package_years(year: int) -> None:
    """The law's days of the current revision are days off in the published schedules, and
    the planned weekdays off (statutory days and 补假) are exactly the published ones that
    were not bridged by a make-up workday (the package's in-lieu days)."""
    published = {d for d in package_holidays if d.year == year}
    planned = provisional.provisional_year(year)
    assert planned is not None
    assert _statutory(year) <= published
    assert len(_statutory(year)) == 13  # 1 + 4 + 1 + 2 + 1 + 1 + 3, none overlapping here
    not_bridged = {d for d in published if d.weekday() < 5 and d not in in_lieu_days}
    assert {d for d in planned if d.weekday() < 5} == not_bridged


def test_provisional_2027_dates() -> None:
    # 2027-02-06 is the 1st of the 1st lunar month (春节), so 除夕 is 02-05
    assert LunarDate.from_solar_date(2027, 2, 6) == LunarDate(2027, 1, 1)
    assert LunarDate.from_solar_date(2027, 2, 5).year == 2026  # still the old lunar year
    planned = provisional.provisional_year(2027)
    assert planned is not None
    expected = {
        date(2027, 1, 1),  # Fri
        *days(date(2027, 2, 5), date(2027, 2, 8)),  # 除夕 Fri .. 初三 Mon
        date(2027, 2, 9),  # 补假 for Sat 02-06
        date(2027, 2, 10),  # 补假 for Sun 02-07
        date(2027, 4, 5),  # 清明, Mon
        *days(date(2027, 5, 1), date(2027, 5, 4)),  # Sat, Sun, and 补假 Mon, Tue
        date(2027, 6, 9),  # 端午, Wed
        date(2027, 9, 15),  # 中秋, Wed
        *days(date(2027, 10, 1), date(2027, 10, 5)),  # Fri, Sat, Sun, 补假 Mon, Tue
    }
    assert set(planned) == expected
    assert planned[date(2027, 2, 5)] == provisional.SPRING
    assert planned[date(2027, 2, 9)] == f"{provisional.SPRING} {provisional.IN_LIEU}"
    assert provisional.qingming(2027) == date(2027, 4, 5)


def test_provisional_overlap_is_made_up() -> None:
    # 2028: 中秋 falls on 10-03, a National Day day: both are made up after the run
    planned = provisional.provisional_year(2028)
    assert planned is not None
    october = sorted(d for d in planned if d.month == 10)
    # Sun 10-01 and the 中秋 overlap owe two working days: Wed 10-04 and Thu 10-05
    assert october == sorted(days(date(2028, 10, 1), date(2028, 10, 5)))


def test_provisional_years_outside_the_table_are_not_planned() -> None:
    assert provisional.provisional_year(2024) is None  # before the 2024 revision applies
    assert provisional.provisional_year(provisional.LAST_YEAR + 1) is None


@pytest.mark.parametrize("year", sorted(provisional.LUNAR_FESTIVALS))
def test_lunar_table_matches_lunardate(year: int) -> None:
    spring, dragon_boat, mid_autumn = provisional.LUNAR_FESTIVALS[year]
    assert spring == LunarDate(year, 1, 1).to_solar_date()
    assert dragon_boat == LunarDate(year, 5, 5).to_solar_date()
    assert mid_autumn == LunarDate(year, 8, 15).to_solar_date()
    assert 4 <= provisional.qingming(year).day <= 6
