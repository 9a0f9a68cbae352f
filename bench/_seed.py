"""Bulk-loaded cases and SLA clocks for the benchmarks (bench/store.py, bench/escalation.py;
bench/queues.py loads its own rows through the same ``load_tables``).

Rows are generated as tuples and loaded in one transaction: SQLite by executemany in
batches of 10k with `synchronous=OFF` for the load only, PostgreSQL by COPY. Here: one parent case
per four clocks, on the hospital contract (a real contract in contracts/, so the scheduler
can fire a clock's ladder); alert times are spread over the year after a fixed NOW and 20 %
of the clocks are stopped (NULL next_alert_at). None is due at NOW: a benchmark moves the
clocks it wants due itself.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Engine

from core.store.orm import Base

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # the instant asked "what is due?"
HOSPITAL = "wdkn-hospital-2026"
CLOCKS_PER_CASE = 4
STOPPED_SHARE = 0.2
BATCH = 10_000
YEAR_S = 365 * 86_400
KINDS = ("first_response", "diagnosis", "resolution", "onsite_arrival")
CALENDAR = "duty"  # the hospital contract's 24x7 calendar


CASE_COLS = (
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
    "opened_at",
    "updated_at",
    "next_deadline",
    "breached",
    "last_seq",
    "last_hash",
    "version",
)
CLOCK_COLS = (
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
    "alert_level",
    "next_alert_at",
)


def case_rows(first: int, last: int) -> Iterator[tuple[Any, ...]]:
    """Parent cases first..last (inclusive): open, their next deadline inside the year."""
    opened = NOW - timedelta(days=3)
    for cid in range(first, last + 1):
        deadline = NOW + timedelta(seconds=(cid * 7919) % YEAR_S + 3600)
        yield (
            cid,
            f"BN-2026-{cid:07d}",
            HOSPITAL,
            f"customer-{cid % 97}",
            "bench caller",
            "bulk-loaded case",
            "consulting",
            "problem_report",
            "P3",
            False,
            "phone",
            "in_progress",
            opened,
            opened,
            deadline,
            False,
            1,
            "",
            1,
        )


def clock_rows(first: int, last: int, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    """Clocks first..last (inclusive); none due: every alert is in the year after NOW."""
    for cid in range(first, last + 1):
        started = NOW - timedelta(seconds=rng.randrange(1, 30 * 86_400))
        alert = NOW + timedelta(seconds=rng.randrange(60, YEAR_S))
        stopped = rng.random() < STOPPED_SHARE
        yield (
            cid,
            (cid - 1) // CLOCKS_PER_CASE + 1,
            KINDS[(cid - 1) % CLOCKS_PER_CASE],
            "met" if stopped else "running",
            CALENDAR,
            "4h",
            "bench",
            started,
            alert + timedelta(hours=2),
            "[]",
            started + timedelta(hours=1) if stopped else None,
            0,
            None if stopped else alert,
        )


def batches(rows: Iterator[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    while batch := list(itertools.islice(rows, size)):
        yield batch


# a table's name, its columns, and its rows (tuples in the columns' order), loaded in this order
Rows = tuple[str, Sequence[str], Iterable[tuple[Any, ...]]]


def load_sqlite(engine: Engine, tables: Sequence[Rows]) -> None:
    """executemany in batches inside one transaction, with synchronous=OFF just for it."""
    with engine.connect() as conn:
        raw = conn.connection.driver_connection  # autocommit mode: outside any transaction
        before = raw.execute("PRAGMA synchronous").fetchone()[0]
        raw.execute("PRAGMA synchronous=OFF")
        try:
            with conn.begin():
                for name, cols, rows in tables:
                    table = Base.metadata.tables[name]
                    # rows carry JSON as the text COPY takes ("[]"); the JSON type wants values
                    text = [c for c in cols if isinstance(table.c[c].type, JSON)]
                    for batch in batches(iter(rows), BATCH):
                        values = [dict(zip(cols, r, strict=True)) for r in batch]
                        for row in values:
                            row.update({c: json.loads(row[c]) for c in text if row[c] is not None})
                        conn.execute(table.insert(), values)
        finally:
            raw.execute(f"PRAGMA synchronous={int(before)}")


def load_postgresql(engine: Engine, tables: Sequence[Rows]) -> None:
    """COPY ... FROM STDIN through psycopg's cursor.copy, one transaction; each table's id
    sequence then continues after the loaded ids."""
    raw = engine.raw_connection()
    try:
        pg = raw.driver_connection
        with pg.cursor() as cur:
            for name, cols, rows in tables:
                with cur.copy(f"COPY {name} ({', '.join(cols)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            for name, _, _ in tables:
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), max(id)) FROM {name}"
                )
        pg.commit()
    finally:
        raw.close()


def load_tables(engine: Engine, tables: Sequence[Rows]) -> None:
    """The one bulk loader of the benchmarks (bench/store.py, bench/escalation.py,
    bench/queues.py): COPY on PostgreSQL, batched executemany on SQLite."""
    loader = load_postgresql if engine.dialect.name == "postgresql" else load_sqlite
    loader(engine, tables)


def analyze(engine: Engine) -> None:
    """Fresh planner statistics, and the load written out of the WAL."""
    if engine.dialect.name == "postgresql":
        # VACUUM too: the moved clocks left dead index entries that a scan would still visit
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE cases")
            conn.exec_driver_sql("VACUUM ANALYZE sla_clocks")
            # write the loaded pages out now, not in a checkpoint during the timing
            conn.exec_driver_sql("CHECKPOINT")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        with engine.connect() as conn:
            conn.connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def load(engine: Engine, loaded: int, size: int, rng: random.Random) -> None:
    """Grow the clock table from ``loaded`` to ``size`` clocks (and their parent cases)."""
    cases_before = -(-loaded // CLOCKS_PER_CASE)
    cases_after = -(-size // CLOCKS_PER_CASE)
    load_tables(
        engine,
        [
            ("cases", CASE_COLS, case_rows(cases_before + 1, cases_after)),
            ("sla_clocks", CLOCK_COLS, clock_rows(loaded + 1, size, rng)),
        ],
    )
