"""The report's aggregations, in SQL, the same on SQLite and PostgreSQL (docs/reports.md).

Every query takes a list of contract ids (one customer, or all of them for the benchmark and
the scheduler) and a period ``[start, end)`` of the cases' opening, and returns rows keyed by
contract id. The case sections read the per-case facts (``case_facts``, ``clock_facts``:
one narrow row per case and per clock, kept by core.store.case_facts), not the cases'
clocks and events; the RMA section reads the orders, the major cases their histories.
Durations are whole seconds between floored epoch seconds (``epoch``), so both back ends
subtract the same integers. Percentiles are nearest-rank (the value at rank ``ceil(p·n/100)``)
on both: ``percentile_disc`` on PostgreSQL, ROW_NUMBER/COUNT windows and integer arithmetic
on SQLite (which has no percentile function). SQLite has no GROUPING SETS either, so its
per-dimension counts are a UNION ALL of GROUP BYs; PostgreSQL counts them in one pass.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from core.reports.model import (
    ClockRow,
    CountRow,
    ExclusionRow,
    FirstTimeFix,
    MajorCase,
    Percentiles,
    RmaRow,
    TimelineEntry,
)
from core.store.case_facts import epoch
from core.store.orm import Case, CaseEvent, CaseFacts, ClockFacts, RmaOrder

Rows = Select[*tuple[Any, ...]]  # a statement of any columns

NONE = "(none)"
PERCENTS = (50, 90, 95)
# what a major case's timeline shows besides every customer-visible event: the handling
# steps; internal notes, calls and credential views stay out of a customer's report
MILESTONES = (
    "opened",
    "assigned",
    "first_response",
    "diagnosis_confirmed",
    "priority_changed",
    "status_changed",
    "clock_excluded",
    "escalated",
    "handed_over",
    "onsite_requested",
    "onsite_arrived",
    "progress_reported",
    "onsite_report_signed",
    "spare_requested",
    "spare_step",
    "rma_updated",
    "rma_status",
    "resolved",
    "closed",
    "reopened",
)

WORK_MEM = "64MB"  # the report's sorts stay in memory on PostgreSQL
# an index probe per row is cheap on SSDs and cached pages (the major cases' histories, the
# RMA orders' delivery events)
RANDOM_PAGE_COST = 1.1


def tune(session: Session) -> None:
    """This transaction's planner settings on PostgreSQL (SET LOCAL: gone at its end)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
        session.execute(text(f"SET LOCAL random_page_cost = {RANDOM_PAGE_COST}"))


class Scope:
    """The cases a report covers: opened in ``[start, end)`` under one of ``contracts``."""

    def __init__(
        self, contracts: Sequence[str], start: datetime, end: datetime, now: datetime
    ) -> None:
        self.contracts = list(contracts)
        self.start, self.end, self.now = start, end, now

    def where(self, model: Any = Case) -> list[ColumnElement[bool]]:
        """The scope on ``model``'s ``contract_id`` and ``opened_at`` (cases, or the facts)."""
        return [
            model.contract_id.in_(self.contracts),
            model.opened_at >= self.start,
            model.opened_at < self.end,
        ]


class bytewise(FunctionElement[str]):
    """A text column compared byte by byte: COLLATE "C" on PostgreSQL (a window's partition
    sorted by the database's locale costs a strcoll per comparison), as is on SQLite (whose
    default collation is already bytewise). Used only where the order does not show."""

    type = String()
    inherit_cache = True


@compiles(bytewise, "sqlite")
def _bytewise_sqlite(element: bytewise, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(bytewise, "postgresql")
def _bytewise_pg(element: bytewise, compiler: SQLCompiler, **kw: Any) -> str:
    return f'({compiler.process(element.clauses, **kw)}) COLLATE "C"'


def _rank(p: int, n: ColumnElement[Any]) -> ColumnElement[Any]:
    """ceil(p·n/100) in integers (both back ends divide integers by truncation)."""
    return (p * n + 99) // 100


def _nearest_rank(value: ColumnElement[Any], rn: Any, n: Any, p: int) -> ColumnElement[Any]:
    return func.min(case((rn >= _rank(p, n), value)))


def _grouped(rows: Sequence[Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        out[row.contract_id].append(row)
    return out


# --- case statistics ---------------------------------------------------------------------------

F = CaseFacts
_DIMENSION_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("service_type", F.category),
    ("priority", F.priority),
    ("channel", F.channel),
    ("zone", func.coalesce(F.zone, literal_column(f"'{NONE}'"))),
    ("request_type", F.request_type),
)


def _count_columns(scope: Scope) -> list[Any]:
    now = scope.now
    resolved = and_(F.resolved_at.is_not(None), F.resolved_at <= now)
    closed = and_(F.closed_at.is_not(None), F.closed_at <= now)
    return [
        func.count().label("cases"),
        func.count().filter(resolved).label("resolved"),
        func.count().filter(closed).label("closed"),
        func.count().filter(~resolved, ~closed).label("open"),
        func.count().filter(F.breached.is_(True)).label("breached"),
        func.count().filter(F.emergency.is_(True)).label("emergency"),
    ]


def _cells(scope: Scope) -> Any:
    """The scope's counts per contract and combination of every dimension's value: one
    pass over the facts into at most a few thousand rows, which the per-dimension totals
    then add up (instead of reading every case once per dimension)."""
    keys = [col.label(name) for name, col in _DIMENSION_COLUMNS]
    return (
        select(F.contract_id, *keys, *_count_columns(scope))
        .where(*scope.where(F))
        .group_by(F.contract_id, *[col for _, col in _DIMENSION_COLUMNS])
        .cte("cells")
    )


COUNTS = ("cases", "resolved", "closed", "open", "breached", "emergency")


def _sums(cells: Any) -> list[Any]:
    return [cast(func.sum(cells.c[name]), BigInteger).label(name) for name in COUNTS]


def _counts(dimension: str, cells: Any) -> Any:
    key = literal("*", String) if dimension == "all" else cells.c[dimension]
    stmt = select(
        cells.c.contract_id,
        literal(dimension, String).label("dimension"),
        cast(key, String).label("key"),
        *_sums(cells),
    )
    if dimension == "all":
        return stmt.group_by(cells.c.contract_id)
    return stmt.group_by(cells.c.contract_id, key)


def _statistics_pg(cells: Any) -> Rows:
    """Every dimension's totals from the cells in one pass (GROUPING SETS)."""
    names = [name for name, _ in _DIMENSION_COLUMNS]
    dimension = case(*[(func.grouping(cells.c[n]) == 0, n) for n in names], else_="all")
    key = case(*[(func.grouping(cells.c[n]) == 0, cells.c[n]) for n in names], else_="*")
    return select(
        cells.c.contract_id, dimension.label("dimension"), key.label("key"), *_sums(cells)
    ).group_by(
        func.grouping_sets(
            tuple_(cells.c.contract_id), *[tuple_(cells.c.contract_id, cells.c[n]) for n in names]
        )
    )


def statistics_stmt(scope: Scope, dialect: str = "sqlite") -> Any:
    cells = _cells(scope)
    if dialect == "postgresql":
        return _statistics_pg(cells)
    dimensions = ["all", *[name for name, _ in _DIMENSION_COLUMNS]]
    return union_all(*[_counts(name, cells) for name in dimensions])


def statistics(session: Session, scope: Scope) -> dict[str, list[CountRow]]:
    rows = session.execute(statistics_stmt(scope, session.get_bind().dialect.name)).all()
    order = {name: i for i, name in enumerate(("all", *[n for n, _ in _DIMENSION_COLUMNS]))}
    out: dict[str, list[CountRow]] = {}
    for contract_id, group in _grouped(rows).items():
        # priorities in their order (P1 first), every other dimension largest first
        group.sort(
            key=lambda r: (order[r.dimension], 0 if r.dimension == "priority" else -r.cases, r.key)
        )
        out[contract_id] = [
            CountRow(
                dimension=r.dimension,
                key=r.key,
                cases=r.cases,
                resolved=r.resolved,
                closed=r.closed,
                open=r.open,
                breached=r.breached,
                emergency=r.emergency,
            )
            for r in group
        ]
    return out


# --- SLA compliance per clock kind -------------------------------------------------------------


def sla_stmt(scope: Scope) -> Rows:
    c = ClockFacts
    breached = or_(c.marked.is_(True), and_(c.state == "running", c.deadline < scope.now))
    excluded = c.exclusion_cause.is_not(None)
    return (
        select(
            c.contract_id,
            c.kind,
            func.count().label("clocks"),
            func.count().filter(c.state == "met").label("met"),
            func.count().filter(breached).label("breached"),
            func.count().filter(c.state == "running").label("running"),
            func.count().filter(c.state == "paused").label("paused"),
            func.count().filter(c.state == "cancelled").label("cancelled"),
            func.count().filter(c.pauses > 0).label("paused_clocks"),
            func.coalesce(func.sum(c.pauses), 0).label("pauses"),
            func.count().filter(excluded).label("excluded"),
            func.count().filter(breached, excluded).label("breached_excluded"),
        )
        .where(*scope.where(c))
        .group_by(c.contract_id, c.kind)
        .order_by(c.contract_id, c.kind)
    )


def _compliance(met: int, breached: int, breached_excluded: int) -> float | None:
    decided = met + breached - breached_excluded
    return round(met / decided, 4) if decided else None


def sla(session: Session, scope: Scope) -> dict[str, list[ClockRow]]:
    out: dict[str, list[ClockRow]] = {}
    for contract_id, group in _grouped(session.execute(sla_stmt(scope)).all()).items():
        out[contract_id] = [
            ClockRow(
                kind=r.kind,
                clocks=r.clocks,
                met=r.met,
                breached=r.breached,
                running=r.running,
                paused=r.paused,
                cancelled=r.cancelled,
                paused_clocks=r.paused_clocks,
                pauses=int(r.pauses),
                excluded=r.excluded,
                breached_excluded=r.breached_excluded,
                compliance=_compliance(r.met, r.breached, r.breached_excluded),
            )
            for r in group
        ]
    return out


def exclusions_stmt(scope: Scope) -> Rows:
    c = ClockFacts
    return (
        select(c.contract_id, c.kind, c.exclusion_cause, func.count().label("n"))
        .where(c.exclusion_cause.is_not(None), *scope.where(c))
        .group_by(c.contract_id, c.kind, c.exclusion_cause)
        .order_by(c.contract_id, c.kind, c.exclusion_cause)
    )


def exclusions(session: Session, scope: Scope) -> dict[str, list[ExclusionRow]]:
    out: dict[str, list[ExclusionRow]] = {}
    for contract_id, group in _grouped(session.execute(exclusions_stmt(scope)).all()).items():
        out[contract_id] = [
            ExclusionRow(kind=r.kind, cause=r.exclusion_cause, clocks=r.n) for r in group
        ]
    return out


# --- first-time fix and the percentiles, from the per-case facts -------------------------------


def _resolved(scope: Scope) -> ColumnElement[bool]:
    """Resolved by the report's ``now``."""
    return and_(F.resolved_at.is_not(None), F.resolved_at <= scope.now)


def first_time_fix_stmt(scope: Scope) -> Rows:
    done = _resolved(scope)
    return (
        select(
            F.contract_id,
            func.count().filter(done).label("resolved"),
            func.count().filter(done, F.reopens == 0, F.visits <= 1).label("fixed"),
            func.count().filter(done, F.reopens > 0).label("reopened"),
            func.count().filter(done, F.visits >= 2).label("revisited"),
        )
        .where(*scope.where(F))
        .group_by(F.contract_id)
    )


def first_time_fix(session: Session, scope: Scope) -> dict[str, FirstTimeFix]:
    out: dict[str, FirstTimeFix] = {}
    for r in session.execute(first_time_fix_stmt(scope)).all():
        out[r.contract_id] = FirstTimeFix(
            resolved=r.resolved,
            fixed_first_time=r.fixed,
            reopened=r.reopened,
            revisited=r.revisited,
            rate=round(r.fixed / r.resolved, 4) if r.resolved else None,
        )
    return out


def _measures(scope: Scope) -> list[tuple[str, Any, ColumnElement[bool]]]:
    """(measure, seconds, whether the case has it) per case."""
    return [
        ("first_response", F.first_response_s, F.first_response_s.is_not(None)),
        ("resolution", F.resolution_s, _resolved(scope)),
    ]


def _durations(scope: Scope) -> Any:
    """(contract_id, priority, measure, v): one row per case and measure, and each again
    under priority ``*`` (for the window form)."""
    parts = [
        select(
            F.contract_id, priority, literal(name, String).label("measure"), value.label("v")
        ).where(present, *scope.where(F))
        for name, value, present in _measures(scope)
        for priority in (F.priority.label("priority"), literal("*", String).label("priority"))
    ]
    return union_all(*parts).cte("d")


def percentiles_stmt(scope: Scope, dialect: str = "sqlite") -> Rows:
    """Nearest-rank p50/p90/p95 per contract, priority (and ``*``) and measure.

    PostgreSQL: ``percentile_disc`` is the nearest-rank percentile (the first value whose
    rank reaches ceil(p·n)), as ordered-set aggregates over GROUPING SETS, one pass over the
    facts for both measures (one sort per measure and group: the percents as an array).
    SQLite (no percentile function, no grouping sets): ROW_NUMBER/COUNT windows and the rank
    in integers. Both give the same values (tests/test_reports_sql.py compares them)."""
    if dialect == "postgresql":
        return _percentiles_pg(scope)
    d = _durations(scope)
    window = (bytewise(d.c.contract_id), bytewise(d.c.priority), bytewise(d.c.measure))
    ranked = select(
        d.c.contract_id,
        d.c.priority,
        d.c.measure,
        d.c.v,
        func.row_number().over(partition_by=window, order_by=d.c.v).label("rn"),
        func.count().over(partition_by=window).label("n"),
    ).subquery("r")
    r = ranked.c
    return select(
        r.contract_id,
        r.priority,
        r.measure,
        func.max(r.n).label("n"),
        *[_nearest_rank(r.v, r.rn, r.n, p).label(f"p{p}") for p in PERCENTS],
    ).group_by(r.contract_id, r.priority, r.measure)


def _percentiles_pg(scope: Scope) -> Rows:
    """One row per contract and priority (``*``: all), each measure's count and percents."""
    priority = case((func.grouping(F.priority) == 1, "*"), else_=F.priority)
    fractions = array([p / 100 for p in PERCENTS])
    columns: list[Any] = []
    for name, value, present in _measures(scope):
        columns += [
            func.count().filter(present).label(f"{name}_n"),
            func.percentile_disc(fractions).within_group(value).filter(present).label(name),
        ]
    return (
        select(F.contract_id, priority.label("priority"), *columns)
        .where(*scope.where(F))
        .group_by(func.grouping_sets(tuple_(F.contract_id, F.priority), tuple_(F.contract_id)))
    )


def _pg_rows(rows: Sequence[Any]) -> list[Any]:
    """The PostgreSQL form's rows as the window form's: one per measure that has values."""
    out = []
    for r in rows:
        for name in ("first_response", "resolution"):
            n, values = getattr(r, f"{name}_n"), getattr(r, name)
            if n:
                out.append(_Spread(r.contract_id, r.priority, name, n, *values))
    return out


class _Spread:
    __slots__ = ("contract_id", "measure", "n", "p50", "p90", "p95", "priority")

    def __init__(self, contract_id: str, priority: str, measure: str, n: int, *values: Any) -> None:
        self.contract_id, self.priority, self.measure, self.n = contract_id, priority, measure, n
        self.p50, self.p90, self.p95 = values


def percentiles(session: Session, scope: Scope) -> dict[str, list[Percentiles]]:
    out: dict[str, list[Percentiles]] = {}
    dialect = session.get_bind().dialect.name
    rows = session.execute(percentiles_stmt(scope, dialect)).all()
    if dialect == "postgresql":
        rows = _pg_rows(rows)
    for contract_id, group in _grouped(rows).items():
        group.sort(key=lambda r: (r.measure, r.priority != "*", r.priority))
        out[contract_id] = [
            Percentiles(
                measure=r.measure,
                priority=r.priority,
                count=r.n,
                p50=_int(r.p50),
                p90=_int(r.p90),
                p95=_int(r.p95),
            )
            for r in group
        ]
    return out


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


# --- RMA turnaround by vendor ------------------------------------------------------------------


def rma_stmt(scope: Scope) -> Rows:
    e, o = CaseEvent, RmaOrder
    delivered = (
        select(func.min(epoch(e.at)))
        .where(
            e.case_id == o.case_id,
            e.kind == "rma_updated",
            e.at >= o.created_at,
            e.payload["rma"].as_integer() == o.id,
            e.payload["state"].as_string().in_(("delivered", "closed")),
        )
        .scalar_subquery()
    )
    final_at = case((o.state.in_(("delivered", "closed")), epoch(o.updated_at)))
    orders = (
        select(
            Case.contract_id,
            o.channel,
            o.state,
            (func.coalesce(delivered, final_at) - epoch(o.created_at)).label("t"),
        )
        .join(Case, Case.id == o.case_id)
        .where(
            Case.contract_id.in_(scope.contracts),
            o.created_at >= scope.start,
            o.created_at < scope.end,
        )
        .cte("o")
    )
    window = (bytewise(orders.c.contract_id), bytewise(orders.c.channel))
    ranked = select(
        orders.c.contract_id,
        orders.c.channel,
        orders.c.state,
        orders.c.t,
        func.row_number()
        .over(partition_by=window, order_by=orders.c.t.asc().nulls_last())
        .label("rn"),
        func.count(orders.c.t).over(partition_by=window).label("n"),
    ).subquery("r")
    r = ranked.c
    has = r.t.is_not(None)
    return (
        select(
            r.contract_id,
            r.channel,
            func.count().label("orders"),
            func.count().filter(has).label("done"),
            func.count().filter(~has, r.state.not_in(("cancelled", "rejected"))).label("open"),
            func.count().filter(r.state == "cancelled").label("cancelled"),
            func.count().filter(r.state == "rejected").label("rejected"),
            func.min(case((and_(has, r.rn >= _rank(50, r.n)), r.t))).label("p50"),
            func.min(case((and_(has, r.rn >= _rank(90, r.n)), r.t))).label("p90"),
            func.max(r.t).label("max"),
        )
        .group_by(r.contract_id, r.channel)
        .order_by(r.contract_id, r.channel)
    )


def rma(session: Session, scope: Scope) -> dict[str, list[RmaRow]]:
    out: dict[str, list[RmaRow]] = {}
    for contract_id, group in _grouped(session.execute(rma_stmt(scope)).all()).items():
        out[contract_id] = [
            RmaRow(
                vendor=r.channel,
                orders=r.orders,
                done=r.done,
                open=r.open,
                cancelled=r.cancelled,
                rejected=r.rejected,
                p50=_int(r.p50),
                p90=_int(r.p90),
                max=_int(r.max),
            )
            for r in group
        ]
    return out


# --- major (P1) cases with their timelines -----------------------------------------------------


def major_cases(
    session: Session, scope: Scope, *, limit: int
) -> dict[str, tuple[int, list[MajorCase]]]:
    """Per contract: how many P1 cases it opened in the period, and the latest ``limit`` of
    them with their handling timelines (milestones and customer-visible events, in order).
    Three statements for every contract at once: the counts, the latest cases, the events."""
    totals = dict(
        session.execute(
            select(F.contract_id, func.count())
            .where(*scope.where(F), F.priority == "P1")
            .group_by(F.contract_id)
        ).all()
    )
    # the latest per contract, ranked on the narrow facts (priority is kept there too)
    latest = func.row_number().over(
        partition_by=F.contract_id, order_by=(F.opened_at.desc(), F.case_id.desc())
    )
    ranked = (
        select(F.case_id, latest.label("rn"))
        .where(*scope.where(F), F.priority == "P1")
        .subquery("ranked")
    )
    cases = session.scalars(
        select(Case)
        .join(ranked, ranked.c.case_id == Case.id)
        .where(ranked.c.rn <= limit)
        .order_by(Case.contract_id, Case.opened_at.desc(), Case.id.desc())
    ).all()
    timeline = _timelines(session, [c.id for c in cases])
    out: dict[str, tuple[int, list[MajorCase]]] = {k: (int(n), []) for k, n in totals.items()}
    for c in cases:
        out.setdefault(c.contract_id, (0, []))[1].append(
            MajorCase(
                number=c.number,
                summary=c.summary,
                service_type=c.category,
                status=c.status,
                opened_at=c.opened_at,
                resolved_at=c.resolved_at,
                closed_at=c.closed_at,
                breached=bool(c.breached),
                timeline=timeline[c.id],
            )
        )
    return out


def _timelines(session: Session, ids: Sequence[int]) -> dict[int, list[TimelineEntry]]:
    timeline: dict[int, list[TimelineEntry]] = defaultdict(list)
    e = CaseEvent
    for at in range(0, len(ids), 500):
        rows = session.execute(
            select(e.case_id, e.seq, e.at, e.kind, e.actor, e.visibility)
            .where(
                e.case_id.in_(ids[at : at + 500]),
                or_(e.kind.in_(MILESTONES), e.visibility == "customer"),
            )
            .order_by(e.case_id, e.seq)
        ).all()
        for r in rows:
            timeline[r.case_id].append(
                TimelineEntry(
                    seq=r.seq, at=r.at, kind=r.kind, actor=r.actor, visibility=r.visibility
                )
            )
    return timeline


# the statements a report runs, by section: (scope, dialect name) → statement (bench/reports.py)
HEAVY: dict[str, Any] = {
    "statistics": statistics_stmt,
    "sla": lambda scope, dialect: sla_stmt(scope),
    "exclusions": lambda scope, dialect: exclusions_stmt(scope),
    "first_time_fix": lambda scope, dialect: first_time_fix_stmt(scope),
    "percentiles": percentiles_stmt,
    "rma": lambda scope, dialect: rma_stmt(scope),
}
