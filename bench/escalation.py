"""Benchmark: escalation — tick time as the clock table grows, and alerts/s from due to sent.

Usage: python bench/escalation.py [--quick] [--backend sqlite|postgresql|both]
                                  [--sizes 100000,1000000] [--k 100,1000] [--runs 5]
                                  [--alerts 2000] [--threads 1,4,8]
                                  [--broker-url redis://127.0.0.1:6379/0] [--only tick|e2e]
                                  [--profile] [--seed 20261125]

Defaults: both back ends, sizes 100,000 and 1,000,000 clocks, k = 100 and 1,000 due levels,
5 timed runs per cell (after one warm-up run), 2,000 notifications end to end with 1, 4 and
8 worker threads, Redis at redis://127.0.0.1:6379/0. The full run takes several minutes.
--quick: sizes 10,000 and 50,000, k = 10 and 100, 3 runs, 200 notifications, threads 1 and 4
(under a minute). PostgreSQL is reached through CASETRACK_BENCH_PG_URL (bench/_common.py);
every database this script makes is dropped at the end, every Redis key it made is deleted.

1. Tick time vs table size. sla_clocks is bulk-loaded (bench/_seed.py: one parent case per
   four clocks on the hospital contract wdkn-hospital-2026, priority P3, alert times spread
   over the year after a fixed NOW, 20 % stopped) and grown size by size. For each k, one
   run = exactly k clocks anywhere in the table made due at NOW, one ladder level each
   (started NOW - 1h - j, deadline NOW + 1h - j on the 24x7 `duty` calendar, j < 20 min:
   the 50 % rung is due, the 75 % one is not), the k of the previous run moved back into the
   future, then on PostgreSQL `VACUUM` of the touched tables and a CHECKPOINT (SQLite: a WAL
   checkpoint), then one `core.jobs.scheduler.tick(runtime, now=NOW, limit=k)` timed. Each run
   must fire k levels (k `escalated` events, 2k outbox rows: the 50 % rung notifies the
   on-duty engineer by e-mail and SMS) and leave nothing due. "idle" is a tick with nothing
   due (the fixed cost: staff directory, one claim query). The plan of the claim query tick
   runs (captured from the engine) must name ix_sla_clocks_next_alert_at, or the script
   fails.
2. End to end, due → sent. Fresh cases (one running `resolution` clock each, P2, assigned
   round robin to the five duty engineers) are made due at the real time; the runtime's
   clock is the real clock. Every level gives 2 notifications (e-mail and SMS), so --alerts
   2,000 is 1,000 levels. Two paths, same notifications, same process:
   - direct (the baseline): `tick` until nothing is due, then `core.jobs.deliver.deliver` on
     every row, in a loop (threads 1) or a thread pool of that many threads; no broker.
   - redis: an in-process dramatiq Worker (`Jobs.worker(threads=W)`) on a RedisBroker with a
     unique queue; a scheduler thread runs passes back to back as core.jobs.loop.one_pass
     does (`tick`, then `relay` with DeliveryPolicy(digest_window=0): no digest hold) until
     one finds nothing, while the main thread polls the outbox every 20 ms until all rows
     are `sent`.
   The clock starts before the first tick and stops when every row is `sent`. Providers are
   local, in a child process (bench/_providers.py): aiosmtpd for e-mail, an Alibaba SendSms
   stand-in that verifies each signature for SMS. Every notice must arrive exactly once
   (Message-ID / OutId derived from its idempotency key) and every row end `sent` with no
   retry, or the script fails. Latency per notice = arrival at the local provider (its wall
   clock) - the row's created_at (the scheduler pass's `now`, from the real clock).
3. --profile: cProfile of one tick of the largest k at the largest size, and of a direct
   deliver loop, per back end (biggest costs first).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import logging
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, event, func, insert, select, update

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

import _providers  # noqa: E402  (bench/ is on sys.path)
from _common import fresh_database, percentile, table, top_costs  # noqa: E402
from _seed import CALENDAR, HOSPITAL, NOW, STOPPED_SHARE, YEAR_S, analyze, load  # noqa: E402

from core.jobs.broker import Jobs, make_broker, set_broker  # noqa: E402
from core.jobs.deliver import DeliveryPolicy, deliver  # noqa: E402
from core.jobs.relay import relay  # noqa: E402
from core.jobs.scheduler import tick  # noqa: E402
from core.plugins import make_plugin_manager  # noqa: E402
from core.runtime import Runtime, build_runtime  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.store import orm  # noqa: E402
from core.store.migrate import upgrade  # noqa: E402
from plugins.email_notify.sender import message_id  # noqa: E402
from plugins.sms_notify.gateway import out_id  # noqa: E402

INDEX = "ix_sla_clocks_next_alert_at"
LEVEL_ROWS = 2  # notices per fired level: the 50 % rung, the engineer by e-mail and SMS
JITTER_S = 20 * 60  # due up to 20 minutes late; the 75 % rung stays 10+ minutes ahead
TICK_LIMIT = 500  # tick's default: what the scheduler loop uses end to end
POLL_S = 0.02
MAIL_FROM = "铭升服务台 <servicedesk@bench.example>"
MAIL_DOMAIN = "bench.example"
ENGINEERS = ("yu-tao", "sun-hao", "li-qiang", "zhou-min", "qu-hang")  # on duty 24x7
QUICK = {
    "sizes": "10000,50000",
    "k": "10,100",
    "runs": 3,
    "alerts": 200,
    "threads": "1,4",
}
DEFAULTS = {
    "sizes": "100000,1000000",
    "k": "100,1000",
    "runs": 5,
    "alerts": 2000,
    "threads": "1,4,8",
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def fail(message: str) -> None:
    raise SystemExit(f"FAIL: {message}")


def make_runtime(
    url: str, var: Path, *, clock: Callable[[], datetime] | None, digest_seconds: float = 120.0
) -> Runtime:
    settings = Settings(
        database_url=url,
        contracts_dir=str(ROOT / "contracts"),
        var_dir=str(var),
        case_prefix="BN",
        digest_seconds=digest_seconds,
        db_statement_timeout=0,  # the bulk load (COPY of millions of rows) takes its time
    )
    pm = make_plugin_manager(load_entrypoints=False, disabled=())
    runtime = build_runtime(settings, pm=pm, clock=clock)
    upgrade(runtime.engine)
    return runtime


# --- 1. tick time vs table size ------------------------------------------------------------------


@dataclass
class TickCell:
    backend: str
    size: int
    k: int
    times_ms: list[float]
    idle_ms: float
    load_s: float

    @property
    def p50(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p95(self) -> float:
        return percentile(self.times_ms, 95)


class ClaimCapture:
    """The claim statement tick sends (SQL and parameters), to EXPLAIN it as it really runs."""

    def __init__(self, engine: Engine) -> None:
        self.statement: str | None = None
        self.parameters: Any = None
        event.listen(engine, "before_cursor_execute", self.seen)

    def seen(self, conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if "FROM sla_clocks JOIN cases" in statement and "next_alert_at <=" in statement:
            self.statement, self.parameters = statement, parameters

    def explain(self, engine: Engine) -> str:
        if self.statement is None:
            fail("tick never ran its claim query")
        if engine.dialect.name == "postgresql":
            prefix = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "
        else:
            prefix = "EXPLAIN QUERY PLAN "
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(prefix + self.statement, self.parameters).all()
            conn.rollback()  # EXPLAIN ANALYZE of a FOR UPDATE took the row locks
        return "\n".join(str(r[-1]) for r in rows)


def arm(
    engine: Engine, size: int, k: int, previous: list[int], used: set[int], rng: random.Random
) -> list[int]:
    """Exactly k clocks among 1..size due at NOW with one level each (never the same clock
    twice in a run of the benchmark); the previously armed ones go back into the future."""
    t = orm.SlaClock.__table__
    back = (
        update(t)
        .where(t.c.id == bindparam("b_id"))
        .values(alert_level=0, next_alert_at=bindparam("b_at"))
    )
    due = (
        update(t)
        .where(t.c.id == bindparam("b_id"))
        .values(
            state="running",
            calendar=CALENDAR,
            paused_at=None,
            met_at=None,
            breached_at=None,
            alert_level=0,
            started_at=bindparam("b_start"),
            deadline=bindparam("b_deadline"),
            next_alert_at=bindparam("b_at"),
        )
    )
    chosen: list[int] = []
    while len(chosen) < k:
        i = rng.randrange(1, size + 1)
        if i not in used:
            used.add(i)
            chosen.append(i)
    moves = [
        {"b_id": i, "b_at": NOW + timedelta(seconds=rng.randrange(3600, YEAR_S))} for i in previous
    ]
    arms = []
    for i in chosen:
        at = NOW - timedelta(seconds=rng.randrange(0, JITTER_S))
        arms.append(
            {
                "b_id": i,
                "b_start": at - timedelta(hours=1),
                "b_deadline": at + timedelta(hours=1),
                "b_at": at,
            }
        )
    with engine.begin() as conn:
        if moves:
            conn.execute(back, moves)
        conn.execute(due, arms)
    return chosen


def settle(engine: Engine) -> None:
    """Between runs: no dead index entries left from the last one, nothing left to flush."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM sla_clocks, cases, case_events, notifications")
            conn.exec_driver_sql("CHECKPOINT")
    else:
        with engine.connect() as conn:
            conn.connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def due_left(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.count())
            .select_from(orm.SlaClock)
            .where(orm.SlaClock.next_alert_at.is_not(None), orm.SlaClock.next_alert_at <= NOW)
        ).scalar_one()


def timed_tick(runtime: Runtime, k: int) -> float:
    start = time.perf_counter_ns()
    report = tick(runtime, now=NOW, limit=k)
    elapsed = (time.perf_counter_ns() - start) / 1e6
    got = (report.clocks, report.events, report.notifications, report.breaches, report.errors)
    if got != (k, k, LEVEL_ROWS * k, 0, []):
        fail(f"tick(limit={k}) fired {got}, expected ({k}, {k}, {LEVEL_ROWS * k}, 0, [])")
    return elapsed


@dataclass
class TickResult:
    cells: list[TickCell] = field(default_factory=list)
    plan: str = ""
    profile: str = ""


def bench_tick(
    backend: str,
    url: str,
    var: Path,
    sizes: Sequence[int],
    ks: Sequence[int],
    runs: int,
    seed: int,
    profile: bool,
) -> TickResult:
    runtime = make_runtime(url, var, clock=lambda: NOW)
    engine = runtime.engine
    capture = ClaimCapture(engine)
    rng = random.Random(seed)
    result = TickResult()
    loaded, previous, used = 0, [], set()
    try:
        for size in sizes:
            start = time.perf_counter()
            load(engine, loaded, size, rng)
            loaded = size
            analyze(engine)
            load_s = time.perf_counter() - start
            log(f"  {backend}: {size:,} clocks loaded in {load_s:.1f} s")
            settle(engine)
            idle = []
            for _ in range(5):
                t = time.perf_counter_ns()
                report = tick(runtime, now=NOW, limit=max(ks))
                idle.append((time.perf_counter_ns() - t) / 1e6)
                if report.events:
                    fail(f"{backend} at {size:,}: {report.events} levels fired with nothing due")
            for k in ks:
                times = []
                for run in range(1 + runs):  # the first run warms up
                    previous = arm(engine, size, k, previous, used, rng)
                    settle(engine)
                    elapsed = timed_tick(runtime, k)
                    if due_left(engine):
                        fail(f"{backend} at {size:,}: clocks still due after tick(limit={k})")
                    if run:
                        times.append(elapsed)
                cell = TickCell(backend, size, k, times, statistics.median(idle), load_s)
                result.cells.append(cell)
                log(f"    k={k:,}: p50 {cell.p50:,.1f} ms, p95 {cell.p95:,.1f} ms")
        # the claim query as tick sends it, with max(k) due at the largest size
        previous = arm(engine, sizes[-1], max(ks), previous, used, rng)
        settle(engine)
        result.plan = capture.explain(engine)
        if INDEX not in result.plan:
            fail(f"{backend}: the claim query does not use {INDEX}:\n{result.plan}")
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            timed_tick(runtime, max(ks))
            profiler.disable()
            result.profile = top_costs(profiler, 12)
        return result
    finally:
        runtime.close()


# --- 2. end to end -------------------------------------------------------------------------------


class Providers:
    """bench/_providers.py in a child process: the local SMTP server and SMS gateway."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(BENCH / "_providers.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        assert self.proc.stdout is not None and self.proc.stdin is not None
        self.ports = json.loads(self.proc.stdout.readline())

    def collect(self) -> dict[str, Any]:
        assert self.proc.stdout is not None and self.proc.stdin is not None
        self.proc.stdin.write("collect\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def environment(self) -> dict[str, str]:
        """What the email_notify and sms_notify plugins read when they send."""
        loopback = "127.0.0.1,localhost"
        no_proxy = ",".join(filter(None, [os.environ.get("NO_PROXY", ""), loopback]))
        return {
            "CASETRACK_SMTP_HOST": "127.0.0.1",
            "CASETRACK_SMTP_PORT": str(self.ports["smtp"]),
            "CASETRACK_SMTP_FROM": MAIL_FROM,
            "CASETRACK_SMTP_STARTTLS": "false",
            "CASETRACK_SMS_ACCESS_KEY_ID": _providers.KEY_ID,
            "CASETRACK_SMS_ACCESS_KEY_SECRET": _providers.SECRET,
            "CASETRACK_SMS_SIGN_NAME": _providers.SIGN,
            "CASETRACK_SMS_ENDPOINT": f"http://127.0.0.1:{self.ports['sms']}/",
            "NO_PROXY": no_proxy,
            "no_proxy": no_proxy,
        }

    def close(self) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write("stop\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


class ErrorCount(logging.Handler):
    """dramatiq's errors (an actor that crashed and will be retried) are counted, not hidden."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


@dataclass
class E2ERow:
    backend: str
    path: str
    threads: int
    alerts: int
    seconds: float
    latencies_ms: list[float]
    tick_s: float
    relay_s: float = 0.0
    crashes: int = 0

    @property
    def per_second(self) -> float:
        return self.alerts / self.seconds


@dataclass
class E2E:
    """One back end's end-to-end context: runtime, providers, broker URL, id counter."""

    backend: str
    runtime: Runtime
    providers: Providers
    broker_url: str
    policy: DeliveryPolicy
    errors: ErrorCount
    tag: str = field(default_factory=lambda: secrets.token_hex(4))
    prefix: str = "E2E"
    next_id: int = 1
    queues: int = 0


def seed_due(engine: Engine, prefix: str, first: int, levels: int, now: datetime) -> None:
    """``levels`` open cases with one running resolution clock each, its 50 % rung due now.
    Case numbers (and so idempotency keys, Message-IDs and SMS nonces) carry ``prefix``: the
    providers outlive one back end and refuse a nonce they have seen, as Alibaba does."""
    cases, clocks = [], []
    for i in range(first, first + levels):
        at = now - timedelta(seconds=i % 60)
        start, deadline = at - timedelta(hours=1), at + timedelta(hours=1)
        cases.append(
            {
                "id": i,
                "number": f"{prefix}-2026-{i:07d}",
                "contract_id": HOSPITAL,
                "customer_id": "wdkn-hospital",
                "caller_name": "bench caller",
                "summary": "HIS server unreachable from wards",
                "category": "consulting",
                "request_type": "problem_report",
                "priority": "P2",
                "emergency": False,
                "channel": "phone",
                "status": "in_progress",
                "assignee": ENGINEERS[i % len(ENGINEERS)],
                "opened_at": start,
                "updated_at": start,
                "next_deadline": deadline,
                "breached": False,
                "last_seq": 0,
                "last_hash": "",
                "version": 1,
            }
        )
        clocks.append(
            {
                "id": i,
                "case_id": i,
                "kind": "resolution",
                "state": "running",
                "calendar": CALENDAR,
                "target": "12h",
                "rule": "bench",
                "started_at": start,
                "deadline": deadline,
                "pauses": [],
                "alert_level": 0,
                "next_alert_at": at,
            }
        )
    with engine.begin() as conn:
        conn.execute(insert(orm.Case.__table__), cases)
        conn.execute(insert(orm.SlaClock.__table__), clocks)


def outbox_rows(runtime: Runtime, first: int, last: int) -> list[Any]:
    n = orm.Notification
    with runtime.engine.connect() as conn:
        return conn.execute(
            select(n.id, n.channel, n.idempotency_key, n.state, n.attempts, n.created_at)
            .where(n.case_id.between(first, last))
            .order_by(n.id)
        ).all()


def tick_until_idle(runtime: Runtime) -> float:
    """Ticks as the scheduler would, until one claims fewer than its limit; returns seconds."""
    spent = 0.0
    while True:
        start = time.perf_counter()
        report = tick(runtime, now=runtime.clock(), limit=TICK_LIMIT)
        spent += time.perf_counter() - start
        if report.errors:
            fail(f"tick errors: {report.errors[:3]}")
        if report.clocks < TICK_LIMIT:
            return spent


def drive_direct(ctx: E2E, first: int, last: int, threads: int) -> tuple[float, float]:
    """The baseline: tick, then deliver() every row, without a broker."""
    runtime = ctx.runtime
    start = time.perf_counter()
    tick_s = tick_until_idle(runtime)
    ids = [r.id for r in outbox_rows(runtime, first, last)]

    def send(notification_id: int) -> str:
        return deliver(runtime, notification_id, now=runtime.clock(), policy=ctx.policy)

    if threads == 1:
        states = [send(i) for i in ids]
    else:
        with ThreadPoolExecutor(threads) as pool:
            states = list(pool.map(send, ids))
    seconds = time.perf_counter() - start
    if set(states) != {"sent"}:
        fail(f"direct deliver: {Counter(states)}")
    return seconds, tick_s


def state_counts(runtime: Runtime, first: int, last: int) -> dict[str, int]:
    n = orm.Notification
    with runtime.engine.connect() as conn:
        rows = conn.execute(
            select(n.state, func.count()).where(n.case_id.between(first, last)).group_by(n.state)
        ).all()
    return {state: count for state, count in rows}


def drop_queue(jobs: Jobs) -> None:
    """Every Redis key this run's broker made: the queue, its delay queue, dead letters,
    acks, and the broker's heartbeat entry. Other users' keys are left alone."""
    broker: Any = jobs.broker
    broker.flush(jobs.queue_name)
    client, ns = broker.client, broker.namespace
    patterns = (f"{ns}:{jobs.queue_name}*", f"{ns}:__acks__.{broker.broker_id}*")
    keys = [key for pattern in patterns for key in client.scan_iter(match=pattern)]
    if keys:
        client.delete(*keys)
    client.zrem(f"{ns}:__heartbeats__", broker.broker_id)
    left = list(client.scan_iter(match=f"*{jobs.queue_name}*"))
    if left:
        fail(f"Redis keys left behind: {left}")


def drive_broker(
    ctx: E2E, first: int, last: int, threads: int, alerts: int
) -> tuple[float, float, float]:
    """tick + relay passes on a scheduler thread, a dramatiq worker on Redis sending."""
    runtime = ctx.runtime
    ctx.queues += 1
    queue = f"casetrack-bench-{ctx.tag}-{ctx.queues}"
    jobs = set_broker(runtime, make_broker(ctx.broker_url), queue_name=queue, policy=ctx.policy)
    worker = jobs.worker(threads=threads)
    spent = {"tick": 0.0, "relay": 0.0}
    failures: list[BaseException] = []

    def schedule() -> None:  # core.jobs.loop.one_pass, back to back, timed in two parts
        try:
            while True:
                now = runtime.clock()
                t0 = time.perf_counter()
                report = tick(runtime, now=now, limit=TICK_LIMIT)
                t1 = time.perf_counter()
                handed = relay(runtime, jobs, now=now, policy=ctx.policy)
                spent["tick"] += t1 - t0
                spent["relay"] += time.perf_counter() - t1
                if report.errors:
                    raise RuntimeError(f"tick errors: {report.errors[:3]}")
                if not (report.events or handed.messages or handed.held):
                    return
        except BaseException as exc:
            failures.append(exc)

    scheduler = threading.Thread(target=schedule, name="bench-scheduler")
    worker.start()
    try:
        start = time.perf_counter()
        scheduler.start()
        deadline = start + 60 + alerts / 10
        while True:
            counts = state_counts(runtime, first, last)
            if counts.get("sent", 0) == alerts:
                break
            if failures:
                raise failures[0]
            if counts.get("failed") or counts.get("dead") or time.perf_counter() > deadline:
                fail(f"redis, {threads} threads: outbox states {counts}, expected {alerts} sent")
            time.sleep(POLL_S)
        seconds = time.perf_counter() - start
        scheduler.join()
        if failures:
            raise failures[0]
    finally:
        scheduler.join(timeout=30)
        worker.stop()
        drop_queue(jobs)
        jobs.close()
    return seconds, spent["tick"], spent["relay"]


def check_arrivals(rows: Sequence[Any], received: dict[str, Any], what: str) -> list[float]:
    """Every row sent with no retry, each notice arrived exactly once; the latencies in ms."""
    not_sent = [(r.id, r.state, r.attempts) for r in rows if r.state != "sent" or r.attempts]
    if not_sent:
        fail(f"{what}: {len(not_sent)} rows not sent cleanly, e.g. {not_sent[:3]}")
    if received["rejected"]:
        fail(f"{what}: the SMS gateway refused {received['rejected'][:3]}")
    expected = {
        "smtp": {
            message_id(r.idempotency_key, MAIL_DOMAIN): r for r in rows if r.channel == "email"
        },
        "sms": {out_id(r.idempotency_key): r for r in rows if r.channel == "sms"},
    }
    if sum(len(v) for v in expected.values()) != len(rows):
        fail(f"{what}: rows on other channels than e-mail and SMS")
    latencies = []
    for server, wanted in expected.items():
        counts = Counter(item[0] for item in received[server])
        twice = [key for key, n in counts.items() if n > 1]
        missing = wanted.keys() - counts.keys()
        stray = counts.keys() - wanted.keys()
        if twice or missing or stray:
            fail(
                f"{what}: {server} got {sum(counts.values())} messages for {len(wanted)} rows: "
                f"{len(twice)} twice, {len(missing)} missing, {len(stray)} unexpected"
            )
        for key, _, arrived in received[server]:
            latencies.append((arrived - wanted[key].created_at.timestamp()) * 1000)
    return latencies


def run_e2e(ctx: E2E, path: str, threads: int, levels: int) -> E2ERow:
    runtime = ctx.runtime
    first = ctx.next_id
    last = first + levels - 1
    ctx.next_id += levels
    alerts = levels * LEVEL_ROWS
    seed_due(runtime.engine, ctx.prefix, first, levels, runtime.clock())
    leftover = ctx.providers.collect()
    if leftover["smtp"] or leftover["sms"] or leftover["rejected"]:
        fail(f"messages arrived outside a run: {leftover}")
    crashes = ctx.errors.count
    relay_s = 0.0
    if path == "direct":
        seconds, tick_s = drive_direct(ctx, first, last, threads)
    else:
        seconds, tick_s, relay_s = drive_broker(ctx, first, last, threads, alerts)
    rows = outbox_rows(runtime, first, last)
    if len(rows) != alerts:
        fail(f"{path}: {len(rows)} outbox rows for {levels} levels, expected {alerts}")
    what = f"{ctx.backend} {path} {threads} threads"
    latencies = check_arrivals(rows, ctx.providers.collect(), what)
    row = E2ERow(ctx.backend, path, threads, alerts, seconds, latencies, tick_s, relay_s)
    row.crashes = ctx.errors.count - crashes
    return row


def bench_e2e(
    backend: str,
    url: str,
    var: Path,
    providers: Providers,
    broker_url: str,
    alerts: int,
    threads: Sequence[int],
    profile: bool,
) -> tuple[list[E2ERow], str]:
    errors = ErrorCount()
    logging.getLogger("dramatiq").addHandler(errors)
    runtime = make_runtime(url, var, clock=None, digest_seconds=0)
    policy = DeliveryPolicy(digest_window=timedelta(0))
    ctx = E2E(backend, runtime, providers, broker_url, policy, errors, prefix=backend[:2].upper())
    levels = alerts // LEVEL_ROWS
    rows: list[E2ERow] = []
    report = ""
    try:
        run_e2e(ctx, "direct", 1, 10)  # warm-up: templates, connections, imports
        run_e2e(ctx, "redis", 2, 10)
        for n in threads:
            for path in ("direct", "redis"):
                row = run_e2e(ctx, path, n, levels)
                log(
                    f"  {backend} {path} {n} threads: {row.alerts:,} alerts in "
                    f"{row.seconds:.2f} s = {row.per_second:,.0f}/s"
                )
                rows.append(row)
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            run_e2e(ctx, "direct", 1, min(levels, 250))
            profiler.disable()
            report = top_costs(profiler, 12)
        return rows, report
    finally:
        logging.getLogger("dramatiq").removeHandler(errors)
        runtime.close()


def redis_reachable(url: str) -> None:
    host_port = url.split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1]
    host, _, port = host_port.partition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port or 6379)), timeout=2):
            return
    except OSError as exc:
        fail(f"Redis is not reachable at {url}: {exc}")


# --- main ---------------------------------------------------------------------------------------


def ints(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def print_tick(cells: list[TickCell], results: dict[str, TickResult], sizes: Sequence[int]) -> None:
    print("## Tick time vs clock-table size: tick(runtime, now=NOW, limit=k), k levels due\n")
    rows = []
    for c in cells:
        base = next(b for b in cells if b.backend == c.backend and b.k == c.k)
        rows.append(
            [
                c.backend,
                f"{c.size:,}",
                f"{c.k:,}",
                f"{len(c.times_ms)}",
                f"{c.p50:,.1f}",
                f"{c.p95:,.1f}",
                f"{c.p50 * 1000 / c.k:,.0f}",
                f"{c.idle_ms:.1f}",
                f"{c.p50 / base.p50:.2f}",
            ]
        )
    headers = ["backend", "clocks", "k", "runs", "p50 ms", "p95 ms", "µs/level", "idle ms"]
    print(table([*headers, f"vs {sizes[0]:,}"], rows, {1, 2, 3, 4, 5, 6, 7, 8}))
    span = f"{sizes[-1]:,}/{sizes[0]:,}"
    print(f"\nGoal: flat, a {span} ratio of the p50s close to 1 (k levels, not n clocks).")
    for c in cells:
        if c.size == sizes[-1]:
            base = next(b for b in cells if b.backend == c.backend and b.k == c.k)
            verdict = "flat" if c.p50 / base.p50 <= 1.5 else "NOT flat"
            print(f"- {c.backend}, k = {c.k:,}: {span} = {c.p50 / base.p50:.2f} ({verdict})")
    for backend, result in results.items():
        how = "EXPLAIN (ANALYZE, BUFFERS)" if backend == "postgresql" else "EXPLAIN QUERY PLAN"
        print(f"\n### Claim query on {backend} at {sizes[-1]:,} clocks ({how}, as tick sends it)\n")
        print("```\n" + result.plan + "\n```")


def print_e2e(rows: list[E2ERow]) -> None:
    print("\n## End to end: due → sent (local SMTP and SMS servers)\n")
    out = []
    for r in rows:
        direct = next(
            d for d in rows if (d.backend, d.path, d.threads) == (r.backend, "direct", r.threads)
        )
        out.append(
            [
                r.backend,
                r.path,
                str(r.threads),
                f"{r.alerts:,}",
                f"{r.seconds:.2f}",
                f"{r.per_second:,.0f}",
                f"{r.per_second / direct.per_second:.2f}",
                f"{statistics.median(r.latencies_ms):,.0f}",
                f"{percentile(r.latencies_ms, 95):,.0f}",
                f"{max(r.latencies_ms):,.0f}",
                f"{r.tick_s:.2f}",
                f"{r.relay_s:.2f}" if r.path != "direct" else "—",
            ]
        )
    headers = [
        "backend",
        "path",
        "threads",
        "alerts",
        "seconds",
        "alerts/s",
        "vs direct",
        "p50 ms",
        "p95 ms",
        "max ms",
        "tick s",
        "relay s",
    ]
    print(table(headers, out, {2, 3, 4, 5, 6, 7, 8, 9, 10, 11}))
    crashes = sum(r.crashes for r in rows)
    print(
        "\n'vs direct': alerts/s over the direct deliver() loop with as many threads. "
        "Latency: arrival at the local server - the row's created_at. Every notice arrived "
        f"exactly once; dramatiq actor crashes (retried): {crashes}."
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--sizes", help=f"clock-table sizes (default {DEFAULTS['sizes']})")
    parser.add_argument("--k", help=f"due levels per tick (default {DEFAULTS['k']})")
    parser.add_argument("--runs", type=int, help=f"timed ticks per cell ({DEFAULTS['runs']})")
    parser.add_argument("--alerts", type=int, help=f"notifications e2e ({DEFAULTS['alerts']})")
    parser.add_argument("--threads", help=f"worker threads (default {DEFAULTS['threads']})")
    parser.add_argument("--broker-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--only", choices=("tick", "e2e"))
    parser.add_argument("--profile", action="store_true", help="cProfile a tick and a send loop")
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args(argv)
    preset = QUICK if args.quick else DEFAULTS
    sizes = ints(args.sizes or str(preset["sizes"]))
    ks = ints(args.k or str(preset["k"]))
    runs = args.runs or int(preset["runs"])
    alerts = args.alerts or int(preset["alerts"])
    threads = ints(args.threads or str(preset["threads"]))
    if max(ks) > min(sizes) * (1 - STOPPED_SHARE) / 4:
        parser.error("k must stay well below the smallest size")
    if alerts < 2 * LEVEL_ROWS or alerts % LEVEL_ROWS:
        parser.error(f"--alerts must be an even number of at least {2 * LEVEL_ROWS}")
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    if args.only != "tick":
        redis_reachable(args.broker_url)

    started = time.perf_counter()
    cells: list[TickCell] = []
    ticks: dict[str, TickResult] = {}
    e2e: list[E2ERow] = []
    e2e_profiles: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="casetrack-bench-") as tmp_name:
        tmp = Path(tmp_name)
        if args.only != "e2e":
            for backend in backends:
                log(f"{backend}: tick at {', '.join(f'{s:,}' for s in sizes)} clocks, k = {ks}")
                with fresh_database(backend, tmp, "tick") as url:
                    result = bench_tick(
                        backend, url, tmp / "var", sizes, ks, runs, args.seed, args.profile
                    )
                ticks[backend] = result
                cells += result.cells
        if args.only != "tick":
            providers = Providers()
            saved = {name: os.environ.get(name) for name in providers.environment()}
            os.environ.update(providers.environment())
            try:
                for backend in backends:
                    log(f"{backend}: {alerts:,} alerts end to end, threads {threads}")
                    with fresh_database(backend, tmp, "e2e") as url:
                        rows, report = bench_e2e(
                            backend,
                            url,
                            tmp / "var",
                            providers,
                            args.broker_url,
                            alerts,
                            threads,
                            args.profile,
                        )
                    e2e += rows
                    if report:
                        e2e_profiles[backend] = report
            finally:
                providers.close()
                for name, value in saved.items():
                    if value is None:
                        os.environ.pop(name, None)
                    else:
                        os.environ[name] = value

    if cells:
        print_tick(cells, ticks, sizes)
    if e2e:
        print_e2e(e2e)
    for backend, result in ticks.items():
        if result.profile:
            print(f"\n### cProfile of one tick, k = {max(ks):,} at {sizes[-1]:,} on {backend}\n")
            print(result.profile)
    for backend, report in e2e_profiles.items():
        print(f"\n### cProfile of the direct path (tick + deliver loop) on {backend}\n")
        print(report)
    print(f"\nTotal time: {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
