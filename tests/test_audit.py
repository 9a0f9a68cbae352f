"""`audit verify`: intact chains pass; a changed, cut or forged history is found exactly."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, delete, text, update
from sqlalchemy.orm import Session, sessionmaker
from test_history import new_case

from core import orm
from core.audit import HASH_MISMATCH, AuditReport, Break, verify
from core.cli import main
from core.errors import NotFoundError
from core.history import append_event, event_hash

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
NUMBERS = ("MS-2026-000001", "MS-2026-000002", "MS-2026-000003")
EVENTS_PER_CASE = 4


@pytest.fixture
def three_cases(sessions: sessionmaker[Session]) -> dict[str, int]:
    """Three cases of four events each; their ids by number."""
    ids = {}
    with sessions.begin() as session:
        for number in NUMBERS:
            case = new_case(session, number)
            for i in range(EVENTS_PER_CASE):
                append_event(
                    session,
                    case,
                    kind="note",
                    actor="alice",
                    at=T0 + timedelta(minutes=i),
                    payload={"text": f"{number} note {i + 1}", "due": T0 + timedelta(hours=i)},
                    visibility="internal" if i % 2 else "customer",
                )
            ids[number] = case.id
    return ids


def audit(sessions: sessionmaker[Session], case_number: str | None = None) -> AuditReport:
    with sessions() as session:
        return verify(session, case_number)


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
    with sessions.begin() as session:
        new_case(session, "MS-2026-000004")  # no events yet: an empty chain is intact
    report = audit(sessions)
    assert report == AuditReport(cases_checked=4, events_checked=12, breaks=[])
    assert report.ok


def test_empty_database_verifies(sessions: sessionmaker[Session]) -> None:
    assert audit(sessions) == AuditReport(cases_checked=0, events_checked=0, breaks=[])


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
        small = verify(session, batch_size=3)  # batches end inside cases
    assert small == audit(sessions)
    assert small.breaks == [Break(NUMBERS[1], 3, HASH_MISMATCH)]


def test_case_option_limits_to_one_case(
    engine: Engine, sessions: sessionmaker[Session], three_cases: dict[str, int]
) -> None:
    rewrite(engine, three_cases[NUMBERS[1]], 3, payload={})
    assert audit(sessions, NUMBERS[0]) == AuditReport(1, EVENTS_PER_CASE, [])
    broken = audit(sessions, NUMBERS[1])
    assert broken == AuditReport(1, EVENTS_PER_CASE, [Break(NUMBERS[1], 3, HASH_MISMATCH)])


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
    code = main(["audit", "verify", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_intact(
    db_url: str,
    three_cases: dict[str, int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, err = run_cli(capsys, monkeypatch, db_url)
    assert (code, out, err) == (0, "ok: 3 cases, 12 events, chains intact\n", "")
    code, out, _ = run_cli(capsys, monkeypatch, db_url, "--case", NUMBERS[2])
    assert (code, out) == (0, "ok: 1 cases, 4 events, chains intact\n")


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
    code, out, _ = run_cli(capsys, monkeypatch, db_url, "--case", NUMBERS[0])
    assert code == 0


def test_cli_unknown_case(
    db_url: str,
    three_cases: dict[str, int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, err = run_cli(capsys, monkeypatch, db_url, "--case", "MS-2026-999999")
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
