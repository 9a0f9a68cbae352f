"""Console queue pages and the managers' board over a large case table (issue 14, section 8).

    python bench/queues.py            # 1M cases on PostgreSQL
    python bench/queues.py --quick    # 50k cases
    python bench/queues.py --cases 200000 --runs 50

Loads ``--cases`` cases (COPY) with two clocks each, shaped like a desk a few years old: 95 %
closed (clocks met or breached, no next deadline), the open 5 % spread over 40 engineers and
the unassigned queue, some pending vendor or customer, deadlines around ``NOW``. Then times
``queue_page`` (one page of 50, rows built with business time left on an 8x5 calendar) for
each queue, and ``board``, against a baseline: one case fetched by primary key, in the same
run. Prints a Markdown table of p50/p95 in milliseconds and the ratio to the baseline's p50.
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

from sqlalchemy import Engine, select

from bench._common import fresh_database, percentile, table
from bench._seed import analyze, load_tables
from core.calendar import Calendar
from core.store.board import board
from core.store.db import make_engine, make_sessionmaker
from core.store.migrate import upgrade
from core.store.orm import Case
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


def rows(n: int, seed: int) -> tuple[Iterator[tuple[Any, ...]], Iterator[tuple[Any, ...]]]:
    """Case rows and clock rows (two per case), generated lazily from one seed."""
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

    return cases(), clocks()


def load(engine: Engine, n: int) -> None:
    """The rows in through the benchmarks' one loader (bench/_seed.py: COPY on PostgreSQL),
    then fresh statistics (VACUUM ANALYZE, CHECKPOINT)."""
    cases, clocks = rows(n, seed=14)
    load_tables(engine, [("cases", CASE_COLS, cases), ("sla_clocks", CLOCK_COLS, clocks)])
    analyze(engine)


def timed(fn: Callable[[], Any], runs: int) -> list[float]:
    fn()  # warm: plan cache, calendar compiled
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def measure(engine: Engine, n: int, runs: int) -> list[list[str]]:
    sessions = make_sessionmaker(engine)
    me = Viewer(me=("eng-07",), group=tuple(ENGINEERS[:8]))
    rng = random.Random(1)

    def calendars(contract_id: str, name: str) -> Calendar:
        return CALENDAR

    def page(queue: str, sort: str = "deadline") -> Callable[[], Any]:
        def run() -> Any:
            with sessions() as s:
                return queue_page(s, queue, me, NOW, calendars, sort=sort, limit=50)

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
        ("queue mine (deadline)", page("mine")),
        ("queue group (deadline)", page("group")),
        ("queue group (priority)", page("group", "priority")),
        ("queue unassigned (deadline)", page("unassigned")),
        ("queue unassigned (-opened)", page("unassigned", "-opened")),
        ("queue breaching (deadline)", page("breaching")),
        ("queue breached (deadline)", page("breached")),
        ("queue pending_vendor (number)", page("pending_vendor", "number")),
        ("managers' board", the_board),
    ]
    out, base = [], 0.0
    for label, fn in cases:
        sample = timed(fn, runs)
        p50, p95 = percentile(sample, 50), percentile(sample, 95)
        base = base or p50
        shown = len(fn().items) if hasattr(fn(), "items") else "-"
        out.append([label, str(shown), f"{p50:.2f}", f"{p95:.2f}", f"{p50 / base:.1f}x"])
    return out


def explain(engine: Engine) -> str:
    """EXPLAIN ANALYZE of the "mine" page query and the board's compliance query."""
    from sqlalchemy.dialects import postgresql

    from core.store.board import compliance, month_bounds
    from core.store.queues import queue_statement

    me = Viewer(me=("eng-07",), group=tuple(ENGINEERS[:8]))
    start, end = month_bounds(NOW, "Asia/Shanghai")
    stmts = [queue_statement(q, me, NOW) for q in ("mine", "unassigned", "breached")]
    out = []
    with engine.connect() as conn:
        for stmt in stmts:
            sql = str(
                stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
            )
            plan = conn.exec_driver_sql("EXPLAIN ANALYZE " + sql).scalars().all()
            out.append("\n".join(plan))
    _ = (compliance, start, end)
    return "\n\n".join(out)


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
