"""Functional escalation (hand-overs) and emergency on-site progress reports, on both back ends:
the desk, the contract settings, the scheduler and the two HTTP endpoints."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pluggy
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from test_api_cases import CASES, call, open_body
from test_contract_load import col_of, copy, line_of, only, problems_of
from test_desk import T0, at, consult_cmd

from conftest import Api
from core import sla
from core.case import IllegalTransition, Status
from core.clocks import ladder_for
from core.commands import (
    Assign,
    ChangePriority,
    ChangeStatus,
    FirstResponse,
    HandOver,
    Milestone,
    ReportProgress,
    RequestOnsite,
    Resolve,
)
from core.contract import Duration, EscalationStep
from core.desk import CaseDesk
from core.errors import InvalidField, SlaError
from core.escalation import is_urgent
from core.handover import HandOverTarget, direction, functional_level
from core.jobs.scheduler import tick
from core.loaded import ContractSet
from core.plugins import make_plugin_manager
from core.runtime import Runtime
from core.settings import Settings
from core.sources.contracts import load_contracts
from core.store import orm
from core.store.secrets import CredentialVault

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / "contracts"
HOSPITAL_FILE = "wendeng-kangning-hospital.yaml"  # 文登: emergency on-site within 2 h
ONSITE = "onsite:\n  calendar: duty\n"
LADDER_START = "escalation:\n  # Clinical outages go to the project manager early.\n"
ARRIVED = T0 + timedelta(hours=1)  # the emergency engineer is on site after 1 h (due 2 h)


# --- wiring -----------------------------------------------------------------------------------


@pytest.fixture
def pm() -> pluggy.PluginManager:
    return make_plugin_manager(load_entrypoints=False)


def contracts_dir(tmp_path: Path, *edits: tuple[str, str]) -> Path:
    """A copy of the shipped contracts folder (staff directory included), the hospital's
    contract edited."""
    target = tmp_path / "contracts"
    shutil.copytree(CONTRACTS, target)
    copy(target, HOSPITAL_FILE, *edits)
    return target


def make_runtime(engine: Engine, sessions: sessionmaker[Session], folder: Path) -> Runtime:
    contracts = load_contracts([folder])
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        contracts_dir=str(folder),
        var_dir=str(folder.parent / "var"),
    )
    desk = CaseDesk(sessions, contracts, vault=CredentialVault(Fernet.generate_key()))
    pm = make_plugin_manager(load_entrypoints=False)
    return Runtime(settings, engine, sessions, contracts, pm, desk)


@pytest.fixture(scope="module")
def shipped() -> ContractSet:
    return load_contracts([CONTRACTS])


@pytest.fixture
def runtime(engine: Engine, sessions: sessionmaker[Session]) -> Iterator[Runtime]:
    yield make_runtime(engine, sessions, CONTRACTS)


@pytest.fixture
def desk(runtime: Runtime) -> CaseDesk:
    return runtime.desk


def assigned(desk: CaseDesk, now: datetime = T0, **changes: Any) -> str:
    number = desk.open_case(consult_cmd(**changes), actor="agent:li", now=now).number
    desk.assign(number, Assign(engineer="yu-tao"), actor="agent:li", now=now)
    return number


def on_site(desk: CaseDesk, arrived: datetime = ARRIVED, **changes: Any) -> str:
    """An emergency case (文登) whose engineer arrived at ``arrived``."""
    number = assigned(desk, emergency=True, **changes)
    desk.onsite_arrived(number, Milestone(note="in the machine room"), actor="eng:yu", now=arrived)
    return number


def case_of(runtime: Runtime, number: str) -> orm.Case:
    with runtime.sessions() as session:
        case = session.scalars(select(orm.Case).where(orm.Case.number == number)).one()
        case.clocks  # noqa: B018 - loaded before the session closes
        return case


def clocks_of(runtime: Runtime, number: str, kind: str) -> list[orm.SlaClock]:
    return [c for c in case_of(runtime, number).clocks if c.kind == kind]


def events_of(runtime: Runtime, number: str, kind: str | None = None) -> list[orm.CaseEvent]:
    with runtime.sessions() as session:
        stmt = (
            select(orm.CaseEvent)
            .join(orm.Case)
            .where(orm.Case.number == number)
            .order_by(orm.CaseEvent.seq)
        )
        if kind is not None:
            stmt = stmt.where(orm.CaseEvent.kind == kind)
        return list(session.scalars(stmt))


def hand(desk: CaseDesk, number: str, target: str, now: datetime, **fields: Any) -> None:
    cmd = HandOver(target=HandOverTarget(target), reason=f"to {target}", **fields)
    desk.hand_over(number, cmd, actor="eng:yu", now=now)


# --- hand-overs -------------------------------------------------------------------------------


def test_a_hand_over_records_target_ticket_actor_and_time(runtime: Runtime, desk: CaseDesk) -> None:
    number = assigned(desk)
    when = T0 + timedelta(minutes=20)
    cmd = HandOver(
        target=HandOverTarget.DIGITAL_CHINA, ticket="DC-2026-10-0042", reason="needs the lab"
    )
    receipt = desk.hand_over(number, cmd, actor="eng:yu", now=when)
    [event] = events_of(runtime, number, "handed_over")
    assert receipt.events == (event.seq,)
    assert (event.actor, event.at, event.visibility) == ("eng:yu", when, "internal")
    assert event.payload == {
        "target": "digital-china",
        "vendor": None,
        "ticket": "DC-2026-10-0042",
        "reason": "needs the lab",
        "previous": "engineer",
        "direction": "up",
    }
    assert case_of(runtime, number).status == Status.ASSIGNED  # only the vendor parks it


def test_the_ladder_up_to_the_vendor_and_back_down_is_recorded(
    runtime: Runtime, desk: CaseDesk
) -> None:
    number = assigned(desk)
    desk.first_response(number, FirstResponse(agreed_content="remote"), actor="eng:yu", now=T0)
    steps = [
        ("digital-china", {"ticket": "DC-1"}),
        ("expert-group", {}),
        ("onsite-engineer", {}),
        ("vendor", {"ticket": "SR 694 112 305", "vendor": "Cisco TAC"}),
        ("digital-china", {"ticket": "DC-1"}),
        ("engineer", {}),
    ]
    for i, (target, fields) in enumerate(steps, 1):
        hand(desk, number, target, T0 + timedelta(minutes=i), **fields)
    moves = [
        (e.payload["previous"], e.payload["target"], e.payload["direction"])
        for e in events_of(runtime, number, "handed_over")
    ]
    assert moves == [
        ("engineer", "digital-china", "up"),
        ("digital-china", "expert-group", "up"),
        ("expert-group", "onsite-engineer", "across"),  # alternatives at one step
        ("onsite-engineer", "vendor", "up"),
        ("vendor", "digital-china", "down"),
        ("digital-china", "engineer", "down"),
    ]
    vendor, back = events_of(runtime, number, "handed_over")[3:5]
    assert (vendor.payload["vendor"], vendor.payload["ticket"]) == ("Cisco TAC", "SR 694 112 305")
    assert vendor.payload["status"] == {"from": "in_progress", "to": "pending_vendor"}
    assert back.payload["status"] == {"from": "pending_vendor", "to": "in_progress"}
    assert functional_level(events_of(runtime, number)) == HandOverTarget.ENGINEER
    assert functional_level(events_of(runtime, number)[:-1]) == HandOverTarget.DIGITAL_CHINA
    assert case_of(runtime, number).status == Status.IN_PROGRESS


def test_a_vendor_hand_over_parks_the_case_but_never_pauses_resolution(
    runtime: Runtime, desk: CaseDesk
) -> None:
    number = assigned(desk)
    hand(desk, number, "vendor", T0 + timedelta(minutes=5), ticket="H3C-88")
    assert case_of(runtime, number).status == Status.PENDING_VENDOR
    assert clocks_of(runtime, number, "resolution")[-1].state == "running"
    # waiting for the customer stays so: the customer still owes us, resolution stays paused
    other = assigned(desk)
    pending = ChangeStatus(status=Status.PENDING_CUSTOMER, cause="logs")
    desk.change_status(other, pending, actor="eng:yu", now=T0 + timedelta(minutes=1))
    hand(desk, other, "vendor", T0 + timedelta(minutes=5), ticket="H3C-89")
    [event] = events_of(runtime, other, "handed_over")
    assert "status" not in event.payload
    assert case_of(runtime, other).status == Status.PENDING_CUSTOMER
    assert clocks_of(runtime, other, "resolution")[-1].state == "paused"


@pytest.mark.parametrize("target", ["digital-china", "vendor"])
@pytest.mark.parametrize("ticket", [None, "   "])
def test_a_missing_ticket_is_refused_naming_the_field(
    runtime: Runtime, desk: CaseDesk, target: str, ticket: str | None
) -> None:
    number = assigned(desk)
    before = len(events_of(runtime, number))
    with pytest.raises(InvalidField, match="needs their ticket") as refused:
        hand(desk, number, target, T0, ticket=ticket)
    assert refused.value.field == "$.ticket"
    assert refused.value.detail.startswith("$.ticket: ")
    assert len(events_of(runtime, number)) == before
    assert case_of(runtime, number).status == Status.ASSIGNED


def test_the_expert_group_and_on_site_need_no_ticket_and_a_vendor_name_needs_a_vendor(
    runtime: Runtime, desk: CaseDesk
) -> None:
    number = assigned(desk)
    hand(desk, number, "expert-group", T0)
    hand(desk, number, "onsite-engineer", T0, ticket="visit sheet 17")  # optional, kept
    assert [e.payload["ticket"] for e in events_of(runtime, number, "handed_over")] == [
        None,
        "visit sheet 17",
    ]
    with pytest.raises(InvalidField) as refused:
        hand(desk, number, "digital-china", T0, ticket="DC-2", vendor="Cisco TAC")
    assert refused.value.field == "$.vendor"


def test_hand_over_needs_an_assigned_open_case(runtime: Runtime, desk: CaseDesk) -> None:
    number = desk.open_case(consult_cmd(), actor="agent:li", now=T0).number
    with pytest.raises(IllegalTransition, match="unassigned"):
        hand(desk, number, "expert-group", T0)
    desk.assign(number, Assign(engineer="yu-tao"), actor="agent:li", now=T0)
    desk.resolve(number, Resolve(resolution="fixed"), actor="eng:yu", now=T0)
    with pytest.raises(IllegalTransition, match="resolved"):
        hand(desk, number, "expert-group", T0)
    assert events_of(runtime, number, "handed_over") == []


def test_direction_and_level_without_events() -> None:
    assert functional_level([]) == HandOverTarget.ENGINEER
    assert direction(HandOverTarget.VENDOR, HandOverTarget.VENDOR) == "across"
    assert direction(HandOverTarget.EXPERT_GROUP, HandOverTarget.DIGITAL_CHINA) == "down"


# --- progress reports: the clock -------------------------------------------------------------


def test_an_emergency_arrival_starts_the_progress_report_clock(
    runtime: Runtime, desk: CaseDesk
) -> None:
    number = on_site(desk)
    [report] = clocks_of(runtime, number, "progress_report")
    assert (report.state, report.started_at, report.deadline) == (
        "running",
        ARRIVED,
        ARRIVED + timedelta(hours=1),
    )
    assert (report.calendar, report.target) == ("duty", "1h on duty")
    assert "progress report every 1h: arrived" in report.rule
    assert report.next_alert_at == ARRIVED + timedelta(minutes=30)  # the hospital's 50 % rung
    [arrived] = events_of(runtime, number, "onsite_arrived")
    assert arrived.payload["progress_report_due"] == "2026-10-14T04:00:00.000000Z"


def test_a_normal_on_site_visit_has_no_progress_reports(runtime: Runtime, desk: CaseDesk) -> None:
    number = assigned(desk)
    needs_hands = RequestOnsite(reason="needs hands", override_reason="remote link down")
    desk.request_onsite(number, needs_hands, actor="svc-mgr", now=T0)
    desk.onsite_arrived(number, Milestone(), actor="eng:yu", now=ARRIVED)
    assert clocks_of(runtime, number, "progress_report") == []
    assert "progress_report_due" not in events_of(runtime, number, "onsite_arrived")[0].payload
    with pytest.raises(IllegalTransition, match="no report is due"):
        desk.report_progress(number, ReportProgress(text="x"), actor="eng:yu", now=ARRIVED)


def test_an_emergency_before_arrival_owes_no_report(runtime: Runtime, desk: CaseDesk) -> None:
    number = assigned(desk, emergency=True)
    assert clocks_of(runtime, number, "progress_report") == []
    with pytest.raises(IllegalTransition):
        desk.report_progress(number, ReportProgress(text="x"), actor="eng:yu", now=T0)


def test_a_report_meets_the_clock_and_starts_the_next(runtime: Runtime, desk: CaseDesk) -> None:
    number = on_site(desk)
    first = ARRIVED + timedelta(minutes=50)
    report = ReportProgress(text="PSU swapped, array rebuilding", visibility="customer")
    desk.report_progress(number, report, actor="eng:yu", now=first)
    met, running = clocks_of(runtime, number, "progress_report")
    assert (met.state, met.met_at) == ("met", first)
    assert (running.state, running.started_at) == ("running", first)
    assert running.deadline == first + timedelta(hours=1)
    assert "reported" in running.rule
    [event] = events_of(runtime, number, "progress_reported")
    assert (event.actor, event.at, event.visibility) == ("eng:yu", first, "customer")
    assert event.payload["text"] == "PSU swapped, array rebuilding"
    assert (event.payload["clock"], event.payload["outcome"]) == ("progress_report", "met")
    assert event.payload["next_due"] == "2026-10-14T04:50:00.000000Z"


def test_a_late_report_is_recorded_as_breached_and_the_cadence_restarts(
    runtime: Runtime, desk: CaseDesk
) -> None:
    number = on_site(desk)
    late = ARRIVED + timedelta(hours=1, minutes=20)
    desk.report_progress(number, ReportProgress(text="still on it"), actor="eng:yu", now=late)
    breached, running = clocks_of(runtime, number, "progress_report")
    assert (breached.state, breached.breached_at) == ("breached", ARRIVED + timedelta(hours=1))
    assert running.deadline == late + timedelta(hours=1)
    [event] = events_of(runtime, number, "progress_reported")
    assert (event.payload["outcome"], event.visibility) == ("breached", "internal")


def test_a_final_report_ends_the_cadence_until_the_next_visit(
    runtime: Runtime, desk: CaseDesk
) -> None:
    number = on_site(desk)
    restored = ARRIVED + timedelta(minutes=40)
    final = ReportProgress(text="HIS restored, engineer leaving", final=True)
    desk.report_progress(number, final, actor="eng:yu", now=restored)
    [report] = clocks_of(runtime, number, "progress_report")
    assert report.state == "met"
    [event] = events_of(runtime, number, "progress_reported")
    assert (event.payload["final"], event.payload["next_due"]) == (True, None)
    with pytest.raises(IllegalTransition, match="no report is due"):
        desk.report_progress(number, ReportProgress(text="x"), actor="eng:yu", now=restored)
    # a second visit (for the spare part) starts the reports again
    back = restored + timedelta(hours=5)
    dimm = RequestOnsite(reason="swap the DIMM", override_reason="diagnosed on the last visit")
    desk.request_onsite(number, dimm, actor="svc-mgr", now=back)
    desk.onsite_arrived(number, Milestone(), actor="eng:yu", now=back + timedelta(hours=1))
    assert [c.state for c in clocks_of(runtime, number, "progress_report")] == ["met", "running"]


def test_resolve_stops_the_running_report_clock(runtime: Runtime, desk: CaseDesk) -> None:
    number = on_site(desk)
    desk.resolve(number, Resolve(resolution="fixed"), actor="eng:yu", now=ARRIVED)
    [report] = clocks_of(runtime, number, "progress_report")
    assert report.state == "met" and report.next_alert_at is None
    [resolved] = events_of(runtime, number, "resolved")
    assert {"clock": "progress_report", "outcome": "met"} in resolved.payload["clocks"]
    with pytest.raises(IllegalTransition):
        desk.report_progress(number, ReportProgress(text="x"), actor="eng:yu", now=ARRIVED)
    late = on_site(desk)
    desk.resolve(
        late, Resolve(resolution="fixed"), actor="eng:yu", now=ARRIVED + timedelta(hours=2)
    )
    assert clocks_of(runtime, late, "progress_report")[0].state == "breached"


def test_priority_changes_and_pauses_leave_the_report_cadence_alone(
    runtime: Runtime, desk: CaseDesk
) -> None:
    number = on_site(desk)
    before = clocks_of(runtime, number, "progress_report")[0]
    change = ChangePriority(priority="P1", reason="whole ward down")
    desk.change_priority(number, change, actor="mgr:liu", now=ARRIVED + timedelta(minutes=5))
    [event] = events_of(runtime, number, "priority_changed")
    assert "progress_report" not in {r["clock"] for r in event.payload["replanned"]}
    pending = ChangeStatus(status=Status.PENDING_CUSTOMER, cause="waiting for the ward")
    desk.change_status(number, pending, actor="eng:yu", now=ARRIVED + timedelta(minutes=6))
    after = clocks_of(runtime, number, "progress_report")[0]
    assert (after.state, after.deadline) == ("running", before.deadline)
    assert after.next_alert_at == before.next_alert_at


def test_a_contract_can_turn_reports_off(
    engine: Engine, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    folder = contracts_dir(tmp_path, (ONSITE, ONSITE + "  progress-report-every: null\n"))
    runtime = make_runtime(engine, sessions, folder)
    number = on_site(runtime.desk)
    assert clocks_of(runtime, number, "progress_report") == []
    assert clocks_of(runtime, number, "onsite_arrival")[0].state == "met"


# --- progress reports: escalation ----------------------------------------------------------------


def test_a_late_report_is_escalated_by_the_scheduler(runtime: Runtime, desk: CaseDesk) -> None:
    number = on_site(desk)
    desk.first_response(number, FirstResponse(agreed_content="on site"), actor="eng:yu", now=T0)
    due = ARRIVED + timedelta(hours=1)
    report = tick(runtime, now=due + timedelta(minutes=1))
    assert report.breaches >= 1 and not report.errors
    fired = [
        e
        for e in events_of(runtime, number, "escalated")
        if e.payload["clock"] == "progress_report"
    ]
    # the hospital's ladder: 50 % and 75 % warn the engineer (and the service manager), 100 %
    # is the breach (90 % is for P1 only; this is a P2)
    assert [e.payload["at"] for e in fired] == ["50%", "75%", "100%"]
    breach = fired[-1]
    assert breach.payload["breached"] is True
    assert [e.payload["newly_breached"] for e in fired].count(True) == 1  # noted once a tick
    assert breach.payload["planned"], "the breach notifies somebody"
    with runtime.sessions() as session:
        rows = session.scalars(
            select(orm.Notification).where(orm.Notification.event_seq == breach.seq)
        ).all()
    assert rows and all(r.variables["clock"] == "progress_report" for r in rows)
    assert all(r.template == "clock_breached" for r in rows)
    [clock] = clocks_of(runtime, number, "progress_report")
    assert clock.breached_at == due and clock.next_alert_at == due + timedelta(hours=2)
    # the report comes in late: the clock is breached, the next one starts clean
    desk.report_progress(
        number, ReportProgress(text="sorry"), actor="eng:yu", now=due + timedelta(minutes=10)
    )
    old, new = clocks_of(runtime, number, "progress_report")
    assert (old.state, new.state, new.alert_level) == ("breached", "running", 0)


def test_a_ladder_rung_for_progress_reports_only_and_urgent(
    engine: Engine, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    rung = (
        "  - at: 100%\n"
        "    notify: [service-manager, expert-group]\n"
        "    channels: [email]\n"
        "    clocks: [progress_report]\n"
        "    urgent: true\n"
    )
    folder = contracts_dir(tmp_path, (LADDER_START, LADDER_START + rung))
    runtime = make_runtime(engine, sessions, folder)
    steps = runtime.contracts.get("wdkn-hospital-2026").contract.escalation
    assert steps[0].urgent is True and steps[0].clocks == ["progress_report"]
    assert (
        len(ladder_for(steps, "progress_report", "P4"))
        == len(ladder_for(steps, "resolution", "P4")) + 1
    )
    # Thursday 22:00: the service manager's working hours are closed, yet the rung is urgent
    start = at("2026-10-15T20:00")
    number = on_site(runtime.desk, arrived=start + timedelta(hours=1), priority="P4")
    due = start + timedelta(hours=2)
    tick(runtime, now=due + timedelta(minutes=1))
    fired = [
        e
        for e in events_of(runtime, number, "escalated")
        if e.payload["clock"] == "progress_report"
        and e.payload["notify"] == ["service-manager", "expert-group"]
    ]
    [event] = fired
    assert event.payload["urgent"] is True
    roles = {p["role"] for p in event.payload["planned"]}
    assert roles == {"service-manager", "expert-group"}
    assert all(p["send_after"] == event.payload["alarm_at"] for p in event.payload["planned"])


# --- the urgency flag ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "priority", "at_text", "urgent"),
    [
        (None, "P1", "100%", True),  # our default: a P1 breach
        (None, "P2", "100%", False),
        (True, "P4", "50%", True),  # the contract says so
        (False, "P1", "100% + 2h", False),
    ],
)
def test_the_step_urgent_flag_is_honoured(
    flag: bool | None, priority: str, at_text: str, urgent: bool
) -> None:
    step = EscalationStep(at=at_text, notify=["engineer"], urgent=flag)
    [alert] = ladder_for([step], "progress_report", priority)
    assert is_urgent(alert.step, priority, alert.fraction) is urgent
    assert is_urgent(alert.step, priority, alert.fraction, override=not urgent) is (not urgent)


# --- contract settings -----------------------------------------------------------------------


def test_the_default_interval_is_one_hour_on_the_onsite_calendar(shipped: ContractSet) -> None:
    lc = shipped.get("wdkn-hospital-2026")
    assert lc.contract.onsite.progress_report_every == "1h"
    assert lc.contract.onsite.progress_interval == Duration(1, "h")
    deadline = sla.due(lc, "progress_report", at=ARRIVED)
    assert (deadline.kind, deadline.due, deadline.calendar) == (
        "progress_report",
        ARRIVED + timedelta(hours=1),
        "duty",
    )


def test_interval_setting_and_null(tmp_path: Path, pm: pluggy.PluginManager) -> None:
    folder = contracts_dir(tmp_path, (ONSITE, ONSITE + "  progress-report-every: 30m\n"))
    lc = load_contracts([folder], pm=pm).get("wdkn-hospital-2026")
    assert lc.contract.onsite.progress_interval == Duration(30, "m")
    assert sla.progress_report(lc, since=ARRIVED).due == ARRIVED + timedelta(minutes=30)
    off = contracts_dir(tmp_path / "off", (ONSITE, ONSITE + "  progress-report-every: null\n"))
    lc = load_contracts([off], pm=pm).get("wdkn-hospital-2026")
    assert lc.contract.onsite.progress_interval is None
    with pytest.raises(SlaError, match="progress-report-every"):
        sla.progress_report(lc, since=ARRIVED)


def workdir_with(tmp_path: Path, *edits: tuple[str, str]) -> tuple[Path, Path]:
    shutil.copy(CONTRACTS / "tiers.yaml", tmp_path / "tiers.yaml")
    if (CONTRACTS / "calendars").is_dir():
        shutil.copytree(CONTRACTS / "calendars", tmp_path / "calendars")
    return tmp_path, copy(tmp_path, HOSPITAL_FILE, *edits)


def test_a_bad_interval_names_file_line_and_path(tmp_path: Path, pm: pluggy.PluginManager) -> None:
    folder, path = workdir_with(tmp_path, (ONSITE, ONSITE + "  progress-report-every: hourly\n"))
    problem = only(problems_of(folder, pm))
    line = line_of(path, "hourly")
    assert (problem.file.endswith(HOSPITAL_FILE), problem.line) == (True, line)
    assert problem.column == col_of(path, line, "hourly")
    assert problem.path == "$.onsite.progress-report-every"
    assert problem.message.endswith("got 'hourly'")
    assert f"{HOSPITAL_FILE}:{line}:" in str(problem)


def test_a_zero_interval_is_refused(tmp_path: Path, pm: pluggy.PluginManager) -> None:
    folder, path = workdir_with(tmp_path, (ONSITE, ONSITE + "  progress-report-every: 0m\n"))
    problem = only(problems_of(folder, pm))
    assert problem.path == "$.onsite.progress-report-every"
    assert problem.line == line_of(path, "progress-report-every")
    assert "zero" in problem.message


def test_ladder_steps_take_urgent_and_the_expert_group(
    tmp_path: Path, pm: pluggy.PluginManager
) -> None:
    rung = "  - at: 100%\n    notify: [expert-group]\n    urgent: maybe\n"
    folder, path = workdir_with(tmp_path, (LADDER_START, LADDER_START + rung))
    problem = only(problems_of(folder, pm))
    assert (problem.path, problem.line) == ("$.escalation[0].urgent", line_of(path, "maybe"))
    fixed = path.read_text("utf-8").replace("urgent: maybe", "urgent: false")
    path.write_text(fixed, "utf-8")
    lc = load_contracts([folder], pm=pm).get("wdkn-hospital-2026")
    assert (lc.contract.escalation[0].notify, lc.contract.escalation[0].urgent) == (
        ["expert-group"],
        False,
    )


# --- HTTP ------------------------------------------------------------------------------------


def api_case(api: Api, **changes: Any) -> tuple[str, dict[str, str]]:
    agent = api.headers("agent")
    number = call(api, "POST", CASES, agent, json=open_body(api, **changes), expect=201).json()[
        "number"
    ]
    call(api, "POST", f"{CASES}/{number}/assign", agent, json={"engineer": "yu-tao"}, expect=200)
    return f"{CASES}/{number}", api.headers("engineer")


def test_api_hand_over_answers_the_case_with_the_event(api: Api) -> None:
    url, engineer = api_case(api)
    body = {"target": "vendor", "vendor": "Cisco TAC", "ticket": "SR 1", "reason": "RMA needed"}
    case = call(api, "POST", f"{url}/handovers", engineer, json=body, expect=200).json()
    assert case["status"] == "pending_vendor"
    [event] = [e for e in case["events"] if e["kind"] == "handed_over"]
    assert event["payload"]["target"] == "vendor" and event["payload"]["ticket"] == "SR 1"
    assert event["payload"]["previous"] == "engineer"
    assert event["actor"] and event["at"]
    back = {"target": "engineer", "reason": "fix from TAC", "expected_version": case["version"]}
    case = call(api, "POST", f"{url}/handovers", engineer, json=back, expect=200).json()
    assert case["status"] == "in_progress"
    stale = {**back, "expected_version": case["version"] - 1}
    call(api, "POST", f"{url}/handovers", engineer, json=stale, expect=409)


def test_api_hand_over_problems(api: Api) -> None:
    url, engineer = api_case(api)
    missing = call(
        api,
        "POST",
        f"{url}/handovers",
        engineer,
        json={"target": "digital-china", "reason": "lab"},
        expect=400,
    ).json()
    assert missing["title"] == "invalid request" and missing["type"] == "/problems/invalid-request"
    assert missing["errors"] == [
        {
            "path": "$.ticket",
            "message": "a hand-over to digital-china needs their ticket (case) number",
        }
    ]
    unknown = call(
        api, "POST", f"{url}/handovers", engineer, json={"target": "ibm", "reason": "x"}, expect=400
    ).json()
    assert [e["path"] for e in unknown["errors"]] == ["$.target"]
    call(
        api,
        "POST",
        f"{url}/handovers",
        api.headers("agent"),
        json={"target": "expert-group", "reason": "x"},
        expect=403,
    )
    after = call(api, "GET", url, engineer, expect=200).json()
    assert not [e for e in after["events"] if e["kind"] == "handed_over"]


def test_api_progress_reports(api: Api) -> None:
    url, engineer = api_case(api, emergency=True, site="山东省威海市文登区峰山路66号")
    early = call(api, "POST", f"{url}/progress-reports", engineer, json={"text": "x"}, expect=409)
    assert early.json()["title"] == "illegal transition"
    api.now += timedelta(hours=1)
    call(api, "POST", f"{url}/onsite-arrival", engineer, json={}, expect=200)
    api.now += timedelta(minutes=40)
    body = {"text": "switch replaced, testing", "visibility": "customer"}
    case = call(api, "POST", f"{url}/progress-reports", engineer, json=body, expect=200).json()
    reports = [c for c in case["clocks"] if c["kind"] == "progress_report"]
    assert [c["state"] for c in reports] == ["met", "running"]
    [event] = [e for e in case["events"] if e["kind"] == "progress_reported"]
    assert event["visibility"] == "customer" and event["payload"]["text"] == body["text"]
    empty = call(api, "POST", f"{url}/progress-reports", engineer, json={"text": ""}, expect=400)
    assert [e["path"] for e in empty.json()["errors"]] == ["$.text"]
    customer = api.headers("customer", customer="wdkn-hospital")
    call(api, "POST", f"{url}/progress-reports", customer, json={"text": "x"}, expect=403)
