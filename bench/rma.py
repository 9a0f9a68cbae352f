"""Benchmark: polling open Cisco TAC RMAs against the local Cisco-shaped sandbox.

Usage: python bench/rma.py [--n 10000] [--changed 0.01] [--repeat 3]

The sandbox (plugins/vendor_rma/cisco_sandbox.py) holds N cases, each with a booked RMA. One
polling pass asks for the state of all of them, four ways, in the same run:

- one-by-one (the baseline): ``CiscoTacChannel.status`` per case, i.e. the case details
  and the RMA details, 2 calls per RMA;
- batched, cold: ``status_many`` on a fresh channel: 1 Case API call per 30 cases, and each
  RMA's details once (the channel has seen nothing yet);
- batched, warm: ``status_many`` again with nothing changed: the case calls only;
- batched, warm with a share of the RMAs shipped since the last pass.

This is the channel-level pass: the scheduler's RMA polling job (issue 13, built on another
branch) adds its database reads and writes on top. Client and sandbox run in one process
and share the GIL, so the rates are those of this machine's Python doing both halves of
every request over loopback HTTP/1.1 with keep-alive; Cisco's latency and rate limits are
not modelled.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from plugins.vendor_rma.cisco_channel import CiscoTacChannel
from plugins.vendor_rma.cisco_sandbox import CiscoSandbox

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="open RMAs (default 10000)")
    parser.add_argument("--changed", type=float, default=0.01, help="share shipped per warm pass")
    parser.add_argument("--repeat", type=int, default=3, help="passes per mode; best is kept")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
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
    print()
    print(f"One polling pass over {n} open Cisco RMAs (best of {args.repeat}; channel level)")
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


if __name__ == "__main__":
    main()
