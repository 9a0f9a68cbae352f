"""`audit verify`: intact histories pass; a changed, cut, re-hashed or deleted history, an
edited case or clock row, and a missing case number are each found exactly, on both back ends."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, delete, select, text, update
from sqlalchemy.orm import Session, sessionmaker
from test_desk import HIS, HOSPITAL, T0, consult_cmd, contracts, open_cmd  # noqa: F401 - fixture
from test_history import new_case

from cli.main import main
from core.case import Status
from core.commands import (
    Assign,
    CallLog,
    ChangePriority,
    ChangeStatus,
    Close,
    ConfirmDiagnosis,
    Escalate,
    ExcludeClock,
    FirstResponse,
    HandOver,
    Milestone,
    Note,
    RemoteAccess,
    Reopen,
    ReportProgress,
    Resolve,
)
from core.desk import CaseDesk
from core.errors import AuditKeyError, NotFoundError
from core.handover import HandOverTarget
from core.loaded import ContractSet
from core.service_types import effective_service_type
from core.settings import Settings
from core.store import orm
from core.store.audit import (
    EVENT_SEAL_MISMATCH,
    HASH_MISMATCH,
    HEAD_SEAL_MISMATCH,
    HEAD_UNSEALED,
    NO_KEY,
    AuditReport,
    Break,
    seal_unsealed,
    verify,
)
from core.store.db import make_sessionmaker
from core.store.history import GENESIS, append_payload, event_hash, utc_iso
from core.store.replay import Finding
from core.store.seal import load_audit_key
from core.store.secrets import CredentialVault

KEY = b"test-audit-key-0123456789abcdef-0123456789"
NUMBERS = ("MS-2026-000001", "MS-2026-000002", "MS-2026-000003")
EVENTS_PER_CASE = 4  # opened and three notes


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    """This module's writers seal with KEY, as a server with an audit key does."""
    return make_sessionmaker(engine, audit_key=KEY)


@pytest.fixture
def desk(sessions: sessionmaker[Session], contracts: ContractSet) -> CaseDesk:  # noqa: F811
    from cryptography.fernet import Fernet

    return CaseDesk(sessions, contracts, prefix="MS", vault=CredentialVault(Fernet.generate_key()))


@pytest.fixture
def three_cases(desk: CaseDesk, sessions: sessionmaker[Session]) -> dict[str, int]:
    """Three consulting cases of four events each (opened, three notes); ids by number."""
    for i, number in enumerate(NUMBERS):
        opened = T0 + timedelta(minutes=i)
        assert desk.open_case(open_consult(), actor="agent:li", now=opened).number == number
        for n in range(1, EVENTS_PER_CASE):
            note = Note(text=f"{number} note {n}", visibility="internal" if n % 2 else "customer")
            desk.add_note(number, note, actor="alice", now=opened + timedelta(minutes=n))
    with sessions() as session:
        return {
            number: id_ for number, id_ in session.execute(select(orm.Case.number, orm.Case.id))
        }


def open_consult() -> Any:
    return consult_cmd()


def audit(
    sessions: sessionmaker[Session], case_number: str | None = None, key: bytes | None = KEY
) -> AuditReport:
    with sessions() as session:
        return verify(session, case_number, key=key)


def intact(cases: int, events: int) -> AuditReport:
    return AuditReport(cases, events, [], [], sealed=True, numbered=True)


# --- tampering: the triggers must go first -----------------------------------------------------


def drop_update_guard(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("DROP TRIGGER case_events_no_update ON case_events"))
    else:
        conn.execute(text("DROP TRIGGER case_events_no_update"))


def drop_delete_guard(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":  # one trigger guards UPDATE and DELETE there
        conn.execute(text("DROP TRIGGER case_events_no_update ON case_events"))
    else:
        conn.execute(text("DROP TRIGGER case_events_no_delete"))


def rewrite(engine: Engine, case_id: int, seq: int, **values: object) -> None:
    events = orm.CaseEvent.__table__
    with engine.begin() as conn:
        drop_update_guard(conn)
        where = (events.c.case_id == case_id) & (events.c.seq == seq)
        conn.execute(update(events).where(where).values(**values))


def remove(engine: Engine, case_id: int, seq: int) -> None:
    events = orm.CaseEvent.__table__
    with engine.begin() as conn:
        drop_delete_guard(conn)
        conn.execute(delete(events).where((events.c.case_id == case_id) & (events.c.seq == seq)))


# --- verify ------------------------------------------------------------------------------------


def test_intact_chains_verify(sessions: sessionmaker[Session], three_cases: dict[str, int]) -> None:
    report = audit(sessions)
    assert report == intact(3, 12)
    assert report.ok


def test_a_case_row_without_history_is_found(
    sessions: sessionmaker[Session], three_cases: dict[str, int]
) -> None:
    with sessions.begin() as session:
        new_case(session, "MS-2026-000004")  # no events, and no number taken from the counter
    report = audit(sessions)
    assert report.breaks == []
    assert [str(f) for f in report.findings] == [
        "MS-2026-000004: the case head is not sealed (run `casetrack audit seal` once after "
        "upgrading)",
        "MS-2026-000004: the case has no history (not even an opened event)",
        "MS-2026-000004: lies beyond the counter (3)",
    ]


def test_empty_database_verifies(sessions: sessionmaker[Session]) -> None:
    assert audit(sessions) == intact(0, 0)


def test_a_changed_payload_is_found_at_its_event(
    engine: Engine, sessions: sessionmaker[Session], three_cases: dict[str, int]
) -> None:
    rewrite(engine, three_cases[NUMBERS[1]], 3, payload={"text": "nothing happened"})
    report = audit(sessions)
    assert report.breaks == [Break(NUMBERS[1], 3, HASH_MISMATCH)]
    assert (report.cases_checked, report.events_checked) == (3, 12)  # the others are intact
    assert not report.ok


@pytest.mark.parametrize(
    "values",
    [
        {"kind": "closed"},
        {"actor": "mallory"},
        {"at": T0 + timedelta(days=1)},
        {"visibility": "customer"},
    ],
    ids=["kind", "actor", "at", "visibility"],
)
def test_any_changed_field_is_found(
    engine: Engine,
    sessions: sessionmaker[Session],
    three_cases: dict[str, int],
    values: dict[str, object],
) -> None:
    rewrite(engine, three_cases[NUMBERS[0]], 2, **values)
    assert audit(sessions).breaks == [Break(NUMBERS[0], 2, HASH_MISMATCH)]


def test_a_rehashed_forgery_breaks_the_next_link(
    engine: Engine, sessions: sessionmaker[Session], three_cases: dict[str, int]
) -> None:
    with sessions() as session:
        event = session.query(orm.CaseEvent).filter_by(case_id=three_cases[NUMBERS[2]], seq=2).one()
    forged = {"text": "forged", "due": "2026-11-25T09:00:00.000000Z"}
    digest = event_hash(
        NUMBERS[2], 2, event.kind, event.actor, event.at, forged, event.visibility, event.prev_hash
    )
    rewrite(engine, three_cases[NUMBERS[2]], 2, payload=forged, hash=digest)
    report = audit(sessions)
    assert report.breaks == [Break(NUMBERS[2], 3, "does not link to the hash of event 2")]


def test_only_the_first_break_of_a_case_is_reported(
    engine: Engine, sessions: sessionmaker[Session], three_cases: dict[str, int]
) -> None:
    rewrite(engine, three_cases[NUMBERS[0]], 2, actor="mallory")
    with engine.begin() as conn:
        events = orm.CaseEvent.__table__
        where = (events.c.case_id == three_cases[NUMBERS[0]]) & (events.c.seq == 4)
        conn.execute(update(events).where(where).values(actor="mallory"))
    assert audit(sessions).breaks == [Break(NUMBERS[0], 2, HASH_MISMATCH)]


def test_a_deleted_last_event_is_found_by_the_case_head(
    engine: Engine, sessions: sessionmaker[Session], three_cases: dict[str, int]
) -> None:
    remove(engine, three_cases[NUMBERS[1]], EVENTS_PER_CASE)
    report = audit(sessions)
    assert report.breaks == [
        Break(NUMBERS[1], 4, "missing (the case records 4 events, the chain ends at 3)")
    ]
    assert (report.cases_checked, report.events_checked) == (3, 11)


def test_a_deleted_middle_event_is_found(
    engine: Engine, sessions: sessionmaker[Session], three_cases: dict[str, int]
) -> None:
    remove(engine, three_cases[NUMBERS[0]], 2)
    report = audit(sessions)
    assert report.breaks == [Break(NUMBERS[0], 2, "missing (the next stored event is 3)")]


def test_a_rewritten_case_head_is_found(
    engine: Engine, sessions: sessionmaker[Session], three_cases: dict[str, int]
) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(orm.Case.__table__)
            .where(orm.Case.__table__.c.number == NUMBERS[2])
            .values(last_hash="f" * 64)
        )
    report = audit(sessions)
    assert report.breaks == [Break(NUMBERS[2], 4, "the case's head hash does not match this event")]


def test_verify_streams_across_batches(
    engine: Engine,
    sessions: sessionmaker[Session],
    three_cases: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rewrite(engine, three_cases[NUMBERS[1]], 3, payload={})
    edit_case(engine, NUMBERS[2], priority="P4")
    monkeypatch.setattr("core.store.audit.REPLAY_BATCH", 2)  # replay reads rows while streaming
    with sessions() as session:
        small = verify(session, key=KEY, batch_size=3)  # batches end inside cases
    assert small == audit(sessions)
    assert small.breaks == [Break(NUMBERS[1], 3, HASH_MISMATCH)]
    assert small.findings == [Finding(NUMBERS[2], "cases.priority is 'P4' but history says 'P2'")]


def test_case_option_limits_to_one_case(
    engine: Engine, sessions: sessionmaker[Session], three_cases: dict[str, int]
) -> None:
    rewrite(engine, three_cases[NUMBERS[1]], 3, payload={})
    assert audit(sessions, NUMBERS[0]) == AuditReport(1, EVENTS_PER_CASE, sealed=True)
    broken = audit(sessions, NUMBERS[1])
    assert broken == AuditReport(
        1, EVENTS_PER_CASE, [Break(NUMBERS[1], 3, HASH_MISMATCH)], sealed=True
    )


def test_unknown_case_is_not_found(
    sessions: sessionmaker[Session], three_cases: dict[str, int]
) -> None:
    with pytest.raises(NotFoundError, match="MS-2026-999999"):
        audit(sessions, "MS-2026-999999")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # PostgreSQL's types refuse it
def test_garbage_written_into_sqlite_is_a_finding_not_a_crash(
    engine: Engine, sessions: sessionmaker[Session], three_cases: dict[str, int]
) -> None:
    assert engine.dialect.name == "sqlite"
    with engine.begin() as conn:
        drop_update_guard(conn)
        conn.execute(text("UPDATE case_events SET payload = '{oops' WHERE seq = 2"))
        conn.execute(text("UPDATE case_events SET at = 'yesterday' WHERE seq = 3"))
    report = audit(sessions)
    assert report.breaks == [Break(number, 2, HASH_MISMATCH) for number in NUMBERS]


# --- casetrack audit verify --------------------------------------------------------------------


def run_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, url: str, *argv: str
) -> tuple[int, str, str]:
    monkeypatch.setenv("CASETRACK_DATABASE_URL", url)
    monkeypatch.setenv("CASETRACK_AUDIT_KEY", KEY.decode())
    code = main(["audit", *(argv or ("verify",))])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_intact(
    db_url: str,
    three_cases: dict[str, int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, err = run_cli(capsys, monkeypatch, db_url)
    assert (code, err) == (0, "")
    assert out == (
        "ok: 3 cases, 12 events: chains intact, cases and clocks match their histories, "
        "numbers gapless, seals valid\n"
    )
    code, out, _ = run_cli(capsys, monkeypatch, db_url, "verify", "--case", NUMBERS[2])
    assert (code, out) == (
        0,
        "ok: 1 cases, 4 events: chains intact, cases and clocks match their histories, "
        "seals valid\n",
    )


def test_cli_broken(
    db_url: str,
    engine: Engine,
    three_cases: dict[str, int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rewrite(engine, three_cases[NUMBERS[1]], 3, payload={"text": "nothing happened"})
    code, out, err = run_cli(capsys, monkeypatch, db_url)
    assert code == 1
    assert out == f"BROKEN case {NUMBERS[1]} at event 3: hash does not match its content\n"
    assert err == ""
    code, out, _ = run_cli(capsys, monkeypatch, db_url, "verify", "--case", NUMBERS[0])
    assert code == 0


def test_cli_unknown_case(
    db_url: str,
    three_cases: dict[str, int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, err = run_cli(capsys, monkeypatch, db_url, "verify", "--case", "MS-2026-999999")
    assert (code, out) == (1, "")
    assert err == "error: case MS-2026-999999 does not exist\n"


@pytest.mark.parametrize("exists", [False, True], ids=["missing-file", "empty-file"])
def test_cli_refuses_an_unmigrated_database(
    tmp_path: Path,
    exists: bool,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "var" / "casetrack.db"
    if exists:
        path.parent.mkdir()
        sqlite3.connect(path).close()
    code, out, err = run_cli(capsys, monkeypatch, f"sqlite:///{path}")
    assert (code, out) == (1, "")
    assert err == "error: database not initialised: run `casetrack db upgrade`\n"
    assert path.exists() == exists  # looking must not create a database


# --- the five tamperings of issue 9, each found exactly, on both back ends ----------------------


def edit_case(engine: Engine, number: str, **values: object) -> None:
    cases = orm.Case.__table__
    with engine.begin() as conn:
        conn.execute(update(cases).where(cases.c.number == number).values(**values))


def clock_ids(sessions: sessionmaker[Session], number: str) -> list[int]:
    with sessions() as session:
        case = session.scalars(select(orm.Case).where(orm.Case.number == number)).one()
        return [c.id for c in case.clocks]


def edit_clock(engine: Engine, clock_id: int, **values: object) -> None:
    table = orm.SlaClock.__table__
    with engine.begin() as conn:
        conn.execute(update(table).where(table.c.id == clock_id).values(**values))


def stored_events(sessions: sessionmaker[Session], case_id: int) -> list[orm.CaseEvent]:
    with sessions() as session:
        query = select(orm.CaseEvent).where(orm.CaseEvent.case_id == case_id)
        return list(session.scalars(query.order_by(orm.CaseEvent.seq)))


def only(report: AuditReport, number: str) -> list[str]:
    """The findings, after checking that they all name ``number`` and nothing else broke."""
    assert report.breaks == []
    assert {f.case_number for f in report.findings} == {number}
    return [f.detail for f in report.findings]


def test_a_cut_tail_with_its_head_moved_back_is_found_by_the_seal(
    engine: Engine, sessions: sessionmaker[Session], three_cases: dict[str, int]
) -> None:
    case_id = three_cases[NUMBERS[1]]
    third = stored_events(sessions, case_id)[2]
    remove(engine, case_id, EVENTS_PER_CASE)
    # a careful tamperer moves the head and the projection back to event 3
    edit_case(engine, NUMBERS[1], last_seq=3, last_hash=third.hash, updated_at=third.at)
    assert audit(sessions, key=None).ok  # the plain chain cannot tell: that is the seal's job
    assert only(audit(sessions), NUMBERS[1]) == [HEAD_SEAL_MISMATCH]


def test_a_rehashed_chain_is_found_by_the_seals(
    engine: Engine, sessions: sessionmaker[Session], three_cases: dict[str, int]
) -> None:
    case_id = three_cases[NUMBERS[0]]
    rows = stored_events(sessions, case_id)
    rows[1].payload = {"text": "nothing was promised"}
    events = orm.CaseEvent.__table__
    head = GENESIS
    with engine.begin() as conn:
        drop_update_guard(conn)
        for row in rows:  # recompute every hash from the edit on: plain SHA-256, no key needed
            digest = event_hash(
                NUMBERS[0], row.seq, row.kind, row.actor, row.at, row.payload, row.visibility, head
            )
            where = (events.c.case_id == case_id) & (events.c.seq == row.seq)
            values = {"payload": row.payload, "prev_hash": head, "hash": digest}
            conn.execute(update(events).where(where).values(**values))
            head = digest
    edit_case(engine, NUMBERS[0], last_hash=head)
    assert audit(sessions, key=None).ok
    assert only(audit(sessions), NUMBERS[0]) == [
        f"event 2: {EVENT_SEAL_MISMATCH}",
        HEAD_SEAL_MISMATCH,
    ]


def test_an_edited_case_row_is_found_by_replay(
    engine: Engine, sessions: sessionmaker[Session], three_cases: dict[str, int]
) -> None:
    edit_case(engine, NUMBERS[1], status="closed", priority="P1", caller_name="mallory")
    assert only(audit(sessions), NUMBERS[1]) == [
        "cases.caller_name is 'mallory' but history says '周医生'",
        "cases.priority is 'P1' but history says 'P2'",
        "cases.status is 'closed' but history says 'new'",
    ]


def late_response(desk: CaseDesk) -> str:
    """A case whose first response came late: first_response breached, diagnosis running."""
    number = desk.open_case(consult_cmd(), actor="agent:li", now=T0).number
    desk.assign(number, Assign(engineer="eng:wang"), actor="agent:li", now=T0)
    respond = FirstResponse(agreed_content="check uplink")
    desk.first_response(number, respond, actor="eng:wang", now=T0 + timedelta(hours=1))
    return number


def test_an_edited_clock_is_found_by_replay(
    engine: Engine, desk: CaseDesk, sessions: sessionmaker[Session]
) -> None:
    number = late_response(desk)
    with sessions() as session:
        case = session.scalars(select(orm.Case).where(orm.Case.number == number)).one()
        first, resolution = case.clocks[0], case.clocks[1]
        assert (first.kind, first.state, resolution.kind) == (
            "first_response",
            "breached",
            "resolution",
        )
        breached_at, deadline = first.breached_at, resolution.deadline
    assert audit(sessions).ok
    moved = deadline + timedelta(days=1)
    edit_clock(engine, first.id, state="met", breached_at=None)  # breached → met
    edit_clock(engine, resolution.id, deadline=moved)  # the deadline moved
    assert only(audit(sessions), number) == [
        "sla_clocks #1 (first_response).state is 'met' but history says 'breached'",
        "sla_clocks #1 (first_response).breached_at is None "
        f"but history says '{utc_iso(breached_at)}'",
        f"sla_clocks #2 (resolution).deadline is '{utc_iso(moved)}' but history says "
        f"'{utc_iso(deadline)}'",
    ]


def test_an_erased_pause_is_found_by_replay(
    engine: Engine, desk: CaseDesk, sessions: sessionmaker[Session]
) -> None:
    number = late_response(desk)
    wait = ChangeStatus(status=Status.PENDING_CUSTOMER, cause="customer away")
    desk.change_status(number, wait, actor="eng", now=T0 + timedelta(hours=2))
    back = ChangeStatus(status=Status.IN_PROGRESS)
    desk.change_status(number, back, actor="eng", now=T0 + timedelta(hours=3))
    assert audit(sessions).ok
    edit_clock(engine, clock_ids(sessions, number)[1], pauses=[])
    [finding] = only(audit(sessions), number)
    assert finding.startswith("sla_clocks #2 (resolution).pauses is [] but history says [{")
    assert "'cause': 'customer away'" in finding


def erase(engine: Engine, case_id: int) -> None:
    """Delete a case with everything that refers to it, as a tamperer with the database can."""
    with engine.begin() as conn:
        drop_delete_guard(conn)
        for table in (orm.CaseEvent, orm.Notification, orm.SlaClock, orm.CaseSecret):
            conn.execute(delete(table.__table__).where(table.__table__.c.case_id == case_id))
        conn.execute(delete(orm.Case.__table__).where(orm.Case.__table__.c.id == case_id))


def test_a_deleted_case_is_found_by_its_missing_number(
    engine: Engine, sessions: sessionmaker[Session], three_cases: dict[str, int]
) -> None:
    erase(engine, three_cases[NUMBERS[1]])
    report = audit(sessions)
    assert report.breaks == []
    assert report.findings == [
        Finding(
            NUMBERS[1], "missing: the case numbered (the MS-2026 counter is at 3) but not in cases"
        )
    ]
    assert report.cases_checked == 2


def test_a_deleted_newest_case_with_the_counter_moved_back_is_found(
    engine: Engine, sessions: sessionmaker[Session], three_cases: dict[str, int]
) -> None:
    erase(engine, three_cases[NUMBERS[2]])
    counters = orm.CaseCounter.__table__
    with engine.begin() as conn:
        conn.execute(update(counters).values(last=2))
    assert audit(sessions, key=None).ok  # gapless 1..2: only the seal knows there was a 3
    report = audit(sessions)
    assert report.breaks == []
    assert report.findings == [
        Finding("MS-2026", "the numbering counter's seal does not match its value 2")
    ]


def test_a_gap_of_many_numbers_is_one_finding(
    engine: Engine, sessions: sessionmaker[Session], three_cases: dict[str, int]
) -> None:
    counters = orm.CaseCounter.__table__
    with engine.begin() as conn:
        conn.execute(update(counters).values(last=40))
    report = audit(sessions, key=None)
    assert [str(f) for f in report.findings] == [
        "MS-2026-000004 … MS-2026-000040: missing: 37 cases numbered (the MS-2026 counter is at "
        "40) but not in cases"
    ]


# --- every event kind the desk writes replays ---------------------------------------------------


def test_a_full_lifecycle_replays_intact(
    desk: CaseDesk,
    sessions: sessionmaker[Session],
    contracts: ContractSet,  # noqa: F811
) -> None:
    minute = timedelta(minutes=1)
    n = desk.open_case(
        open_cmd(emergency=True, priority="P1", device_serial=HIS), actor="agent", now=T0
    ).number
    steps: list[tuple[str, Any]] = [
        ("assign", Assign(engineer="eng:wang")),
        ("first_response", FirstResponse(agreed_content="replace PSU")),
        ("change_status", ChangeStatus(status=Status.PENDING_CUSTOMER, cause="ward closed")),
        ("change_status", ChangeStatus(status=Status.IN_PROGRESS)),
        ("change_priority", ChangePriority(priority="P2", reason="workaround in place")),
        ("confirm_diagnosis", ConfirmDiagnosis(finding="PSU dead", hardware_fault=True)),
        ("spare_arrived", Milestone(note="at the door")),
        ("onsite_arrived", Milestone(note="on site")),
        ("report_progress", ReportProgress(text="PSU swapped")),
        ("report_progress", ReportProgress(text="done", final=True)),
        (
            "hand_over",
            HandOver(target=HandOverTarget.VENDOR, reason="firmware", ticket="H3C-1", vendor="H3C"),
        ),
        ("hand_over", HandOver(target=HandOverTarget.ENGINEER, reason="vendor fixed it")),
        (
            "grant_remote_access",
            RemoteAccess(consent_by="周医生", consent_at=T0, credentials={"login": "x"}),
        ),
        ("remote_logged_in", Milestone()),
        ("escalate", Escalate(level=1, reason="slow", target_group="managers")),
        ("add_note", Note(text="all good")),
        ("log_call", CallLog(direction="outbound", party="周医生", summary="confirmed")),
        ("exclude_clock", ExcludeClock(kind="resolution", cause="force-majeure", note="typhoon")),
        ("resolve", Resolve(resolution="PSU replaced")),
    ]
    when = T0
    for command, cmd in steps:
        when += 7 * minute
        getattr(desk, command)(n, cmd, actor="eng:wang", now=when)
    desk.note_breaches(now=when + timedelta(days=30))  # the sweep writes no event
    service = effective_service_type("fault_rescue", contracts.get(HOSPITAL).contract.service_types)
    close = Close(
        confirmed_by="周医生",
        confirmed_at=when,
        checklist=[item.id for item in service.checklist],
        deliverables={d.id: f"DMS-{i}" for i, d in enumerate(service.deliverables)},
    )
    desk.close(n, close, actor="eng:wang", now=when + minute)
    desk.reopen(n, Reopen(reason="fault is back"), actor="agent", now=when + 2 * minute)
    desk.note_breaches(now=when + timedelta(days=60))
    report = audit(sessions)
    assert report.ok, report.lines()
    kinds = {e.kind for e in stored_events(sessions, case_ids(sessions)[n])}
    assert kinds >= {
        "opened", "assigned", "first_response", "status_changed", "priority_changed",
        "diagnosis_confirmed", "rma_status", "onsite_arrived", "progress_reported",
        "handed_over", "remote_access_agreed", "remote_logged_in", "escalated", "note",
        "call", "clock_excluded", "resolved", "closed", "reopened",
    }  # fmt: skip


def case_ids(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions() as session:
        return {
            number: id_ for number, id_ in session.execute(select(orm.Case.number, orm.Case.id))
        }


# --- sealing an older database ------------------------------------------------------------------


def test_seal_seals_old_histories_once_and_refuses_tampered_ones(
    engine: Engine, three_cases: dict[str, int]
) -> None:
    keyless = make_sessionmaker(engine)  # a database written before the seals existed
    with engine.begin() as conn:
        conn.execute(update(orm.Case.__table__).values(head_mac=None))
        conn.execute(update(orm.CaseCounter.__table__).values(mac=None))
    assert audit(keyless, key=None).ok
    assert HEAD_UNSEALED in only(audit(keyless, NUMBERS[0], key=KEY), NUMBERS[0])
    edit_case(engine, NUMBERS[2], status="closed")
    with keyless.begin() as session:
        done = seal_unsealed(session, KEY)
    assert (done.cases, done.counters) == (2, 1)
    assert done.refused == [f"{NUMBERS[2]}: cases.status is 'closed' but history says 'new'"]
    report = audit(keyless, key=KEY)
    assert [str(f) for f in report.findings] == [
        f"{NUMBERS[2]}: {HEAD_UNSEALED}",
        f"{NUMBERS[2]}: cases.status is 'closed' but history says 'new'",
    ]


def test_cli_prints_each_finding_and_exits_1(
    db_url: str,
    engine: Engine,
    three_cases: dict[str, int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    edit_case(engine, NUMBERS[1], status="closed")
    code, out, err = run_cli(capsys, monkeypatch, db_url)
    assert (code, err) == (1, "")
    assert out == f"{NUMBERS[1]}: cases.status is 'closed' but history says 'new'\n"


def test_cli_without_the_key_does_not_pass_a_sealed_database(
    db_url: str,
    tmp_path: Path,
    three_cases: dict[str, int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CASETRACK_VAR_DIR", str(tmp_path / "var"))  # no audit.key there
    monkeypatch.setenv("CASETRACK_DATABASE_URL", db_url)
    monkeypatch.delenv("CASETRACK_AUDIT_KEY", raising=False)
    assert main(["audit", "verify"]) == 1
    out, _ = capsys.readouterr()
    assert out == f"audit: {NO_KEY}\n"
    assert not (tmp_path / "var" / "audit.key").exists()  # verify never makes a key


def test_cli_seal(
    db_url: str,
    engine: Engine,
    three_cases: dict[str, int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with engine.begin() as conn:
        conn.execute(update(orm.Case.__table__).values(head_mac=None))
        conn.execute(update(orm.CaseCounter.__table__).values(mac=None))
    code, out, _ = run_cli(capsys, monkeypatch, db_url)
    assert code == 1 and out.count("the case head is not sealed") == 3
    code, out, _ = run_cli(capsys, monkeypatch, db_url, "seal")
    assert (code, out) == (0, "sealed 3 case heads and 1 counters\n")
    assert run_cli(capsys, monkeypatch, db_url)[0] == 0
    code, out, _ = run_cli(capsys, monkeypatch, db_url, "seal")  # nothing left to seal
    assert (code, out) == (0, "sealed 0 case heads and 0 counters\n")


# --- older databases: migration 0005 and histories without clock snapshots ----------------------


def test_migration_0005_round_trip_keeps_chains_and_the_append_only_guard(
    engine: Engine, sessions: sessionmaker[Session], three_cases: dict[str, int]
) -> None:
    from alembic import command

    from core.store.migrate import alembic_config, upgrade

    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")  # the seals' columns go, the chains stay
    upgrade(engine)
    report = audit(sessions, key=None)
    assert report == AuditReport(3, 12, sealed=False, numbered=True)
    with sessions() as session:
        assert session.scalar(select(orm.Case.head_mac).limit(1)) is None
    with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
        conn.execute(update(orm.CaseEvent.__table__).values(actor="mallory"))


LEGACY_OPENED = {  # an `opened` payload as written before migration 0005: no sla, no customer_id
    "contract_id": "wendeng-kangning-hospital",
    "caller": {"name": "张医生", "company": None, "phone": None, "email": None, "address": None},
    "summary": "打印机卡纸",
    "description": None,
    "category": "hardware",
    "request_type": "incident",
    "priority": "P3",
    "emergency": False,
    "channel": "phone",
    "device_serial": None,
    "covered_device": False,
    "site": None,
    "zone": None,
    "zone_reason": None,
}


def test_a_history_from_before_the_snapshots_still_replays_its_fields(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    number = "MS-2026-000001"
    with sessions.begin() as session:
        case = new_case(session, number, at=T0)
        append_payload(
            session, case, kind="opened", actor="agent", at=T0, payload=LEGACY_OPENED,
            visibility="customer",
        )  # fmt: skip
    assert audit(sessions, number).ok
    edit_case(engine, number, priority="P1", customer_id="someone-else")
    # customer_id was not recorded then: only what the history knows is compared
    assert only(audit(sessions, number), number) == ["cases.priority is 'P1' but history says 'P3'"]


# --- the audit key ------------------------------------------------------------------------------


def test_the_key_file_is_made_private_once_and_verify_never_makes_one(tmp_path: Path) -> None:
    settings = Settings(var_dir=str(tmp_path / "var"))
    assert load_audit_key(settings) is None  # a reader does not create it
    key = load_audit_key(settings, create=True)
    path = tmp_path / "var" / "audit.key"
    assert key is not None and len(key) == 64
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_audit_key(settings, create=True) == key == load_audit_key(settings)
    path.chmod(0o644)
    with pytest.raises(AuditKeyError, match="accessible by others"):
        load_audit_key(settings)


def test_the_key_from_the_environment_wins_and_must_be_long(tmp_path: Path) -> None:
    settings = Settings(var_dir=str(tmp_path), audit_key=KEY.decode())
    assert load_audit_key(settings, create=True) == KEY
    assert not (tmp_path / "audit.key").exists()
    with pytest.raises(AuditKeyError, match="at least 32 characters"):
        load_audit_key(Settings(var_dir=str(tmp_path), audit_key="short"))
