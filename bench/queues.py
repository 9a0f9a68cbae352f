"""Console queue pages and the managers' board over a large case table (issue 14, section 8).

    python bench/queues.py            # 1M cases on PostgreSQL
    python bench/queues.py --quick    # 50k cases
    python bench/queues.py --cases 200000 --runs 50

Loads ``--cases`` cases (COPY) with two clocks each, shaped like a desk a few years old: 95 %
closed (clocks met or breached, no next deadline), the open 5 % spread over 40 engineers and
the unassigned queue, some pending vendor or customer, deadlines around ``NOW``; each case's
`opened` event (60 % by 12 desk agents), and the report facts rebuilt. Then times
``queue_page`` (one page of 50, rows built with business time left on an 8x5 calendar) for
each queue ("mine" also with the cases an engineer or an agent opened), and ``board``,
whole and by part (its compliance also over ``clock_facts``, checked to count the same),
against a baseline: one case fetched by primary key, in the same run. Prints a Markdown
table of p50/p95 in milliseconds and the ratio to the baseline's p50.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from datetime import time as wall
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, and_, case, func, or_, select

from bench._common import fresh_database, percentile, table
from bench._seed import analyze, load_tables
from core import clocks as clock_states
from core.calendar import Calendar
from core.store import case_facts
from core.store.board import (
    Compliance,
    board,
    breaches_by_customer,
    compliance,
    month_bounds,
    open_cases,
)
from core.store.db import make_engine, make_sessionmaker
from core.store.migrate import upgrade
from core.store.orm import Case, ClockFacts
from core.store.queues import Viewer, queue_page

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)  # Friday 14:00 in Shanghai
ENGINEERS = [f"eng-{i:02d}" for i in range(40)]
OPEN_SHARE = 0.05
CALENDAR = Calendar.weekly("Asia/Shanghai", range(5), wall(9), wall(17))
CASE_COLS = [
    "id",
    "number",
    "contract_id",
    "customer_id",
    "caller_name",
    "summary",
    "category",
    "request_type",
    "priority",
    "emergency",
    "channel",
    "status",
    "assignee",
    "opened_at",
    "updated_at",
    "next_deadline",
    "breached",
    "last_seq",
    "last_hash",
    "version",
]
CLOCK_COLS = [
    "id",
    "case_id",
    "kind",
    "state",
    "calendar",
    "target",
    "rule",
    "started_at",
    "deadline",
    "pauses",
    "met_at",
    "breached_at",
    "alert_level",
    "next_alert_at",
]
OPEN_STATUSES = ["new", "assigned", "in_progress", "in_progress", "pending_vendor",
                 "pending_customer"]  # fmt: skip
# who opened the cases (the `opened` event's actor): 60 % the service desk's 12 agents (5 %
# of all cases each), the rest the portal, e-mail intake and API tokens
AGENTS = [f"agent-{i:02d} (user {i + 1})" for i in range(12)]
INTAKE = ["portal (user 90)", "mail-intake (token 2)", "integration (token 3)"]
EVENT_COLS = ["id", "case_id", "seq", "kind", "actor", "at", "payload", "visibility",
              "prev_hash", "hash"]  # fmt: skip
Rows = Iterator[tuple[Any, ...]]


def opener(cid: int) -> str:
    """The actor of case ``cid``'s `opened` event."""
    return AGENTS[cid % len(AGENTS)] if cid % 5 < 3 else INTAKE[cid % len(INTAKE)]


def rows(n: int, seed: int) -> tuple[Rows, Rows, Rows]:
    """Case rows, clock rows (two per case) and event rows (each case's `opened`),
    generated lazily from one seed."""
    plan = []
    rng = random.Random(seed)
    for cid in range(1, n + 1):
        is_open = rng.random() < OPEN_SHARE
        opened = NOW - timedelta(seconds=rng.randrange(3600, 3 * 365 * 86_400 if not is_open
                                                         else 10 * 86_400))  # fmt: skip
        status = rng.choice(OPEN_STATUSES) if is_open else "closed"
        assignee = None if status == "new" else rng.choice(ENGINEERS)
        due = [opened + timedelta(hours=rng.choice([2, 4, 8, 24, 72])) for _ in range(2)]
        if is_open:  # some overdue, most within days of NOW
            due = [NOW + timedelta(minutes=rng.randrange(-600, 5 * 1440)) for _ in range(2)]
        late = [rng.random() < 0.1 for _ in range(2)]
        plan.append((cid, is_open, opened, status, assignee, due, late))

    def cases() -> Iterator[tuple[Any, ...]]:
        for cid, is_open, opened, status, assignee, due, late in plan:
            running = status not in ("pending_vendor", "pending_customer")
            nxt = min(due) if is_open and running else None
            breached = any(late) and not is_open
            yield (cid, f"BQ-2026-{cid:07d}", "wdkn-hospital-2026", f"customer-{cid % 97}",
                   "bench caller", "bulk-loaded case", "consulting", "problem_report",
                   f"P{cid % 4 + 1}", False, "phone", status, assignee, opened, opened, nxt,
                   breached, 1, "", 1)  # fmt: skip

    def clocks() -> Iterator[tuple[Any, ...]]:
        for cid, is_open, opened, status, _a, due, late in plan:
            for k, kind in enumerate(("response", "restore")):
                if is_open:
                    paused = status in ("pending_vendor", "pending_customer")
                    state, met, breached_at = ("paused" if paused else "running"), None, None
                else:
                    state = "breached" if late[k] else "met"
                    met = None if late[k] else due[k] - timedelta(minutes=30)
                    breached_at = due[k] if late[k] else None
                yield (2 * cid - 1 + k, cid, kind, state, "business", "4h", "bench", opened,
                       due[k], "[]", met, breached_at, 0, None)  # fmt: skip

    def events() -> Iterator[tuple[Any, ...]]:
        for cid, _o, opened, *_ in plan:
            yield (cid, cid, 1, "opened", opener(cid), opened, "{}", "customer", "0" * 64,
                   f"{cid:064x}")  # fmt: skip

    return cases(), clocks(), events()


def load(engine: Engine, n: int) -> None:
    """The rows in through the benchmarks' one loader (bench/_seed.py: COPY on PostgreSQL),
    the report facts rebuilt from them (what every commit keeps), then fresh statistics
    (VACUUM ANALYZE, CHECKPOINT)."""
    cases, clocks, events = rows(n, seed=14)
    load_tables(
        engine,
        [
            ("cases", CASE_COLS, cases),
            ("sla_clocks", CLOCK_COLS, clocks),
            ("case_events", EVENT_COLS, events),
        ],
    )
    with engine.begin() as conn:
        case_facts.rebuild(conn)
    analyze(engine)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for name in ("case_events", "case_facts", "clock_facts"):
            conn.exec_driver_sql(f"VACUUM ANALYZE {name}")


def timed(fn: Callable[[], Any], runs: int) -> list[float]:
    fn()  # warm: plan cache, calendar compiled
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def facts_compliance_statement(now: datetime, start: datetime, end: datetime) -> Any:
    """The board's compliance statement over ``clock_facts`` instead of ``sla_clocks`` (the
    candidate of docs/benchmarks.md): the same counts, from the facts' ``marked``."""
    f = ClockFacts
    breached = or_(f.marked.is_(True), and_(f.state == clock_states.RUNNING, f.deadline < now))
    met = and_(f.state == clock_states.MET, f.marked.is_(False))
    undecided = and_(f.state.in_(sorted(clock_states.ACTIVE)), ~breached)

    def total(cond: Any) -> Any:
        return func.sum(case((cond, 1), else_=0))

    return (
        select(f.kind, total(met), total(breached), total(undecided))
        .where(
            f.deadline >= start,
            f.deadline < end,
            f.state != clock_states.CANCELLED,
            f.exclusion_cause.is_(None),
        )
        .group_by(f.kind)
        .order_by(f.kind)
    )


def facts_compliance(
    session: Any, now: datetime, start: datetime, end: datetime
) -> list[Compliance]:
    out = []
    for kind, met, breached, undecided in session.execute(
        facts_compliance_statement(now, start, end)
    ):
        met, breached, undecided = int(met or 0), int(breached or 0), int(undecided or 0)
        pct = round(100 * met / (met + breached), 1) if met + breached else None
        out.append(
            Compliance(kind=kind, met=met, breached=breached, open=undecided, percent_met=pct)
        )
    return out


def measure(engine: Engine, n: int, runs: int) -> list[list[str]]:
    sessions = make_sessionmaker(engine)
    me = Viewer(me=("eng-07",), group=tuple(ENGINEERS[:8]))
    # "mine" as the console asks it (api.queues.viewer_of): also the open cases they opened
    engineer = Viewer(me=("eng-07",), actors=("eng-07 (user 107)",))  # opened none
    agent = Viewer(me=("agent-03",), actors=(AGENTS[3],))  # opened 5 % of all cases
    both = Viewer(me=("eng-07",), actors=(AGENTS[3],))
    start, end = month_bounds(NOW, "Asia/Shanghai")
    rng = random.Random(1)
    with sessions() as s:  # the candidate must count exactly what the board counts
        assert facts_compliance(s, NOW, start, end) == compliance(s, NOW, start, end)

    def calendars(contract_id: str, name: str) -> Calendar:
        return CALENDAR

    def page(queue: str, sort: str = "deadline", viewer: Viewer = me) -> Callable[[], Any]:
        def run() -> Any:
            with sessions() as s:
                return queue_page(s, queue, viewer, NOW, calendars, sort=sort, limit=50)

        return run

    def part(fn: Callable[..., Any], *args: Any) -> Callable[[], Any]:
        def run() -> Any:
            with sessions() as s:
                return fn(s, *args)

        return run

    def baseline() -> Any:
        with sessions() as s:
            return s.execute(
                select(Case.id, Case.number).where(Case.id == rng.randrange(1, n))
            ).one()

    def the_board() -> Any:
        with sessions() as s:
            return board(s, NOW, tz="Asia/Shanghai")

    cases: list[tuple[str, Callable[[], Any]]] = [
        ("baseline: case by primary key", baseline),
        ("queue mine (deadline), assigned only", page("mine")),
        ("queue mine + opened: engineer, opened none", page("mine", viewer=engineer)),
        ("queue mine + opened: agent, opened 5 %", page("mine", viewer=agent)),
        ("queue mine + opened: eng-07 + agent's", page("mine", viewer=both)),
        ("queue mine + opened (-opened)", page("mine", "-opened", both)),
        ("queue group (deadline)", page("group")),
        ("queue group (priority)", page("group", "priority")),
        ("queue unassigned (deadline)", page("unassigned")),
        ("queue unassigned (-opened)", page("unassigned", "-opened")),
        ("queue breaching (deadline)", page("breaching")),
        ("queue breached (deadline)", page("breached")),
        ("queue pending_vendor (number)", page("pending_vendor", "number")),
        ("managers' board", the_board),
        ("board: open cases", part(open_cases)),
        ("board: compliance (sla_clocks)", part(compliance, NOW, start, end)),
        ("board: compliance (clock_facts)", part(facts_compliance, NOW, start, end)),
        ("board: breaches by customer", part(breaches_by_customer, NOW, start, end)),
    ]
    out, base = [], 0.0
    for label, fn in cases:
        sample = timed(fn, runs)
        p50, p95 = percentile(sample, 50), percentile(sample, 95)
        base = base or p50
        result = fn()
        shown = len(result.items) if hasattr(result, "items") else "-"
        out.append([label, str(shown), f"{p50:.2f}", f"{p95:.2f}", f"{p50 / base:.1f}x"])
    return out


def explain(engine: Engine) -> str:
    """EXPLAIN ANALYZE of queue page statements (three queues; "mine" with the cases an
    agent opened) and of the board's compliance over sla_clocks and over clock_facts."""
    from sqlalchemy.dialects import postgresql

    from core.store import board as board_sql
    from core.store.queues import queue_statement

    me = Viewer(me=("eng-07",), group=tuple(ENGINEERS[:8]))
    both = Viewer(me=("eng-07",), actors=(AGENTS[3],))
    start, end = month_bounds(NOW, "Asia/Shanghai")
    stmts: list[Any] = [queue_statement(q, me, NOW) for q in ("mine", "unassigned", "breached")]
    stmts.append(queue_statement("mine", both, NOW))
    stmts.append(board_compliance_statement(board_sql, start, end))
    stmts.append(facts_compliance_statement(NOW, start, end))
    out = []
    with engine.connect() as conn:
        for stmt in stmts:
            sql = str(
                stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
            )
            plan = conn.exec_driver_sql("EXPLAIN ANALYZE " + sql).scalars().all()
            out.append("\n".join(plan))
    return "\n\n".join(out)


def board_compliance_statement(board_sql: Any, start: datetime, end: datetime) -> Any:
    """core.store.board.compliance's statement (rebuilt here from its parts)."""
    breached, met = board_sql._breached(NOW), board_sql._met()
    sla = board_sql.SlaClock
    undecided = and_(sla.state.in_(sorted(clock_states.ACTIVE)), ~breached)
    return (
        select(sla.kind, board_sql._sum(met), board_sql._sum(breached), board_sql._sum(undecided))
        .where(*board_sql._counted(start, end))
        .group_by(sla.kind)
        .order_by(sla.kind)
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="50k cases")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--explain", action="store_true", help="print the queue plans")
    args = parser.parse_args(argv)
    n = 50_000 if args.quick else args.cases
    with tempfile.TemporaryDirectory() as tmp, fresh_database("postgresql", Path(tmp), "q") as url:
        engine = make_engine(url)
        upgrade(engine)
        start = time.perf_counter()
        load(engine, n)
        print(f"loaded {n} cases, {2 * n} clocks in {time.perf_counter() - start:.1f} s")
        if args.explain:
            print(explain(engine))
        body = measure(engine, n, args.runs)
        engine.dispose()
    print(f"\nPostgreSQL, {n} cases, {args.runs} runs each, page size 50\n")
    print(table(["query", "rows", "p50 ms", "p95 ms", "p50 / baseline"], body, {1, 2, 3, 4}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
