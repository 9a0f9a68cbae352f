"""Case commands on both back ends: lifecycle, clocks, secrets, concurrency, numbering."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from conftest import with_period
from core.case import Category, Channel, IllegalTransition, RequestType, Status
from core.clocks import ClockError
from core.commands import (
    Assign,
    Caller,
    CallLog,
    ChangePriority,
    ChangeStatus,
    Close,
    ConfirmDiagnosis,
    Escalate,
    ExcludeClock,
    FirstResponse,
    Milestone,
    Note,
    OpenCase,
    RemoteAccess,
    Reopen,
    RequestOnsite,
    Resolve,
    Window,
)
from core.desk import CaseDesk, CloseRefused, InvalidCommand
from core.errors import ConflictError, Forbidden, NotFoundError
from core.loaded import ContractSet
from core.service_types import effective_service_type
from core.sources.contracts import load_contracts
from core.store import orm
from core.store.db import make_engine, make_sessionmaker
from core.store.secrets import CredentialVault

ROOT = Path(__file__).resolve().parent.parent
SH = ZoneInfo("Asia/Shanghai")
HOSPITAL = "wdkn-hospital-2026"
SWITCH = "219801A23B8205Q0021K"  # H3C switch, 8x5xNBD, 文登
HIS = "CZJ9350FKR"  # HIS server, 24x7x48h


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


T0 = at("2026-10-14T10:00")  # a Wednesday in working hours


@pytest.fixture(scope="module")
def contracts() -> ContractSet:
    return load_contracts([ROOT / "contracts"])


@pytest.fixture
def desk(sessions: sessionmaker[Session], contracts: ContractSet) -> CaseDesk:
    return CaseDesk(sessions, contracts, prefix="MS", vault=CredentialVault(Fernet.generate_key()))


def open_cmd(**changes: Any) -> OpenCase:
    values: dict[str, Any] = {
        "contract_id": HOSPITAL,
        "caller": Caller(name="周医生", company="文登康宁医院", phone="0631-8451234"),
        "summary": "HIS server unreachable from wards",
        "category": Category.FAULT_RESCUE,
        "request_type": RequestType.PROBLEM_REPORT,
        "priority": "P2",
        "channel": Channel.PHONE,
        "device_serial": SWITCH,
        "appointment": Window(start=T0, end=T0 + timedelta(hours=8)),
    }
    values.update(changes)
    return OpenCase(**values)


def consult_cmd(**changes: Any) -> OpenCase:
    return open_cmd(category=Category.CONSULTING, appointment=None, **changes)


def case_row(sessions: sessionmaker[Session], number: str) -> orm.Case:
    with sessions() as session:
        case = session.scalars(select(orm.Case).where(orm.Case.number == number)).one()
        case.clocks  # noqa: B018 - load before the session closes
        return case


def clock(sessions: sessionmaker[Session], number: str, kind: str) -> orm.SlaClock:
    clocks = [c for c in case_row(sessions, number).clocks if c.kind == kind]
    assert clocks, f"no {kind} clock"
    return clocks[-1]


def events(sessions: sessionmaker[Session], number: str) -> list[orm.CaseEvent]:
    with sessions() as session:
        case = session.scalars(select(orm.Case).where(orm.Case.number == number)).one()
        return list(
            session.scalars(
                select(orm.CaseEvent)
                .where(orm.CaseEvent.case_id == case.id)
                .order_by(orm.CaseEvent.seq)
            )
        )


def count(sessions: sessionmaker[Session], table: type[orm.Base]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


# --- open ---------------------------------------------------------------------------------------


def test_open_numbers_cases_and_starts_clocks(desk: CaseDesk, sessions: sessionmaker) -> None:
    first = desk.open_case(consult_cmd(), actor="agent:li", now=T0)
    second = desk.open_case(consult_cmd(), actor="agent:li", now=T0 + timedelta(minutes=1))
    assert (first.number, second.number) == ("MS-2026-000001", "MS-2026-000002")
    case = case_row(sessions, first.number)
    assert case.status == "new" and case.zone == "wendeng" and case.customer_id
    kinds = {c.kind: c for c in case.clocks}
    assert set(kinds) == {"first_response", "resolution"}
    assert kinds["first_response"].deadline == at("2026-10-14T10:30")  # call-center rule
    assert kinds["resolution"].deadline > T0
    assert case.next_deadline == at("2026-10-14T10:30")
    [opened] = events(sessions, first.number)
    assert (opened.seq, opened.kind, opened.visibility) == (1, "opened", "customer")
    assert opened.payload["zone_reason"].endswith("wendeng")


def test_case_year_follows_the_desk_time_zone(desk: CaseDesk, sessions: sessionmaker) -> None:
    # 2026-12-31 17:00 UTC is already 2027-01-01 01:00 in Weihai
    moment = datetime(2026, 12, 31, 17, 0, tzinfo=ZoneInfo("UTC"))
    receipt = desk.open_case(consult_cmd(out_of_contract=True), actor="agent:li", now=moment)
    assert receipt.number == "MS-2027-000001"


def test_a_clock_without_holiday_data_never_loses_the_call(
    sessions: sessionmaker, contracts: ContractSet
) -> None:
    desk = CaseDesk(sessions, with_period(contracts, HOSPITAL, "2051-12-31"))
    # 2051 has no CN data and is past the provisional rule's lunar table (2025-2050): the
    # case opens, the unplanned clocks are recorded (2027 would be provisional: test_horizon)
    receipt = desk.open_case(consult_cmd(), actor="agent:li", now=at("2051-01-04T10:00"))
    kinds = [e.kind for e in events(sessions, receipt.number)]
    assert kinds == ["opened", "clocks_unplanned"]
    unplanned = events(sessions, receipt.number)[1].payload["clocks"]
    assert {u["clock"] for u in unplanned} == {"first_response"}
    assert "no holiday data for region 'CN' in 2051" in unplanned[0]["reason"]
    assert [c.kind for c in case_row(sessions, receipt.number).clocks] == ["resolution"]


def test_appointment_service_needs_a_window_and_records_nothing(
    desk: CaseDesk, sessions: sessionmaker
) -> None:
    with pytest.raises(InvalidCommand, match="appointment is required"):
        desk.open_case(open_cmd(appointment=None), actor="agent:li", now=T0)
    assert count(sessions, orm.Case) == 0
    assert desk.open_case(consult_cmd(), actor="agent:li", now=T0).number == "MS-2026-000001"


def test_appointment_window_is_the_resolution_deadline(
    desk: CaseDesk, sessions: sessionmaker
) -> None:
    receipt = desk.open_case(open_cmd(), actor="agent:li", now=T0)
    resolution = clock(sessions, receipt.number, "resolution")
    assert resolution.deadline == T0 + timedelta(hours=8)
    assert "customer-agreed" in resolution.rule


def test_emergency_starts_the_onsite_clock_at_once(desk: CaseDesk, sessions: sessionmaker) -> None:
    receipt = desk.open_case(consult_cmd(emergency=True), actor="agent:li", now=T0)
    onsite = clock(sessions, receipt.number, "onsite_arrival")
    assert onsite.deadline == T0 + timedelta(hours=2)  # 文登 emergency: 2 h
    assert "emergency on-site" in onsite.rule


def test_complaint_runs_complaint_clocks(desk: CaseDesk, sessions: sessionmaker) -> None:
    cmd = consult_cmd(request_type=RequestType.COMPLAINT, summary="engineer was late")
    receipt = desk.open_case(cmd, actor="agent:li", now=T0)
    kinds = {c.kind: c.deadline for c in case_row(sessions, receipt.number).clocks}
    assert kinds == {
        "complaint_first_reply": T0 + timedelta(hours=2),
        "complaint_resolution": T0 + timedelta(days=15),
    }


def test_unknown_contract_is_not_found(desk: CaseDesk) -> None:
    with pytest.raises(NotFoundError):
        desk.open_case(consult_cmd(contract_id="nobody"), actor="agent:li", now=T0)


# --- lifecycle ----------------------------------------------------------------------------------


def opened_and_assigned(desk: CaseDesk, **changes: Any) -> str:
    number = desk.open_case(consult_cmd(**changes), actor="agent:li", now=T0).number
    desk.assign(number, Assign(engineer="eng:wang"), actor="agent:li", now=T0)
    return number


def test_first_response_meets_the_clock_and_starts_diagnosis(
    desk: CaseDesk, sessions: sessionmaker
) -> None:
    number = opened_and_assigned(desk)
    desk.first_response(
        number,
        FirstResponse(agreed_content="check uplink"),
        actor="eng:wang",
        now=T0 + timedelta(minutes=20),
    )
    assert clock(sessions, number, "first_response").state == "met"
    diagnosis = clock(sessions, number, "diagnosis")
    assert diagnosis.state == "running"
    assert diagnosis.deadline == T0 + timedelta(minutes=20, hours=2)  # hospital P2: 2 h
    assert case_row(sessions, number).status == "in_progress"


HALF_DAY_HOURS = """program: own-service

calendars:
  working-hours:
    region: CN
    week:
      mon-fri: ["08:30-17:30"]
    dates:
      2026-10-14: ["08:30-12:00"]    # a half day: the afternoon closed
"""


def test_a_half_day_override_moves_the_diagnosis_deadline(
    sessions: sessionmaker, tmp_path: Path
) -> None:
    shutil.copytree(ROOT / "contracts", tmp_path / "contracts")
    hospital = tmp_path / "contracts" / "wendeng-kangning-hospital.yaml"
    text = hospital.read_text(encoding="utf-8")
    hospital.write_text(text.replace("program: own-service\n", HALF_DAY_HOURS, 1), "utf-8")
    half_day = load_contracts([tmp_path / "contracts"])
    desk = CaseDesk(sessions, half_day, prefix="MS", vault=CredentialVault(Fernet.generate_key()))
    number = opened_and_assigned(desk, priority="P3")
    desk.first_response(
        number, FirstResponse(agreed_content="x"), actor="eng:wang", now=at("2026-10-14T10:20")
    )
    # hospital P3 diagnosis: 8 h on working-hours; 1 h 40 min left on the half day, the other
    # 6 h 20 min on Thursday (without the override: 7 h 10 min, then Thursday 09:20)
    assert clock(sessions, number, "diagnosis").deadline == at("2026-10-15T14:50")


def test_late_first_response_is_breached(desk: CaseDesk, sessions: sessionmaker) -> None:
    number = opened_and_assigned(desk)
    desk.first_response(
        number, FirstResponse(agreed_content="x"), actor="eng:wang", now=T0 + timedelta(minutes=45)
    )
    response = clock(sessions, number, "first_response")
    assert response.state == "breached"
    assert response.breached_at == at("2026-10-14T10:30")
    assert case_row(sessions, number).breached is True


def test_illegal_transition_is_typed_and_records_nothing(
    desk: CaseDesk, sessions: sessionmaker
) -> None:
    number = desk.open_case(consult_cmd(), actor="agent:li", now=T0).number
    before = case_row(sessions, number).version
    with pytest.raises(IllegalTransition, match="is new: cannot resolve"):
        desk.resolve(number, Resolve(resolution="done"), actor="eng:wang", now=T0)
    with pytest.raises(IllegalTransition):
        desk.change_status(number, ChangeStatus(status=Status.IN_PROGRESS), actor="x", now=T0)
    assert len(events(sessions, number)) == 1
    assert case_row(sessions, number).version == before


def test_pending_customer_pauses_resolution_with_a_cause(
    desk: CaseDesk, sessions: sessionmaker
) -> None:
    number = opened_and_assigned(desk)
    desk.change_status(number, ChangeStatus(status=Status.IN_PROGRESS), actor="eng", now=T0)
    deadline = clock(sessions, number, "resolution").deadline
    with pytest.raises(InvalidCommand, match="cause is required"):
        desk.change_status(
            number, ChangeStatus(status=Status.PENDING_CUSTOMER), actor="eng", now=T0
        )
    desk.change_status(
        number,
        ChangeStatus(status=Status.PENDING_CUSTOMER, cause="waiting for fault logs"),
        actor="eng",
        now=T0 + timedelta(hours=1),
    )
    paused = clock(sessions, number, "resolution")
    assert (paused.state, paused.pause_cause) == ("paused", "waiting for fault logs")
    assert paused.next_alert_at is None
    desk.change_status(
        number, ChangeStatus(status=Status.IN_PROGRESS), actor="eng", now=T0 + timedelta(hours=4)
    )
    resumed = clock(sessions, number, "resolution")
    assert resumed.state == "running"
    assert resumed.deadline == deadline + timedelta(hours=3)  # on the duty clock: 3 h paused
    assert resumed.pauses[0]["cause"] == "waiting for fault logs"
    kinds = [e.kind for e in events(sessions, number)]
    assert kinds.count("status_changed") == 3


def test_priority_change_replans_clocks_and_records_both_values(
    desk: CaseDesk, sessions: sessionmaker
) -> None:
    number = opened_and_assigned(desk)
    desk.change_priority(
        number,
        ChangePriority(priority="P1", reason="all wards down"),
        actor="mgr",
        now=T0 + timedelta(minutes=5),
    )
    response = clock(sessions, number, "first_response")
    resolution = clock(sessions, number, "resolution")
    assert resolution.deadline == T0 + timedelta(hours=4)  # hospital P1: 4 h on duty
    assert response.deadline == T0 + timedelta(minutes=30)  # hospital: same rule for all
    last = events(sessions, number)[-1]
    assert (last.kind, last.payload["from"], last.payload["to"]) == ("priority_changed", "P2", "P1")
    assert case_row(sessions, number).priority == "P1"


def test_hardware_fault_starts_spare_clocks_and_rma_status_stops_them(
    desk: CaseDesk, sessions: sessionmaker
) -> None:
    number = opened_and_assigned(desk)
    desk.first_response(number, FirstResponse(agreed_content="x"), actor="eng", now=T0)
    diagnosed = at("2026-09-30T15:10").replace(month=10, day=14, hour=15)
    desk.confirm_diagnosis(
        number,
        ConfirmDiagnosis(finding="PSU dead", hardware_fault=True),
        actor="eng",
        now=diagnosed,
    )
    ship = clock(sessions, number, "spare_ship")
    assert ship.deadline == at("2026-10-15T15:00")  # after the cut-off: next business day
    desk.spare_shipped(
        number, Milestone(note="DC RMA 4711"), actor="spares", now=at("2026-10-15T11:00")
    )
    assert clock(sessions, number, "spare_ship").state == "met"
    last = events(sessions, number)[-1]
    assert (last.kind, last.payload["rma_status"]) == ("rma_status", "shipped")


def test_remote_credentials_are_encrypted_and_shown_only_to_the_assignee(
    desk: CaseDesk, sessions: sessionmaker
) -> None:
    number = opened_and_assigned(desk)
    secret = "S3cr3t-Pa55"
    desk.grant_remote_access(
        number,
        RemoteAccess(
            consent_by="周医生",
            consent_at=T0,
            credentials={"device_ip": "10.8.1.20", "password": secret},
        ),
        actor="eng:wang",
        now=T0,
    )
    assert clock(sessions, number, "remote_access").deadline == T0 + timedelta(hours=1)
    for event in events(sessions, number):
        assert secret not in str(event.payload) and "10.8.1.20" not in str(event.payload)
    with sessions() as session:
        stored = session.scalars(select(orm.CaseSecret)).one()
        assert secret.encode() not in stored.ciphertext
    with pytest.raises(Forbidden):
        desk.reveal_credentials(number, actor="eng:zhao", now=T0)
    shown = desk.reveal_credentials(number, actor="eng:wang", now=T0)
    assert shown == {"device_ip": "10.8.1.20", "password": secret}
    assert events(sessions, number)[-1].kind == "credentials_viewed"
    desk.remote_logged_in(number, Milestone(), actor="eng:wang", now=T0 + timedelta(minutes=30))
    assert clock(sessions, number, "remote_access").state == "met"


def test_onsite_request_uses_the_zone_table(desk: CaseDesk, sessions: sessionmaker) -> None:
    number = opened_and_assigned(desk)
    phone = CallLog(direction="outbound", party="IT", summary="phone support could not fix it")
    desk.log_call(number, phone, actor="eng", now=T0)
    desk.request_onsite(number, RequestOnsite(reason="needs hands"), actor="svc-mgr", now=T0)
    assert clock(sessions, number, "onsite_arrival").deadline == T0 + timedelta(hours=5)
    with pytest.raises(IllegalTransition, match="twice"):
        desk.request_onsite(number, RequestOnsite(reason="again"), actor="svc-mgr", now=T0)
    desk.onsite_arrived(number, Milestone(), actor="eng", now=T0 + timedelta(hours=4))
    assert clock(sessions, number, "onsite_arrival").state == "met"


def test_notes_calls_and_escalation_are_recorded_with_visibility(
    desk: CaseDesk, sessions: sessionmaker
) -> None:
    number = opened_and_assigned(desk)
    desk.add_note(number, Note(text="internal only"), actor="eng", now=T0)
    desk.log_call(
        number,
        CallLog(direction="outbound", party="周医生", summary="update", visibility="customer"),
        actor="eng",
        now=T0,
    )
    desk.escalate(
        number,
        Escalate(level=2, reason="no progress", target_group="experts"),
        actor="mgr",
        now=T0 + timedelta(minutes=1),
    )
    kinds = [(e.kind, e.visibility) for e in events(sessions, number)]
    assert kinds[-3:] == [("note", "internal"), ("call", "customer"), ("escalated", "internal")]
    alarm = events(sessions, number)[-1].payload
    assert alarm["alarm"] is True and alarm["alarm_at"].startswith("2026-10-14T02:01")


def test_close_needs_every_deliverable_and_checklist_item(
    desk: CaseDesk, sessions: sessionmaker, contracts: ContractSet
) -> None:
    number = opened_and_assigned(desk)
    desk.resolve(number, Resolve(resolution="answered"), actor="eng", now=T0)
    service = effective_service_type("consulting", contracts.get(HOSPITAL).contract.service_types)
    items = [item.id for item in service.checklist]
    documents = {d.id: f"DMS-{i}" for i, d in enumerate(service.deliverables)}
    seq_before = len(events(sessions, number))
    with pytest.raises(CloseRefused, match="missing deliverables"):
        desk.close(
            number,
            Close(confirmed_by="周医生", confirmed_at=T0, checklist=items),
            actor="eng",
            now=T0,
        )
    assert len(events(sessions, number)) == seq_before
    desk.close(
        number,
        Close(confirmed_by="周医生", confirmed_at=T0, checklist=items, deliverables=documents),
        actor="eng",
        now=T0,
    )
    case = case_row(sessions, number)
    assert case.status == "closed" and case.closed_at == T0
    assert events(sessions, number)[-1].payload["confirmed_by"] == "周医生"


def test_reopen_starts_a_new_resolution_clock(desk: CaseDesk, sessions: sessionmaker) -> None:
    number = opened_and_assigned(desk)
    desk.resolve(number, Resolve(resolution="rebooted"), actor="eng", now=T0)
    later = T0 + timedelta(days=1)
    desk.reopen(number, Reopen(reason="fault is back"), actor="agent", now=later)
    resolutions = [c for c in case_row(sessions, number).clocks if c.kind == "resolution"]
    assert [c.state for c in resolutions] == ["met", "running"]
    assert resolutions[-1].started_at == later
    assert case_row(sessions, number).status == "in_progress"


def test_exclusion_needs_one_of_the_contract_causes(desk: CaseDesk, sessions: sessionmaker) -> None:
    number = opened_and_assigned(desk)
    with pytest.raises(ClockError, match="not in this contract"):
        desk.exclude_clock(
            number,
            ExcludeClock(kind="resolution", cause="bad weather", note="x"),
            actor="mgr",
            now=T0,
        )
    desk.exclude_clock(
        number,
        ExcludeClock(kind="resolution", cause="force-majeure", note="typhoon"),
        actor="mgr",
        now=T0,
    )
    assert clock(sessions, number, "resolution").exclusion_cause == "force-majeure"


def test_note_breaches_flags_overdue_running_clocks(desk: CaseDesk, sessions: sessionmaker) -> None:
    number = desk.open_case(consult_cmd(), actor="agent:li", now=T0).number
    assert desk.note_breaches(now=T0 + timedelta(minutes=10)) == 0
    assert desk.note_breaches(now=T0 + timedelta(minutes=31)) == 1
    assert clock(sessions, number, "first_response").breached_at == at("2026-10-14T10:30")
    assert case_row(sessions, number).breached is True


# --- concurrency --------------------------------------------------------------------------------


def test_stale_version_is_a_typed_conflict(desk: CaseDesk, sessions: sessionmaker) -> None:
    number = desk.open_case(consult_cmd(), actor="agent:li", now=T0).number
    seen = case_row(sessions, number).version
    desk.add_note(number, Note(text="agent A", expected_version=seen), actor="a", now=T0)
    with pytest.raises(ConflictError, match="reload and retry"):
        desk.add_note(number, Note(text="agent B", expected_version=seen), actor="b", now=T0)
    texts = [e.payload.get("text") for e in events(sessions, number)]
    assert texts == [None, "agent A"]


def run_threads(count: int, work: Callable[[int], Any]) -> tuple[list[Any], list[Exception]]:
    barrier = threading.Barrier(count)
    results: list[Any] = []
    errors: list[Exception] = []
    lock = threading.Lock()

    def runner(i: int) -> None:
        barrier.wait()
        try:
            value = work(i)
            with lock:
                results.append(value)
        except Exception as exc:  # collected and asserted by the test
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, errors


def test_concurrent_edits_never_lose_an_update(desk: CaseDesk, sessions: sessionmaker) -> None:
    number = desk.open_case(consult_cmd(), actor="agent:li", now=T0).number

    def note(i: int) -> int:
        return desk.add_note(number, Note(text=f"note {i}"), actor=f"agent{i}", now=T0).version

    results, errors = run_threads(8, note)
    assert all(isinstance(e, ConflictError) for e in errors), errors
    assert len(results) + len(errors) == 8 and results
    history = events(sessions, number)
    assert [e.seq for e in history] == list(range(1, len(results) + 2))
    assert len(history) == 1 + len(results)  # every success is in the history, no more


@pytest.fixture
def desk_for_twenty(db_url: str, contracts: ContractSet) -> Iterator[CaseDesk]:
    """A desk whose pool holds a connection per thread: the threads contend for the case
    number in the database, not for the pool (whose 5 s wait a loaded machine can exceed)."""
    engine = make_engine(db_url, pool_size=20, max_overflow=0)
    yield CaseDesk(
        make_sessionmaker(engine),
        contracts,
        prefix="MS",
        vault=CredentialVault(Fernet.generate_key()),
    )
    engine.dispose()


def test_twenty_threads_open_two_hundred_consecutive_numbers(desk_for_twenty: CaseDesk) -> None:
    desk = desk_for_twenty

    def open_ten(i: int) -> list[str]:
        return [desk.open_case(consult_cmd(), actor=f"agent{i}", now=T0).number for _ in range(10)]

    results, errors = run_threads(20, open_ten)
    assert errors == []
    numbers = sorted(n for batch in results for n in batch)
    assert numbers == [f"MS-2026-{i:06d}" for i in range(1, 201)]


# --- idempotency ------------------------------------------------------------------------------


def test_idempotency_key_replays_the_first_case(desk: CaseDesk, sessions: sessionmaker) -> None:
    key = ("token:1", "retry-7f3a")
    first = desk.open_case(consult_cmd(), actor="agent", now=T0, idempotency=key)
    again = desk.open_case(consult_cmd(), actor="agent", now=T0, idempotency=key)
    assert (again.number, again.replayed) == (first.number, True)
    assert count(sessions, orm.Case) == 1
    other_scope = desk.open_case(consult_cmd(), actor="x", now=T0, idempotency=("token:2", key[1]))
    assert other_scope.number != first.number


def test_idempotency_key_with_another_body_is_refused(desk: CaseDesk) -> None:
    from core.desk import IdempotencyMismatch

    desk.open_case(consult_cmd(), actor="agent", now=T0, idempotency=("t", "k"))
    with pytest.raises(IdempotencyMismatch, match="different request"):
        desk.open_case(consult_cmd(summary="other"), actor="agent", now=T0, idempotency=("t", "k"))


def test_concurrent_retries_open_one_case_and_keep_numbers_gapless(
    desk: CaseDesk, sessions: sessionmaker
) -> None:
    results, errors = run_threads(
        6, lambda i: desk.open_case(consult_cmd(), actor="a", now=T0, idempotency=("t", "same"))
    )
    assert errors == []
    assert {r.number for r in results} == {"MS-2026-000001"}
    assert sum(not r.replayed for r in results) == 1
    assert desk.open_case(consult_cmd(), actor="a", now=T0).number == "MS-2026-000002"


def test_detail_of_a_new_case_equals_reading_it_back(
    desk: CaseDesk, sessions: sessionmaker
) -> None:
    import msgspec

    from core.store.queries import detail_of_new_case, get_case

    receipt = desk.open_case(consult_cmd(emergency=True), actor="agent", now=T0)
    assert receipt.case is not None
    with sessions() as session:
        stored = get_case(session, receipt.number)
        customer = get_case(session, receipt.number, customer_id=receipt.case.customer_id)
    built = detail_of_new_case(receipt.case, receipt.appended)
    assert msgspec.json.encode(built) == msgspec.json.encode(stored)
    as_customer = detail_of_new_case(receipt.case, receipt.appended, customer_view=True)
    assert msgspec.json.encode(as_customer) == msgspec.json.encode(customer)
