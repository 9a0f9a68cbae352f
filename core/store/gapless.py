"""Case numbers are gapless per prefix and year (core.store.numbering): find the missing ones.

Every number from 1 to the counter's value must belong to a case, no case may lie beyond
the counter, and (with the audit key) the counter's seal must match, so deleting the newest
case and moving the counter back is found too.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.store import orm, seal
from core.store.numbering import format_number
from core.store.replay import Finding

NUMBER = re.compile(r"^([A-Z][A-Z0-9]{0,15})-(\d{4})-(\d{6,})$")
SERIES = re.compile(r"^[A-Z][A-Z0-9]{0,15}-\d{4}")  # what a finding's name starts with


def check(session: Session, key: bytes | None) -> list[Finding]:
    """Every gap, stray number, missing counter and (with ``key``) bad counter seal."""
    taken: dict[tuple[str, int], set[int]] = defaultdict(set)
    findings = []
    for number in session.scalars(select(orm.Case.number)):
        match = NUMBER.match(number)
        if match is None:
            findings.append(Finding(number, "is not a case number (PREFIX-YYYY-NNNNNN)"))
            continue
        taken[(match[1], int(match[2]))].add(int(match[3]))
    counters = {(c.prefix, c.year): c for c in session.scalars(select(orm.CaseCounter))}
    for series in sorted(taken.keys() | counters.keys()):
        counter = counters.get(series)
        findings += _series(series, taken.get(series, set()), counter)
        if counter is not None and key is not None:
            findings += _counter_seal(counter, key)
    return findings


def _series(
    series: tuple[str, int], seqs: set[int], counter: orm.CaseCounter | None
) -> list[Finding]:
    prefix, year = series
    name = f"{prefix}-{year:04d}"
    if counter is None:
        return [Finding(name, "cases are numbered but the numbering counter is gone")]
    findings = [
        Finding(format_number(prefix, year, seq), f"lies beyond the counter ({counter.last})")
        for seq in sorted(seqs)
        if seq > counter.last or seq < 1
    ]
    for first, last in _runs(n for n in range(1, counter.last + 1) if n not in seqs):
        shown = format_number(prefix, year, first)
        if last > first:
            shown += f" … {format_number(prefix, year, last)}"
        many = f"{last - first + 1} cases" if last > first else "the case"
        findings.append(
            Finding(
                shown,
                f"missing: {many} numbered (the {name} counter is at {counter.last}) "
                "but not in cases",
            )
        )
    return findings


def _runs(numbers: Iterable[int]) -> Iterable[tuple[int, int]]:
    """Consecutive runs of ascending numbers, as (first, last)."""
    start = end = None
    for n in numbers:
        if end is not None and n == end + 1:
            end = n
            continue
        if start is not None and end is not None:
            yield start, end
        start = end = n
    if start is not None and end is not None:
        yield start, end


def _counter_seal(counter: orm.CaseCounter, key: bytes) -> list[Finding]:
    name = f"{counter.prefix}-{counter.year:04d}"
    if counter.mac is None:
        return [Finding(name, "the numbering counter is not sealed (run `casetrack audit seal`)")]
    expected = seal.counter_seal(key, counter.prefix, counter.year, counter.last)
    if not seal.matches(expected, counter.mac):
        return [
            Finding(name, f"the numbering counter's seal does not match its value {counter.last}")
        ]
    return []
