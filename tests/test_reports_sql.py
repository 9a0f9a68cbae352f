"""The report's SQL aggregations on both back ends: hand-known figures, and the same report
struct from SQLite and PostgreSQL over the same rows."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest
from sqlalchemy.orm import Session, sessionmaker

from core.reports.build import Customer, build_report, build_reports
from core.reports.model import Report
from core.reports.period import parse_period
from core.store.db import make_engine, make_sessionmaker
from report_fixture import HOSPITAL, NOW, PORT, known, scrambled

TZ = "Asia/Shanghai"
Q3 = parse_period("2026Q3", TZ)
HOSPITAL_CUSTOMER = Customer(HOSPITAL, "wdkn-hospital", "威海市文登区康宁医院")
PORT_CUSTOMER = Customer(PORT, "shidao-port", "石岛港")


@pytest.fixture
def report(sessions: sessionmaker[Session]) -> Report:
    with sessions.begin() as session:
        known().load(session.connection())
    with sessions() as session:
        return build_report(session, HOSPITAL_CUSTOMER, Q3, now=NOW)


def _counts(report: Report, dimension: str) -> dict[str, int]:
    return {r.key: r.cases for r in report.statistics if r.dimension == dimension}


def test_the_period_is_the_quarter_in_the_contracts_zone() -> None:
    assert Q3.start == datetime(2026, 6, 30, 16, tzinfo=UTC)
    assert Q3.end == datetime(2026, 9, 30, 16, tzinfo=UTC)


def test_statistics_per_dimension_cover_the_quarters_cases_only(report: Report) -> None:
    total = report.totals()
    assert total is not None
    assert (total.cases, total.resolved, total.closed, total.open) == (5, 4, 1, 1)
    assert (total.breached, total.emergency) == (1, 1)
    assert _counts(report, "priority") == {"P1": 1, "P2": 2, "P3": 2}
    assert _counts(report, "channel") == {"phone": 3, "email": 1, "wechat": 1}
    assert _counts(report, "zone") == {"市内": 3, "文登": 1, "(none)": 1}
    assert _counts(report, "request_type") == {"problem_report": 4, "consultation": 1}
    assert _counts(report, "service_type") == {"fault_rescue": 4, "consulting": 1}


def test_sla_per_clock_kind_counts_breaches_pauses_and_exclusions(report: Report) -> None:
    by_kind = {r.kind: r for r in report.sla}
    response, resolution = by_kind["response"], by_kind["resolution"]
    # c3's response clock is still running past its deadline: a breach at `now`
    assert (response.clocks, response.met, response.breached, response.running) == (4, 2, 2, 1)
    assert response.compliance == 0.5
    assert (resolution.met, resolution.breached, resolution.paused) == (1, 1, 1)
    assert (resolution.paused_clocks, resolution.pauses) == (1, 2)
    assert (resolution.excluded, resolution.breached_excluded) == (1, 1)
    assert resolution.compliance == 1.0  # the only breach is excluded
    assert by_kind["onsite_arrival"].compliance == 1.0
    assert [(e.kind, e.cause, e.clocks) for e in report.exclusions] == [
        ("resolution", "late-fault-information", 1)
    ]


def test_first_time_fix_excludes_reopened_and_revisited_cases(report: Report) -> None:
    fix = report.first_time_fix
    assert (fix.resolved, fix.fixed_first_time, fix.reopened, fix.revisited) == (4, 2, 1, 1)
    assert fix.rate == 0.5


def test_percentiles_are_nearest_rank(report: Report) -> None:
    spread = {(p.measure, p.priority): p for p in report.percentiles}
    first = spread["first_response", "*"]
    assert (first.count, first.p50, first.p90, first.p95) == (3, 600, 1200, 1200)
    p2 = spread["first_response", "P2"]
    assert (p2.count, p2.p50, p2.p90) == (2, 300, 1200)
    resolution = spread["resolution", "*"]
    assert (resolution.count, resolution.p50, resolution.p90) == (4, 5000, 10800)
    assert ("first_response", "P3") not in spread  # no P3 case has responded


def test_rma_turnaround_by_vendor(report: Report) -> None:
    rows = {r.vendor: r for r in report.rma}
    dc, cisco = rows["digital_china"], rows["cisco"]
    assert (dc.orders, dc.done, dc.p50, dc.max) == (1, 1, 2 * 86400, 2 * 86400)
    # the closed order has no delivery event: its last update ends it
    assert (cisco.orders, cisco.done, cisco.open, cisco.p50) == (2, 1, 1, 86400)


def test_major_cases_carry_their_handling_timeline(report: Report) -> None:
    assert report.major_total == 1
    (major,) = report.major_cases
    assert major.number == "T-2026-0001"
    kinds = [e.kind for e in major.timeline]
    assert kinds == [
        "opened",
        "first_response",
        "onsite_arrived",
        "resolved",
        "closed",
        "rma_updated",
    ]  # the internal note is left out


def test_a_report_built_without_the_quality_provider_says_so(
    report: Report,
) -> None:
    assert report.satisfaction.available is False
    assert report.satisfaction.note


def test_sqlite_and_postgresql_give_the_same_reports(db_templates: object) -> None:
    built = []
    for backend in ("sqlite", "postgresql"):
        url = getattr(db_templates, backend)()
        engine = make_engine(url)
        try:
            with make_sessionmaker(engine).begin() as session:
                known().load(session.connection())
            with make_sessionmaker(engine)() as session:
                built.append(
                    build_reports(session, [HOSPITAL_CUSTOMER, PORT_CUSTOMER], Q3, now=NOW)
                )
        finally:
            engine.dispose()
            db_templates.drop(url)  # type: ignore[attr-defined]
    assert msgspec.to_builtins(built[0]) == msgspec.to_builtins(built[1])


@pytest.mark.parametrize("seed", [7, 11])
def test_random_cases_give_the_same_report_on_both_back_ends(
    db_templates: object, seed: int
) -> None:
    built = []
    for backend in ("sqlite", "postgresql"):
        url = getattr(db_templates, backend)()
        engine = make_engine(url)
        try:
            with make_sessionmaker(engine).begin() as session:
                scrambled(seed).load(session.connection())
            with make_sessionmaker(engine)() as session:
                built.append(
                    [
                        build_reports(session, [HOSPITAL_CUSTOMER, PORT_CUSTOMER], period, now=NOW)
                        for period in (Q3, parse_period("2026-07", TZ))
                    ]
                )
        finally:
            engine.dispose()
            db_templates.drop(url)  # type: ignore[attr-defined]
    first, second = (msgspec.to_builtins(b) for b in built)
    assert first == second
    totals = [r.totals() for r in built[0][0]]
    assert all(t is not None and t.cases > 0 for t in totals)  # the fixture covers both
