"""pyholidays: Hong Kong, Macau and Taiwan public holidays from python-holidays, in a contract."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pluggy
import pytest

from core import sla
from core.holidays import HolidayRegistry
from core.plugins import make_plugin_manager
from core.sources.contracts import load_contracts
from core.sources.registry import build_registry
from plugins.pyholidays import hooks as pyholidays

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts"
HKT = ZoneInfo("Asia/Hong_Kong")


@pytest.fixture(scope="module")
def pm() -> pluggy.PluginManager:
    return make_plugin_manager(load_entrypoints=False, disabled=[])


@pytest.fixture(scope="module")
def registry(pm: pluggy.PluginManager) -> HolidayRegistry:
    return build_registry(pm)


def test_hook_register_holidays_hong_kong_2026_with_names(registry: HolidayRegistry) -> None:
    hk = registry.region("HK").year(2026)
    # the general holidays of 2026 (Government Gazette), weekday ones and the Sunday festivals
    assert {
        date(2026, 1, 1),
        date(2026, 2, 17),
        date(2026, 2, 18),
        date(2026, 2, 19),
        date(2026, 4, 3),  # Good Friday
        date(2026, 4, 4),  # the day following Good Friday
        date(2026, 4, 6),  # Easter Monday
        date(2026, 4, 7),  # Ching Ming (5 April, a Sunday) observed
        date(2026, 5, 1),
        date(2026, 5, 25),
        date(2026, 6, 19),
        date(2026, 7, 1),
        date(2026, 9, 26),
        date(2026, 10, 1),
        date(2026, 10, 19),
        date(2026, 12, 25),
        date(2026, 12, 26),
    } <= hk.holidays
    assert date(2026, 3, 2) not in hk.holidays and date(2026, 10, 2) not in hk.holidays
    assert hk.name_of(date(2026, 4, 3)) == "Good Friday"
    assert hk.name_of(date(2026, 7, 1)) == "Hong Kong S.A.R. Establishment Day"
    assert not hk.workdays  # Hong Kong has no make-up working days
    assert hk.source.startswith("python-holidays ")


def test_hook_register_holidays_regions_and_years(registry: HolidayRegistry) -> None:
    for region in ("HK", "MO", "TW"):
        assert registry.years(region) == list(
            range(pyholidays.FIRST_YEAR, pyholidays.LAST_YEAR + 1)
        )
    # Taiwan's make-up working Saturday (補班) of 2025 is a workday, not a holiday
    tw = registry.region("TW").year(2025)
    assert date(2025, 2, 8) in tw.workdays and date(2025, 1, 27) in tw.holidays
    assert date(2025, 12, 20) in registry.region("MO").year(2025).holidays
    # the mainland stays chinese-calendar's, make-up workdays included
    assert registry.region("CN").year(2026).source.startswith("chinese_calendar")


def test_a_hong_kong_contract_calendar_counts_across_easter(
    tmp_path: Path, pm: pluggy.PluginManager
) -> None:
    shutil.copy(CONTRACTS / "tiers.yaml", tmp_path / "tiers.yaml")
    text = (CONTRACTS / "whccb-huancui.yaml").read_text(encoding="utf-8")
    cn = (
        '    tz: Asia/Shanghai\n    region: CN\n    week:\n      mon-fri: ["08:30-17:30"]\n'
        '      sat: ["09:00-12:00"]\n'
    )
    assert cn in text
    hk = '    tz: Asia/Hong_Kong\n    region: HK\n    week:\n      mon-fri: ["09:00-18:00"]\n'
    (tmp_path / "hk.yaml").write_text(text.replace(cn, hk, 1), encoding="utf-8")
    lc = next(iter(load_contracts([tmp_path], pm=pm).contracts.values()))
    # P3 diagnosis: 8 h of working hours. Thursday 2 April 14:00 leaves 4 h that day; Good
    # Friday, the Saturday after it, Sunday, Easter Monday and Ching Ming observed are closed.
    found = sla.diagnosis(lc, fault_level="P3", started_at=datetime(2026, 4, 2, 14, 0, tzinfo=HKT))
    assert found.due == datetime(2026, 4, 8, 13, 0, tzinfo=HKT)
    assert "(Good Friday 04-03..04-07): due 2026-04-08 13:00 Wed" in found.rule, found.rule
    assert lc.calendar("working-hours").explain_closed(date(2026, 4, 6)) == (
        "holiday: Easter Monday; The day following Tomb-Sweeping Day"
    )
