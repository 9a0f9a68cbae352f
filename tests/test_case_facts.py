"""The report's per-case facts (core.store.case_facts) on both back ends: the desk's commits
keep them equal to a rebuild from the cases' events and clocks, they say what the histories
say, the report built from them has the story's figures, and migration 0021's backfill
writes the same rows."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from cryptography.fernet import Fernet
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from core.case import Category, Channel, RequestType, Status
from core.commands import (
    Assign,
    Caller,
    ChangePriority,
    ChangeStatus,
    Close,
    ConfirmDiagnosis,
    ExcludeClock,
    FirstResponse,
    Milestone,
    OpenCase,
    Reopen,
    RequestOnsite,
    Resolve,
)
from core.desk import CaseDesk
from core.loaded import ContractSet
from core.reports.build import Customer, build_report
from core.reports.period import parse_period
from core.service_types import effective_service_type
from core.sources.contracts import load_contracts
from core.store import case_facts, orm
from core.store.db_timeouts import unbounded
from core.store.migrate import alembic_config, upgrade
from core.store.secrets import CredentialVault

ROOT = Path(__file__).resolve().parent.parent
SH = ZoneInfo("Asia/Shanghai")
HOSPITAL = "wdkn-hospital-2026"
T0 = datetime(2026, 10, 14, 10, 0, tzinfo=SH)  # a Wednesday in working hours


@pytest.fixture(scope="module")
def contracts() -> ContractSet:
    return load_contracts([ROOT / "contracts"])


@pytest.fixture
def desk(sessions: sessionmaker[Session], contracts: ContractSet) -> CaseDesk:
    return CaseDesk(sessions, contracts, prefix="MS", vault=CredentialVault(Fernet.generate_key()))


def _open(desk: CaseDesk, at: datetime, **changes: Any) -> str:
    values: dict[str, Any] = {
        "contract_id": HOSPITAL,
        "caller": Caller(name="周医生", company="文登康宁医院", phone="0631-8451234"),
        "summary": "HIS server unreachable from wards",
        "category": Category.CONSULTING,
        "request_type": RequestType.PROBLEM_REPORT,
        "priority": "P2",
        "channel": Channel.PHONE,
        "device_serial": "219801A23B8205Q0021K",  # H3C switch, 8x5xNBD, 文登
    }
    values.update(changes)
    number = desk.open_case(OpenCase(**values), actor="agent:li", now=at).number
    desk.assign(number, Assign(engineer="eng:wang"), actor="agent:li", now=at)
    return number


def _close(desk: CaseDesk, contracts: ContractSet, number: str, at: datetime) -> None:
    service = effective_service_type("consulting", contracts.get(HOSPITAL).contract.service_types)
    desk.close(
        number,
        Close(
            confirmed_by="周医生",
            confirmed_at=at,
            checklist=[item.id for item in service.checklist],
            deliverables={d.id: f"DMS-{i}" for i, d in enumerate(service.deliverables)},
        ),
        actor="eng",
        now=at,
    )


def story(desk: CaseDesk, contracts: ContractSet) -> dict[str, str]:
    """Three cases through most of the desk's commands that change a report's figures."""
    # a: responded, a hardware fault (spare clocks, the RMA's shipment), on site, paused and
    # resumed, resolved, closed, re-opened, on site again, resolved and closed again
    a = _open(desk, T0)
    desk.first_response(
        a, FirstResponse(agreed_content="x"), actor="eng", now=T0 + timedelta(minutes=20)
    )
    desk.confirm_diagnosis(
        a,
        ConfirmDiagnosis(finding="PSU dead", hardware_fault=True),
        actor="eng",
        now=T0 + timedelta(hours=1),
    )
    desk.spare_shipped(
        a, Milestone(note="DC RMA 4711"), actor="spares", now=T0 + timedelta(hours=2)
    )
    desk.request_onsite(
        a, RequestOnsite(reason="needs hands"), actor="svc-mgr", now=T0 + timedelta(hours=2)
    )
    desk.onsite_arrived(a, Milestone(), actor="eng", now=T0 + timedelta(hours=3))
    desk.change_status(
        a,
        ChangeStatus(status=Status.PENDING_CUSTOMER, cause="waiting for fault logs"),
        actor="eng",
        now=T0 + timedelta(hours=4),
    )
    desk.change_status(
        a, ChangeStatus(status=Status.IN_PROGRESS), actor="eng", now=T0 + timedelta(hours=5)
    )
    desk.resolve(a, Resolve(resolution="PSU replaced"), actor="eng", now=T0 + timedelta(hours=6))
    _close(desk, contracts, a, T0 + timedelta(hours=7))
    desk.reopen(a, Reopen(reason="fault is back"), actor="agent", now=T0 + timedelta(days=1))
    desk.resolve(a, Resolve(resolution="cable"), actor="eng", now=T0 + timedelta(days=1, hours=2))
    _close(desk, contracts, a, T0 + timedelta(days=1, hours=3))
    # b: never answered: the breach pass marks its response clock; a P1 now, one clock excluded
    b = _open(desk, T0 + timedelta(minutes=5), channel=Channel.EMAIL)
    assert desk.note_breaches(now=T0 + timedelta(hours=2)) >= 1
    desk.change_priority(
        b,
        ChangePriority(priority="P1", reason="all wards down"),
        actor="mgr",
        now=T0 + timedelta(hours=2),
    )
    desk.exclude_clock(
        b,
        ExcludeClock(kind="resolution", cause="force-majeure", note="typhoon"),
        actor="mgr",
        now=T0 + timedelta(hours=3),
    )
    # c: answered and resolved by phone, still open at the end
    c = _open(desk, T0 + timedelta(minutes=10), priority="P3")
    desk.first_response(
        c, FirstResponse(agreed_content="y"), actor="eng", now=T0 + timedelta(minutes=40)
    )
    desk.resolve(c, Resolve(resolution="answered"), actor="eng", now=T0 + timedelta(hours=1))
    return {"a": a, "b": b, "c": c}


def _rows(sessions: sessionmaker[Session]) -> tuple[list[Any], list[Any]]:
    with sessions() as session:
        return case_facts.rows(session)


def _rebuilt(sessions: sessionmaker[Session]) -> tuple[list[Any], list[Any]]:
    with sessions.begin() as session:
        case_facts.rebuild(session)
    return _rows(sessions)


def _facts(sessions: sessionmaker[Session], number: str) -> orm.CaseFacts:
    with sessions() as session:
        return session.scalars(
            select(orm.CaseFacts)
            .join(orm.Case, orm.Case.id == orm.CaseFacts.case_id)
            .where(orm.Case.number == number)
        ).one()


def _from_history(sessions: sessionmaker[Session]) -> dict[int, tuple[Any, ...]]:
    """Each case's facts worked out in Python from its row and events (an independent
    reading of the definitions in docs/reports.md, not the module's SQL)."""
    out = {}
    with sessions() as session:
        for case in session.scalars(select(orm.Case)):
            events = session.scalars(
                select(orm.CaseEvent).where(orm.CaseEvent.case_id == case.id)
            ).all()
            opened = int(case.opened_at.timestamp())
            first = [int(e.at.timestamp()) for e in events if e.kind == "first_response"]
            resolved = case.resolved_at
            out[case.id] = (
                case.contract_id,
                case.priority,
                case.breached,
                min(first) - opened if first else None,
                int(resolved.timestamp()) - opened if resolved else None,
                sum(e.kind == "reopened" for e in events),
                sum(e.kind == "onsite_arrived" for e in events),
            )
    return out


def test_the_desks_commits_keep_the_facts_equal_to_a_rebuild(
    desk: CaseDesk, contracts: ContractSet, sessions: sessionmaker[Session]
) -> None:
    numbers = story(desk, contracts)
    maintained = _rows(sessions)
    assert len(maintained[0]) == 3 and len(maintained[1]) >= 10
    assert _rebuilt(sessions) == maintained
    a, b, c = (_facts(sessions, numbers[k]) for k in "abc")
    assert (a.first_response_s, a.reopens, a.visits) == (20 * 60, 1, 1)
    assert a.resolution_s == int(timedelta(days=1, hours=2).total_seconds())
    assert a.closed_at is not None
    assert (b.priority, b.breached, b.first_response_s, b.resolution_s) == ("P1", True, None, None)
    assert (c.first_response_s, c.resolution_s, c.closed_at) == (30 * 60, 50 * 60, None)


def test_the_facts_say_what_the_histories_say(
    desk: CaseDesk, contracts: ContractSet, sessions: sessionmaker[Session]
) -> None:
    story(desk, contracts)
    expected = _from_history(sessions)
    with sessions() as session:
        got = {
            f.case_id: (
                f.contract_id,
                f.priority,
                f.breached,
                f.first_response_s,
                f.resolution_s,
                f.reopens,
                f.visits,
            )
            for f in session.scalars(select(orm.CaseFacts))
        }
        clocks = {k.id: k for k in session.scalars(select(orm.SlaClock))}
        facts = {k.clock_id: k for k in session.scalars(select(orm.ClockFacts))}
    assert got == expected
    assert facts.keys() == clocks.keys()
    for clock_id, clock in clocks.items():
        fact = facts[clock_id]
        marked = clock.state == "breached" or clock.breached_at is not None
        assert (fact.kind, fact.state, fact.deadline, fact.marked) == (
            clock.kind,
            clock.state,
            clock.deadline,
            marked,
        )
        assert fact.pauses == len(clock.pauses) + (clock.paused_at is not None)
        assert fact.exclusion_cause == clock.exclusion_cause
    paused = [f for f in facts.values() if f.kind == "resolution" and f.pauses]
    assert paused, "the story paused a resolution clock"


def test_the_report_from_the_facts_has_the_storys_figures(
    desk: CaseDesk, contracts: ContractSet, sessions: sessionmaker[Session]
) -> None:
    story(desk, contracts)
    period = parse_period("2026Q4", "Asia/Shanghai")
    with sessions() as session:
        report = build_report(
            session,
            Customer(HOSPITAL, "wdkn-hospital", "康宁医院"),
            period,
            now=T0 + timedelta(days=2),
        )
    total = report.totals()
    assert total is not None
    assert (total.cases, total.resolved, total.closed, total.open, total.breached) == (
        3,
        2,
        1,
        1,
        1,
    )
    by_priority = {r.key: r.cases for r in report.statistics if r.dimension == "priority"}
    assert by_priority == {"P1": 1, "P2": 1, "P3": 1}
    fix = report.first_time_fix
    # a was re-opened; c was fixed by phone
    assert (fix.resolved, fix.fixed_first_time, fix.reopened, fix.revisited) == (2, 1, 1, 0)
    spread = {(p.measure, p.priority): p for p in report.percentiles}
    first = spread["first_response", "*"]
    assert (first.count, first.p50, first.p90) == (2, 20 * 60, 30 * 60)
    resolution = spread["resolution", "*"]
    assert (resolution.count, resolution.p50) == (2, 50 * 60)
    clocks = {r.kind: r for r in report.sla}
    assert clocks["first_response"].breached == 1  # b's, marked by the breach pass
    assert clocks["resolution"].excluded == 1
    assert clocks["resolution"].paused_clocks >= 1
    assert report.major_total == 1


def test_a_rolled_back_command_leaves_the_facts_alone(
    desk: CaseDesk, contracts: ContractSet, sessions: sessionmaker[Session]
) -> None:
    numbers = story(desk, contracts)
    before = _rows(sessions)
    with pytest.raises(RuntimeError), sessions.begin() as session:
        case = session.scalars(select(orm.Case).where(orm.Case.number == numbers["c"])).one()
        case.priority = "P1"
        session.flush()
        raise RuntimeError("the command failed after its flush")
    assert _rows(sessions) == before == _rebuilt(sessions)


def _downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config(engine)
    with engine.begin() as connection, unbounded(connection):
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_the_migrations_backfill_writes_the_rebuilds_rows(
    desk: CaseDesk, contracts: ContractSet, sessions: sessionmaker[Session], engine: Engine
) -> None:
    story(desk, contracts)
    maintained = _rows(sessions)
    _downgrade(engine, "0021-1")  # the revision before 0021
    upgrade(engine)  # 0021 backfills from the cases, events and clocks
    assert _rows(sessions) == maintained == _rebuilt(sessions)
