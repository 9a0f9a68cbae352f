"""Benchmark: one scheduler pass that opens the day's inspections of N maintenance plans.

Usage: python bench/inspections.py [--plans 10000] [--per-contract 100] [--quick]

A throwaway contracts directory holds N / per-contract copies of the school's contract
(contracts/rushan-no1-school.yaml), each with ``per-contract`` daily plans at 09:00 on the
24x7 calendar (no closed day, nothing moves). A fresh PostgreSQL database per row
(127.0.0.1:5432, user postgres; migrated to head, dropped at the end). Rows, in the same run:

- baseline: the same N inspections opened one transaction each (``batch`` = 1): what the
  pass would cost opening every case on its own, as ``open_case`` does;
- the pass (``core.jobs.inspections.inspection_pass``, 50 claims and cases per transaction);
- the next pass with nothing new (the planner knows every plan's next start);
- a pass by a second scheduler process that finds everything claimed (its planner computes
  every plan's window and the claims are read back in one query);
- the pure computation: every plan's occurrences in the window, no database.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import fresh_database, table  # noqa: E402  (bench/ is on sys.path)

from core.jobs.inspections import due_occurrences, inspection_pass, planner_of  # noqa: E402
from core.runtime import Runtime, build_runtime  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.store import orm  # noqa: E402
from core.store.migrate import upgrade  # noqa: E402

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 7, 9, 5, tzinfo=SH)  # a Monday: every daily plan fell due at 09:00
SCHOOL = ROOT / "contracts" / "rushan-no1-school.yaml"


def contracts_dir(tmp: Path, plans: int, per_contract: int) -> Path:
    """tiers.yaml, the staff directory and N / per_contract contracts of daily plans (the
    school's contract under another id, its serials suffixed so that they stay unique)."""
    target = tmp / "contracts"
    target.mkdir()
    shutil.copy(ROOT / "contracts" / "tiers.yaml", target)
    shutil.copytree(ROOT / "contracts" / "staff", target / "staff")
    text = SCHOOL.read_text(encoding="utf-8")
    head = text[: text.index("maintenance-plans:")]
    block = "".join(
        f"  - {{id: p{i}, title: 每日巡检 {i}, rrule: FREQ=DAILY, at: '09:00', "
        "calendar: 24x7, due-within: 8h}\n"
        for i in range(per_contract)
    )
    for c in range(max(1, plans // per_contract)):
        body = head.replace("id: rsyz-2026", f"id: bench-{c:04d}", 1)
        body = re.sub(r'serial: "?([A-Za-z0-9]+)"?', rf'serial: "\1-{c}"', body)
        (target / f"bench-{c:04d}.yaml").write_text(
            body + "maintenance-plans:\n" + block, encoding="utf-8"
        )
    return target


@contextmanager
def runtime_over(tmp: Path, contracts: Path) -> Iterator[Runtime]:
    with fresh_database("postgresql", tmp, "inspections") as url:
        engine = create_engine(url)
        upgrade(engine)
        engine.dispose()
        settings = Settings(
            database_url=url,
            contracts_dir=str(contracts),
            var_dir=str(tmp / "var"),
            inspection_catch_up_days=1,
        )
        runtime = build_runtime(settings, clock=lambda: NOW)
        try:
            yield runtime
        finally:
            runtime.close()


def cases(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(orm.Case)) or 0


def timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=10_000)
    parser.add_argument("--per-contract", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="1000 plans")
    args = parser.parse_args()
    plans = 1000 if args.quick else args.plans
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        directory = contracts_dir(tmp, plans, args.per_contract)
        with runtime_over(tmp, directory) as runtime:
            catch_up = timedelta(days=1)
            seconds = timed(lambda: due_occurrences(runtime.contracts, now=NOW, catch_up=catch_up))
            due = len(due_occurrences(runtime.contracts, now=NOW, catch_up=catch_up))
            assert due == plans, f"{due} occurrences due, {plans} plans"
            compute = seconds
            base = timed(lambda: inspection_pass(runtime, now=NOW, batch=1))
            assert cases(runtime) == plans
            rows.append(["baseline: one transaction per inspection", plans, base])
        with runtime_over(tmp, directory) as runtime:
            report = None

            def run() -> None:
                nonlocal report
                report = inspection_pass(runtime, now=NOW)

            batched = timed(run)
            assert report is not None and len(report.opened) == plans and not report.errors
            rows.append(["the pass (50 a transaction)", plans, batched])
            idle = timed(lambda: inspection_pass(runtime, now=NOW + timedelta(seconds=15)))
            rows.append(["next pass, nothing new (planner)", 0, idle])
            planner_of(runtime).next.clear()
            other = timed(lambda: inspection_pass(runtime, now=NOW + timedelta(seconds=30)))
            assert cases(runtime) == plans  # nothing opened twice
            rows.append(["a second scheduler: all claimed", 0, other])
        rows.append(["occurrences only (no database)", 0, compute])
    print(f"{plans} daily plans in {max(1, plans // args.per_contract)} contracts, PostgreSQL")
    print()
    shown = [
        [
            name,
            str(opened),
            f"{seconds:.2f}",
            f"{opened / seconds:.0f}" if opened else "-",
            f"{seconds / base:.2f}",
        ]
        for name, opened, seconds in rows  # type: ignore[misc]
    ]
    headers = ["pass", "opened", "seconds", "inspections/s", "× baseline"]
    print(table(headers, shown, right={1, 2, 3, 4}))


if __name__ == "__main__":
    main()
