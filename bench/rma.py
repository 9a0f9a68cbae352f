"""Benchmark: polling open Cisco TAC RMAs against the local Cisco-shaped sandbox.

Usage: python bench/rma.py [--n 10000] [--changed 0.01] [--repeat 3] [--quick] [--no-scheduler]
                           [--one-by-one]

The sandbox (plugins/vendor_rma/cisco_sandbox.py) holds N cases, each with a booked RMA. One
polling pass asks for the state of all of them, four ways, in the same run:

- one-by-one (the baseline): ``CiscoTacChannel.status`` per case, i.e. the case details
  and the RMA details, 2 calls per RMA;
- batched, cold: ``status_many`` on a fresh channel: 1 Case API call per 30 cases, and each
  RMA's details once (the channel has seen nothing yet);
- batched, warm: ``status_many`` again with nothing changed: the case calls only;
- batched, warm with a share of the RMAs shipped since the last pass.

Then the scheduler's pass (core/jobs/rma.py ``rma_pass``) over N open Cisco RMA orders in a
throwaway PostgreSQL database (127.0.0.1:5432, user postgres; migrated to head, dropped at
the end): one order opened and polled through the desk, N-1 like it inserted in bulk, each on
its own sandbox case with a booked RMA, spread over real cases opened through the desk
(100 orders a case). One pass with all N due (``limit`` = N; the scheduler loop's default
is 100 a pass): batched through ``status_many`` (30 cases a Case API call) with the
runtime's channel cold (as after a start: every RMA's details once), again warm, and with
``--one-by-one`` the same pass asking ``status`` per order (``rma_pass(batched=False)``, the
scheduler's behaviour before batching: its own baseline, measured in the same run); then one
with nothing due. Every order's answer is one transaction either way.

Client and sandbox run in one process and share the GIL, so the rates are those of this
machine's Python doing both halves of every request over loopback HTTP/1.1 with keep-alive;
Cisco's latency and rate limits are not modelled.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, func, insert, select, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import fresh_database  # noqa: E402  (bench/ is on sys.path)

from core.case import Category, Channel, RequestType  # noqa: E402
from core.commands import Caller, OpenCase  # noqa: E402
from core.jobs.rma import poll_rmas, rma_pass  # noqa: E402
from core.rma import OpenRma  # noqa: E402
from core.runtime import Runtime, build_runtime  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.store import orm  # noqa: E402
from core.store.migrate import upgrade  # noqa: E402
from plugins.vendor_rma.cisco_channel import CiscoTacChannel  # noqa: E402
from plugins.vendor_rma.cisco_sandbox import CiscoSandbox  # noqa: E402

NOW = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)


class Row:
    def __init__(self, name: str, calls: int, seconds: float, rmas: int) -> None:
        self.name, self.calls, self.seconds, self.rmas = name, calls, seconds, rmas


def measure(name: str, sandbox: CiscoSandbox, rmas: int, run: Callable[[], int]) -> Row:
    before = sandbox.served
    started = time.perf_counter()
    polled = run()
    seconds = time.perf_counter() - started
    assert polled == rmas, f"{name}: polled {polled} of {rmas}"
    return Row(name, sandbox.served - before, seconds, rmas)


def best(rows: list[Row]) -> Row:
    return min(rows, key=lambda row: row.seconds)


def seed(sandbox: CiscoSandbox, n: int) -> list[str]:
    cases = [sandbox.add_case(serial=f"FOC{i:08d}") for i in range(n)]
    for case in cases:
        sandbox.advance(case, "booked")
    return cases


def one_pass_each(channel: CiscoTacChannel, cases: list[str]) -> int:
    return sum(1 for case in cases if channel.status(case, NOW).vendor_case == case)


# --- the scheduler's pass ------------------------------------------------------------------------

PORT_CONTRACT = "sdgw-2025"  # 石岛港 (contracts/shidao-port.yaml): its Catalyst is rma: cisco_tac
CATALYST = "FOC2334Y1AB"
SH = ZoneInfo("Asia/Shanghai")
OPENED = datetime(2026, 3, 2, 10, 0, tzinfo=SH)  # inside the contract's term
DUE = OPENED + timedelta(hours=2)
ORDERS_PER_CASE = 100  # bulk orders spread over real cases opened through the desk


@contextmanager
def migrated_database(tmp: Path) -> Iterator[str]:
    """A fresh PostgreSQL database (bench/_common.py), migrated to head, dropped at the end."""
    with fresh_database("postgresql", tmp, "rma") as url:
        engine = create_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


def bench_runtime(url: str, sandbox: CiscoSandbox, tmp: Path) -> Runtime:
    return build_runtime(
        Settings(
            database_url=url,
            contracts_dir=str(ROOT / "contracts"),
            var_dir=str(tmp / "var"),
            rma_maildrop_dir=str(tmp / "maildrop"),
            cisco_tac_api_url=sandbox.api_url,
            cisco_tac_token_url=sandbox.token_url,
            cisco_tac_client_id="sandbox-client",
            cisco_tac_client_secret="sandbox-secret",
            cisco_tac_timeout_seconds=10.0,
        )
    )


def open_catalyst_case(runtime: Runtime) -> str:
    receipt = runtime.desk.open_case(
        OpenCase(
            contract_id=PORT_CONTRACT,
            caller=Caller(name="王工", company="石岛湾港务", phone="0631-7381234"),
            summary="Catalyst supervisor failed, RMA needed",
            category=Category.SYSTEM_DEBUGGING,
            request_type=RequestType.PROBLEM_REPORT,
            priority="P2",
            channel=Channel.PHONE,
            device_serial=CATALYST,
        ),
        actor="bench",
        now=OPENED,
    )
    return receipt.number


def seed_orders(runtime: Runtime, sandbox: CiscoSandbox, n: int) -> None:
    """One order opened and polled through the desk (the template), then n-1 rows like it in
    bulk, each on its own sandbox case with a booked RMA, spread over real cases; all due."""
    first = open_catalyst_case(runtime)
    view = runtime.desk.open_rma(first, OpenRma(), actor="bench", now=OPENED)
    assert view.vendor_case, view
    sandbox.advance(view.vendor_case, "booked")
    poll_rmas(runtime, now=OPENED + timedelta(hours=1, minutes=1), limit=10)  # after open: 1 h
    numbers = [first] + [
        open_catalyst_case(runtime) for _ in range(max(0, (n - 1) // ORDERS_PER_CASE))
    ]
    with runtime.sessions.begin() as session:
        template = session.scalars(select(orm.RmaOrder)).one()
        assert template.state == "open", template.state
        ids = dict(
            session.execute(
                select(orm.Case.number, orm.Case.id).where(orm.Case.number.in_(numbers))
            ).all()
        )
        keep = {
            c.key: getattr(template, c.key)
            for c in orm.RmaOrder.__table__.columns
            if c.key not in ("id", "case_id", "case_number", "idempotency_key", "vendor_case")
        }
        rma_of = {rma.case_number: rma.number for rma in sandbox.rmas.values()}
        template_rma = rma_of[view.vendor_case]
        assert template.raw_status and template_rma in template.raw_status, template.raw_status
        rows = []
        for i, vendor_case in enumerate(seed(sandbox, n - 1)):
            rma_of[vendor_case] = sandbox.cases[vendor_case].rmas[-1]  # its booked RMA
            number = numbers[i % len(numbers)]
            key = f"{number}/{CATALYST}/{i + 2}"
            request = dict(template.request, case_number=number, idempotency_key=key)
            rows.append(
                dict(
                    keep,
                    case_id=ids[number],
                    case_number=number,
                    idempotency_key=key,
                    vendor_case=vendor_case,
                    raw_status=template.raw_status.replace(template_rma, rma_of[vendor_case]),
                    request=request,
                )
            )
        if rows:
            session.execute(insert(orm.RmaOrder), rows)
        session.execute(update(orm.RmaOrder).values(next_poll_at=DUE))


def scheduler_pass(
    runtime: Runtime, sandbox: CiscoSandbox, name: str, n: int, *, batched: bool = True
) -> Row:
    before = sandbox.served
    started = time.perf_counter()
    report = rma_pass(runtime, now=DUE, limit=max(n, 1), batched=batched)
    seconds = time.perf_counter() - started
    assert not report.errors and not report.failed, report
    return Row(name, sandbox.served - before, seconds, report.polled)


def case_events(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(orm.CaseEvent)) or 0)


def all_due_again(runtime: Runtime) -> None:
    with runtime.sessions.begin() as session:
        session.execute(update(orm.RmaOrder).values(next_poll_at=DUE))


def measure_scheduler(sandbox: CiscoSandbox, n: int, *, one_by_one: bool) -> list[Row]:
    """The scheduler's pass over n due orders: batched through status_many (the channel
    cold, as after a start, then warm), and with ``one_by_one`` the same pass asking
    ``status`` per order (the baseline); then a pass with nothing due."""
    with tempfile.TemporaryDirectory() as tmp, migrated_database(Path(tmp)) as url:
        runtime = bench_runtime(url, sandbox, Path(tmp))
        try:
            t0 = time.perf_counter()
            seed_orders(runtime, sandbox, n)
            seconds = time.perf_counter() - t0
            print(f"seeded {n} open Cisco RMA orders in PostgreSQL in {seconds:.1f} s")
            events = case_events(runtime)
            rows = [scheduler_pass(runtime, sandbox, "scheduler pass, batched, cold", n)]
            all_due_again(runtime)
            rows.append(scheduler_pass(runtime, sandbox, "scheduler pass, batched, warm", n))
            if one_by_one:
                all_due_again(runtime)
                rows.append(
                    scheduler_pass(runtime, sandbox, "scheduler pass, one-by-one", n, batched=False)
                )
            for row in rows:
                assert row.rmas == n, f"{row.name}: polled {row.rmas} of {n}"
            recorded = case_events(runtime) - events
            rows.append(scheduler_pass(runtime, sandbox, "scheduler pass, none due", n))
            print(f"case events recorded by the passes: {recorded} (none changed: 0 expected)")
        finally:
            runtime.close()
    return rows


def print_table(title: str, rows: list[Row], baseline: Row) -> None:
    print()
    print(title)
    print()
    print(
        f"| {'mode':<34} | {'API calls':>9} | {'pass (s)':>8} | {'calls/s':>8} |"
        f" {'RMAs/s':>8} | {'vs baseline':>11} |"
    )
    print(f"|{'-' * 36}|{'-' * 10}:|{'-' * 9}:|{'-' * 9}:|{'-' * 9}:|{'-' * 12}:|")
    for row in rows:
        print(
            f"| {row.name:<34} | {row.calls:>9} | {row.seconds:>8.2f} |"
            f" {row.calls / row.seconds:>8.0f} | {row.rmas / row.seconds:>8.0f} |"
            f" {baseline.seconds / row.seconds:>10.1f}x |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="open RMAs (default 10000)")
    parser.add_argument("--changed", type=float, default=0.01, help="share shipped per warm pass")
    parser.add_argument("--repeat", type=int, default=3, help="passes per mode; best is kept")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--quick", action="store_true", help="500 RMAs, one pass per mode")
    parser.add_argument(
        "--no-scheduler", action="store_true", help="channel level only (no PostgreSQL)"
    )
    parser.add_argument(
        "--one-by-one",
        action="store_true",
        help="also the scheduler pass asking status per order (its baseline; slow: ~2 calls"
        " and ~22 ms an order)",
    )
    args = parser.parse_args()
    if args.quick:
        args.n, args.repeat = 500, 1
    rng = random.Random(args.seed)

    with CiscoSandbox(record=False) as sandbox:
        t0 = time.perf_counter()
        cases = seed(sandbox, args.n)
        print(f"seeded {args.n} cases with booked RMAs in {time.perf_counter() - t0:.1f} s")
        n = len(cases)
        baseline_channel = CiscoTacChannel(sandbox.client(timeout=10.0))
        baseline_channel.status(cases[0], NOW)  # token fetched outside the timings

        baseline = best(
            [
                measure(
                    "one-by-one (baseline)",
                    sandbox,
                    n,
                    lambda: one_pass_each(baseline_channel, cases),
                )
                for _ in range(args.repeat)
            ]
        )

        def fresh_channel() -> CiscoTacChannel:
            channel = CiscoTacChannel(sandbox.client(timeout=10.0))
            channel.status(cases[0], NOW)  # token fetched outside the timing
            channel.forget(cases[0])  # the channel has then seen nothing
            return channel

        warm_channels = [fresh_channel() for _ in range(args.repeat)]
        cold = best(
            [
                measure(
                    "status_many, cold",
                    sandbox,
                    n,
                    lambda c=channel: len(c.status_many(cases, NOW)),
                )  # type: ignore[misc]
                for channel in warm_channels
            ]
        )
        warm_channel = warm_channels[-1]
        warm = best(
            [
                measure(
                    "status_many, warm, none changed",
                    sandbox,
                    n,
                    lambda: len(warm_channel.status_many(cases, NOW)),
                )
                for _ in range(args.repeat)
            ]
        )

        moved = max(1, int(n * args.changed))
        changed_rows = []
        for _ in range(args.repeat):
            for case in rng.sample(cases, moved):
                sandbox.advance(case, "shipped")  # idempotent words still bump UPDATED_DATE
            changed_rows.append(
                measure(
                    f"status_many, warm, {moved} changed",
                    sandbox,
                    n,
                    lambda: len(warm_channel.status_many(cases, NOW)),
                )
            )
        changed = best(changed_rows)
        rows = [baseline, cold, warm, changed]
        scheduler = (
            [] if args.no_scheduler else measure_scheduler(sandbox, n, one_by_one=args.one_by_one)
        )

    print_table(
        f"One polling pass over {n} open Cisco RMAs, channel level (best of {args.repeat})",
        rows,
        baseline,
    )
    if scheduler:
        own = [row for row in scheduler if row.name.endswith("one-by-one")]
        print_table(
            f"The scheduler's pass over {n} due orders (one pass each, PostgreSQL); vs "
            + ("its one-by-one pass" if own else "the channel-level one-by-one row"),
            scheduler,
            own[0] if own else baseline,
        )


if __name__ == "__main__":
    main()
