"""Benchmark: knowledge search over many resolved cases (issue 16 §7; docs/knowledge.md).

Usage: python bench/kb.py [--rows 1000000 | --quick] [--backend postgresql|sqlite|both]
                          [--runs 5] [--baseline-queries 5] [--seed N]

A fresh database per back end (PostgreSQL: a `casetrack_bench_<random>` database this script
creates and drops, through CASETRACK_BENCH_PG_URL; SQLite: a temporary file), migrated, then
--rows knowledge entries of resolved cases bulk-loaded (PostgreSQL: COPY with the GIN index
dropped and built again after, as a bulk load would; SQLite: executemany, FTS5 filled by its
triggers). An entry is made like a harvested case: a title, problem, cause and fix from one of
the labelled set's 29 fault stories (tests/data/kb_queries.yaml), on one of its models, with
a department, a port or alarm code and a closing remark drawn at random, so that texts differ
and the common words ("服务器", "更换", "故障") are in a large share of the rows. Terms are
cut once per distinct fragment (core.kbtext) and joined, exactly what `indexed` gives, with
the entry's facets (visibility, customer, model, model and category) as `index_terms` adds
them; the entries belong to 200 customers in turn.
`--quick` is 100k rows.

Timed: `core.store.knowledge.search(session, query, limit=10)` for each of the labelled set's
40 queries (the last 10: no entry holds every word, the "any term" pass answers them),
--runs rounds (the first round warms the caches and is not counted), as staff, as
a customer (visibility filter) and with a model and category filter (`GET
/knowledge?model=&category=`); and the past fixes shown on a case of that model and category
(`core.store.knowledge.related`, the query as the case's summary).
Staff search is also timed over the 10 fallback queries alone, and P@1 at this size is
printed, as staff and as a customer (the first answer is an entry of a relevant story: the
same title).
Baseline in the same run: the first --baseline-queries queries as one substring (ILIKE / LIKE
'%q%' over title, problem, cause and fix, newest 10: a sequential scan), the search box a team
writes first, once each. p50/p95/p99 in ms; the load average is printed with the load times
(the machine is shared: compare rows of one run, not runs).

The wall clock is read only to time things (time.perf_counter_ns).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, or_, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import fresh_database, percentile, table

from core import kbtext
from core.store import orm
from core.store.db import make_engine, make_sessionmaker
from core.store.knowledge import model_category_facet, related, search
from core.store.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
LABELLED = yaml.safe_load((ROOT / "tests" / "data" / "kb_queries.yaml").read_text("utf-8"))
T0 = datetime(2024, 1, 1, tzinfo=UTC)  # entries' times: T0 + i minutes
CUSTOMERS = [f"customer-{i:03d}" for i in range(200)]
MODEL, CATEGORY = "HPE ProLiant DL380 Gen10", "fault_rescue"  # a case's, for its past fixes
DEPARTMENTS = (
    "门诊楼",
    "住院部",
    "信息中心机房",
    "财务科",
    "教学楼",
    "营业部",
    "调度中心",
    "行政楼",
    "实验室",
    "仓库",
)
REMARKS = (
    "已与客户确认业务恢复正常",
    "工程师现场处理完毕并做了记录",
    "观察两小时无复发",
    "已告知客户日常检查方法",
    "按厂商建议处理",
    "备件由神州数码发出",
    "客户签字确认服务报告",
    "远程协助完成处理",
    "后续巡检时复查",
    "已更新设备档案",
)
COLUMNS = (
    "kind",
    "case_number",
    "title",
    "problem",
    "cause",
    "fix",
    "device_model",
    "category",
    "customer_id",
    "visibility",
    "active",
    "terms",
    "author",
    "created_at",
    "updated_at",
    "updated_by",
)


@cache
def facet(kind: str, value: str) -> str:
    return kbtext.facet(kind, value)


@cache
def pair_facet(model: str, category: str) -> str:
    return model_category_facet(model, category)


@cache
def cut(fragment: str) -> str:
    """The terms of one fragment, space-joined (cut once, reused for every row)."""
    return " ".join(kbtext.terms(fragment))


def entries(
    n: int, rng: random.Random, models: Mapping[str, str] | None = None
) -> Iterator[tuple[Any, ...]]:
    """``n`` rows of kb_entries, in COLUMNS order; ``models`` renames a story's model (a
    benchmark whose case's device is spelt otherwise: bench/pages.py)."""
    renamed = models or {}
    stories = list(LABELLED["entries"].values())
    for i in range(n):
        story = rng.choice(stories)
        model = renamed.get(story["model"], story["model"])
        place = rng.choice(DEPARTMENTS)
        code = f"告警码0x{rng.randrange(4096):04X}" if i % 2 else f"端口G1/0/{rng.randrange(48)}"
        problem = f"{place}{story['problem']}，{code}"
        fix = f"{story['fix']}，{rng.choice(REMARKS)}"
        parts = (story["title"], story["problem"], place, code, story["cause"], story["fix"])
        words = " ".join(cut(p) for p in (*parts, fix[len(story["fix"]) + 1 :], story["model"]))
        customer = CUSTOMERS[i % len(CUSTOMERS)]
        facets = " ".join(
            (
                facet("v", "customer"),
                facet("c", customer),
                facet("m", model),
                pair_facet(model, story["category"]),
            )
        )
        at = T0 + timedelta(minutes=i)
        yield (
            "case",
            f"BM-{2024 + i // 500_000}-{i % 500_000:06d}",
            story["title"],
            problem,
            story["cause"],
            fix,
            model,
            story["category"],
            customer,
            "customer",
            True,
            f" {words} {facets} ",
            "bench",
            at,
            at,
            "bench",
        )


def load_postgres(
    engine: Engine, rows: int, rng: random.Random, models: Mapping[str, str] | None = None
) -> dict[str, float]:
    """COPY the rows in, the GIN index dropped during the load and built after."""
    times = {}
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("DROP INDEX ix_kb_entries_search")
        started = time.perf_counter()
        sql = f"COPY kb_entries ({', '.join(COLUMNS)}) FROM STDIN"
        with cursor.copy(sql) as copy:  # type: ignore[attr-defined]
            for row in entries(rows, rng, models):
                copy.write_row(row)
        raw.commit()
        times["copy"] = time.perf_counter() - started
        started = time.perf_counter()
        cursor.execute("CREATE INDEX ix_kb_entries_search ON kb_entries USING gin (search_vector)")
        cursor.execute("ANALYZE kb_entries")
        raw.commit()
        times["index"] = time.perf_counter() - started
    finally:
        raw.close()
    return times


def load_sqlite(engine: Engine, rows: int, rng: random.Random) -> dict[str, float]:
    started = time.perf_counter()
    insert = orm.KbEntry.__table__.insert()
    batch: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for row in entries(rows, rng):
            batch.append(dict(zip(COLUMNS, row, strict=True)))
            if len(batch) == 10_000:
                conn.execute(insert, batch)
                batch = []
        if batch:
            conn.execute(insert, batch)
        conn.execute(text("ANALYZE"))
    return {"copy": time.perf_counter() - started, "index": 0.0}


def time_queries(run: Callable[[str], object], queries: Sequence[str], runs: int) -> list[float]:
    """ms per call, every query ``runs`` times after one warm-up round."""
    for query in queries:
        run(query)
    spent = []
    for _ in range(runs):
        for query in queries:
            started = time.perf_counter_ns()
            run(query)
            spent.append((time.perf_counter_ns() - started) / 1e6)
    return spent


def precision_at_1(run: Callable[[str], Sequence[Any]]) -> float:
    """Share of the labelled queries whose first answer is an entry of a relevant story."""
    titles = {key: entry["title"] for key, entry in LABELLED["entries"].items()}
    right = 0
    for item in LABELLED["queries"]:
        hits = run(item["q"])
        right += bool(hits) and hits[0].title in {titles[key] for key in item["relevant"]}
    return right / len(LABELLED["queries"])


def substring(session: Any) -> Callable[[str], object]:
    columns = (orm.KbEntry.title, orm.KbEntry.problem, orm.KbEntry.cause, orm.KbEntry.fix)

    def run(query: str) -> object:
        pattern = f"%{query.lower()}%"
        return session.scalars(
            select(orm.KbEntry.id)
            .where(or_(*(column.ilike(pattern) for column in columns)))
            .order_by(orm.KbEntry.id.desc())
            .limit(10)
        ).all()

    return run


def bench(backend: str, rows: int, runs: int, baseline_queries: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    queries = [item["q"] for item in LABELLED["queries"]]
    load_average = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp, fresh_database(backend, Path(tmp), "kb") as url:
        engine = make_engine(url)
        upgrade(engine)
        load = load_postgres if backend == "postgresql" else load_sqlite
        loaded = load(engine, rows, rng)
        print(
            f"{backend}: {rows} entries loaded in {loaded['copy']:.1f} s, "
            f"index built in {loaded['index']:.1f} s (load average {load_average:.1f} "
            f"on {os.cpu_count()} CPUs)",
            flush=True,
        )
        sessions = make_sessionmaker(engine)
        result = []
        with sessions() as session:
            cases = [
                ("search, staff", lambda q: search(session, q, limit=10), runs),
                (
                    "search, staff, the 10 fallback queries",
                    lambda q: search(session, q, limit=10),
                    runs,
                ),
                (
                    "search, as a customer",
                    lambda q: search(session, q, customer_id=CUSTOMERS[7], limit=10),
                    runs,
                ),
                (
                    "search, model + category filters",
                    lambda q: search(session, q, device_model=MODEL, category=CATEGORY, limit=5),
                    runs,
                ),
                (
                    "related fixes (a case's past fixes)",
                    lambda q: related(
                        session,
                        q,
                        device_model=MODEL,
                        category=CATEGORY,
                        exclude_case_id=None,
                        limit=5,
                    ),
                    runs,
                ),
                ("baseline: whole query as a substring", substring(session), 1),
            ]
            base_p95 = None
            for name, run, rounds in cases:
                chosen = queries[:baseline_queries] if name.startswith("baseline") else queries
                chosen = queries[-10:] if "fallback" in name else chosen
                spent = time_queries(run, chosen, rounds)
                p95 = percentile(spent, 95)
                if name.startswith("baseline"):
                    base_p95 = p95
                result.append([backend, f"{rows:,}", name, len(spent), spent, p95])
            for who, customer in (("staff", None), ("a customer", CUSTOMERS[7])):
                right = precision_at_1(lambda q, c=customer: search(session, q, customer_id=c))
                print(f"P@1 at this size, {who}: {right:.3f}", flush=True)
        print(f"load average after the timings: {os.getloadavg()[0]:.1f}", flush=True)
        engine.dispose()
    return [
        [
            backend,
            size,
            name,
            str(n),
            f"{percentile(spent, 50):.1f}",
            f"{p95:.1f}",
            f"{percentile(spent, 99):.1f}",
            f"{base_p95 / p95:.0f}x" if base_p95 and not name.startswith("baseline") else "",
        ]
        for backend, size, name, n, spent, p95 in result
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="100k rows")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="postgresql")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--baseline-queries", type=int, default=5, help="queries timed for the baseline (slow)"
    )
    parser.add_argument("--seed", type=int, default=20261205)
    args = parser.parse_args(argv)
    rows = 100_000 if args.quick else args.rows
    backends = ("postgresql", "sqlite") if args.backend == "both" else (args.backend,)
    kbtext.terms("预热")  # jieba's dictionary, loaded before anything is timed
    out = io.StringIO()
    lines = []
    for backend in backends:
        lines.extend(bench(backend, rows, args.runs, args.baseline_queries, args.seed))
    headers = ["back end", "entries", "query", "calls", "p50 ms", "p95 ms", "p99 ms", "vs baseline"]
    print(table(headers, lines, right={1, 3, 4, 5, 6, 7}), file=out)
    print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
