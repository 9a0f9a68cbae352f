"""Benchmark: the customer report (core.reports) over a large case store.

Usage: python bench/reports.py [--quick | --full] [--cases N] [--events-per-case K]
                               [--customers C] [--sqlite-cases N] [--runs R] [--no-sqlite]
                               [--no-explain]

Cases are spread evenly over --customers contracts and over the year 2026 (Asia/Shanghai), in
id order as the desk opens them, so one customer's quarter is cases / customers / 4 cases.
Each case has K events (opened, assigned, first response, notes, on-site arrivals for 30 %,
a re-open for 3 %, resolved and closed for most), three SLA clocks (response, diagnosis,
resolution: met, breached, running, paused; some excluded) and 2 % an RMA order with its
delivery event. PostgreSQL is loaded by COPY in text format into a fresh
`casetrack_bench_<random>` database (migrated to head, dropped at the end); SQLite by
executemany into a file in a temporary directory.

Timed (median of --runs, after one warm-up): the 2026Q3 report of one customer, and of all
customers in one pass per section (`build_reports`), beside a **baseline** in the same run:
counting the quarter's cases and joining their events (the least any event-based report must
read). Then EXPLAIN (ANALYZE, BUFFERS) of the heavy statements for one customer (PostgreSQL)
or EXPLAIN QUERY PLAN (SQLite). The PDF is not timed here (its rendering does not grow with
the store: bench/reports.py renders the one-customer report once and prints its time).

Sizes: default 200k cases / 2M events on PostgreSQL and 100k on SQLite (about ten minutes
on the shared 2-core machine); --quick 20k / 10k; --full 1M cases and 10M events.
Every instant handed to the code is fixed (NOW); the wall clock only times things.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ClauseElement, Engine, Executable, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import fresh_database, table

from core.reports.build import Customer, build_reports
from core.reports.period import parse_period
from core.reports.render import to_pdf
from core.store import case_facts, report_sql
from core.store.db import make_engine, make_sessionmaker
from core.store.migrate import upgrade
from core.store.orm import Case, CaseEvent
from core.store.report_sql import Scope

NOW = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)  # the year is over (Asia/Shanghai)
YEAR_START = datetime(2025, 12, 31, 16, 0, tzinfo=UTC)
YEAR_S = 365 * 86_400
TZ = "Asia/Shanghai"
PERIOD = parse_period("2026Q3", TZ)
PRIORITIES = ("P1",) * 5 + ("P2",) * 20 + ("P3",) * 50 + ("P4",) * 25
CATEGORIES = ("fault_rescue", "consulting", "installation", "inspection", "spare_parts")
CHANNELS = ("phone", "phone", "phone", "email", "web", "wechat")
ZONES = ("市内", "市内", "文登", "荣成", "乳山", None)
KINDS = ("response", "diagnosis", "resolution")
CHUNK = 25_000  # cases per generated chunk (one random stream, one set of COPY files)


def contract_id(n: int) -> str:
    return f"bench-customer-{n:03d}"


# --- generated rows -----------------------------------------------------------------------------


class Rows:
    """Deterministic rows for cases 1..n, as tuples in the tables' column order."""

    CASE = (
        "id", "number", "contract_id", "customer_id", "caller_name", "summary", "category",
        "request_type", "priority", "emergency", "channel", "zone", "status", "opened_at",
        "updated_at", "resolved_at", "closed_at", "breached", "last_seq", "last_hash", "version",
    )  # fmt: skip
    CLOCK = (
        "id", "case_id", "kind", "state", "calendar", "target", "rule", "started_at", "deadline",
        "paused_at", "pauses", "met_at", "breached_at", "exclusion_cause", "alert_level",
    )  # fmt: skip
    EVENT = (
        "id", "case_id", "seq", "kind", "actor", "at", "payload", "visibility", "prev_hash",
        "hash",
    )  # fmt: skip
    RMA = (
        "id", "case_id", "case_number", "channel", "serial", "idempotency_key", "state",
        "request", "failures", "created_at", "updated_at",
    )  # fmt: skip

    def __init__(self, n: int, customers: int, events_per_case: int, seed: int = 5) -> None:
        self.n, self.customers, self.k = n, customers, max(4, events_per_case)
        self.seed = seed

    def stride(self) -> int:
        """Event ids per case: a case's events are ids (cid-1)*stride+1.., so a chunk of
        cases is generated without counting the rows before it."""
        return max(self.k, 9) + 1

    def generate(self, lo: int = 1, hi: int | None = None) -> Iterator[tuple[str, tuple[Any, ...]]]:
        """("case" | "clock" | "event" | "rma", row) for cases lo..hi, case by case; each
        chunk of CHUNK cases has its own random stream, so chunks can be made in parallel."""
        hi = self.n if hi is None else hi
        rng = random.Random()
        stride = self.stride()
        for cid in range(lo, hi + 1):
            if cid == lo or (cid - 1) % CHUNK == 0:
                rng.seed(self.seed * 1_000_003 + (cid - 1) // CHUNK)
            # ids grow with time, as the desk numbers them: a quarter's rows sit together
            opened = YEAR_START + timedelta(seconds=(cid - 1) * YEAR_S // self.n)
            first = opened + timedelta(seconds=rng.randrange(60, 7200))
            resolved = opened + timedelta(seconds=int(rng.expovariate(1 / 40_000)) + 600)
            done = rng.random() < 0.85 and resolved < NOW
            closed = resolved + timedelta(days=1) if done and rng.random() < 0.8 else None
            visits = 2 if rng.random() < 0.05 else 1 if rng.random() < 0.3 else 0
            reopened = done and rng.random() < 0.03
            rma = rng.random() < 0.02
            breached = rng.random() < 0.15
            priority = rng.choice(PRIORITIES)
            number = f"BR-{cid:08d}"
            kinds = ["opened", "assigned", "first_response"]
            kinds += ["onsite_arrived"] * visits + ["reopened"] * reopened + ["rma_updated"] * rma
            tail = ["resolved"] * done + ["closed"] * (closed is not None)
            kinds += ["note"] * max(0, self.k - len(kinds) - len(tail)) + tail
            span = max(60, int(((resolved if done else opened + timedelta(days=3)) - opened)
                               .total_seconds()))  # fmt: skip
            rma_id = cid
            if rma:
                created = opened + timedelta(hours=2)
                state = rng.choice(("delivered", "delivered", "closed", "open", "cancelled"))
                yield "rma", (
                    rma_id, cid, number, rng.choice(("cisco", "digital_china")), f"SN{cid}",
                    f"bench-{rma_id}", state, "{}", 0, created,
                    created + timedelta(days=rng.randrange(1, 9)),
                )  # fmt: skip
            for seq, kind in enumerate(kinds, start=1):
                if kind == "opened":
                    at = opened
                elif kind == "first_response":
                    at = first
                elif kind == "resolved":
                    at = resolved
                elif kind == "closed":
                    at = closed or resolved
                elif kind == "rma_updated":  # delivered a day or more after the order
                    at = opened + timedelta(hours=2, days=1 + rng.randrange(7))
                else:
                    at = opened + timedelta(seconds=rng.randrange(span))
                payload = (
                    f'{{"rma": {rma_id}, "state": "delivered"}}' if kind == "rma_updated" else "{}"
                )
                yield "event", (
                    (cid - 1) * stride + seq, cid, seq, kind, "bench", at, payload,
                    "customer" if kind in ("first_response", "resolved", "closed") else "internal",
                    "", f"{cid}-{seq}",
                )  # fmt: skip
            yield "case", (
                cid, number, contract_id(cid % self.customers), f"customer-{cid % self.customers}",
                "bench caller", "bulk-loaded case", rng.choice(CATEGORIES),
                rng.choice(("problem_report", "problem_report", "consultation")), priority,
                rng.random() < 0.05, rng.choice(CHANNELS), rng.choice(ZONES),
                "closed" if closed else "resolved" if done else "in_progress", opened,
                closed or (resolved if done else opened), resolved if done else None, closed,
                breached, len(kinds), "", 1,
            )  # fmt: skip
            for i, kind in enumerate(KINDS):
                deadline = opened + timedelta(hours=rng.choice((1, 4, 8, 24)))
                state = rng.choice(("met", "met", "met", "breached", "running", "paused"))
                yield "clock", (
                    (cid - 1) * len(KINDS) + i + 1, cid, kind, state, "duty", "4h", "bench",
                    opened, deadline,
                    deadline - timedelta(minutes=5) if state == "paused" else None,
                    '[{"start": "x", "end": "y"}]' if rng.random() < 0.1 else "[]",
                    deadline - timedelta(minutes=10) if state in ("met", "breached") else None,
                    deadline if state == "breached" else None,
                    "force-majeure" if state == "breached" and rng.random() < 0.1 else None, 0,
                )  # fmt: skip


# --- loading ------------------------------------------------------------------------------------

TABLES = {
    "case": ("cases", Rows.CASE),
    "clock": ("sla_clocks", Rows.CLOCK),
    "event": ("case_events", Rows.EVENT),
    "rma": ("rma_orders", Rows.RMA),
}
ORDER = ("case", "clock", "event", "rma")  # foreign keys: cases first


def _pg_text(value: Any) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if type(value) is datetime:
        return value.isoformat()
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text:
        return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
    return text


def _spool_chunk(job: tuple[Rows, int, int, str]) -> dict[str, str]:
    """One chunk of cases as COPY text files, one per table (runs in a worker process)."""
    rows, lo, hi, tmp = job
    paths = {kind: str(Path(tmp) / f"{kind}-{lo:09d}.tsv") for kind in ORDER}
    out: dict[str, list[str]] = {kind: [] for kind in ORDER}
    for kind, row in rows.generate(lo, hi):
        out[kind].append("\t".join(map(_pg_text, row)))
    for kind, lines in out.items():
        Path(paths[kind]).write_text("\n".join(lines) + ("\n" if lines else ""), "utf-8")
    return paths


def _spool(rows: Rows, tmp: Path, jobs: int) -> dict[str, list[Path]]:
    """The rows as COPY text files per table and chunk, made by ``jobs`` processes."""
    chunks = [
        (rows, lo, min(rows.n, lo + CHUNK - 1), str(tmp)) for lo in range(1, rows.n + 1, CHUNK)
    ]
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        made = pool.map(_spool_chunk, chunks)
    return {kind: [Path(m[kind]) for m in made] for kind in ORDER}


def _secondary_indexes(cur: Any, table: str) -> list[tuple[str, str]]:
    """(name, CREATE statement) of ``table``'s indexes that back no constraint."""
    cur.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
        (table,),
    )
    return [(name, sql) for name, sql in cur.fetchall()]


def load_postgresql(engine: Engine, rows: Rows, tmp: Path, jobs: int) -> dict[str, float]:
    timings: dict[str, float] = {}
    started = time.perf_counter()
    paths = _spool(rows, tmp, jobs)
    timings["generate"] = time.perf_counter() - started
    raw = engine.raw_connection()
    try:
        pg = raw.driver_connection
        with pg.cursor() as cur:
            for kind in ORDER:
                name, cols = TABLES[kind]
                started = time.perf_counter()
                # a bulk load: the secondary indexes are built once after the COPY
                indexes = _secondary_indexes(cur, name)
                for index, _ in indexes:
                    cur.execute(f"DROP INDEX {index}")
                with cur.copy(f"COPY {name} ({', '.join(cols)}) FROM STDIN") as copy:
                    for path in paths[kind]:
                        with path.open("rb") as source:
                            while chunk := source.read(1 << 20):
                                copy.write(chunk)
                        path.unlink()
                for _, create in indexes:
                    cur.execute(create)
                timings[f"copy {name}"] = time.perf_counter() - started
        pg.commit()
    finally:
        raw.close()
    _analyze(engine, [name for name, _ in TABLES.values()], timings, "vacuum analyze")
    timings["facts backfill"] = _backfill(engine)
    _analyze(engine, FACT_TABLES, timings, "vacuum analyze facts")
    return timings


FACT_TABLES = ["case_facts", "clock_facts"]


def _analyze(engine: Engine, tables: Sequence[str], timings: dict[str, float], label: str) -> None:
    started = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for name in tables:
            conn.exec_driver_sql(f"VACUUM ANALYZE {name}")
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("CHECKPOINT")
    timings[label] = time.perf_counter() - started


def _backfill(engine: Engine) -> float:
    """The facts of every loaded case, by the statements the desk's commits and the CLI's
    rebuild use (core.store.case_facts): the migration's backfill at this size."""
    started = time.perf_counter()
    with engine.begin() as conn:
        case_facts.rebuild(conn)
    return time.perf_counter() - started


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def load_sqlite(engine: Engine, rows: Rows) -> dict[str, float]:
    started = time.perf_counter()
    batches: dict[str, list[tuple[Any, ...]]] = {kind: [] for kind in ORDER}
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        raw.execute("PRAGMA synchronous=OFF")

        def flush(kind: str) -> None:
            name, cols = TABLES[kind]
            marks = ", ".join("?" * len(cols))
            raw.executemany(f"INSERT INTO {name} ({', '.join(cols)}) VALUES ({marks})",
                            batches[kind])  # fmt: skip
            batches[kind].clear()

        raw.execute("BEGIN")
        for kind, row in rows.generate():
            batches[kind].append(tuple(_sqlite_value(v) for v in row))
            if kind == "case" and len(batches["case"]) >= 5000:
                for k in ORDER:  # cases first: the others reference them
                    flush(k)
        for k in ORDER:
            flush(k)
        raw.execute("COMMIT")
        raw.execute("ANALYZE")
        raw.execute("PRAGMA synchronous=FULL")
    timings = {"load": time.perf_counter() - started}
    timings["facts backfill"] = _backfill(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
    return timings


# --- timing -------------------------------------------------------------------------------------


def median_time(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    result = fn()  # warm-up (caches, plans)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def baseline(session: Session, contracts: Sequence[str]) -> int:
    """The least an event-based report reads: the quarter's cases joined to their events."""
    stmt = (
        select(func.count())
        .select_from(Case)
        .join(CaseEvent, CaseEvent.case_id == Case.id)
        .where(
            Case.contract_id.in_(contracts),
            Case.opened_at >= PERIOD.start,
            Case.opened_at < PERIOD.end,
        )
    )
    return int(session.execute(stmt).scalar_one())


class _Explain(Executable, ClauseElement):
    inherit_cache = False

    def __init__(self, stmt: Any, prefix: str) -> None:
        self.stmt, self.prefix = stmt, prefix


@compiles(_Explain)
def _compile_explain(element: _Explain, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{element.prefix} {compiler.process(element.stmt, **kw)}"


def explain(session: Session, contracts: Sequence[str]) -> str:
    sqlite = session.get_bind().dialect.name == "sqlite"
    prefix = "EXPLAIN QUERY PLAN" if sqlite else "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)"
    scope = Scope(contracts, PERIOD.start, PERIOD.end, NOW)
    out = io.StringIO()
    for name, build in report_sql.HEAVY.items():
        dialect = session.get_bind().dialect.name
        rows = session.execute(_Explain(build(scope, dialect), prefix)).all()
        out.write(f"\n--- {name} ---\n")
        out.write("\n".join(str(r[-1]) for r in rows) + "\n")
    return out.getvalue()


SECTIONS: dict[str, Callable[[Session, Scope], Any]] = {
    "statistics": report_sql.statistics,
    "sla": report_sql.sla,
    "exclusions": report_sql.exclusions,
    "first_time_fix": report_sql.first_time_fix,
    "percentiles": report_sql.percentiles,
    "rma": report_sql.rma,
    "major_cases": lambda session, scope: report_sql.major_cases(session, scope, limit=50),
}


def section_times(session: Session, contracts: Sequence[str], runs: int) -> str:
    """Each section's query alone (median ms), for one scope."""
    scope = Scope(contracts, PERIOD.start, PERIOD.end, NOW)
    parts = []
    for name, fn in SECTIONS.items():
        seconds, _ = median_time(lambda fn=fn: fn(session, scope), runs)
        parts.append(f"{name} {seconds * 1000:.0f}")
    return ", ".join(parts) + " (ms)"


def run_backend(
    backend: str, url: str, rows: Rows, runs: int, tmp: Path, show_plan: bool, jobs: int = 2
) -> list[list[str]]:
    engine = make_engine(url)
    upgrade(engine)
    load = (
        load_postgresql(engine, rows, tmp, jobs)
        if backend == "postgresql"
        else load_sqlite(engine, rows)
    )
    print(f"\n## {backend}: {rows.n} cases, {rows.n * rows.k} events (about), "
          f"{rows.customers} customers")  # fmt: skip
    print("load: " + ", ".join(f"{k} {v:.1f} s" for k, v in load.items()))
    customers = [
        Customer(contract_id(i), f"customer-{i}", f"客户 {i}") for i in range(rows.customers)
    ]
    one = customers[:1]
    result: list[list[str]] = []
    with make_sessionmaker(engine)() as session:
        report_sql.tune(session)  # as build_reports does: the baseline gets the same planner
        base_one, n_one = median_time(lambda: baseline(session, [one[0].contract_id]), runs)
        t_one, reports = median_time(lambda: build_reports(session, one, PERIOD, now=NOW), runs)
        base_all, n_all = median_time(
            lambda: baseline(session, [c.contract_id for c in customers]), runs
        )
        t_all, _ = median_time(lambda: build_reports(session, customers, PERIOD, now=NOW), runs)
        total = reports[0].totals()
        cases_one = total.cases if total else 0
        for label, seconds, base, rows_read in (
            ("one customer, 2026Q3", t_one, base_one, n_one),
            ("all customers, 2026Q3", t_all, base_all, n_all),
        ):
            result.append(
                [
                    backend,
                    label,
                    f"{rows_read}",
                    f"{base * 1000:.0f}",
                    f"{seconds * 1000:.0f}",
                    f"{seconds / base:.1f}x" if base else "-",
                ]
            )
        print(f"one customer's quarter: {cases_one} cases, {n_one} events")
        print("sections, one customer: " + section_times(session, [one[0].contract_id], runs))
        everyone = [c.contract_id for c in customers]
        print("sections, all customers: " + section_times(session, everyone, runs))
        if show_plan:
            print("\n### plans, all customers")
            print(explain(session, everyone))
            print("\n### plans, one customer")
            print(explain(session, [one[0].contract_id]))
        if backend == "postgresql":
            started = time.perf_counter()
            pdf = to_pdf(reports[0])
            print(f"PDF of the one-customer report: {time.perf_counter() - started:.2f} s, "
                  f"{len(pdf)} bytes")  # fmt: skip
    engine.dispose()
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="20k cases (PostgreSQL), 10k SQLite")
    size.add_argument("--full", action="store_true", help="1M cases and 10M events")
    parser.add_argument("--cases", type=int, help="cases on PostgreSQL (default 200000)")
    parser.add_argument("--sqlite-cases", type=int, help="cases on SQLite (default 100000)")
    parser.add_argument("--events-per-case", type=int, default=10)
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-explain", action="store_true")
    parser.add_argument("--jobs", type=int, default=2, help="processes generating COPY files")
    args = parser.parse_args(argv)
    pg_cases = args.cases or (1_000_000 if args.full else 20_000 if args.quick else 200_000)
    lite_cases = args.sqlite_cases or (10_000 if args.quick else 100_000)
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        with fresh_database("postgresql", Path(tmp), "reports") as url:
            pg = Rows(pg_cases, args.customers, args.events_per_case)
            rows += run_backend(
                "postgresql", url, pg, args.runs, Path(tmp), not args.no_explain, args.jobs
            )
        if not args.no_sqlite:
            with fresh_database("sqlite", Path(tmp), "reports") as url:
                lite = Rows(lite_cases, args.customers, args.events_per_case)
                rows += run_backend("sqlite", url, lite, args.runs, Path(tmp), not args.no_explain)
    headers = ["back end", "report", "events read", "baseline (ms)", "report (ms)", "vs baseline"]
    print()
    print(table(headers, rows, {2, 3, 4, 5}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
