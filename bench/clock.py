"""Benchmark: Calendar.add/elapsed on China's business calendar against peers and an oracle.

Usage: python bench/clock.py [--n N] [--peer-n M] [--seed S]

Mon-Fri 08:30-17:30 Asia/Shanghai with China's holidays and make-up workdays (from
chinese_calendar), random whole-second starts from 2020-01-01 to 2026-12-01, a 40-hour add
(the typical SLA) and elapsed over random spans of up to 14 days. Peers are businesstimedelta
and pandas' CustomBusinessHour; neither knows make-up workdays, so they are compared (and
casetrack is also timed) on the same calendar without them. A day-walking oracle written
below checks every implementation's results.
"""

from __future__ import annotations

import argparse
import random
import sys
import time as clock
import warnings
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chinese_calendar import constants as cn_data

from core.calendar import Calendar
from core.holidays import HolidayRegistry

SH = ZoneInfo("Asia/Shanghai")
OPEN, CLOSE = time(8, 30), time(17, 30)
ADD = timedelta(hours=40)
FIRST, LAST = datetime(2020, 1, 1, tzinfo=SH), datetime(2026, 12, 1, tzinfo=SH)
HOLIDAYS = frozenset(d for d in cn_data.holidays if 2019 <= d.year <= 2026)
WORKDAYS = frozenset(d for d in cn_data.workdays if 2019 <= d.year <= 2026)


# --- the oracle: walk day by day over naive Shanghai wall time (no DST there) ----------------


def is_business(day: date, workdays: frozenset[date]) -> bool:
    return (day.weekday() < 5 and day not in HOLIDAYS) or day in workdays


def oracle_add(start: datetime, duration: timedelta, workdays: frozenset[date]) -> datetime:
    """The naive local moment when ``duration`` of office time has passed after ``start``."""
    left, day, cursor = duration, start.date(), start
    while True:
        if is_business(day, workdays):
            begin = max(cursor, datetime.combine(day, OPEN))
            end = datetime.combine(day, CLOSE)
            if begin < end:
                if left <= end - begin:
                    return begin + left
                left -= end - begin
        day += timedelta(days=1)
        cursor = datetime.combine(day, time(0))


def oracle_elapsed(a: datetime, b: datetime, workdays: frozenset[date]) -> timedelta:
    """Office time in [a, b) for naive local a <= b."""
    total, day = timedelta(0), a.date()
    while day <= b.date():
        if is_business(day, workdays):
            begin = max(a, datetime.combine(day, OPEN))
            end = min(b, datetime.combine(day, CLOSE))
            if begin < end:
                total += end - begin
        day += timedelta(days=1)
    return total


# --- implementations ---------------------------------------------------------------------------


def cn_calendars() -> tuple[Calendar, Calendar]:
    """(with make-up workdays via a region, holidays only) — the same weekly spans."""
    registry = HolidayRegistry()
    for year in range(2019, 2027):
        registry.register(
            "CN",
            year,
            [d for d in HOLIDAYS if d.year == year],
            [d for d in WORKDAYS if d.year == year],
            "chinese_calendar",
        )
    week = {d: [(OPEN, CLOSE)] for d in range(5)}
    full = Calendar("Asia/Shanghai", week, region=registry.region("CN"), name="cn-business")
    plain = Calendar("Asia/Shanghai", week, holidays=HOLIDAYS, name="cn-holidays-only")
    return full, plain


def businesstimedelta_peer() -> tuple[Callable, Callable, Callable]:
    """(convert input, add 40 h, elapsed) for businesstimedelta (pytz-aware datetimes)."""
    import businesstimedelta as btd
    import pytz

    tz = pytz.timezone("Asia/Shanghai")
    workday = btd.WorkDayRule(start_time=OPEN, end_time=CLOSE, working_days=[0, 1, 2, 3, 4], tz=tz)
    # It crashes when no holiday follows within 5 years, and walks day by day to the next
    # one: add 2027-01-01 (New Year's Day, after every result here) so late 2026 works.
    holidays = btd.HolidayRule(set(HOLIDAYS) | {date(2027, 1, 1)}, tz=tz)
    rules = btd.Rules([workday, holidays])
    forty = btd.BusinessTimeDelta(rules, hours=40)

    def convert(t: datetime) -> datetime:
        return tz.localize(t.replace(tzinfo=None))

    return convert, lambda t: t + forty, lambda a, b: rules.difference(a, b).timedelta


def pandas_peer() -> tuple[Callable, Callable, None]:
    """(convert input, add 40 h, no elapsed) for pandas' CustomBusinessHour (naive local)."""
    import pandas as pd
    from pandas.tseries.offsets import CustomBusinessHour

    forty = CustomBusinessHour(
        n=40, start="08:30", end="17:30", weekmask="Mon Tue Wed Thu Fri", holidays=sorted(HOLIDAYS)
    )

    def convert(t: datetime) -> object:
        return pd.Timestamp(t.replace(tzinfo=None))

    return convert, lambda t: t + forty, None


# --- measuring ---------------------------------------------------------------------------------


def rate(fn: Callable[[], object], count: int, repeat: int) -> float:
    """Best-of-``repeat`` operations per second of ``fn`` doing ``count`` operations."""
    best = float("inf")
    for _ in range(repeat):
        began = clock.perf_counter()
        fn()
        best = min(best, clock.perf_counter() - began)
    return count / best


def time_add(add: Callable, starts: Sequence, repeat: int) -> float:
    def run() -> None:
        for t in starts:
            add(t)

    return rate(run, len(starts), repeat)


def time_elapsed(elapsed: Callable, pairs: Sequence, repeat: int) -> float:
    def run() -> None:
        for a, b in pairs:
            elapsed(a, b)

    return rate(run, len(pairs), repeat)


def inputs(n: int, rng: random.Random) -> tuple[list[datetime], list[tuple[datetime, datetime]]]:
    low, high = int(FIRST.timestamp()), int(LAST.timestamp())
    starts = [datetime.fromtimestamp(rng.randrange(low, high), SH) for _ in range(n)]
    pairs = [(a, a + timedelta(seconds=rng.randrange(0, 14 * 86400))) for a in starts]
    return starts, pairs


def local(t: object) -> datetime:
    """Naive Shanghai wall time of any implementation's result."""
    if hasattr(t, "to_pydatetime"):
        t = t.to_pydatetime()  # type: ignore[union-attr]
    assert isinstance(t, datetime)
    return t.astimezone(SH).replace(tzinfo=None) if t.tzinfo else t


# --- main ------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="casetrack operations per run")
    parser.add_argument("--peer-n", type=int, default=3_000, help="operations for slow peers")
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # pandas' PerformanceWarning for non-vectorised offsets

    rng = random.Random(args.seed)
    starts, pairs = inputs(args.n, rng)
    peer_starts, peer_pairs = starts[: args.peer_n], pairs[: args.peer_n]
    full, plain = cn_calendars()
    for cal in (full, plain):  # warm-up: compile 2019-2026 once
        cal.elapsed(FIRST - timedelta(days=30), LAST + timedelta(days=25))

    rows: list[tuple[str, str, float, float | None]] = []
    for label, cal in (("casetrack Calendar", full), ("casetrack Calendar", plain)):
        what = "CN + make-up workdays" if cal is full else "CN holidays only"
        rows.append(
            (
                label,
                what,
                time_add(lambda t, cal=cal: cal.add(t, ADD), starts, 3),
                time_elapsed(cal.elapsed, pairs, 3),
            )
        )

    peers = {
        "businesstimedelta": businesstimedelta_peer(),
        "pandas CustomBusinessHour": pandas_peer(),
    }
    converted: dict[str, tuple[list, list]] = {}
    for name, (convert, add, elapsed) in peers.items():
        mine = [convert(t) for t in peer_starts]
        mine_pairs = [(convert(a), convert(b)) for a, b in peer_pairs]
        converted[name] = (mine, mine_pairs)
        rows.append(
            (
                name,
                "CN holidays only",
                time_add(add, mine, 1),
                time_elapsed(elapsed, mine_pairs, 1) if elapsed else None,
            )
        )

    naive_starts = [t.replace(tzinfo=None) for t in peer_starts]
    naive_pairs = [(a.replace(tzinfo=None), b.replace(tzinfo=None)) for a, b in peer_pairs]
    rows.append(
        (
            "naive day-walk oracle",
            "CN + make-up workdays",
            time_add(lambda t: oracle_add(t, ADD, WORKDAYS), naive_starts, 1),
            time_elapsed(lambda a, b: oracle_elapsed(a, b, WORKDAYS), naive_pairs, 1),
        )
    )

    print_table(rows, peer_names=set(peers))
    print()
    print(agreement(full, plain, peers, converted, peer_starts, peer_pairs))
    return 0


def print_table(rows: list[tuple[str, str, float, float | None]], peer_names: set[str]) -> None:
    best_add = max(r[2] for r in rows if r[0] in peer_names)
    best_elapsed = max(r[3] or 0.0 for r in rows if r[0] in peer_names)
    print(
        "| implementation | calendar | add 40 h (ops/s) | vs fastest peer "
        "| elapsed (ops/s) | vs fastest peer |"
    )
    print("|---|---|---:|---:|---:|---:|")
    for name, what, add_rate, elapsed_rate in rows:
        elapsed_text = (
            f"{elapsed_rate:,.0f} | {elapsed_rate / best_elapsed:.1f}x" if elapsed_rate else "— | —"
        )
        print(
            f"| {name} | {what} | {add_rate:,.0f} | {add_rate / best_add:.1f}x | {elapsed_text} |"
        )


def agreement(
    full: Calendar,
    plain: Calendar,
    peers: dict[str, tuple[Callable, Callable, Callable | None]],
    converted: dict[str, tuple[list, list]],
    starts: Sequence[datetime],
    pairs: Sequence[tuple[datetime, datetime]],
) -> str:
    """Counts of results equal to casetrack's, per implementation and operation."""
    n = len(starts)
    parts = []
    for cal, workdays, what in ((full, WORKDAYS, "make-up"), (plain, frozenset(), "plain")):
        adds = sum(local(cal.add(t, ADD)) == oracle_add(local(t), ADD, workdays) for t in starts)
        spans = sum(
            cal.elapsed(a, b) == oracle_elapsed(local(a), local(b), workdays) for a, b in pairs
        )
        parts.append(f"oracle ({what}) add {adds}/{n} elapsed {spans}/{n}")
    for name, (_convert, add, elapsed) in peers.items():
        mine, mine_pairs = converted[name]
        same = at_close = 0
        for t, theirs in zip(starts, mine, strict=True):
            ours, other = plain.add(t, ADD), local(add(theirs))
            same += local(ours) == other
            # pandas reports a result on a close as the next opening: no open time between.
            at_close += local(ours) != other and local(plain.next_open(ours)) == other
        text = f"{name} add {same}/{n}"
        if at_close:
            text += f" (+{at_close} at a close, given as the next opening)"
        if elapsed:
            spans = sum(
                plain.elapsed(a, b) == elapsed(x, y)
                for (a, b), (x, y) in zip(pairs, mine_pairs, strict=True)
            )
            text += f" elapsed {spans}/{n}"
        parts.append(text)
    return "agreement with casetrack: " + "; ".join(parts)


if __name__ == "__main__":
    raise SystemExit(main())
