"""Benchmark: what keeping the report's per-case facts costs the desk's commands.

Usage: python bench/case_facts.py [--cases N] [--backend sqlite|postgresql|both]

The same desk story per case (open, assign, first response, resolve) is timed on two fresh
migrated databases, case by case in turn: through sessions that keep the facts
(core.store.db.make_sessionmaker: the production path) and, as the **baseline**, through
plain sessions without the upkeep (the facts then go stale; nothing reads them here).
Prints the median and p95 latency of each command, and the ratio to the baseline.
Every instant handed to the code is fixed; the wall clock only times things.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import fresh_database, percentile, table

from core.case import Category, Channel, RequestType
from core.commands import Assign, Caller, FirstResponse, OpenCase, Resolve
from core.desk import CaseDesk
from core.sources.contracts import load_contracts
from core.store.db import make_engine, make_sessionmaker
from core.store.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 10, 14, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
OPEN = OpenCase(
    contract_id="wdkn-hospital-2026",
    caller=Caller(name="周医生", company="文登康宁医院", phone="0631-8451234"),
    summary="HIS server unreachable from wards",
    category=Category.CONSULTING,
    request_type=RequestType.PROBLEM_REPORT,
    priority="P2",
    channel=Channel.PHONE,
)
COMMANDS = ("open", "assign", "first_response", "resolve")


def story(desk: CaseDesk, i: int, times: dict[str, list[float]]) -> None:
    now = T0 + timedelta(minutes=i)

    def timed(name: str, fn: Callable[[], object]) -> object:
        started = time.perf_counter()
        result = fn()
        times[name].append((time.perf_counter() - started) * 1000)
        return result

    number = timed("open", lambda: desk.open_case(OPEN, actor="bench", now=now)).number  # type: ignore[attr-defined]
    timed("assign", lambda: desk.assign(number, Assign(engineer="eng"), actor="bench", now=now))
    timed(
        "first_response",
        lambda: desk.first_response(
            number, FirstResponse(agreed_content="x"), actor="eng", now=now + timedelta(minutes=5)
        ),
    )
    timed(
        "resolve",
        lambda: desk.resolve(
            number, Resolve(resolution="answered"), actor="eng", now=now + timedelta(minutes=9)
        ),
    )


def desk_on(url: str, factory: Callable[..., sessionmaker[Session]]) -> tuple[CaseDesk, Engine]:
    engine = make_engine(url)
    upgrade(engine)
    return CaseDesk(factory(engine), load_contracts([ROOT / "contracts"]), prefix="MS"), engine


def plain(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


SESSIONS: dict[str, Callable[..., sessionmaker[Session]]] = {
    "baseline: no upkeep": plain,
    "facts kept": make_sessionmaker,
}


def run(urls: dict[str, str], n: int) -> dict[str, dict[str, list[float]]]:
    """The story on each database in turn, case by case (so drift in the machine's load
    falls on both alike)."""
    desks = {label: desk_on(urls[label], factory) for label, factory in SESSIONS.items()}
    times = {label: {name: [] for name in COMMANDS} for label in SESSIONS}
    for i in range(10):  # warm-up
        for desk, _ in desks.values():
            story(desk, i, {name: [] for name in COMMANDS})
    for i in range(n):
        for label, (desk, _) in desks.items():
            story(desk, 10 + i, times[label])
    for _, engine in desks.values():
        engine.dispose()
    return times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args(argv)
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            with (
                fresh_database(backend, Path(tmp), "base") as base_url,
                fresh_database(backend, Path(tmp), "facts") as facts_url,
            ):
                urls = {"baseline: no upkeep": base_url, "facts kept": facts_url}
                measured = run(urls, args.cases)
            base = measured["baseline: no upkeep"]
            for label, times in measured.items():
                for name in COMMANDS:
                    p50 = statistics.median(times[name])
                    ratio = p50 / statistics.median(base[name])
                    rows.append(
                        [
                            backend,
                            label,
                            name,
                            f"{p50:.1f}",
                            f"{percentile(times[name], 95):.1f}",
                            f"{ratio:.2f}x",
                        ]
                    )
    headers = ["back end", "sessions", "command", "p50 ms", "p95 ms", "p50 vs baseline"]
    print(table(headers, rows, {3, 4, 5}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
