"""Verification of the case histories' hash chains: `casetrack audit verify`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain, groupby
from operator import attrgetter
from typing import Any

from sqlalchemy import Select, String, Text, cast, select, type_coerce
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from core import orm
from core.errors import NotFoundError
from core.history import GENESIS, event_hash

HASH_MISMATCH = "hash does not match its content"


@dataclass(frozen=True, slots=True)
class Break:
    """The first broken link of one case's chain."""

    case_number: str
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"BROKEN case {self.case_number} at event {self.seq}: {self.reason}"


@dataclass(slots=True)
class AuditReport:
    """What `verify` walked, and every case whose chain is broken (first break only)."""

    cases_checked: int = 0
    events_checked: int = 0
    breaks: list[Break] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks


def verify(
    session: Session, case_number: str | None = None, *, batch_size: int = 1000
) -> AuditReport:
    """Walk every case's chain (or one case's) and report the first broken link of each.

    One ordered query streams cases with their events in batches, so memory stays flat
    however long the history, and the statement reads one consistent snapshot: a case
    head and its chain are never seen at different moments.
    """
    report = AuditReport()
    rows = session.execute(_chain_rows(case_number), execution_options={"yield_per": batch_size})
    for _, case_rows in groupby(rows, key=attrgetter("case_id")):
        events, broken = _check_case(case_rows)
        report.cases_checked += 1
        report.events_checked += events
        if broken is not None:
            report.breaks.append(broken)
    if case_number is not None and report.cases_checked == 0:
        raise NotFoundError(f"case {case_number} does not exist")
    return report


def _chain_rows(case_number: str | None) -> Select[Any]:
    event = orm.CaseEvent
    query = (
        select(
            orm.Case.id.label("case_id"),
            orm.Case.number,
            orm.Case.last_seq,
            orm.Case.last_hash,
            event.seq,
            event.kind,
            event.actor,
            # raw values, parsed here: a tampered SQLite row must become a finding, not a crash
            type_coerce(event.at, String).label("at"),
            cast(event.payload, Text).label("payload"),
            event.visibility,
            event.prev_hash,
            event.hash,
        )
        .select_from(orm.Case)
        .outerjoin(event, event.case_id == orm.Case.id)  # a case without events is checked too
        .order_by(orm.Case.id, event.seq)
    )
    if case_number is not None:
        query = query.where(orm.Case.number == case_number)
    return query


def _check_case(rows: Iterable[Row[Any]]) -> tuple[int, Break | None]:
    """(events seen, first break) of one case's rows, ordered by seq."""
    it: Iterator[Row[Any]] = iter(rows)
    first = next(it)
    number = first.number
    events = chain([first], it) if first.seq is not None else iter(())
    count, head, broken = 0, GENESIS, None
    for row in events:
        count += 1
        if broken is None:
            broken = _check_link(number, row, count, head)
            head = row.hash
    if broken is None:
        broken = _check_head(number, first.last_seq, first.last_hash or GENESIS, count, head)
    return count, broken


def _check_link(number: str, row: Row[Any], expected_seq: int, prev_hash: str) -> Break | None:
    if row.seq != expected_seq:
        if isinstance(row.seq, int) and row.seq > expected_seq:
            return Break(number, expected_seq, f"missing (the next stored event is {row.seq})")
        return Break(number, expected_seq, f"unexpected sequence number {row.seq!r}")
    if row.prev_hash != prev_hash:
        what = "the genesis hash" if expected_seq == 1 else f"the hash of event {expected_seq - 1}"
        return Break(number, expected_seq, f"does not link to {what}")
    try:
        digest = event_hash(
            number,
            row.seq,
            row.kind,
            row.actor,
            _instant(row.at),
            json.loads(row.payload),
            row.visibility,
            row.prev_hash,
        )
    except (TypeError, ValueError):  # unreadable time or payload: not what was hashed
        return Break(number, expected_seq, HASH_MISMATCH)
    if digest != row.hash:
        return Break(number, expected_seq, HASH_MISMATCH)
    return None


def _check_head(
    number: str, head_seq: int, head_hash: str, chain_length: int, chain_hash: str
) -> Break | None:
    """The case row's last_seq/last_hash must name the chain's last event."""
    if head_seq > chain_length:
        return Break(
            number,
            chain_length + 1,
            f"missing (the case records {head_seq} events, the chain ends at {chain_length})",
        )
    if head_seq < chain_length:
        return Break(number, head_seq + 1, f"not in the case's head (which ends at {head_seq})")
    if head_hash != chain_hash:
        return Break(number, head_seq, "the case's head hash does not match this event")
    return None


def _instant(value: datetime | str) -> datetime:
    """The stored `at` as orm.UTCDateTime reads it: PostgreSQL gives datetimes, SQLite text."""
    # fromisoformat raises ValueError on a mangled value
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
