"""Contract loading: every check names file:line:column and the YAML path, and all are reported."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from datetime import date, time
from pathlib import Path

import pluggy
import pytest

import core.contract
from core import hookimpl
from core.contract import CalendarSpec, default_diagnosis
from core.contract_calendars import (
    build_calendar,
    first_overlap,
    parse_days,
    parse_span,
    parse_week,
)
from core.errors import ContractError, NotFoundError, Problem
from core.loaded import ContractSet, LoadedContract
from core.plugins import make_plugin_manager
from core.sources.contracts import check_contracts, load_contracts
from core.sources.schema import contract_schema

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / "contracts"
BANK = "whccb-huancui.yaml"  # digital-china-renewal, Weihai city + one site in Yantai
HOSPITAL = "wendeng-kangning-hospital.yaml"  # own-service
PORT = "shidao-port.yaml"  # vendor-warranty with vendor terms


@pytest.fixture(scope="module")
def pm() -> pluggy.PluginManager:
    return make_plugin_manager(load_entrypoints=False)


@pytest.fixture(scope="module")
def shipped(pm: pluggy.PluginManager) -> ContractSet:
    return load_contracts([CONTRACTS], pm=pm)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """An empty contracts directory with the shipped tier catalog and holiday files."""
    shutil.copy(CONTRACTS / "tiers.yaml", tmp_path / "tiers.yaml")
    if (CONTRACTS / "calendars").is_dir():
        shutil.copytree(CONTRACTS / "calendars", tmp_path / "calendars")
    return tmp_path


def copy(workdir: Path, name: str, *edits: tuple[str, str]) -> Path:
    """Copy a shipped contract into ``workdir``, replacing each ``old`` text by ``new``."""
    text = (CONTRACTS / name).read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text, f"{old!r} not in {name}"
        text = text.replace(old, new, 1)
    target = workdir / name
    target.write_text(text, encoding="utf-8")
    return target


def problems_of(workdir: Path, pm: pluggy.PluginManager) -> list[Problem]:
    loaded, problems = check_contracts([workdir], pm=pm)
    assert loaded is None and problems, "expected problems"
    return problems


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


def line_of(path: Path, needle: str, nth: int = 1) -> int:
    """1-based line of the ``nth`` line containing ``needle``."""
    hits = [i for i, line in enumerate(path.read_text("utf-8").splitlines(), 1) if needle in line]
    return hits[nth - 1]


def col_of(path: Path, line: int, needle: str) -> int:
    return path.read_text("utf-8").splitlines()[line - 1].index(needle) + 1


# --- the shipped examples ------------------------------------------------------------------------


def test_example_contracts_all_load(shipped: ContractSet) -> None:
    assert sorted(shipped.contracts) == [
        "rsyz-2026",
        "sdgw-2025",
        "wdkn-hospital-2026",
        "whccb-huancui-2025",
    ]
    assert set(shipped.catalog.tiers) == {"8x5xNBD", "8x5x4h", "8x5x48h", "24x7x4h", "24x7x48h"}
    assert shipped.catalog.programs["vendor-warranty"].vendor_terms_override


def test_get_unknown_contract_lists_known_ids(shipped: ContractSet) -> None:
    with pytest.raises(NotFoundError, match="known: rsyz-2026, sdgw-2025"):
        shipped.get("nope")


def test_find_device_by_serial(shipped: ContractSet) -> None:
    lc, device = shipped.find_device("FOC2334Y1AB")
    assert lc.id == "sdgw-2025" and device.rma == "cisco_tac"
    with pytest.raises(NotFoundError, match="no contract covers"):
        shipped.find_device("NOPE")


def test_lookups_raise_not_found(shipped: ContractSet) -> None:
    lc = shipped.get("sdgw-2025")
    assert lc.program().label.startswith("常规换修服务")
    assert lc.tier("24x7x48h").arrival is not None
    with pytest.raises(NotFoundError, match="unknown tier"):
        lc.tier("9x9x9h")
    with pytest.raises(NotFoundError, match="unknown calendar 'office'"):
        lc.calendar("office")


def test_calendar_lookup_order_and_cache(shipped: ContractSet) -> None:
    bank = shipped.get("whccb-huancui-2025")
    hours = bank.calendar("working-hours")  # the contract's own: Saturday mornings too
    assert hours is bank.calendar("working-hours")
    assert hours is not bank.calendar("working-hours", weekdays_only=True)
    assert [s.time() for s in hours.spans_on(date(2026, 3, 7))[0]] == [time(9), time(12)]
    window = bank.calendar("spare-window")  # from tiers.yaml
    assert [s.time() for s in window.spans_on(date(2026, 3, 9))[0]] == [time(9), time(15)]
    hospital = shipped.get("wdkn-hospital-2026")
    default_hours = hospital.calendar("working-hours")  # our default: Mon–Fri 08:30–17:30
    assert default_hours.spans_on(date(2026, 3, 7)) == []
    assert default_hours.spans_on(date(2026, 3, 9))[0][0].time() == time(8, 30)


def test_effective_spare_rules_vendor_terms_where_allowed(shipped: ContractSet) -> None:
    port = shipped.get("sdgw-2025")
    core_a = port.contract.device("FOC2334Y1AB")
    assert core_a is not None
    tier, ship, arrival, why = port.effective_spare_rules(core_a)
    assert tier.label.startswith("第二个工作日")
    assert why == "vendor terms: Cisco SNTC 8x5xNBD"
    assert ship is not None and ship.cutoff == "15:00"
    assert arrival is not None and arrival.within == "1bd"
    server = port.contract.device("2102312CJN10K5000212")
    assert server is not None
    assert port.effective_spare_rules(server)[1:] == (
        None,
        port.tier("24x7x48h").arrival,
        "tier 24x7x48h",
    )


def test_resolve_site_uses_the_contract_resolver(shipped: ContractSet) -> None:
    bank = shipped.get("whccb-huancui-2025")
    assert bank.resolve_site("山东省威海市环翠区新威路17号").zone == "city"
    assert bank.resolve_site("山东省烟台市莱山区港城东大街").zone == "other"
    assert shipped.get("sdgw-2025").resolve_site("荣成市石岛管理区港湾街88号").zone == "rongcheng"


def test_target_tables_refine_our_defaults(shipped: ContractSet) -> None:
    bank = shipped.get("whccb-huancui-2025").contract
    assert set(bank.response) == {"P1", "default"}
    rushan = shipped.get("rsyz-2026").contract
    # the school's P1 replaces ours, the other levels are its own; ours fill nothing it set
    assert rushan.diagnosis["P1"].within == "4h"  # type: ignore[union-attr]
    hospital = shipped.get("wdkn-hospital-2026").contract
    # a contract `default` stands for the levels it leaves out: ours (P4 10bd) is not added
    assert set(hospital.resolution) == {"P1", "P2", "P3", "default"}


# --- calendars -----------------------------------------------------------------------------------


def test_week_keys_and_spans() -> None:
    assert parse_days("mon-fri") == [0, 1, 2, 3, 4]
    assert parse_days("sat,sun") == [5, 6]
    assert parse_days("sun-mon") == [6, 0]
    assert parse_span("08:30-17:30") == (time(8, 30), time(17, 30))
    assert parse_span("00:00-24:00") == (time(0), time(0))
    assert parse_span("22:00-06:00") == (time(22), time(6))
    assert parse_week({"mon-fri": ["13:00-17:00"], "mon": ["08:00-12:00"]})[0] == [
        (time(8), time(12)),
        (time(13), time(17)),
    ]
    for bad in ("09:00-09:00", "24:00-06:00", "08:00-24:30"):
        with pytest.raises(ValueError):
            parse_span(bad)


def test_weekdays_only_calendar_drops_make_up_workdays(shipped: ContractSet) -> None:
    make_up = date(2025, 2, 8)  # Saturday, a Spring Festival make-up workday (调休)
    spec = CalendarSpec(region="CN", week={"mon-fri": ["09:00-15:00"]})
    normal = build_calendar(spec, shipped.registry, name="spare-window")
    strict = build_calendar(spec, shipped.registry, name="spare-window", weekdays_only=True)
    assert normal.is_business_day(make_up)
    assert not strict.is_business_day(make_up)
    assert not strict.is_business_day(date(2025, 1, 29))  # Spring Festival stays closed
    assert strict.is_business_day(date(2025, 2, 10))
    off = CalendarSpec(region="CN", week={"mon-fri": ["09:00-15:00"]}, make_up_workdays=False)
    assert not build_calendar(off, shipped.registry, name="x").is_business_day(make_up)
    # the tier option reaches the contract's calendars through LoadedContract.calendar
    bank = shipped.get("whccb-huancui-2025")
    assert bank.calendar("spare-window").is_business_day(make_up)
    assert not bank.calendar("spare-window", weekdays_only=True).is_business_day(make_up)


def test_workday_spans_names_the_weekday_whose_hours_a_make_up_day_gets(
    shipped: ContractSet,
) -> None:
    spec = CalendarSpec(
        region="CN",
        week={"mon-thu": ["08:30-17:30"], "fri": ["08:30-12:00"]},
        workday_spans="fri",
    )
    cal = build_calendar(spec, shipped.registry, name="x")
    [(start, end)] = cal.spans_on(date(2025, 2, 8))
    assert (start.time(), end.time()) == (time(8, 30), time(12))


# --- structural errors: one per file, located ----------------------------------------------------


def test_yaml_syntax_error_is_located(workdir: Path, pm: pluggy.PluginManager) -> None:
    path = copy(workdir, BANK, ("program: digital-china-renewal", "program: [digital-china"))
    problem = only(problems_of(workdir, pm))
    assert problem.file == str(path)
    assert problem.message.startswith("YAML syntax:")
    assert problem.line == line_of(path, "program: [digital-china") + 2


def test_wrong_type_names_file_line_column_and_path(
    workdir: Path, pm: pluggy.PluginManager
) -> None:
    path = copy(workdir, BANK, ("onsite-labour: true", "onsite-labour: maybe"))
    problem = only(problems_of(workdir, pm))
    line = line_of(path, "onsite-labour: maybe")
    assert str(problem) == (f"{path}:{line}:16: $.onsite-labour: expected `bool`, got `str`")


def test_unknown_key_points_at_the_key_and_lists_known_ones(
    workdir: Path, pm: pluggy.PluginManager
) -> None:
    path = copy(workdir, BANK, ("    rma: cisco_tac", "    rma: cisco_tac\n    colour: blue"))
    problem = only(problems_of(workdir, pm))
    line = line_of(path, "colour: blue")
    assert (problem.line, problem.column) == (line, 5)
    assert problem.path == "$.devices[3].colour"
    assert problem.message.startswith("unknown key 'colour' (expected one of: model, serial,")


def test_missing_key_is_named(workdir: Path, pm: pluggy.PluginManager) -> None:
    path = copy(workdir, BANK, ("program: digital-china-renewal\n", ""))
    problem = only(problems_of(workdir, pm))
    assert problem.path == "$"
    assert problem.message == "missing required key `program`"
    assert problem.line == line_of(path, "id: whccb-huancui-2025")


def test_unparseable_duration_says_what_is_expected(
    workdir: Path, pm: pluggy.PluginManager
) -> None:
    path = copy(workdir, BANK, ("P2: {within: 4h, calendar: duty}", "P2: {within: 4 hours}"))
    problem = only(problems_of(workdir, pm))
    line = line_of(path, "4 hours")
    assert (problem.line, problem.column) == (line, col_of(path, line, "4 hours"))
    assert problem.path == "$.diagnosis.P2.within"
    assert "30m (minutes) / 4h (hours)" in problem.message
    assert problem.message.endswith("got '4 hours'")


def test_escalation_at_pattern(workdir: Path, pm: pluggy.PluginManager) -> None:
    path = copy(workdir, BANK, ("  - at: 80%", "  - at: eighty percent"))
    problem = only(problems_of(workdir, pm))
    assert problem.path == "$.escalation[1].at"
    assert problem.line == line_of(path, "eighty percent")
    assert "share of the clock's target elapsed (50%)" in problem.message


def test_unknown_exclusion_lists_the_known_causes(workdir: Path, pm: pluggy.PluginManager) -> None:
    path = copy(workdir, BANK, ("  - vendor-defect", "  - bad-weather"))
    problem = only(problems_of(workdir, pm))
    assert problem.path == "$.exclusions[2]"
    assert problem.line == line_of(path, "bad-weather")
    assert problem.message == (
        "expected one of incomplete-device-list, late-fault-information, vendor-defect, "
        "force-majeure; got 'bad-weather'"
    )


def test_bad_week_key_is_located_at_the_key(workdir: Path, pm: pluggy.PluginManager) -> None:
    path = copy(workdir, BANK, ("      sat: [", "      saturday: ["))
    problem = only(problems_of(workdir, pm))
    assert problem.path == "$.calendars.working-hours.week.saturday"
    assert (problem.line, problem.column) == (line_of(path, "saturday:"), 7)
    assert problem.message.startswith("expected weekdays: mon, mon-fri, sat,sun")


def test_bad_value_inside_a_mapping_is_pinpointed(workdir: Path, pm: pluggy.PluginManager) -> None:
    # msgspec only says `$.onsite.normal[...]`; the loader finds the entry
    path = copy(workdir, BANK, ("rushan: 7h, other: 12h}", "rushan: 7h, other: soon}"))
    problem = only(problems_of(workdir, pm))
    assert problem.path == "$.onsite.normal.other"
    line = line_of(path, "other: soon")
    assert (problem.line, problem.column) == (line, col_of(path, line, "soon"))


# --- semantic errors: all of them, each located --------------------------------------------------


def test_three_semantic_errors_give_three_problems(workdir: Path, pm: pluggy.PluginManager) -> None:
    path = copy(
        workdir,
        BANK,
        ("program: digital-china-renewal", "program: platinum"),
        ("    rma: cisco_tac", "    rma: cisco_smartnet"),
        ("  end: 2026-06-30", "  end: 2025-06-30"),
    )
    problems = problems_of(workdir, pm)
    assert [(p.path, p.line) for p in problems] == [
        ("$.period.end", line_of(path, "end: 2025-06-30")),
        ("$.program", line_of(path, "program: platinum")),
        ("$.devices[3].rma", line_of(path, "rma: cisco_smartnet")),
    ]
    assert problems[0].message == "the period ends (2025-06-30) before it starts (2025-07-01)"
    assert problems[1].message == (
        "unknown program 'platinum' (tiers.yaml offers: digital-china-renewal, "
        "vendor-warranty, own-service)"
    )
    assert problems[2].message == (
        "unknown RMA channel 'cisco_smartnet' (registered: cisco_tac, digital_china)"
    )


def test_problems_from_every_file_are_reported(workdir: Path, pm: pluggy.PluginManager) -> None:
    copy(workdir, BANK, ("program: digital-china-renewal", "program: platinum"))
    copy(workdir, HOSPITAL, ("onsite-labour: true", "onsite-labour: maybe"))
    copy(workdir, PORT)
    with pytest.raises(ContractError) as exc:
        load_contracts([workdir], pm=pm)
    files = sorted(Path(p.file).name for p in exc.value.problems)
    assert files == sorted([BANK, HOSPITAL])
    assert "$.program: unknown program 'platinum'" in str(exc.value)


def test_tier_not_offered_by_program(workdir: Path, pm: pluggy.PluginManager) -> None:
    path = copy(workdir, HOSPITAL, ("    tier: 8x5x48h", "    tier: 8x5x4h"))
    problem = only(problems_of(workdir, pm))
    line = line_of(path, "tier: 8x5x4h")
    assert str(problem) == (
        f"{path}:{line}:11: $.devices[3].tier: tier 8x5x4h is not offered by program "
        "own-service (offers 8x5xNBD, 8x5x48h, 24x7x48h)"
    )


def test_unknown_tier(workdir: Path, pm: pluggy.PluginManager) -> None:
    copy(workdir, HOSPITAL, ("    tier: 8x5x48h", "    tier: 8x5x24h"))
    problem = only(problems_of(workdir, pm))
    assert problem.path == "$.devices[3].tier"
    assert problem.message.startswith("unknown tier '8x5x24h' (tiers.yaml defines: 8x5xNBD,")


def test_restricted_4h_tier_refused_in_weihai(workdir: Path, pm: pluggy.PluginManager) -> None:
    # 8x5x4h is offered by digital-china-renewal, but only near Beijing/Shanghai/Guangzhou
    old = "    tier: 8x5xNBD\n    rma: cisco_tac"
    path = copy(workdir, BANK, (old, old.replace("8x5xNBD", "8x5x4h")))
    problem = only(problems_of(workdir, pm))
    assert problem.path == "$.devices[3].tier"
    assert problem.line == line_of(path, "tier: 8x5x4h")
    assert problem.message.startswith(
        "tier 8x5x4h is only offered in zones beijing, shanghai, guangzhou, near-bj-sh-gz; "
        "this device's site is in zone 'city' ("
    )


def test_other_zone_must_be_priced(workdir: Path, pm: pluggy.PluginManager) -> None:
    path = copy(workdir, BANK, ("rushan: 7h, other: 12h}", "rushan: 7h}"))
    problem = only(problems_of(workdir, pm))
    line = line_of(path, "normal: {")
    assert (problem.path, problem.line) == ("$.onsite.normal", line)
    assert problem.message.startswith("no normal on-site time for zone other: price every zone")


def test_onsite_defaults_omit_other_so_a_contract_must_price_it(
    workdir: Path, pm: pluggy.PluginManager
) -> None:
    path = copy(
        workdir,
        BANK,
        ("  normal: {city", "  # normal: {city"),
        ("  emergency: {city", "  # emergency: {city"),
    )
    problems = problems_of(workdir, pm)
    # the tables are absent: the problems point at their parent, `onsite:`'s first entry
    line = line_of(path, "onsite:") + 1
    assert [(p.path, p.line) for p in problems] == [
        ("$.onsite.normal", line),
        ("$.onsite.emergency", line),
    ]
    assert "no normal on-site time for zone other" in problems[0].message
    assert "no emergency on-site time for zone other" in problems[1].message


def test_unknown_zone_in_onsite_table_points_at_the_key(
    workdir: Path, pm: pluggy.PluginManager
) -> None:
    path = copy(workdir, BANK, ("{city: 1h, wendeng: 2h", "{city: 1h, wendeng: 2h, weihai: 1h"))
    problem = only(problems_of(workdir, pm))
    line = line_of(path, "weihai: 1h")
    assert (problem.line, problem.column) == (line, col_of(path, line, "weihai"))
    assert problem.message == (
        "unknown zone 'weihai' (resolver weihai_zones returns: city, wendeng, rongcheng, "
        "rushan, other)"
    )


def test_unknown_zone_resolver(workdir: Path, pm: pluggy.PluginManager) -> None:
    copy(workdir, BANK, ("resolver: weihai_zones", "resolver: yantai_zones"))
    problem = only(problems_of(workdir, pm))
    assert problem.path == "$.zones.resolver"
    assert problem.message == (
        "unknown zone resolver 'yantai_zones' (registered: weihai_zones, districts)"
    )


def test_bad_zone_resolver_config(workdir: Path, pm: pluggy.PluginManager) -> None:
    moon = "resolver: weihai_zones\n  config: {default-zone: moon}"
    copy(workdir, BANK, ("resolver: weihai_zones", moon))
    problem = only(problems_of(workdir, pm))
    assert problem.path == "$.zones.config"
    assert "unknown zone 'moon'" in problem.message


def test_unknown_rma_channel(workdir: Path, pm: pluggy.PluginManager) -> None:
    path = copy(workdir, BANK, ("    rma: digital_china", "    rma: lenovo_direct"))
    problem = only(problems_of(workdir, pm))
    assert str(problem) == (
        f"{path}:{line_of(path, 'lenovo_direct')}:10: $.devices[0].rma: unknown RMA channel "
        "'lenovo_direct' (registered: cisco_tac, digital_china)"
    )


def test_unknown_notifier_channel(workdir: Path, pm: pluggy.PluginManager) -> None:
    path = copy(workdir, BANK, ("    channels: [sms]", "    channels: [sms, wechat]"))
    problem = only(problems_of(workdir, pm))
    line = line_of(path, "channels: [sms, wechat]")
    assert (problem.path, problem.line) == ("$.escalation[3].channels[1]", line)
    assert problem.column == col_of(path, line, "wechat")
    assert problem.message == "unknown notification channel 'wechat' (known: email, sms)"


def test_unknown_calendar_names(workdir: Path, pm: pluggy.PluginManager) -> None:
    path = copy(
        workdir,
        BANK,
        ("      when-open: working-hours", "      when-open: office-hours"),
        ("P3: {within: 8h, calendar: working-hours}", "P3: {within: 8h, calendar: office}"),
        ("onsite:\n  calendar: duty", "onsite:\n  calendar: 7x24"),
    )
    problems = problems_of(workdir, pm)
    assert [(p.path, p.line) for p in problems] == [
        ("$.response.default[0].when-open", line_of(path, "when-open: office-hours")),
        ("$.diagnosis.P3.calendar", line_of(path, "calendar: office}")),
        ("$.onsite.calendar", line_of(path, "calendar: 7x24")),
    ]
    assert problems[0].message.startswith("unknown calendar 'office-hours' (known: 24x7, duty,")


def test_target_list_must_end_unconditionally(workdir: Path, pm: pluggy.PluginManager) -> None:
    path = copy(workdir, BANK, ("    - within: 1h\n      calendar: duty\n", ""))
    problem = only(problems_of(workdir, pm))
    assert problem.path == "$.response.default[0]"
    assert problem.line == line_of(path, "- within: 30m")
    assert "end with a target without one" in problem.message


def test_unknown_priority_key(workdir: Path, pm: pluggy.PluginManager) -> None:
    path = copy(workdir, BANK, ("  P4: {within: 3bd", "  P5: {within: 3bd"))
    problem = only(problems_of(workdir, pm))
    line = line_of(path, "P5:")
    assert (problem.path, problem.line, problem.column) == ("$.diagnosis.P5", line, 3)
    assert problem.message == "unknown priority 'P5': expected P1, P2, P3, P4, default"


def test_priority_with_no_target_and_no_default(
    workdir: Path, pm: pluggy.PluginManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Levels a contract omits fall back to ours, so this needs our defaults to have a gap.
    partial = {k: v for k, v in default_diagnosis().items() if k != "P4"}
    monkeypatch.setattr(
        core.contract,
        "_TARGET_DEFAULTS",
        (("diagnosis", lambda: partial),),
    )
    path = copy(workdir, BANK, ("  P4: {within: 3bd, calendar: working-hours}\n", ""))
    problem = only(problems_of(workdir, pm))
    assert (problem.path, problem.line) == ("$.diagnosis", line_of(path, "P1: {within: 1h"))
    assert problem.message == "no diagnosis target for P4 and no default"


def test_zero_duration(workdir: Path, pm: pluggy.PluginManager) -> None:
    copy(workdir, BANK, ("remote-access:\n  within: 30m", "remote-access:\n  within: 0m"))
    problem = only(problems_of(workdir, pm))
    assert problem.path == "$.remote-access.within"
    assert "zero" in problem.message


def test_unknown_timezone_region_and_bad_spans(workdir: Path, pm: pluggy.PluginManager) -> None:
    path = copy(
        workdir,
        BANK,
        ("    tz: Asia/Shanghai", "    tz: Asia/Weihai"),
        ("    region: CN", "    region: XX"),
        ('      mon-fri: ["08:30-17:30"]', '      mon-fri: ["08:30-08:30", "24:00-06:00"]'),
    )
    problems = problems_of(workdir, pm)
    span_line = line_of(path, "08:30-08:30")
    assert [(p.path, p.line) for p in problems] == [
        ("$.calendars.working-hours.tz", line_of(path, "Asia/Weihai")),
        ("$.calendars.working-hours.region", line_of(path, "region: XX")),
        ("$.calendars.working-hours.week.mon-fri[0]", span_line),
        ("$.calendars.working-hours.week.mon-fri[1]", span_line),
    ]
    assert problems[0].message == (
        "unknown time zone 'Asia/Weihai': expected an IANA name such as Asia/Shanghai"
    )
    assert problems[1].message == (
        "no holiday data at all for region 'XX' (regions with data: CN, HK, MO, TW)"
    )
    assert "is empty" in problems[2].message
    assert "starts at 24:00" in problems[3].message
    assert problems[2].column == col_of(path, span_line, '"08:30-08:30"')


WEEK_LINE = '      sat: ["09:00-12:00"]\n'


def with_dates(*lines: str) -> tuple[str, str]:
    """An edit adding ``dates:`` lines under the bank's working-hours calendar."""
    return WEEK_LINE, WEEK_LINE + "    dates:\n" + "".join(f"      {line}\n" for line in lines)


def test_date_overrides_load_into_the_calendar(workdir: Path, pm: pluggy.PluginManager) -> None:
    copy(workdir, BANK, with_dates('2026-12-31: ["08:30-12:00"]', "2026-11-11: []"))
    loaded, problems = check_contracts([workdir], pm=pm)
    assert loaded is not None, "\n".join(map(str, problems))
    hours = loaded.get("whccb-huancui-2025").calendar("working-hours")
    eve = hours.spans_on(date(2026, 12, 31))
    assert [(a.time(), b.time()) for a, b in eve] == [(time(8, 30), time(12))]
    assert not hours.is_business_day(date(2026, 11, 11))  # a Wednesday


def test_bad_date_overrides_are_located(workdir: Path, pm: pluggy.PluginManager) -> None:
    path = copy(
        workdir,
        BANK,
        with_dates(
            '2026-12-31: ["08:30-12:00", "11:00-13:00"]',
            '2026-10-10: ["08:00-20:00", "12:00-12:00"]',
            '1969-12-31: ["22:00-06:00", "23:00-01:00"]',
        ),
    )
    problems = problems_of(workdir, pm)
    where = "$.calendars.working-hours.dates"
    assert [(p.path, p.line, p.column) for p in problems] == [
        (f"{where}.2026-12-31[1]", line_of(path, "11:00-13:00"), 35),
        (f"{where}.2026-10-10[1]", line_of(path, "12:00-12:00"), 35),
        (f"{where}.1969-12-31", line_of(path, "1969-12-31"), 7),
        (f"{where}.1969-12-31[1]", line_of(path, "1969-12-31"), 35),
    ]
    assert problems[0].message == ("span '11:00-13:00' overlaps [0] '08:30-12:00' on 2026-12-31")
    assert "is empty" in problems[1].message
    assert problems[2].message == "1969-12-31 is outside the supported years 1970-2100"
    assert "overlaps [0] '22:00-06:00'" in problems[3].message


@pytest.mark.parametrize(
    ("spans", "overlap"),
    [
        (["08:00-12:00", "12:00-14:00"], None),  # touching
        (["22:00-06:00", "05:00-07:00"], None),  # the night span runs into the next day
        (["08:00-12:00", "13:00-17:00", "16:00-18:00"], (1, 2)),
        (["22:00-06:00", "23:00-01:00"], (0, 1)),
        (["00:00-24:00", "09:00-10:00"], (0, 1)),
    ],
)
def test_first_overlap_of_a_dates_spans(spans: list[str], overlap: tuple[int, int] | None):
    assert first_overlap([parse_span(span) for span in spans]) == overlap


@pytest.mark.parametrize(
    ("line", "path_tail", "message"),
    [
        ("2026-02-30: []", "2026-02-30", "not a valid date: expected an existing day"),
        ('2026-12-31: ["8:30-12"]', "2026-12-31[0]", "expected HH:MM-HH:MM"),
        ('2026-12-31: "08:30-12:00"', "2026-12-31", "expected `array`, got `str`"),
    ],
)
def test_undecodable_date_overrides_are_located(
    workdir: Path, pm: pluggy.PluginManager, line: str, path_tail: str, message: str
) -> None:
    path = copy(workdir, BANK, with_dates(line))
    problem = only(problems_of(workdir, pm))
    assert problem.path == f"$.calendars.working-hours.dates.{path_tail}"
    assert problem.line == line_of(path, line)
    assert message in problem.message


def test_duplicate_serial_across_files_names_both(workdir: Path, pm: pluggy.PluginManager) -> None:
    # files load in name order: the hospital's file comes first, the bank's repeats it
    bank = copy(workdir, BANK)
    hospital = copy(workdir, HOSPITAL, ("serial: CZJ9350FKR", "serial: FDO2113A0KT"))
    problem = only(problems_of(workdir, pm))
    first_line = line_of(hospital, "serial: FDO2113A0KT")
    assert problem.file == str(bank)
    assert (problem.path, problem.line) == (
        "$.devices[3].serial",
        line_of(bank, "serial: FDO2113A0KT"),
    )
    assert problem.message == (
        "serial 'FDO2113A0KT' is also covered by contract wdkn-hospital-2026 "
        f"({hospital}:{first_line}:13) and the periods overlap (2026-01-01..2026-12-31 and "
        "2025-07-01..2026-06-30): a renewal must start after the old period ends"
    )


def test_duplicate_serial_within_a_file(workdir: Path, pm: pluggy.PluginManager) -> None:
    path = copy(workdir, BANK, ("serial: J30A8F2C", "serial: FDO2113A0KT"))
    problem = only(problems_of(workdir, pm))
    assert problem.path == "$.devices[4].serial"
    assert problem.message == (
        "serial 'FDO2113A0KT' is listed twice in this contract (first at line "
        f"{line_of(path, 'serial: FDO2113A0KT')})"
    )


def test_duplicate_contract_id(workdir: Path, pm: pluggy.PluginManager) -> None:
    bank = copy(workdir, BANK)
    second = workdir / "copy.yaml"
    second.write_text(
        copy(workdir, HOSPITAL, ("id: wdkn-hospital-2026", "id: whccb-huancui-2025")).read_text(
            "utf-8"
        ),
        "utf-8",
    )
    (workdir / HOSPITAL).unlink()
    problem = only(problems_of(workdir, pm))
    assert (problem.file, problem.path) == (str(bank), "$.id")
    assert problem.message == (
        f"contract id 'whccb-huancui-2025' is already used by {second}:"
        f"{line_of(second, 'id: whccb-huancui-2025')}:5"
    )


def test_vendor_terms_only_where_the_program_allows(
    workdir: Path, pm: pluggy.PluginManager
) -> None:
    path = copy(workdir, PORT, ("program: vendor-warranty", "program: own-service"))
    problems = problems_of(workdir, pm)
    assert [p.path for p in problems] == ["$.devices[0].vendor-terms", "$.devices[1].vendor-terms"]
    # a mapping is located at its first entry, the line after `vendor-terms:`
    assert (problems[0].line, problems[0].column) == (line_of(path, "vendor-terms:") + 1, 7)
    assert problems[0].message.startswith(
        "program own-service does not let vendor terms override its tiers"
    )


def test_vendor_terms_calendar_and_cutoff(workdir: Path, pm: pluggy.PluginManager) -> None:
    copy(
        workdir,
        PORT,
        (
            '        calendar: spare-window\n        cutoff: "15:00"',
            '        calendar: cisco-window\n        cutoff: "24:00"',
        ),
    )
    problems = problems_of(workdir, pm)
    assert [p.path for p in problems] == [
        "$.devices[0].vendor-terms.ship.calendar",
        "$.devices[0].vendor-terms.ship.cutoff",
    ]


def test_duplicate_exclusion(workdir: Path, pm: pluggy.PluginManager) -> None:
    copy(workdir, BANK, ("  - force-majeure", "  - vendor-defect"))
    problem = only(problems_of(workdir, pm))
    assert (problem.path, problem.message) == (
        "$.exclusions[3]",
        "exclusion 'vendor-defect' is listed twice",
    )


# --- the tier catalog and the directory layout ---------------------------------------------------


def test_missing_tier_catalog(tmp_path: Path, pm: pluggy.PluginManager) -> None:
    copy(tmp_path, BANK)
    problem = only(check_contracts([tmp_path], pm=pm)[1])
    assert problem.message.startswith("no tiers.yaml (the tier catalog) beside these contracts")


def test_single_file_finds_tiers_beside_it(workdir: Path, pm: pluggy.PluginManager) -> None:
    path = copy(workdir, PORT)
    loaded = load_contracts([path], pm=pm)
    assert list(loaded.contracts) == ["sdgw-2025"]


def test_missing_path(tmp_path: Path, pm: pluggy.PluginManager) -> None:
    problems = check_contracts([tmp_path / "nope"], pm=pm)[1]
    assert problems[0].message == "no such file or directory"


def test_tier_catalog_errors_are_located(workdir: Path, pm: pluggy.PluginManager) -> None:
    tiers = workdir / "tiers.yaml"
    text = tiers.read_text("utf-8")
    text = text.replace(
        "tiers: [8x5xNBD, 8x5x48h, 24x7x48h]\n    vendor-terms-override",
        "tiers: [8x5xNBD, 8x5x72h, 24x7x48h]\n    vendor-terms-override",
    )
    text = text.replace("      from: diagnosed\n    zones:", "      from: shipped\n    zones:")
    text = text.replace(
        "      calendar: 24x7\n      from: shipped\n\n  24x7x4h",
        "      calendar: 7x24\n      from: shipped\n\n  24x7x4h",
    )
    tiers.write_text(text, "utf-8")
    copy(workdir, PORT)
    problems = problems_of(workdir, pm)
    assert [(Path(p.file).name, p.path) for p in problems] == [
        (PORT, "$.devices[4].tier"),  # 8x5x48h is no longer offered by vendor-warranty
        ("tiers.yaml", "$.tiers.8x5x48h.arrival.calendar"),
        ("tiers.yaml", "$.tiers.24x7x4h.arrival.from"),
        ("tiers.yaml", "$.programs.vendor-warranty.tiers[1]"),
    ]
    assert problems[1].message.startswith("unknown calendar '7x24' (known: 24x7, duty,")
    assert problems[2].message.startswith("arrival counts from the shipment but the tier has no")
    assert problems[3].message.startswith("unknown tier '8x5x72h' (tiers.yaml defines: 8x5xNBD,")


def test_broken_tier_catalog_does_not_flag_every_tier_name(
    workdir: Path, pm: pluggy.PluginManager
) -> None:
    tiers = workdir / "tiers.yaml"
    tiers.write_text(tiers.read_text("utf-8").replace("programs:", "programmes:"), "utf-8")
    copy(workdir, PORT)
    problem = only(problems_of(workdir, pm))
    assert problem.file == str(tiers)
    assert problem.message.startswith("unknown key 'programmes'")


# --- plugins ----------------------------------------------------------------------------------


class _UndoCheck:
    """A throwaway plugin: every P1 response must be 15 minutes or less."""

    @hookimpl
    def register_contract_checks(self, register: Callable[..., None]) -> None:
        register("p1-fast", self.check)

    @staticmethod
    def check(lc: LoadedContract) -> Iterator[tuple[str, str]]:
        rule = lc.contract.response.get("P1")
        if rule is None or isinstance(rule, list) or rule.within != "15m":
            yield "$.response", "P1 response must be 15m"


@pytest.fixture
def pm_with_check() -> Iterator[pluggy.PluginManager]:
    manager = make_plugin_manager(load_entrypoints=False)
    manager.register(_UndoCheck(), name="undo-check")
    yield manager
    manager.unregister(name="undo-check")


def test_hook_register_contract_checks_contributes_problems(
    workdir: Path, pm_with_check: pluggy.PluginManager
) -> None:
    copy(workdir, BANK)  # P1: 15m — passes
    path = copy(workdir, HOSPITAL)  # no P1 response of its own
    loaded, problems = check_contracts([workdir], pm=pm_with_check)
    assert loaded is None
    problem = only(problems)
    assert (problem.file, problem.path) == (str(path), "$.response")
    assert problem.line == line_of(path, "id: wdkn-hospital-2026")  # absent: the root
    assert problem.message == "P1 response must be 15m (check p1-fast)"


def test_hook_register_contract_checks_two_argument_form(workdir: Path) -> None:
    class Plugin:
        @hookimpl
        def register_contract_checks(self, register: Callable[..., None]) -> None:
            register("ids", lambda contract, context: [("id", f"{contract.id} in {context.file}")])

    manager = make_plugin_manager(load_entrypoints=False)
    manager.register(Plugin(), name="undo-two-args")
    path = copy(workdir, PORT)
    problem = only(check_contracts([workdir], pm=manager)[1])
    assert problem.path == "$.id"
    assert problem.line == line_of(path, "id: sdgw-2025")
    assert problem.message == f"sdgw-2025 in {path} (check ids)"


def test_notifier_registered_by_a_plugin_is_accepted(workdir: Path) -> None:
    class Plugin:
        @hookimpl
        def register_notifiers(self, register: Callable[..., None]) -> None:
            register("wechat", object())

    manager = make_plugin_manager(load_entrypoints=False)
    manager.register(Plugin(), name="undo-wechat")
    copy(workdir, BANK, ("    channels: [sms]", "    channels: [sms, wechat]"))
    assert check_contracts([workdir], pm=manager)[1] == []


# --- JSON Schema ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["contract", "tiers"])
def test_schema_matches_the_committed_file(kind: str) -> None:
    committed = json.loads((CONTRACTS / f"{kind}.schema.json").read_text("utf-8"))
    assert contract_schema(kind=kind) == committed, (
        f"regenerate: casetrack contracts schema --kind {kind} > contracts/{kind}.schema.json"
    )


def test_schema_is_json_schema_2020_12() -> None:
    schema = contract_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$ref"] == "#/$defs/Contract"
    contract = schema["$defs"]["Contract"]
    assert {"id", "customer", "devices", "onsite", "escalation"} <= set(contract["properties"])
    assert set(contract["required"]) == {"id", "customer", "our-staff", "period", "program"}
    assert contract["properties"]["diagnosis"]["propertyNames"] == {
        "enum": ["P1", "P2", "P3", "P4", "default"]
    }
    assert "from" in schema["$defs"]["ArrivalRule"]["properties"]
    tiers = contract_schema(kind="tiers")
    assert tiers["$ref"] == "#/$defs/TierCatalog"
    with pytest.raises(ValueError):
        contract_schema(kind="nope")


def test_split_modules_stay_importable_from_contract_load() -> None:
    # core.sources.contracts was split; callers outside this repo may still import from it
    import core.contract_calendars
    import core.sources.contracts
    import core.sources.schema

    for name in ("build_calendar", "parse_clock", "parse_days", "parse_span", "parse_week"):
        assert getattr(core.sources.contracts, name) is getattr(core.contract_calendars, name)
    assert core.sources.contracts.region_holidays is core.contract_calendars.region_holidays
    assert core.sources.contracts.visible_calendars is core.contract_calendars.visible_calendars
    assert core.sources.contracts.contract_schema is core.sources.schema.contract_schema
    assert set(core.sources.contracts.__all__) <= set(dir(core.sources.contracts))


# --- end of support per model (rule A6 of the assessment) ----------------------------------------

EOS = "    end-of-support: 2027-10-31\n"


def test_the_models_catalogue_is_checked_and_located(
    workdir: Path, pm: pluggy.PluginManager
) -> None:
    path = copy(
        workdir,
        HOSPITAL,
        (
            EOS,
            EOS + "  Cisco Catalyst 2960X:\n    end-of-support: 2027-10-31\n"
            "  Cisco ISR 4331/K9:\n    end-of-sale: 2029-01-01\n    end-of-support: 2028-11-30\n",
        ),
    )
    problems = problems_of(workdir, pm)
    assert [(p.path, p.line, p.column) for p in problems] == [
        ("$.models['Cisco Catalyst 2960X']", line_of(path, "Cisco Catalyst 2960X:"), 3),
        ("$.models['Cisco ISR 4331/K9']", line_of(path, "Cisco ISR 4331/K9:"), 3),
        (
            "$.models['Cisco ISR 4331/K9'].end-of-sale",
            line_of(path, "end-of-sale: 2029-01-01"),
            18,
        ),
    ]
    assert "no device of this contract is model 'Cisco Catalyst 2960X'" in problems[0].message
    assert "Cisco Catalyst 2960X-48TS-L" in problems[0].message  # the models it could be
    assert problems[2].message == (
        "the end of sale (2029-01-01) is after the end of support (2028-11-30)"
    )


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        (EOS, "    end-of-support: 2027-10-32\n", "2027-10-32", "not a valid date"),
        (EOS, "    end-of-support: soon\n", "soon", "not a valid date"),
        (EOS, "    end-of-life: 2027-10-31\n", "    end-of-life:", "unknown key 'end-of-life'"),
        (
            "end-of-support-warning-months: 12",
            "end-of-support-warning-months: -1",
            "warning-months: -1",
            "expected `int` >= 0",
        ),
    ],
)
def test_a_bad_end_of_support_entry_is_located(
    workdir: Path, pm: pluggy.PluginManager, old: str, new: str, needle: str, message: str
) -> None:
    path = copy(workdir, HOSPITAL, (old, new))
    problem = only(problems_of(workdir, pm))
    assert problem.line == line_of(path, needle)
    assert message in problem.message
