"""Maintenance plans (issue 16 §1, §3, §5) on both back ends: occurrences on the contract's
calendar, inspections opened once (also by two schedulers at once), results, follow-ups and
the report, late inspections escalating, major change review, hotline change notices."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest
from concurrency import at_the_same_instant
from cryptography.fernet import Fernet
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from core.case import Category, Channel, RequestType
from core.commands import (
    AnnounceChange,
    Caller,
    FollowUp,
    ImplementChange,
    InspectionReport,
    InspectionResult,
    OpenCase,
    ProposeChange,
    ReviewChange,
)
from core.desk import CaseDesk, InvalidCommand
from core.desk.errors import ChangeNotApproved, InspectionIncomplete, NoticeTooShort
from core.errors import ConflictError
from core.jobs.inspections import due_occurrences, inspection_pass, plan_health, planner_of
from core.jobs.scheduler import tick
from core.loaded import ContractSet
from core.maintenance import devices_for, occurrences
from core.plugins import make_plugin_manager
from core.runtime import Runtime
from core.service_types import effective_service_type
from core.settings import Settings
from core.sources.contracts import check_contracts, load_contracts
from core.staff import load_staff
from core.store import orm
from core.store.audit import verify
from core.store.blobs import LocalBlobs
from core.store.secrets import CredentialVault

ROOT = Path(__file__).resolve().parent.parent
SH = ZoneInfo("Asia/Shanghai")
PORT, HOSPITAL, BANK = "sdgw-2025", "wdkn-hospital-2026", "whccb-huancui-2025"
CORE_ROOM = "monthly-core-room"
T = datetime(2026, 2, 2, 9, 5, tzinfo=SH)  # Monday; 1 February was a Sunday
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture(scope="module")
def contracts() -> ContractSet:
    return load_contracts([ROOT / "contracts"])


@pytest.fixture
def runtime(
    engine: Engine, sessions: sessionmaker[Session], contracts: ContractSet, tmp_path: Path
) -> Iterator[Runtime]:
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        contracts_dir=str(ROOT / "contracts"),
        var_dir=str(tmp_path / "var"),
    )
    staff = load_staff(ROOT / "contracts" / "staff" / "staff.yaml")
    desk = CaseDesk(
        sessions,
        contracts,
        vault=CredentialVault(Fernet.generate_key()),
        staff=lambda: staff,
        blobs=LocalBlobs(tmp_path / "attachments"),
    )
    pm = make_plugin_manager(load_entrypoints=False)
    yield Runtime(settings, engine, sessions, contracts, pm, desk)


def plan_of(contracts: ContractSet, contract_id: str, plan_id: str) -> Any:
    lc = contracts.get(contract_id)
    return lc, next(p for p in lc.contract.maintenance_plans if p.id == plan_id)


def events(runtime: Runtime, number: str, kind: str | None = None) -> list[orm.CaseEvent]:
    with runtime.sessions() as session:
        case_id = session.scalar(select(orm.Case.id).where(orm.Case.number == number))
        query = select(orm.CaseEvent).where(orm.CaseEvent.case_id == case_id)
        if kind is not None:
            query = query.where(orm.CaseEvent.kind == kind)
        return list(session.scalars(query.order_by(orm.CaseEvent.seq)))


def case_of(runtime: Runtime, number: str) -> orm.Case:
    with runtime.sessions() as session:
        case = session.scalars(select(orm.Case).where(orm.Case.number == number)).one()
        _ = list(case.clocks)
        return case


def port_inspection(runtime: Runtime) -> str:
    """The port's core-room inspection of February, opened by a scheduler pass."""
    done = inspection_pass(runtime, now=T)
    assert not done.errors
    with runtime.sessions() as session:
        number = session.scalar(
            select(orm.Inspection.case_number).where(
                orm.Inspection.contract_id == PORT, orm.Inspection.plan_id == CORE_ROOM
            )
        )
    assert number is not None
    return number


# --- occurrences on the contract's calendar (pure) -----------------------------------------------


def test_an_occurrence_on_a_closed_day_moves_by_the_plans_setting(contracts: ContractSet) -> None:
    lc, plan = plan_of(contracts, PORT, CORE_ROOM)
    window = (datetime(2026, 1, 25, tzinfo=SH), datetime(2026, 2, 10, tzinfo=SH))

    def starts(rule: str) -> list[datetime]:
        changed = msgspec.structs.replace(plan, on_closed_day=rule)
        return [o.start for o in occurrences(lc, changed, *window)]

    # 1 February 2026 is a Sunday: closed on working-hours
    assert starts("next-business-day") == [datetime(2026, 2, 2, 9, 0, tzinfo=SH)]
    assert starts("previous-business-day") == [datetime(2026, 1, 30, 9, 0, tzinfo=SH)]
    assert starts("keep") == [datetime(2026, 2, 1, 9, 0, tzinfo=SH)]
    (moved,) = occurrences(lc, plan, *window)
    assert moved.nominal == datetime(2026, 2, 1, 9, 0, tzinfo=SH)
    assert moved.moved is not None and "2026-02-01" in moved.moved
    # due within 3 business days: the end of the third business day after the start
    cal = lc.calendar(plan.calendar)
    assert moved.due.astimezone(SH).date() == cal.business_day(moved.start, 3)


def test_a_holiday_moves_the_inspection_past_the_whole_break(contracts: ContractSet) -> None:
    lc, plan = plan_of(contracts, PORT, CORE_ROOM)
    cal = lc.calendar(plan.calendar)
    (may,) = occurrences(
        lc, plan, datetime(2026, 4, 25, tzinfo=SH), datetime(2026, 5, 20, tzinfo=SH)
    )
    start_day = may.start.astimezone(SH).date()
    assert start_day > date(2026, 5, 1) and cal.is_business_day(start_day)
    assert not any(cal.is_business_day(date(2026, 5, d)) for d in range(1, start_day.day))


def test_occurrences_stay_inside_the_contract_period(contracts: ContractSet) -> None:
    lc, plan = plan_of(contracts, PORT, CORE_ROOM)
    found = list(
        occurrences(lc, plan, datetime(2025, 1, 1, tzinfo=SH), datetime(2027, 1, 1, tzinfo=SH))
    )
    period = lc.contract.period
    assert len(found) == 12  # October 2025 .. September 2026
    assert all(period.start <= o.start.astimezone(SH).date() <= period.end for o in found)


def test_the_plan_inspects_the_devices_at_its_sites(contracts: ContractSet) -> None:
    lc, plan = plan_of(contracts, PORT, CORE_ROOM)
    serials = [d.serial for d in devices_for(lc.contract, plan)]
    assert serials and all(
        lc.contract.device(s).site == plan.sites[0]  # type: ignore[union-attr]
        for s in serials
    )
    assert "219801A1NB8191Q0009X" not in serials  # the cold-chain park's switch


# --- contract errors name file:line ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("plan", "path", "message"),
    [
        ("rrule: FREQ=MONTHL", "$.maintenance-plans[0].rrule", "invalid RRULE"),
        ("rrule: DTSTART=20260101;FREQ=DAILY", "$.maintenance-plans[0].rrule", "DTSTART"),
        ("rrule: FREQ=DAILY\n    sites: [nowhere]", "$.maintenance-plans[0].sites[0]", "nowhere"),
        ("rrule: FREQ=DAILY\n    devices: [NOPE1]", "$.maintenance-plans[0].devices[0]", "NOPE1"),
        ("rrule: FREQ=DAILY\n    calendar: nope", "$.maintenance-plans[0].calendar", "nope"),
        ("rrule: FREQ=DAILY\n    on-closed-day: skip", "$.maintenance-plans[0].on-closed-day", ""),
    ],
)
def test_a_bad_plan_is_reported_with_file_and_line(
    tmp_path: Path, plan: str, path: str, message: str
) -> None:
    (tmp_path / "tiers.yaml").write_text(
        (ROOT / "contracts" / "tiers.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    text = (ROOT / "contracts" / "rushan-no1-school.yaml").read_text(encoding="utf-8")
    head = text[: text.index("maintenance-plans:")]
    body = f"maintenance-plans:\n  - id: p\n    title: t\n    {plan}\n"
    (tmp_path / "c.yaml").write_text(head + body, encoding="utf-8")
    loaded, problems = check_contracts([tmp_path])
    assert loaded is None and problems
    first = problems[0]
    assert first.file.endswith("c.yaml") and first.line is not None
    assert first.line > head.count("\n")  # points into the plan, not at the file
    assert first.path.startswith(path) and message in first.message


# --- the scheduler opens each occurrence once -----------------------------------------------------


def test_a_pass_opens_the_days_inspections_with_checklist_and_devices(
    runtime: Runtime, contracts: ContractSet
) -> None:
    due = due_occurrences(contracts, now=T, catch_up=timedelta(days=7))
    assert {(o.contract_id, o.plan_id) for o in due} == {
        (PORT, CORE_ROOM),
        (HOSPITAL, "weekly-info-center"),
        (BANK, "monthly-machine-room"),
    }
    number = port_inspection(runtime)
    case = case_of(runtime, number)
    lc, plan = plan_of(contracts, PORT, CORE_ROOM)
    occurrence = next(o for o in due if o.contract_id == PORT)
    assert case.category == Category.PERIODIC_INSPECTION and case.channel == Channel.SCHEDULED
    assert case.appointment_start == occurrence.start and case.appointment_end == occurrence.due
    resolution = next(c for c in case.clocks if c.kind == "resolution")
    assert resolution.deadline == occurrence.due  # the inspection's clock
    (opened,) = events(runtime, number, "inspection_opened")
    service = effective_service_type("periodic_inspection", lc.contract.service_types)
    assert [i["id"] for i in opened.payload["checklist"]] == list(service.checklist_ids)
    assert [d["serial"] for d in opened.payload["devices"]] == [
        d.serial for d in devices_for(lc.contract, plan)
    ]
    assert opened.actor == "system:scheduler"
    again = inspection_pass(runtime, now=T + timedelta(minutes=15))
    assert again.opened == [] and again.due == 0  # the planner knows the next starts
    planner_of(runtime).next.clear()  # as another scheduler process: computes them anew
    again = inspection_pass(runtime, now=T + timedelta(minutes=15))
    assert again.opened == [] and again.due == 3  # all claimed already
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(orm.Inspection)) == 3
        assert verify(session, key=None).ok


def test_two_schedulers_at_once_open_each_occurrence_once(
    runtime: Runtime, contracts: ContractSet
) -> None:
    due = due_occurrences(contracts, now=T, catch_up=timedelta(days=7))
    opened = at_the_same_instant(*[lambda: runtime.desk.open_inspections(due, now=T)] * 2)
    assert sorted(len(numbers) for numbers in opened) == [0, 3]
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(orm.Case)) == 3
        rows = session.scalars(select(orm.Inspection)).all()
        assert len(rows) == 3 and all(row.case_number for row in rows)


def test_an_inspection_missed_while_down_opens_late_and_escalates(
    runtime: Runtime, contracts: ContractSet
) -> None:
    late = T + timedelta(days=5)  # past the 3 business days
    done = inspection_pass(runtime, now=late)
    assert len(done.opened) == 3  # within the catch-up: opened late, not lost
    report = tick(runtime, now=late)
    assert report.breaches >= 3
    with runtime.sessions() as session:
        number = session.scalar(
            select(orm.Inspection.case_number).where(orm.Inspection.contract_id == PORT)
        )
        health = plan_health(session, contracts, now=late, catch_up=timedelta(days=7))
    escalated = [e for e in events(runtime, str(number), "escalated") if e.payload["breached"]]
    assert escalated and escalated[0].payload["clock"] == "resolution"
    port = next(h for h in health if h["plan"] == CORE_ROOM)
    assert port["late"] == 1 and port["opened"][0]["case"] == number
    # October .. January were never opened and are past the catch-up: missed
    assert len(port["missed"]) == 4
    assert port["next"].startswith("2026-03-02")


def test_beyond_the_catch_up_nothing_is_opened(runtime: Runtime) -> None:
    done = inspection_pass(runtime, now=T + timedelta(days=8))
    with runtime.sessions() as session:
        plans = session.scalars(select(orm.Inspection.plan_id)).all()
    assert len(done.opened) == len(plans) == 1
    assert plans == ["weekly-info-center"]  # its Monday; the 2 February ones are too old


def test_a_catch_up_of_zero_days_turns_the_schedulers_inspections_off(
    runtime: Runtime,
) -> None:
    off = msgspec.structs.replace(runtime.settings, inspection_catch_up_days=0)
    runtime.settings = off
    assert inspection_pass(runtime, now=T).due == 0
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(orm.Case)) == 0


# --- results, follow-ups, report ------------------------------------------------------------------


def test_a_finding_opens_a_follow_up_linked_to_the_inspection(runtime: Runtime) -> None:
    number = port_inspection(runtime)
    (opened,) = events(runtime, number, "inspection_opened")
    serials = [d["serial"] for d in opened.payload["devices"]]
    desk, now = runtime.desk, T + timedelta(hours=2)
    desk.record_inspection_result(
        number, InspectionResult(serial=serials[0], outcome="ok"), actor="eng:yu-tao", now=now
    )
    finding = InspectionResult(
        serial=serials[1],
        outcome="finding",
        severity="major",
        note="电源模块 PS2 告警",
        follow_up=FollowUp(),
    )
    desk.record_inspection_result(number, finding, actor="eng:yu-tao", now=now)
    result = events(runtime, number, "inspection_result")[-1]
    follow = result.payload["follow_up"]
    assert follow and follow != number
    follow_case = case_of(runtime, follow)
    assert follow_case.priority == "P2" and follow_case.device_serial == serials[1]
    (link,) = events(runtime, follow, "follow_up_of")
    assert link.payload["inspection"] == number and link.payload["severity"] == "major"
    with pytest.raises(InspectionIncomplete, match=serials[2]):
        desk.record_inspection_report(
            number, InspectionReport(summary="s", attachments=["0" * 64]), actor="e", now=now
        )
    for serial in serials[2:]:
        ok = InspectionResult(serial=serial, outcome="ok")
        desk.record_inspection_result(number, ok, actor="eng:yu-tao", now=now)
    ref = desk.attach(number, PDF, name="巡检报告.pdf", claimed=None, actor="eng:yu-tao", now=now)
    report = InspectionReport(summary="2 月巡检完成", attachments=[ref.sha256])
    desk.record_inspection_report(number, report, actor="eng:yu-tao", now=now)
    (reported,) = events(runtime, number, "inspection_reported")
    assert reported.payload["findings"] == 1 and reported.payload["ok"] == len(serials) - 1
    assert reported.payload["attachments"][0]["sha256"] == ref.sha256


def test_results_are_for_the_inspections_devices_only(runtime: Runtime) -> None:
    number = port_inspection(runtime)
    with pytest.raises(InvalidCommand, match="not among the devices"):
        runtime.desk.record_inspection_result(
            number,
            InspectionResult(serial="219801A1NB8191Q0009X", outcome="ok"),
            actor="e",
            now=T,
        )
    other = runtime.desk.open_case(consulting(), actor="agent", now=T).number
    with pytest.raises(InvalidCommand, match="not an inspection"):
        runtime.desk.record_inspection_result(
            other, InspectionResult(serial="FOC2334Y1AB", outcome="ok"), actor="e", now=T
        )


def test_a_finding_needs_its_severity() -> None:
    with pytest.raises(msgspec.ValidationError, match="severity"):
        msgspec.convert({"serial": "X", "outcome": "finding"}, InspectionResult)


# --- major change review --------------------------------------------------------------------------


def consulting() -> OpenCase:
    return OpenCase(
        contract_id=PORT,
        caller=Caller(name="鞠文涛"),
        summary="core switch IOS upgrade",
        category=Category.CONSULTING,
        request_type=RequestType.PROBLEM_REPORT,
        priority="P3",
        channel=Channel.PHONE,
        device_serial="FOC2334Y1AB",
    )


def test_a_major_change_is_carried_out_only_after_the_experts_approve(runtime: Runtime) -> None:
    desk = runtime.desk
    number = desk.open_case(consulting(), actor="agent", now=T).number
    plan = ProposeChange(title="IOS-XE 17.9 升级", change_kind="upgrade", major=True, plan="步骤…")
    change = desk.propose_change(number, plan, actor="eng:yu-tao", now=T).events[0]
    with pytest.raises(ChangeNotApproved, match="not reviewed"):
        desk.implement_change(number, ImplementChange(change=change, note="n"), actor="e", now=T)
    rejected = ReviewChange(change=change, decision="rejected", comment="回退方案不完整")
    desk.review_change(number, rejected, actor="expert:gao-feng", now=T + timedelta(hours=1))
    with pytest.raises(ChangeNotApproved, match="回退方案不完整") as refused:
        desk.implement_change(number, ImplementChange(change=change, note="n"), actor="e", now=T)
    assert "expert:gao-feng" in refused.value.detail
    with pytest.raises(ConflictError, match="already rejected"):
        desk.review_change(number, rejected, actor="expert:park-jiho", now=T)
    second = desk.propose_change(number, plan, actor="eng:yu-tao", now=T).events[0]
    approve = ReviewChange(change=second, decision="approved", comment="同意")
    reviewed = desk.review_change(number, approve, actor="expert:park-jiho", now=T).events[0]
    done = ImplementChange(change=second, note="升级完成")
    desk.implement_change(number, done, actor="eng:yu-tao", now=T + timedelta(hours=3))
    (implemented,) = events(runtime, number, "change_implemented")
    assert implemented.payload["approval"] == reviewed
    review = next(e for e in events(runtime, number, "change_reviewed") if e.seq == reviewed)
    assert review.actor == "expert:park-jiho" and review.payload["reviewer"] == "expert:park-jiho"
    with pytest.raises(ConflictError, match="already carried out"):
        desk.implement_change(number, done, actor="eng:yu-tao", now=T)


def test_a_minor_change_needs_no_review(runtime: Runtime) -> None:
    desk = runtime.desk
    number = desk.open_case(consulting(), actor="agent", now=T).number
    minor = ProposeChange(title="端口描述", change_kind="other", major=False, plan="改描述")
    change = desk.propose_change(number, minor, actor="eng:yu-tao", now=T).events[0]
    with pytest.raises(InvalidCommand, match="not a major change"):
        desk.review_change(
            number, ReviewChange(change=change, decision="approved", comment="c"), actor="x", now=T
        )
    desk.implement_change(number, ImplementChange(change=change, note="done"), actor="e", now=T)
    (implemented,) = events(runtime, number, "change_implemented")
    assert implemented.payload["approval"] is None


# --- hotline change notice ------------------------------------------------------------------------


def hotline(effective: datetime, **changes: Any) -> AnnounceChange:
    values: dict[str, Any] = {
        "subject": "hotline",
        "old_value": "0631-5187755",
        "new_value": "0631-5187766",
        "effective_at": effective,
    }
    return AnnounceChange(**{**values, **changes})


def test_a_hotline_change_is_announced_three_days_ahead_or_forced(
    runtime: Runtime, contracts: ContractSet
) -> None:
    desk = runtime.desk
    with pytest.raises(NoticeTooShort, match="3 days"):
        desk.announce_change(PORT, hotline(T + timedelta(days=2)), actor="pm:wang-lei", now=T)
    with pytest.raises(InvalidCommand, match="force_reason"):
        desk.announce_change(
            PORT, hotline(T + timedelta(days=1), force=True), actor="pm:wang-lei", now=T
        )
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(orm.ServiceNotice)) == 0
    notice = desk.announce_change(PORT, hotline(T + timedelta(days=3)), actor="pm:wang-lei", now=T)
    forced = desk.announce_change(
        PORT,
        hotline(T + timedelta(hours=12), force=True, force_reason="电信线路故障, 临时改号"),
        actor="pm:wang-lei",
        now=T,
    )
    assert not notice.forced and forced.forced and forced.force_reason
    contacts = [c for c in contracts.get(PORT).contract.customer.contacts if c.email]
    with runtime.sessions() as session:
        rows = session.scalars(
            select(orm.Notification).where(orm.Notification.template == "service_notice")
        ).all()
    assert len(rows) == 2 * len(contacts)
    assert all(row.case_id is None and row.channel == "email" for row in rows)
    assert {row.recipient["email"] for row in rows} == {c.email for c in contacts}
    assert [n.id for n in desk.notices(PORT)] == [notice.id, forced.id]


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_the_notice_email_says_what_changes_and_when(runtime: Runtime, locale: str) -> None:
    from core.notify import Notice, Recipient
    from plugins.email_notify.sender import render

    runtime.desk.announce_change(PORT, hotline(T + timedelta(days=5)), actor="pm", now=T)
    with runtime.sessions() as session:
        row = session.scalars(select(orm.Notification)).first()
    assert row is not None
    person = Recipient(name=row.recipient["name"], email=row.recipient["email"], locale=locale)
    notice = Notice(
        idempotency_key=row.idempotency_key,
        channel="email",
        recipient=person,
        template=row.template,
        variables=row.variables,
    )
    rendered = render(notice)
    assert "0631-5187766" in rendered.text and "0631-5187755" in rendered.text
    assert "2026-02-07 09:05" in rendered.text  # effective, in the contract's zone
    assert row.recipient["name"] in rendered.text


def test_the_command_line_opens_the_due_inspections_and_shows_plan_health(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from cli.main import main

    monkeypatch.setenv("CASETRACK_DATABASE_URL", runtime.settings.database_url)
    monkeypatch.setenv("CASETRACK_CONTRACTS_DIR", runtime.settings.contracts_dir)
    monkeypatch.setenv("CASETRACK_VAR_DIR", runtime.settings.var_dir)
    assert main(["maintenance", "run-once", "--at", T.isoformat()]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "inspections: 3 due, 3 opened" and len(out) == 4
    assert main(["maintenance", "plans"]) == 0
    health = json.loads(capsys.readouterr().out)
    assert sum(len(plan["opened"]) for plan in health) == 3
    body = json.dumps(msgspec.to_builtins(hotline(datetime.now(SH) + timedelta(days=1))))
    assert main(["maintenance", "announce", PORT, "--as", "wang-lei", "--json", body]) == 1
    assert "3 days ahead" in capsys.readouterr().err
