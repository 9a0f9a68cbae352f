"""The escalation scheduler on both back ends: levels fire once, into events and the outbox."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from concurrency import at_the_same_instant
from cryptography.fernet import Fernet
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from test_desk import T0, at, consult_cmd

from cli.main import main
from core.case import Status
from core.commands import (
    Assign,
    ChangePriority,
    ChangeStatus,
    ConfirmDiagnosis,
    FirstResponse,
    RequestOnsite,
)
from core.desk import CaseDesk
from core.jobs.scheduler import TickReport, tick
from core.loaded import ContractSet
from core.plugins import make_plugin_manager
from core.runtime import Runtime
from core.settings import Settings
from core.sources.contracts import load_contracts
from core.store import orm
from core.store.audit import verify
from core.store.secrets import CredentialVault

ROOT = Path(__file__).resolve().parent.parent


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
        # the maintenance plans' inspections stay out of these passes (tests/test_maintenance.py)
        inspection_catch_up_days=0,
    )
    desk = CaseDesk(sessions, contracts, vault=CredentialVault(Fernet.generate_key()))
    pm = make_plugin_manager(load_entrypoints=False)
    yield Runtime(settings, engine, sessions, contracts, pm, desk)


def opened(runtime: Runtime, now: datetime = T0, **changes: object) -> str:
    """A consulting case (no appointment): first response 30 min, resolution per priority."""
    return runtime.desk.open_case(consult_cmd(**changes), actor="agent:li", now=now).number


def answered(runtime: Runtime, number: str, now: datetime) -> None:
    """Assigned, first response given and diagnosis confirmed: only resolution still runs."""
    desk = runtime.desk
    desk.assign(number, Assign(engineer="yu-tao"), actor="agent:li", now=now)
    desk.first_response(number, FirstResponse(agreed_content="remote"), actor="eng:yu", now=now)
    desk.confirm_diagnosis(number, ConfirmDiagnosis(finding="config"), actor="eng:yu", now=now)


def clock_of(runtime: Runtime, number: str, kind: str) -> orm.SlaClock:
    with runtime.sessions() as session:
        return session.scalars(
            select(orm.SlaClock)
            .join(orm.Case)
            .where(orm.Case.number == number, orm.SlaClock.kind == kind)
            .order_by(orm.SlaClock.id.desc())
        ).first()


def escalations(runtime: Runtime, number: str) -> list[orm.CaseEvent]:
    with runtime.sessions() as session:
        return list(
            session.scalars(
                select(orm.CaseEvent)
                .join(orm.Case)
                .where(orm.Case.number == number, orm.CaseEvent.kind == "escalated")
                .order_by(orm.CaseEvent.seq)
            )
        )


def notices(runtime: Runtime, number: str) -> list[orm.Notification]:
    with runtime.sessions() as session:
        return list(
            session.scalars(
                select(orm.Notification)
                .join(orm.Case)
                .where(orm.Case.number == number)
                .order_by(orm.Notification.id)
            )
        )


def counts(report: TickReport) -> tuple[int, int, int, int]:
    return report.clocks, report.events, report.notifications, report.breaches


# --- firing -----------------------------------------------------------------------------------


def test_nothing_is_due_when_the_case_opens(runtime: Runtime) -> None:
    number = opened(runtime)
    report = tick(runtime, now=T0)
    assert counts(report) == (0, 0, 0, 0) and not report.errors
    assert escalations(runtime, number) == [] and notices(runtime, number) == []


def test_a_level_fires_once_into_an_event_and_queued_notifications(runtime: Runtime) -> None:
    number = opened(runtime)
    now = at("2026-10-14T10:16")  # past 50 % of the 30-minute first response
    report = tick(runtime, now=now)
    assert counts(report) == (1, 1, 2, 0)
    [event] = escalations(runtime, number)
    payload = event.payload
    assert (event.actor, event.at) == ("system:scheduler", now)
    assert payload["alarm"] is payload["automatic"] is True
    assert (payload["clock"], payload["level"], payload["at"]) == ("first_response", 0, "50%")
    assert payload["notify"] == ["engineer"] and payload["channels"] == ["email", "sms"]
    assert payload["deadline"] == "2026-10-14T02:30:00.000000Z"
    assert {p["channel"] for p in payload["planned"]} == {"email", "sms"}
    assert "@" not in str(payload["planned"])  # addresses stay in the outbox, not the history
    rows = notices(runtime, number)
    assert {(r.channel, r.state, r.level, r.event_seq) for r in rows} == {
        ("email", "queued", 0, event.seq),
        ("sms", "queued", 0, event.seq),
    }
    assert all(r.send_after == now for r in rows)  # the on-duty engineer: duty calendar, 24x7
    assert all(r.recipient["email"] and r.recipient["mobile"] for r in rows)
    assert rows[0].idempotency_key.startswith(f"{number}:first_response:")
    assert clock_of(runtime, number, "first_response").next_alert_at == at("2026-10-14T10:22:30")
    # the same instant again: the level already fired
    assert counts(tick(runtime, now=now)) == (0, 0, 0, 0)
    assert len(escalations(runtime, number)) == 1 and len(notices(runtime, number)) == 2
    assert clock_of(runtime, number, "first_response").alert_level == 1


def test_a_manager_at_night_waits_for_working_hours(runtime: Runtime) -> None:
    number = opened(runtime)
    answered(runtime, number, T0 + timedelta(minutes=5))
    now = at("2026-10-14T19:01")  # resolution 22:00: 50 % at 16:00 and 75 % at 19:00 are due
    report = tick(runtime, now=now)
    assert counts(report)[:2] == (1, 2)
    assert [e.payload["level"] for e in escalations(runtime, number)] == [0, 1]
    rows = notices(runtime, number)
    managers = [r for r in rows if r.recipient["role"] == "service-manager"]
    engineers = [r for r in rows if r.recipient["role"] == "engineer"]
    assert managers and engineers and len(rows) == report.notifications
    assert all(r.send_after == at("2026-10-15T08:30") for r in managers)
    assert all(r.send_after == now for r in engineers)
    assert clock_of(runtime, number, "resolution").next_alert_at == at("2026-10-14T22:00")


def test_an_urgent_p1_breach_goes_at_once_and_marks_the_breach(runtime: Runtime) -> None:
    start = at("2026-10-14T20:00")
    number = opened(runtime, start, priority="P1")
    answered(runtime, number, start + timedelta(minutes=5))
    deadline = clock_of(runtime, number, "resolution").deadline
    now = deadline + timedelta(minutes=1)  # after midnight
    report = tick(runtime, now=now)
    assert report.breaches == 1
    events = escalations(runtime, number)
    breach = next(e for e in events if e.payload["at"] == "100%")
    assert breach.payload["urgent"] is True and breach.payload["breached"] is True
    assert [e.payload["newly_breached"] for e in events].count(True) == 1
    rows = [r for r in notices(runtime, number) if r.event_seq == breach.seq]
    assert rows and all(r.send_after == now for r in rows)  # urgent: nobody's calendar applies
    early = [r for r in notices(runtime, number) if r.recipient["role"] == "project-manager"]
    assert any(r.send_after > now for r in early)  # the 90 % sms to the manager still waits
    resolution = clock_of(runtime, number, "resolution")
    assert resolution.breached_at == deadline
    assert resolution.next_alert_at == deadline + timedelta(hours=2)
    with runtime.sessions() as session:
        assert session.scalar(select(orm.Case.breached).where(orm.Case.number == number))


def test_paused_and_met_clocks_fire_nothing(runtime: Runtime) -> None:
    number = opened(runtime)
    answered(runtime, number, T0 + timedelta(minutes=5))  # first response met
    cause = "waiting for the customer's logs"
    runtime.desk.change_status(
        number,
        ChangeStatus(status=Status.PENDING_CUSTOMER, cause=cause),
        actor="eng:yu",
        now=T0 + timedelta(minutes=6),
    )
    assert clock_of(runtime, number, "resolution").state == "paused"
    assert counts(tick(runtime, now=at("2026-10-14T23:00"))) == (0, 0, 0, 0)
    assert escalations(runtime, number) == []


def test_the_tick_follows_a_priority_change(runtime: Runtime) -> None:
    number = opened(runtime)  # P2: resolution 22:00, its 50 % at 16:00
    answered(runtime, number, T0 + timedelta(minutes=5))
    runtime.desk.change_priority(
        number,
        ChangePriority(priority="P1", reason="all wards down"),
        actor="mgr:liu",
        now=T0 + timedelta(minutes=10),
    )
    assert clock_of(runtime, number, "resolution").next_alert_at == at("2026-10-14T12:00")
    report = tick(runtime, now=at("2026-10-14T12:01"))  # P1: 14:00, its 50 % at 12:00
    assert counts(report)[:2] == (1, 1)
    [event] = escalations(runtime, number)
    assert event.payload["deadline"] == "2026-10-14T06:00:00.000000Z"
    assert clock_of(runtime, number, "resolution").next_alert_at == at("2026-10-14T13:00")


def test_a_priority_change_replans_the_ladder_of_clocks_it_does_not_move(
    runtime: Runtime,
) -> None:
    number = opened(runtime)  # P2; the hospital's 90 % rung is for P1 only
    answered(runtime, number, T0 + timedelta(minutes=5))
    runtime.desk.request_onsite(number, RequestOnsite(reason="needs hands"), actor="m", now=T0)
    onsite = clock_of(runtime, number, "onsite_arrival")
    span = onsite.deadline - onsite.started_at
    tick(runtime, now=onsite.started_at + span * 0.8)  # the 50 % and 75 % rungs fire
    before = clock_of(runtime, number, "onsite_arrival")
    assert (before.alert_level, before.next_alert_at) == (2, before.deadline)  # next: 100 %
    runtime.desk.change_priority(
        number, ChangePriority(priority="P1", reason="wards down"), actor="m", now=T0
    )
    after = clock_of(runtime, number, "onsite_arrival")
    assert after.deadline == before.deadline  # the zone table does not depend on priority
    assert after.next_alert_at == after.started_at + span * 0.9  # P1's 90 % rung is next


def test_a_lower_priority_keeps_the_rungs_already_fired_and_skips_none(
    runtime: Runtime,
) -> None:
    number = opened(runtime, priority="P1")  # P1 ladder: 50, 75, 90, 100 %, 100 % + 2h
    answered(runtime, number, T0 + timedelta(minutes=5))
    runtime.desk.request_onsite(number, RequestOnsite(reason="needs hands"), actor="m", now=T0)
    onsite = clock_of(runtime, number, "onsite_arrival")
    span = onsite.deadline - onsite.started_at
    tick(runtime, now=onsite.started_at + span * 0.95)  # 50, 75 and 90 % fire
    assert clock_of(runtime, number, "onsite_arrival").alert_level == 3
    runtime.desk.change_priority(
        number, ChangePriority(priority="P2", reason="one ward only"), actor="m", now=T0
    )
    after = clock_of(runtime, number, "onsite_arrival")  # P2 ladder: 50, 75, 100 %, +2h
    assert (after.alert_level, after.next_alert_at) == (2, after.deadline)  # 100 % is next
    tick(runtime, now=after.deadline)
    fired = [
        e.payload["at"]
        for e in escalations(runtime, number)
        if e.payload["clock"] == "onsite_arrival"
    ]
    assert fired == ["50%", "75%", "90%", "100%"]  # each rung once, none skipped
    with runtime.sessions() as session:
        keys = list(session.scalars(select(orm.Notification.idempotency_key)))
    assert len(keys) == len(set(keys))


def test_without_a_staff_directory_every_role_is_skipped_with_a_reason(
    runtime: Runtime, tmp_path: Path
) -> None:
    empty = tmp_path / "contracts"
    empty.mkdir()
    runtime.settings = Settings(
        database_url=runtime.settings.database_url, contracts_dir=str(empty), var_dir=str(tmp_path)
    )
    number = opened(runtime)
    report = tick(runtime, now=at("2026-10-14T10:16"))
    assert counts(report) == (1, 1, 0, 0)
    [event] = escalations(runtime, number)
    assert event.payload["planned"] == []
    assert "no staff directory" in event.payload["skipped"][0]["reason"]


# --- several schedulers -----------------------------------------------------------------------


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_concurrent_ticks_fire_every_level_exactly_once(runtime: Runtime) -> None:
    numbers = [opened(runtime) for _ in range(20)]
    now = at("2026-10-14T10:16")  # 20 first-response clocks at their 50 % rung
    reports = at_the_same_instant(*[lambda: tick(runtime, now=now, limit=500)] * 2, timeout=30)
    assert len(reports) == 2
    assert sum(r.clocks for r in reports) == 20
    assert sum(r.events for r in reports) == 20
    assert sum(r.notifications for r in reports) == 40
    assert all(len(escalations(runtime, n)) == 1 for n in numbers)
    with runtime.sessions() as session:
        total = session.scalar(select(func.count()).select_from(orm.Notification))
        keys = session.scalar(select(func.count(orm.Notification.idempotency_key.distinct())))
        assert total == keys == 40
        assert verify(session).ok
    assert counts(tick(runtime, now=now)) == (0, 0, 0, 0)


# --- the command line -------------------------------------------------------------------------


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_cli_once_prints_one_line_with_the_counts(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    opened(runtime)  # at T0: by the wall clock every level of both clocks is due
    monkeypatch.setenv("CASETRACK_DATABASE_URL", runtime.settings.database_url)
    monkeypatch.setenv("CASETRACK_CONTRACTS_DIR", runtime.settings.contracts_dir)
    monkeypatch.setenv("CASETRACK_VAR_DIR", runtime.settings.var_dir)
    monkeypatch.setenv("CASETRACK_INSPECTION_CATCH_UP_DAYS", "0")  # no maintenance plans' cases
    assert main(["scheduler", "--once"]) == 0
    [line, relayed] = capsys.readouterr().out.splitlines()
    assert line.startswith("tick ") and " 2 clocks, " in line and "breaches" in line
    assert relayed.startswith("relay: ") and "notifications" in relayed


def test_cli_on_an_unmigrated_database_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CASETRACK_DATABASE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    monkeypatch.setenv("CASETRACK_CONTRACTS_DIR", str(ROOT / "contracts"))
    monkeypatch.setenv("CASETRACK_VAR_DIR", str(tmp_path / "var"))
    assert main(["scheduler", "--once"]) == 1
    out = capsys.readouterr()
    assert out.out == "" and len(out.err.strip().splitlines()) == 1
    assert "casetrack db upgrade" in out.err


def sigterm_when_handled(done: threading.Event, ready: Callable[[], bool]) -> None:
    """SIGTERM to this process once the command has put its handler in place and ``ready()``
    holds (or a minute has passed): sent earlier, on a loaded host, it would end pytest."""
    default = signal.getsignal(signal.SIGTERM)
    deadline = time.monotonic() + 60
    while not done.wait(0.1):
        if signal.getsignal(signal.SIGTERM) is not default and (
            ready() or time.monotonic() > deadline
        ):
            os.kill(os.getpid(), signal.SIGTERM)
            return


def test_cli_runs_passes_until_sigterm_and_exits_0(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    number = opened(runtime)  # at T0: by the wall clock every level is due
    monkeypatch.setenv("CASETRACK_DATABASE_URL", runtime.settings.database_url)
    monkeypatch.setenv("CASETRACK_CONTRACTS_DIR", runtime.settings.contracts_dir)
    monkeypatch.setenv("CASETRACK_VAR_DIR", runtime.settings.var_dir)
    done = threading.Event()
    stopper = threading.Thread(
        target=sigterm_when_handled, args=(done, lambda: bool(escalations(runtime, number)))
    )
    stopper.start()
    try:
        assert main(["scheduler", "--interval", "0.2"]) == 0
    finally:
        done.set()
        stopper.join()
    assert escalations(runtime, number)  # the loop ran on its thread before the signal
    assert "tick " in capsys.readouterr().err  # a log line (cli/logs.py): stderr


def test_outbox_rows_store_recipient_and_variables_as_before(runtime: Runtime) -> None:
    """The stored JSON of a row (what workers, digests and the list read) is pinned: keys,
    their order as written, and values."""
    number = opened(runtime)
    tick(runtime, now=at("2026-10-14T10:16"))
    with runtime.sessions() as session:
        raw = session.execute(
            select(orm.Notification.recipient, orm.Notification.variables, orm.Notification.state)
            .join(orm.Case)
            .where(orm.Case.number == number, orm.Notification.channel == "email")
        ).one()
    recipient, variables, state = raw
    assert list(recipient) == ["id", "name", "role", "email", "mobile", "locale"]
    assert recipient["role"] == "engineer" and type(recipient["role"]) is str
    assert list(variables) == [
        "case_number", "customer", "summary", "priority", "contract_id", "clock", "level",
        "at", "deadline", "due_at", "breached", "urgent",
    ]  # fmt: skip
    assert {k: v for k, v in variables.items() if k not in ("customer", "summary")} == {
        "case_number": number,
        "priority": "P2",
        "contract_id": variables["contract_id"],
        "clock": "first_response",
        "level": 1,
        "at": "50%",
        "deadline": "2026-10-14T10:30:00+08:00",
        "due_at": "2026-10-14T10:16:00+08:00",  # when the level fired
        "breached": False,
        "urgent": False,
    }
    assert state == "queued" and type(state) is str
