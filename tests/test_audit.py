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
from test_desk import HOSPITAL, T0, consult_cmd, contracts, open_cmd  # noqa: F401 - fixture
from test_history import new_case

from core import orm
from core.audit import (
    HASH_MISMATCH,
    HEAD_SEAL_MISMATCH,
    AuditReport,
    Break,
    seal_unsealed,
    verify,
)
from core.cli import main
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
from core.contract_load import ContractSet
from core.db import make_sessionmaker
from core.desk import CaseDesk
from core.errors import NotFoundError
from core.history import GENESIS, event_hash
from core.replay import Finding
from core.secrets import CredentialVault
from core.service_types import effective_service_type

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
        return {number: id_ for number, id_ in session.execute(select(orm.Case.number, orm.Case.id))}


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
    engine: Engine, sessions: sessionmaker[Session], three_cases: dict[str, int]
) -> None:
    rewrite(engine, three_cases[NUMBERS[1]], 3, payload={})
    with sessions() as session:
        small = verify(session, key=KEY, batch_size=3)  # batches end inside cases
    assert small == audit(sessions)
    assert small.breaks == [Break(NUMBERS[1], 3, HASH_MISMATCH)]


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
