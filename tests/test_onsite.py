"""On-site dispatch and the on-site procedure (issue 13 §3, §5): the handbook's scenarios on
both back ends, through the desk (HTTP and upload: tests/test_onsite_api.py)."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.case import Category, Channel, RequestType
from core.commands import (
    Caller,
    CallLog,
    EmergencyOnsite,
    Milestone,
    OnsiteApproveOperation,
    OnsiteApproveSolution,
    OnsitePerformOperation,
    OnsitePrepare,
    OnsiteSignReport,
    OnsiteSignRequest,
    OnsiteTraining,
    OpenCase,
    RequestOnsite,
)
from core.contract import parse_duration
from core.desk import (
    ApprovalRequired,
    CaseDesk,
    InvalidCommand,
    NotEntitled,
    RemoteSupportFirst,
    StepOutOfOrder,
    UnknownEngineer,
    WrongSignatory,
)
from core.loaded import ContractSet
from core.sources.contracts import load_contracts
from core.staff import load_staff
from core.store import audit, orm
from core.store.blobs import LocalBlobs, UnknownAttachment

ROOT = Path(__file__).resolve().parent.parent
SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 6, 10, 10, 0, tzinfo=SH)  # a Wednesday, working hours
PORT = "sdgw-2025"  # 石岛 (荣成): zone rongcheng; no onsite-labour
SWITCH = "FOC2334Y1AB"
SITE_LEAD, SUPERVISOR = "毕红梅", "汤立新"  # the port's contacts by role
PLAN_FROM, PLAN_TO = "2026-06-15", "2026-06-20"
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture(scope="module")
def contracts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's contracts with the port's "other" zone left to negotiation (null)
    and a support plan for the Dragon Boat week (R-EXTRA)."""
    target = tmp_path_factory.mktemp("contracts") / "contracts"
    shutil.copytree(ROOT / "contracts", target)
    port = target / "shidao-port.yaml"
    text = port.read_text(encoding="utf-8")
    text = text.replace("rushan: 7h, other: 24h}", "rushan: 7h, other: null}")
    text += f"""
support-plans:
  - id: dragon-boat-2026
    from: {PLAN_FROM}
    to: {PLAN_TO}
    engineers: [gao-feng, li-qiang]
    response: {{first-response: 10m, onsite-arrival: 1h, emergency-arrival: 30m}}
    extra-spares:
      - {{model: Cisco C9300-NM-8X, quantity: 2, note: 驻厂备件}}
    note: 端午节重要通信保障
"""
    port.write_text(text, encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def contracts(contracts_dir: Path) -> ContractSet:
    return load_contracts([contracts_dir])


@pytest.fixture
def blobs(tmp_path: Path) -> LocalBlobs:
    return LocalBlobs(tmp_path / "attachments")


@pytest.fixture
def desk(
    sessions: sessionmaker[Session], contracts: ContractSet, contracts_dir: Path, blobs: LocalBlobs
) -> CaseDesk:
    staff = load_staff(contracts_dir / "staff" / "staff.yaml")
    return CaseDesk(sessions, contracts, prefix="MS", staff=lambda: staff, blobs=blobs)


def opened(desk: CaseDesk, now: datetime = T0, **changes: Any) -> str:
    values: dict[str, Any] = {
        "contract_id": PORT,
        "caller": Caller(name="鞠文涛"),
        "summary": "core switch down",
        "category": Category.CONSULTING,
        "request_type": RequestType.PROBLEM_REPORT,
        "priority": "P1",
        "channel": Channel.PHONE,
        "device_serial": SWITCH,
        "emergency": False,
    }
    return desk.open_case(OpenCase(**{**values, **changes}), actor="agent", now=now).number


def phoned(desk: CaseDesk, number: str, now: datetime = T0) -> None:
    call = CallLog(direction="outbound", party="鞠文涛", summary="phone support could not fix it")
    desk.log_call(number, call, actor="eng:yu-tao", now=now)


def events(sessions: sessionmaker[Session], number: str, kind: str | None = None) -> list[Any]:
    with sessions() as session:
        case_id = session.scalar(select(orm.Case.id).where(orm.Case.number == number))
        query = select(orm.CaseEvent).where(orm.CaseEvent.case_id == case_id)
        if kind is not None:
            query = query.where(orm.CaseEvent.kind == kind)
        return list(session.scalars(query.order_by(orm.CaseEvent.seq)))


def clock(sessions: sessionmaker[Session], number: str, kind: str) -> orm.SlaClock:
    with sessions() as session:
        case = session.scalars(select(orm.Case).where(orm.Case.number == number)).one()
        return next(c for c in reversed(case.clocks) if c.kind == kind)


# --- who starts it, and when it is due ---------------------------------------------------------


def test_an_emergency_at_a_rongcheng_site_is_due_within_the_zone_emergency_time(
    desk: CaseDesk, sessions: sessionmaker[Session], contracts: ContractSet
) -> None:
    table = contracts.get(PORT).contract.onsite.emergency["rongcheng"]
    assert table == "2h"  # the handbook's 荣成 < 2 h
    due = T0 + parse_duration(table).timedelta
    # an emergency case: the clock starts at the opening, the engineer goes straight there
    number = opened(desk, emergency=True)
    assert clock(sessions, number, "onsite_arrival").deadline == due
    go = EmergencyOnsite(reason="core switch down, port cranes stopped")
    desk.dispatch_emergency(number, go, actor="eng:lin-haitao", now=T0 + timedelta(minutes=5))
    [requested] = events(sessions, number, "onsite_requested")
    assert requested.payload["emergency"] is True
    assert requested.payload["deadline"] == "2026-06-10T04:00:00.000000Z" == _iso(due)
    assert requested.payload["engineer"] == "lin-haitao"  # Rongcheng's field engineer, weekdays
    assert requested.payload["engineer_source"] == "zone-duty"
    # a case not opened as an emergency: the engineer's dispatch starts the emergency clock
    later = T0 + timedelta(hours=1)
    other = opened(desk, now=later)
    desk.dispatch_emergency(other, go, actor="eng:lin-haitao", now=later)
    assert clock(sessions, other, "onsite_arrival").deadline == later + timedelta(hours=2)
    assert "emergency on-site, zone rongcheng" in clock(sessions, other, "onsite_arrival").rule
    # on site: the emergency's progress reports start (限时上报)
    desk.onsite_arrived(other, Milestone(), actor="eng:lin-haitao", now=later + timedelta(hours=1))
    assert clock(sessions, other, "progress_report").state == "running"


def test_a_normal_request_comes_after_phone_or_remote_support(
    desk: CaseDesk, sessions: sessionmaker[Session]
) -> None:
    number = opened(desk)
    with pytest.raises(RemoteSupportFirst, match="override_reason"):
        desk.request_onsite(number, RequestOnsite(reason="needs hands"), actor="sm", now=T0)
    assert [e.kind for e in events(sessions, number)] == ["opened"]
    phoned(desk, number)
    desk.request_onsite(number, RequestOnsite(reason="needs hands"), actor="sm", now=T0)
    assert clock(sessions, number, "onsite_arrival").deadline == T0 + timedelta(hours=5)
    # or with an explicit reason, kept as an internal note
    other = opened(desk)
    why = RequestOnsite(reason="needs hands", override_reason="the site has no phone line")
    desk.request_onsite(other, why, actor="sm", now=T0)
    note = events(sessions, other)[-1]
    assert (note.kind, note.visibility) == ("note", "internal")
    assert "the site has no phone line" in note.payload["text"]


def test_the_other_zone_is_refused_without_a_negotiated_value(
    desk: CaseDesk, sessions: sessionmaker[Session]
) -> None:
    number = opened(desk, site="山东省青岛市市南区香港中路10号", device_serial=None)
    phoned(desk, number)
    with pytest.raises(NotEntitled, match=r"\$\.onsite\.normal\.other is null"):
        desk.request_onsite(number, RequestOnsite(reason="needs hands"), actor="sm", now=T0)
    assert events(sessions, number, "onsite_requested") == []
    # the emergency table negotiated a value for it: 8h
    desk.dispatch_emergency(number, EmergencyOnsite(reason="outage"), actor="eng:x", now=T0)
    assert clock(sessions, number, "onsite_arrival").deadline == T0 + timedelta(hours=8)


# --- entitlement --------------------------------------------------------------------------------


def test_onsite_labour_is_refused_where_not_bought_and_recorded_chargeable_by_choice(
    desk: CaseDesk, sessions: sessionmaker[Session]
) -> None:
    number = opened(desk)
    phoned(desk, number)
    swap = RequestOnsite(reason="swap the supervisor module", part_swap=True)
    with pytest.raises(NotEntitled, match=r"onsite labour not purchased.*chargeable: true"):
        desk.request_onsite(number, swap, actor="sm", now=T0)
    no_reason = RequestOnsite(reason="swap", part_swap=True, chargeable=True)
    with pytest.raises(InvalidCommand, match="chargeable_reason"):
        desk.request_onsite(number, no_reason, actor="sm", now=T0)
    assert events(sessions, number, "onsite_requested") == []
    chargeable = RequestOnsite(
        reason="swap",
        part_swap=True,
        chargeable=True,
        chargeable_reason="customer agreed to pay the standard labour rate (quote Q-118)",
    )
    desk.request_onsite(number, chargeable, actor="sm", now=T0)
    [requested] = events(sessions, number, "onsite_requested")
    assert requested.payload["chargeable"] is True and requested.payload["part_swap"] is True
    assert requested.payload["chargeable_reason"].startswith("customer agreed")


# --- engineers ----------------------------------------------------------------------------------


def test_auto_assignment_picks_the_on_duty_engineer_of_the_zone(
    desk: CaseDesk, sessions: sessionmaker[Session]
) -> None:
    go = EmergencyOnsite(reason="outage")
    picked = {}
    for label, at in (
        ("weekday", T0),  # Wed 10:00
        ("night", T0 + timedelta(hours=10)),  # Wed 20:00
        ("saturday", T0 + timedelta(days=3)),  # no Rongcheng shift: the case's engineer
    ):
        number = opened(desk, now=at)
        desk.dispatch_emergency(number, go, actor="eng:x", now=at)
        [requested] = events(sessions, number, "onsite_requested")
        picked[label] = requested.payload.get("engineer")
    assert picked == {"weekday": "lin-haitao", "night": "yu-zhiqiang", "saturday": None}
    number = opened(desk)
    with pytest.raises(UnknownEngineer, match="nobody"):
        desk.dispatch_emergency(
            number, EmergencyOnsite(reason="x", engineer="nobody"), actor="eng:x", now=T0
        )
    desk.dispatch_emergency(number, EmergencyOnsite(reason="x", engineer="曲航"), actor="e", now=T0)
    assert events(sessions, number, "onsite_requested")[0].payload["engineer"] == "qu-hang"


# --- R-EXTRA: support plans -------------------------------------------------------------------


def test_a_support_plan_overrides_the_response_during_its_dates_only(
    desk: CaseDesk, sessions: sessionmaker[Session]
) -> None:
    during = datetime(2026, 6, 16, 9, 0, tzinfo=SH)
    number = opened(desk, now=during)
    kinds = [(e.kind, e.actor) for e in events(sessions, number)]
    assert kinds == [("opened", "agent"), ("assigned", "system")]
    assert events(sessions, number, "assigned")[0].payload["engineer"] == "gao-feng"
    response = clock(sessions, number, "first_response")
    assert response.deadline == during + timedelta(minutes=10)
    assert response.rule.startswith("support plan dragon-boat-2026 (2026-06-15..2026-06-20)")
    phoned(desk, number, during)
    desk.request_onsite(number, RequestOnsite(reason="hands"), actor="sm", now=during)
    arrival = clock(sessions, number, "onsite_arrival")
    assert arrival.deadline == during + timedelta(hours=1)
    assert "support plan dragon-boat-2026" in arrival.rule
    [requested] = events(sessions, number, "onsite_requested")
    assert (requested.payload["engineer"], requested.payload["engineer_source"]) == (
        "gao-feng",
        "support-plan",
    )
    assert requested.payload["support_plan"] == "dragon-boat-2026"
    # the day after the plan: the contract's tables, no stationed engineer
    after = datetime(2026, 6, 21, 9, 0, tzinfo=SH)
    plain = opened(desk, now=after)
    assert [e.kind for e in events(sessions, plain)] == ["opened"]
    assert clock(sessions, plain, "first_response").deadline == after + timedelta(hours=1)
    phoned(desk, plain, after)
    desk.request_onsite(plain, RequestOnsite(reason="hands"), actor="sm", now=after)
    assert clock(sessions, plain, "onsite_arrival").deadline == after + timedelta(hours=5)


# --- the procedure ------------------------------------------------------------------------------


def test_the_procedure_in_order_and_a_restart_only_with_the_supervisors_approval(
    desk: CaseDesk, sessions: sessionmaker[Session], blobs: LocalBlobs
) -> None:
    number = opened(desk)
    phoned(desk, number)
    at = T0 + timedelta(minutes=10)
    sign = OnsiteSignRequest(signed_by=SITE_LEAD)
    with pytest.raises(StepOutOfOrder, match="no on-site visit"):
        desk.onsite_request_signed(number, sign, actor="eng:lin-haitao", now=at)
    desk.request_onsite(number, RequestOnsite(reason="remote could not fix"), actor="sm", now=at)
    prepare = OnsitePrepare(files=["客户档案 sdgw", "设备档案 FOC2334Y1AB", "MS-2026-000012"])
    desk.onsite_prepared(number, prepare, actor="eng:lin-haitao", now=at)
    report = OnsiteSignReport(signed_by=SITE_LEAD, summary="x")
    with pytest.raises(StepOutOfOrder, match="not arrived"):
        desk.onsite_report_signed(number, report, actor="eng:lin-haitao", now=at)
    on_site = at + timedelta(hours=2)
    desk.onsite_arrived(number, Milestone(note="on site"), actor="eng:lin-haitao", now=on_site)
    with pytest.raises(StepOutOfOrder, match="already on site"):
        desk.onsite_prepared(number, prepare, actor="eng:lin-haitao", now=on_site)
    solution = OnsiteApproveSolution(approved_by=SITE_LEAD, solution="reload the supervisor")
    with pytest.raises(StepOutOfOrder, match="has not signed"):
        desk.onsite_solution_approved(number, solution, actor="eng:lin-haitao", now=on_site)
    with pytest.raises(WrongSignatory, match=SITE_LEAD):
        desk.onsite_request_signed(
            number, OnsiteSignRequest(signed_by="路人甲"), actor="eng:lin-haitao", now=on_site
        )
    desk.onsite_request_signed(number, sign, actor="eng:lin-haitao", now=on_site)
    desk.onsite_solution_approved(number, solution, actor="eng:lin-haitao", now=on_site)
    restart = OnsitePerformOperation(operation="restart", description="reload the core switch")
    with pytest.raises(ApprovalRequired, match="maintenance supervisor"):
        desk.onsite_operation_performed(number, restart, actor="eng:lin-haitao", now=on_site)
    wrong = OnsiteApproveOperation(operation="restart", approved_by=SITE_LEAD)
    with pytest.raises(WrongSignatory, match="maintenance supervisor"):
        desk.onsite_operation_approved(number, wrong, actor="eng:lin-haitao", now=on_site)
    approve = OnsiteApproveOperation(operation="restart", approved_by=SUPERVISOR)
    desk.onsite_operation_approved(number, approve, actor="eng:lin-haitao", now=on_site)
    reinstall = OnsitePerformOperation(operation="reinstall", description="reinstall IOS")
    with pytest.raises(ApprovalRequired):  # approved was a restart, not a reinstall
        desk.onsite_operation_performed(number, reinstall, actor="eng:lin-haitao", now=on_site)
    desk.onsite_operation_performed(number, restart, actor="eng:lin-haitao", now=on_site)
    with pytest.raises(ApprovalRequired):  # one approval, one operation
        desk.onsite_operation_performed(number, restart, actor="eng:lin-haitao", now=on_site)
    # the signed report carries its scan: stored by hash, the hash in the event
    ref = desk.attach(
        number, PDF, name="report.pdf", claimed="application/pdf", actor="eng", now=on_site
    )
    signed = OnsiteSignReport(signed_by=SITE_LEAD, summary="restored", attachments=[ref.sha256])
    desk.onsite_report_signed(number, signed, actor="eng:lin-haitao", now=on_site)
    training = OnsiteTraining(topic="reading the switch logs", attendees=["鞠文涛"])
    desk.onsite_training_given(number, training, actor="eng:lin-haitao", now=on_site)
    kinds = [(e.kind, e.visibility) for e in events(sessions, number)][-8:]
    assert kinds == [
        ("onsite_prepared", "internal"),
        ("onsite_arrived", "customer"),
        ("onsite_request_signed", "customer"),
        ("onsite_solution_approved", "customer"),
        ("onsite_operation_approved", "customer"),
        ("onsite_operation_performed", "customer"),
        ("onsite_report_signed", "customer"),
        ("onsite_training_given", "customer"),
    ]
    [report_event] = events(sessions, number, "onsite_report_signed")
    assert report_event.payload["attachments"] == [
        {
            "sha256": ref.sha256,
            "size": len(PDF),
            "media_type": "application/pdf",
            "name": "report.pdf",
        }
    ]
    [performed] = events(sessions, number, "onsite_operation_performed")
    approved_seq = events(sessions, number, "onsite_operation_approved")[0].seq
    assert performed.payload["approval"] == approved_seq
    # the audit rehashes the blob: intact, then tampered
    with sessions() as session:
        report_ = audit.verify(session, number, blobs=blobs)
        assert report_.ok and report_.attachments_checked == 1, report_.lines()
        blobs.path(ref.sha256).write_bytes(PDF + b"forged")
        tampered = audit.verify(session, number, blobs=blobs)
        assert [f.detail for f in tampered.findings] == [
            f"event {report_event.seq} (onsite_report_signed): attachment {ref.sha256} was "
            f"changed: its bytes now hash to {_sha(PDF + b'forged')}"
        ]
        blobs.path(ref.sha256).unlink()
        missing = audit.verify(session, number, blobs=blobs)
        assert "is missing from the store" in missing.findings[0].detail


def test_a_step_naming_a_file_never_uploaded_to_the_case_is_refused(desk: CaseDesk) -> None:
    number = opened(desk, emergency=True)
    other = opened(desk)
    ref = desk.attach(other, PDF, name=None, claimed=None, actor="eng", now=T0)
    desk.onsite_arrived(number, Milestone(), actor="eng", now=T0 + timedelta(minutes=50))
    sign = OnsiteSignRequest(signed_by=SITE_LEAD, attachments=[ref.sha256])
    with pytest.raises(UnknownAttachment, match="no uploaded attachment"):
        desk.onsite_request_signed(number, sign, actor="eng", now=T0 + timedelta(hours=1))


def _iso(moment: datetime) -> str:
    from core.store.history import utc_iso

    return utc_iso(moment)


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def test_contracts_check_locates_a_bad_support_plan(tmp_path: Path) -> None:
    from core.errors import ContractError

    shutil.copy(ROOT / "contracts" / "tiers.yaml", tmp_path / "tiers.yaml")
    text = (ROOT / "contracts" / "shidao-port.yaml").read_text(encoding="utf-8")
    text += """
support-plans:
  - id: festival
    from: 2026-02-20
    to: 2026-02-10
  - id: summer
    from: 2026-07-01
    to: 2026-10-15
    response: {onsite-arrival: 0m}
"""
    (tmp_path / "port.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ContractError) as failed:
        load_contracts([tmp_path])
    line = text.splitlines().index("    to: 2026-02-10") + 1
    problems = [str(p) for p in failed.value.problems]
    name = tmp_path / "port.yaml"
    assert any(
        p.startswith(f"{name}:{line}:9: $.support-plans[0].to")
        and "ends on 2026-02-10, before it starts" in p
        for p in problems
    ), problems
    assert any("outside the contract period 2025-10-01..2026-09-30" in p for p in problems)
    assert any("support-plans[1].response.onsite-arrival" in p and "zero" in p for p in problems)


def test_a_contract_without_onsite_support_refuses_any_visit(contracts: ContractSet) -> None:
    import dataclasses

    import msgspec

    from core.desk.entitlements import onsite_refusal

    lc = contracts.get(PORT)
    assert onsite_refusal(lc, "MS-1", SWITCH, part_swap=False) is None  # the default: included
    onsite = msgspec.structs.replace(lc.contract.onsite, included=False)
    without = dataclasses.replace(lc, contract=msgspec.structs.replace(lc.contract, onsite=onsite))
    refusal = onsite_refusal(without, "MS-1", SWITCH, part_swap=False)
    assert refusal is not None and "$.onsite.included" in refusal
    # a device's own onsite-labour wins over the contract's
    devices = [
        msgspec.structs.replace(d, onsite_labour=True) if d.serial == SWITCH else d
        for d in lc.contract.devices
    ]
    bought = dataclasses.replace(lc, contract=msgspec.structs.replace(lc.contract, devices=devices))
    assert onsite_refusal(lc, "MS-1", SWITCH, part_swap=True) is not None
    assert onsite_refusal(bought, "MS-1", SWITCH, part_swap=True) is None


def test_zone_shifts_of_the_rota_are_checked_where_they_are_written(tmp_path: Path) -> None:
    from core.staff import StaffError

    text = (ROOT / "contracts" / "staff" / "staff.yaml").read_text(encoding="utf-8")
    text += """    wendeng:
      - {days: mon, from: "08:00", to: "12:00", engineer: lin-haitao}
      - {days: mon, from: "11:00", to: "13:00", engineer: nobody}
"""
    path = tmp_path / "staff.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(StaffError) as failed:
        load_staff(path)
    problems = [str(p) for p in failed.value.problems]
    line = len(text.splitlines())
    assert any(f"staff.yaml:{line}:" in p and "$.rota.zones.wendeng[1]" in p for p in problems)
    assert any(
        "overlaps wendeng[0] (mon 08:00-12:00, lin-haitao) on Mon 11:00-Mon 12:00" in p
        for p in problems
    )
    assert any("unknown person 'nobody'" in p for p in problems)
