"""Benchmark: the case store on SQLite and PostgreSQL — opening cases and the due-clocks scan.

Usage: python bench/store.py [--backend sqlite|postgresql|both] [--sizes 10000,100000,1000000]
                             [--open-n 2000] [--threads 4] [--k 100] [--runs 200] [--profile N]

PostgreSQL is reached through CASETRACK_BENCH_PG_URL (default: the test server's admin URL,
postgresql+psycopg://postgres@127.0.0.1:5432/test); the user needs CREATEDB.

1. Cases opened per second: a fresh database per back end (SQLite: a file in a temporary
   directory; PostgreSQL: a `casetrack_bench_<random>` database this script creates and
   drops), migrated with core.store.migrate.upgrade, then `CaseDesk.open_case` --open-n times one
   after the other (each case with its clocks and first event in one transaction), then the
   same number again from --threads threads at once to show contention.
2. "Which clocks are due now" as the clock table grows: sla_clocks rows (one parent case per
   four clocks) are bulk-loaded into another fresh database, grown size by size. Alert times
   are spread over the year after a fixed NOW, 20% of the clocks are stopped (NULL
   next_alert_at), and exactly --k clocks are due at every size. ANALYZE runs after each
   load. `core.store.queries.due_clocks(session, NOW, limit=1000)` is timed --runs times per size.
   The result should stay flat: k rows through a range scan of the partial index
   ix_sla_clocks_next_alert_at. The script fails if the plan does not name that index.
   On PostgreSQL the scan is timed twice: as psycopg runs it by default (prepared on the
   server after 5 executions, so PostgreSQL may settle on a generic plan) and planned anew
   on every call with the actual NOW (prepare_threshold=None), which is what a connection's
   first calls get.
3. --profile N: cProfile of N warm open_case calls per back end, biggest costs first.

Every instant handed to the code under test is fixed (NOW, T0 + i seconds); the wall clock
is read only to time things (time.perf_counter_ns).
"""

from __future__ import annotations

import argparse
import cProfile
import itertools
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, bindparam, func, select, text, update

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import fresh_database, percentile, table, top_costs
from _seed import HOSPITAL, NOW, STOPPED_SHARE, YEAR_S, analyze, load

from core.case import Category, Channel, RequestType
from core.commands import Caller, OpenCase
from core.desk import CaseDesk
from core.loaded import ContractSet
from core.sources.contracts import load_contracts
from core.store.db import make_engine, make_sessionmaker
from core.store.migrate import upgrade
from core.store.orm import Case, CaseEvent, SlaClock
from core.store.queries import due_clocks, explain_due_clocks

ROOT = Path(__file__).resolve().parent.parent
INDEX = "ix_sla_clocks_next_alert_at"
SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 10, 14, 10, 0, tzinfo=SH)  # opening instants: T0 + i seconds
SWITCH = "219801A23B8205Q0021K"  # the device tests/test_desk.py opens its cases about
LIMIT = 1000


def consult_cmd() -> OpenCase:
    """A consulting case with no appointment, as tests/test_desk.py opens them."""
    return OpenCase(
        contract_id=HOSPITAL,
        caller=Caller(name="周医生", company="文登康宁医院", phone="0631-8451234"),
        summary="HIS server unreachable from wards",
        category=Category.CONSULTING,
        request_type=RequestType.PROBLEM_REPORT,
        priority="P2",
        channel=Channel.PHONE,
        device_serial=SWITCH,
    )


# --- statistics and tables ---------------------------------------------------------------------


# --- fresh databases -----------------------------------------------------------------------------


def migrated_engine(url: str, **kwargs: Any) -> Engine:
    engine = make_engine(url, **kwargs)
    upgrade(engine)
    return engine


# --- 1. opening cases ----------------------------------------------------------------------------


@dataclass
class OpenRow:
    backend: str
    mode: str
    cases: int
    seconds: float
    latencies_ms: list[float]

    @property
    def per_second(self) -> float:
        return self.cases / self.seconds


def bench_open(
    backend: str, url: str, contracts: ContractSet, n: int, threads: int, warmup: int
) -> list[OpenRow]:
    engine = migrated_engine(url, pool_size=threads + 1)
    desk = CaseDesk(make_sessionmaker(engine), contracts, prefix="MS")
    cmd = consult_cmd()
    tick = itertools.count()  # next() on a count is atomic under the GIL

    def open_one(actor: str) -> float:
        now = T0 + timedelta(seconds=next(tick))
        start = time.perf_counter_ns()
        desk.open_case(cmd, actor=actor, now=now)
        return (time.perf_counter_ns() - start) / 1e6

    try:
        for _ in range(warmup):
            open_one("bench:warmup")
        start = time.perf_counter_ns()
        sequential = [open_one("bench:seq") for _ in range(n)]
        seq_row = OpenRow(backend, "sequential", n, (time.perf_counter_ns() - start) / 1e9, [])
        seq_row.latencies_ms = sequential

        per_thread = n // threads
        latencies: list[float] = []
        errors: list[BaseException] = []
        lock = threading.Lock()
        barrier = threading.Barrier(threads + 1)

        def worker(i: int) -> None:
            barrier.wait()
            try:
                mine = [open_one(f"bench:t{i}") for _ in range(per_thread)]
            except BaseException as exc:
                with lock:
                    errors.append(exc)
                return
            with lock:
                latencies.extend(mine)

        pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
        for thread in pool:
            thread.start()
        barrier.wait()
        start = time.perf_counter_ns()
        for thread in pool:
            thread.join()
        elapsed = (time.perf_counter_ns() - start) / 1e9
        if errors:
            raise RuntimeError(f"{len(errors)} concurrent open_case calls failed") from errors[0]
        total = per_thread * threads
        par_row = OpenRow(backend, f"{threads} threads", total, elapsed, latencies)
        check_opened(engine, warmup + n + total)
        return [seq_row, par_row]
    finally:
        engine.dispose()


def check_opened(engine: Engine, expected: int) -> None:
    """Every call made exactly one case, numbered without gaps, with its first event."""
    with engine.connect() as conn:
        cases = conn.execute(select(func.count()).select_from(Case)).scalar_one()
        numbers = conn.execute(select(func.max(Case.number))).scalar_one()
        firsts = conn.execute(
            select(func.count()).select_from(CaseEvent).where(CaseEvent.seq == 1)
        ).scalar_one()
        clocks = conn.execute(select(func.count()).select_from(SlaClock)).scalar_one()
    if not cases == firsts == expected or numbers != f"MS-2026-{expected:06d}":
        raise AssertionError(f"expected {expected} cases: {cases}, {firsts} events, {numbers}")
    if clocks < expected:
        raise AssertionError(f"{expected} cases but only {clocks} clocks")


def profile_open(url: str, contracts: ContractSet, calls: int, top: int) -> str:
    """cProfile of `calls` warm open_case calls: the biggest costs by own and total time."""
    engine = migrated_engine(url)
    desk = CaseDesk(make_sessionmaker(engine), contracts, prefix="MS")
    cmd = consult_cmd()
    try:
        for i in range(20):
            desk.open_case(cmd, actor="bench:warmup", now=T0 + timedelta(seconds=i))
        profiler = cProfile.Profile()
        profiler.enable()
        for i in range(calls):
            desk.open_case(cmd, actor="bench:profile", now=T0 + timedelta(seconds=100 + i))
        profiler.disable()
    finally:
        engine.dispose()
    return top_costs(profiler, top)


# --- 2. the due-clocks scan ----------------------------------------------------------------------


@dataclass
class DueRow:
    size: int
    due: int
    median_us: float
    p95_us: float
    load_s: float
    plan: str


def plan_shape(plan: str) -> str:
    """The gist of a due-clocks plan: how clocks are found and how their cases are joined."""
    if plan.startswith("SEARCH"):  # SQLite: a nested loop over the SEARCH lines
        cases = "cases by rowid" if "SEARCH cases USING INTEGER PRIMARY KEY" in plan else "cases?"
        return f"index range, {cases}"
    join = next((j for j in ("Nested Loop", "Hash Join", "Merge Join") if j in plan), "no join")
    scan = "bitmap scan" if "Bitmap Index Scan on " + INDEX in plan else "index scan"
    cases = "seq scan of cases" if "Seq Scan on cases" in plan else "cases by pk_cases"
    parallel = ", parallel (Gather)" if "Gather" in plan else ""
    return f"{join}, {scan}, {cases}{parallel}"


@dataclass
class DueResult:
    """One back end in one statement mode, across the sizes."""

    backend: str
    mode: str
    rows: list[DueRow] = field(default_factory=list)
    plan: str = ""  # at the largest size

    @property
    def ratio(self) -> float:
        return self.rows[-1].median_us / self.rows[0].median_us

    @property
    def worst(self) -> float:
        return max(r.median_us for r in self.rows) / self.rows[0].median_us


# psycopg prepares a statement on the server after 5 executions; PostgreSQL then plans it
# with parameters (custom plans) 5 times and may switch to one generic plan for the rest.
# Without preparing, every call is planned with the actual NOW. Both happen in production:
# a pooled connection's first calls, then its steady state.
PREPARED = "prepared (psycopg default)"
PER_CALL = "planned per call"
PG_MODES = {PREPARED: {}, PER_CALL: {"connect_args": {"prepare_threshold": None}}}
SQLITE_MODES: dict[str, dict[str, Any]] = {"-": {}}


def executed_plan(session: Any) -> tuple[str, str]:
    """PostgreSQL: the plan of the prepared due-clocks statement as it now runs, and
    "generic"/"custom" (which one the plan cache has been choosing)."""
    conn = session.connection()
    found = conn.execute(
        text(
            "SELECT name, generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE strpos(statement, :needle) > 0"
        ),
        {"needle": "sla_clocks.next_alert_at <="},
    ).all()
    if len(found) != 1:
        raise AssertionError(f"expected one prepared due-clocks statement, found {found}")
    name, generic, custom = found[0]
    stamp = NOW.isoformat()
    rows = conn.exec_driver_sql(f"EXPLAIN EXECUTE {name}('{stamp}', {LIMIT})").all()
    kind = f"generic ({generic} runs), custom ({custom})"
    return "\n".join(r[0] for r in rows), kind


def time_due(session: Any, runs: int) -> tuple[list[float], list[Any]]:
    for _ in range(max(20, runs // 10)):  # warm caches; lets psycopg prepare the statement
        due = due_clocks(session, NOW, limit=LIMIT)
    times = []
    for _ in range(runs):
        t = time.perf_counter_ns()
        due = due_clocks(session, NOW, limit=LIMIT)
        times.append((time.perf_counter_ns() - t) / 1e3)
    return times, due


def place_due(
    engine: Engine, size: int, k: int, previous: list[int], rng: random.Random
) -> list[int]:
    """Exactly k running clocks anywhere in 1..size are due (up to 3 days late); the k
    clocks that were due before go back into the future."""
    table_ = SlaClock.__table__
    stmt = (
        update(table_)
        .where(table_.c.id == bindparam("b_id"))
        .values(state=bindparam("b_state"), met_at=None, next_alert_at=bindparam("b_at"))
    )
    chosen = rng.sample(range(1, size + 1), k)
    moves = [
        {
            "b_id": i,
            "b_state": "running",
            "b_at": NOW + timedelta(seconds=rng.randrange(60, YEAR_S)),
        }
        for i in previous
    ]
    moves += [
        {
            "b_id": i,
            "b_state": "running",
            "b_at": NOW - timedelta(seconds=rng.randrange(0, 3 * 86_400)),
        }
        for i in chosen
    ]
    with engine.begin() as conn:
        conn.execute(stmt, moves)
    return chosen


def bench_due(
    backend: str, url: str, sizes: Sequence[int], k: int, runs: int, seed: int, log: Callable
) -> list[DueResult]:
    engine = migrated_engine(url)
    modes = PG_MODES if backend == "postgresql" else SQLITE_MODES
    engines = {mode: make_engine(url, **kw) for mode, kw in modes.items()}
    rng = random.Random(seed)
    results = {mode: DueResult(backend, mode) for mode in modes}
    loaded, due_ids = 0, []
    try:
        for size in sizes:
            start = time.perf_counter()
            load(engine, loaded, size, rng)
            loaded = size
            due_ids = place_due(engine, size, k, due_ids, rng)
            analyze(engine)
            load_s = time.perf_counter() - start
            log(f"  {backend}: {size:,} clocks loaded in {load_s:.1f} s")
            for mode, mode_engine in engines.items():
                with make_sessionmaker(mode_engine)() as session:
                    count = session.execute(select(func.count()).select_from(SlaClock)).scalar_one()
                    if count != size:
                        raise AssertionError(f"{count} clocks in the table, expected {size}")
                    # the plan for the actual NOW: what explain_due_clocks shows
                    plan = explain_due_clocks(session, NOW, limit=LIMIT)
                    times, due = time_due(session, runs)
                    shape = plan_shape(plan)
                    if mode == PREPARED:
                        plan, kind = executed_plan(session)
                        shape = f"{plan_shape(plan)}; {kind}"
                if INDEX not in plan:
                    raise SystemExit(
                        f"FAIL: {backend} ({mode}) at {size:,} clocks does not use {INDEX}:\n{plan}"
                    )
                if len(due) != k or any(d.next_alert_at > NOW for d in due):
                    raise AssertionError(f"{backend} at {size:,}: {len(due)} due, expected {k}")
                median, p95 = statistics.median(times), percentile(times, 95)
                results[mode].rows.append(DueRow(size, len(due), median, p95, load_s, shape))
                results[mode].plan = plan
        return list(results.values())
    finally:
        for mode_engine in engines.values():
            mode_engine.dispose()
        engine.dispose()


# --- main ---------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--open-n", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--k", type=int, default=100, help="due clocks at every size")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument(
        "--profile", type=int, metavar="N", default=0, help="also cProfile N open_case calls"
    )
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    if not 0 < args.k <= min(sizes) * (1 - STOPPED_SHARE) or args.k >= LIMIT:
        parser.error("--k must be positive, below the limit of 1000 and fit the smallest size")
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    contracts = load_contracts([ROOT / "contracts"])
    opens: list[OpenRow] = []
    dues: list[DueResult] = []
    profiles: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="casetrack-bench-") as tmp_name:
        tmp = Path(tmp_name)
        for backend in backends:
            log(f"{backend}: {args.open_n} cases opened one by one, then on {args.threads} threads")
            with fresh_database(backend, tmp, "open") as url:
                opens += bench_open(backend, url, contracts, args.open_n, args.threads, args.warmup)
            if args.profile:
                with fresh_database(backend, tmp, "profile") as url:
                    profiles[backend] = profile_open(url, contracts, args.profile, 10)
            log(f"{backend}: due clocks at {', '.join(f'{s:,}' for s in sizes)}")
            with fresh_database(backend, tmp, "due") as url:
                dues.extend(bench_due(backend, url, sizes, args.k, args.runs, args.seed, log))

    print(f"## Cases opened per second (CaseDesk.open_case, {args.warmup} warm-up calls first)\n")
    rows = [
        [
            r.backend,
            r.mode,
            f"{r.cases:,}",
            f"{r.per_second:,.0f}",
            f"{statistics.median(r.latencies_ms):.2f}",
            f"{percentile(r.latencies_ms, 95):.2f}",
        ]
        for r in opens
    ]
    print(table(["backend", "mode", "cases", "cases/s", "p50 ms", "p95 ms"], rows, {2, 3, 4, 5}))

    print(
        f"\n## Which clocks are due now: due_clocks(session, NOW, limit={LIMIT}), "
        f"k = {args.k} due at every size, median and p95 of {args.runs} runs\n"
    )
    rows = [
        [
            d.backend,
            d.mode,
            f"{r.size:,}",
            f"{r.due:,}",
            f"{r.median_us:,.0f}",
            f"{r.p95_us:,.0f}",
            f"{r.median_us / d.rows[0].median_us:.2f}",
            f"{r.load_s:.1f}",
            r.plan,
        ]
        for d in dues
        for r in d.rows
    ]
    headers = [
        "backend",
        "statement",
        "clocks",
        "due rows",
        "median µs",
        "p95 µs",
        "vs smallest",
        "load s",
        "plan",
    ]
    print(table(headers, rows, {2, 3, 4, 5, 6, 7}))
    span = f"{sizes[-1]:,}/{sizes[0]:,}"
    print(
        f"\nGoal: flat, i.e. a {span} ratio of the medians close to 1 (k rows, not n);"
        " 'worst' is the highest median over the smallest size's, at any size."
    )
    for d in dues:
        verdict = "flat" if max(d.ratio, d.worst) <= 1.5 else "NOT flat"
        print(f"- {d.backend}, {d.mode}: {span} = {d.ratio:.2f}, worst {d.worst:.2f} ({verdict})")

    for d in dues:
        what = "executed prepared statement" if d.mode == PREPARED else "explain_due_clocks"
        print(f"\n### Plan on {d.backend} at {sizes[-1]:,} clocks ({what}; names {INDEX})\n")
        print("```\n" + d.plan + "\n```")

    for backend, report in profiles.items():
        print(f"\n### cProfile of {args.profile} open_case calls on {backend}\n")
        print(report)

    print("\n## Summary")
    for backend in backends:
        seq, par = (r for r in opens if r.backend == backend)
        scans = "; ".join(
            f"{d.mode if d.mode != '-' else 'due clocks'} {d.rows[0].median_us:,.0f} µs at "
            f"{sizes[0]:,} → {d.rows[-1].median_us:,.0f} µs at {sizes[-1]:,} "
            f"(ratio {d.ratio:.2f}, worst {d.worst:.2f})"
            for d in dues
            if d.backend == backend
        )
        print(
            f"- {backend}: {seq.per_second:,.0f} cases/s sequential "
            f"(p50 {statistics.median(seq.latencies_ms):.2f} ms), {par.per_second:,.0f} cases/s "
            f"on {par.mode}; {scans}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
