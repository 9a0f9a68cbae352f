"""`casetrack audit verify`: hash chains, keyed seals, rows replayed, gapless numbers.

The chain checks are here; the replay is core.store.replay, the numbering check core.numbers,
the seals core.store.seal. docs/audit.md has the threat model.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain, groupby
from operator import attrgetter
from typing import Any

from sqlalchemy import CursorResult, Select, String, Text, cast, select, type_coerce, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session, selectinload

from core.errors import NotFoundError
from core.store import gapless, orm, replay, seal
from core.store.blobs import BlobStore, blob_problem
from core.store.history import GENESIS, event_hash
from core.store.replay import Event, Finding

HASH_MISMATCH = "hash does not match its content"
EVENT_SEAL_MISMATCH = "its seal does not match (rewritten or forged, hashes recomputed)"
HEAD_SEAL_MISMATCH = "the case head's seal does not match: its history was cut or rewritten"
HEAD_UNSEALED = "the case head is not sealed (run `casetrack audit seal` once after upgrading)"
NO_KEY = (
    "the database holds seals but no audit key is configured "
    "(CASETRACK_AUDIT_KEY or var/audit.key): the seals were not checked"
)
REPLAY_BATCH = 200  # cases whose rows are loaded together for the replay


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
    """What `verify` walked: chain breaks (first per case) and every other finding."""

    cases_checked: int = 0
    events_checked: int = 0
    breaks: list[Break] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    sealed: bool = False  # the seals were checked (an audit key was given)
    attachments_checked: int = 0  # blobs rehashed (events naming attachments, with a store)
    numbered: bool = False  # the case numbers were checked (a verify of every case)

    @property
    def ok(self) -> bool:
        return not self.breaks and not self.findings

    def lines(self) -> list[str]:
        return [str(item) for item in [*self.breaks, *self.findings]]


@dataclass(slots=True)
class _Chain:
    """One case's streamed rows, checked link by link."""

    case_id: int
    number: str
    events: list[Event] = field(default_factory=list)
    count: int = 0
    broken: Break | None = None
    findings: list[Finding] = field(default_factory=list)


def verify(
    session: Session,
    case_number: str | None = None,
    *,
    key: bytes | None = None,
    batch_size: int = 1000,
    blobs: BlobStore | None = None,
) -> AuditReport:
    """Check every case (or one): its chain links, its seals (with ``key``), its rows against
    a replay of its history (core.store.replay), and that case numbers are gapless.

    One ordered query streams cases with their events in batches, so memory stays flat
    however many cases; the stored rows are loaded a batch of cases at a time. With
    ``blobs``, every attachment an event names must be in the store and hash to its name.
    """
    report = AuditReport(sealed=key is not None)
    rows = session.execute(_chain_rows(case_number), execution_options={"yield_per": batch_size})
    batch: list[_Chain] = []
    for _, case_rows in groupby(rows, key=attrgetter("case_id")):
        chain_ = _check_case(case_rows, key)
        report.cases_checked += 1
        report.events_checked += chain_.count
        batch.append(chain_)
        if len(batch) >= REPLAY_BATCH:
            _finish(session, batch, report, blobs)
            batch = []
    _finish(session, batch, report, blobs)
    if case_number is not None and report.cases_checked == 0:
        raise NotFoundError(f"case {case_number} does not exist")
    if case_number is None:
        report.findings += gapless.check(session, key)
        report.numbered = True
    return report


def summary(report: AuditReport) -> str:
    """The one line of an intact database."""
    checks = ["chains intact", "cases and clocks match their histories"]
    if report.numbered:
        checks.append("numbers gapless")
    if report.attachments_checked:
        checks.append(f"{report.attachments_checked} attachments intact")
    checks.append("seals valid" if report.sealed else "seals not checked (no audit key)")
    return f"ok: {report.cases_checked} cases, {report.events_checked} events: {', '.join(checks)}"


@dataclass(slots=True)
class Sealed:
    """What `seal_unsealed` sealed, and what it refused (with the findings why)."""

    cases: int = 0
    counters: int = 0
    refused: list[str] = field(default_factory=list)


def seal_unsealed(session: Session, key: bytes) -> Sealed:
    """Seal every case head and counter without a seal, in the caller's transaction, if it
    verifies (chain, replay, numbers); never re-seal a seal that does not match."""
    report = verify(session)
    bad: dict[str, list[str]] = {}
    items: list[Break | Finding] = [*report.breaks, *report.findings]
    for item in items:
        bad.setdefault(item.case_number, []).append(str(item))
    done = Sealed()
    heads = session.execute(
        select(orm.Case.number, orm.Case.last_seq, orm.Case.last_hash).where(
            orm.Case.head_mac.is_(None)
        )
    ).all()
    for number, last_seq, last_hash in heads:
        if number in bad:
            done.refused += bad[number]
            continue
        done.cases += _seal_head(session, key, number, last_seq, last_hash)
    gaps = {
        m[0] for f in gapless.check(session, None) if (m := gapless.SERIES.match(f.case_number))
    }
    for counter in session.scalars(select(orm.CaseCounter).where(orm.CaseCounter.mac.is_(None))):
        series = f"{counter.prefix}-{counter.year:04d}"
        if series in gaps:
            done.refused.append(f"{series}: numbering counter (its numbers do not verify)")
            continue
        counter.mac = seal.counter_seal(key, counter.prefix, counter.year, counter.last)
        done.counters += 1
    return done


def _seal_head(session: Session, key: bytes, number: str, last_seq: int, last_hash: str) -> int:
    """Seal one head, unless a writer moved it since it was verified (then 0)."""
    table = orm.Case.__table__
    mac = seal.head_seal(key, number, last_seq, last_hash)
    where = (
        (table.c.number == number) & (table.c.last_hash == last_hash) & table.c.head_mac.is_(None)
    )
    result = session.execute(update(table).where(where).values(head_mac=mac))
    return typing.cast("CursorResult[Any]", result).rowcount or 0  # DML: typed only Result


def _finish(
    session: Session, batch: list[_Chain], report: AuditReport, blobs: BlobStore | None = None
) -> None:
    """Record the batch's breaks and findings, replaying the cases whose chain holds, and
    rehash the attachments their events name."""
    intact = [c for c in batch if c.broken is None]
    stored = _cases(session, [c.case_id for c in intact])
    for chain_ in batch:
        if blobs is not None:
            report.findings += _attachment_findings(chain_, blobs, report)
        if chain_.broken is not None:
            report.breaks.append(chain_.broken)
        report.findings += chain_.findings
        if chain_.broken is None:
            report.findings += replay.compare(stored[chain_.case_id], chain_.events)


def _attachment_findings(chain_: _Chain, blobs: BlobStore, report: AuditReport) -> list[Finding]:
    """Each attachment an event of the case names (``attachments: [{sha256, ...}]``) must be
    in the store with bytes that still hash to its name."""
    found = []
    for event in chain_.events:
        for ref in event.payload.get("attachments") or ():
            if not isinstance(ref, dict) or not isinstance(ref.get("sha256"), str):
                continue
            report.attachments_checked += 1
            problem = blob_problem(blobs, ref["sha256"])
            if problem is not None:
                found.append(Finding(chain_.number, f"event {event.seq} ({event.kind}): {problem}"))
    return found


def _cases(session: Session, ids: list[int]) -> dict[int, orm.Case]:
    if not ids:
        return {}
    query = select(orm.Case).where(orm.Case.id.in_(ids)).options(selectinload(orm.Case.clocks))
    return {case.id: case for case in session.scalars(query)}


def unverifiable_seals(session: Session) -> list[Finding]:
    """For a verify without a key: seals in the database mean one should have been given."""
    sealed = session.scalar(select(orm.Case.id).where(orm.Case.head_mac.is_not(None)).limit(1))
    if sealed is None:
        return []
    return [Finding("audit", NO_KEY)]


def _chain_rows(case_number: str | None) -> Select[*tuple[Any, ...]]:
    event = orm.CaseEvent
    query = (
        select(
            orm.Case.id.label("case_id"),
            orm.Case.number,
            orm.Case.last_seq,
            orm.Case.last_hash,
            orm.Case.head_mac,
            event.seq,
            event.kind,
            event.actor,
            # raw values, parsed here: a tampered SQLite row must become a finding, not a crash
            type_coerce(event.at, String).label("at"),
            cast(event.payload, Text).label("payload"),
            event.visibility,
            event.prev_hash,
            event.hash,
            event.mac,
        )
        .select_from(orm.Case)
        .outerjoin(event, event.case_id == orm.Case.id)  # a case without events is checked too
        .order_by(orm.Case.id, event.seq)
    )
    if case_number is not None:
        query = query.where(orm.Case.number == case_number)
    return query


def _check_case(rows: Iterable[Row[Any]], key: bytes | None) -> _Chain:
    """One case's rows, ordered by seq: its first break, its seal findings, its events."""
    it: Iterator[Row[Any]] = iter(rows)
    first = next(it)
    found = _Chain(first.case_id, first.number)
    events = chain([first], it) if first.seq is not None else iter(())
    head, count, seals = GENESIS, 0, _Seals(first.number, key)
    for row in events:
        count += 1
        if found.broken is None:
            found.broken = _check_link(found.number, row, count, head, found.events)
            head = row.hash
            seals.event(row)
    if found.broken is None:
        found.broken = _check_head(
            found.number, first.last_seq, first.last_hash or GENESIS, count, head
        )
    seals.head(first.last_seq, first.last_hash, first.head_mac)
    found.findings = seals.findings
    found.events = found.events if found.broken is None else []
    found.count = count
    return found


@dataclass(slots=True)
class _Seals:
    """The seal checks of one case; without a key they find nothing."""

    number: str
    key: bytes | None
    findings: list[Finding] = field(default_factory=list)
    seen_sealed: bool = False

    def event(self, row: Row[Any]) -> None:
        if self.key is None or self.findings:
            return
        if row.mac is None:
            if self.seen_sealed:
                self.findings.append(
                    Finding(self.number, f"event {row.seq} is not sealed, though earlier ones are")
                )
            return
        self.seen_sealed = True
        if not seal.matches(seal.event_seal(self.key, row.hash), row.mac):
            self.findings.append(Finding(self.number, f"event {row.seq}: {EVENT_SEAL_MISMATCH}"))

    def head(self, last_seq: int, last_hash: str, head_mac: str | None) -> None:
        if self.key is None:
            return
        if head_mac is None:
            self.findings.append(Finding(self.number, HEAD_UNSEALED))
        elif not seal.matches(seal.head_seal(self.key, self.number, last_seq, last_hash), head_mac):
            self.findings.append(Finding(self.number, HEAD_SEAL_MISMATCH))


def _check_link(
    number: str, row: Row[Any], expected_seq: int, prev_hash: str, events: list[Event]
) -> Break | None:
    if row.seq != expected_seq:
        if isinstance(row.seq, int) and row.seq > expected_seq:
            return Break(number, expected_seq, f"missing (the next stored event is {row.seq})")
        return Break(number, expected_seq, f"unexpected sequence number {row.seq!r}")
    if row.prev_hash != prev_hash:
        what = "the genesis hash" if expected_seq == 1 else f"the hash of event {expected_seq - 1}"
        return Break(number, expected_seq, f"does not link to {what}")
    try:
        at, payload = _instant(row.at), json.loads(row.payload)
        digest = event_hash(
            number, row.seq, row.kind, row.actor, at, payload, row.visibility, row.prev_hash
        )
    except (TypeError, ValueError):  # unreadable time or payload: not what was hashed
        return Break(number, expected_seq, HASH_MISMATCH)
    if digest != row.hash:
        return Break(number, expected_seq, HASH_MISMATCH)
    events.append(Event(row.seq, row.kind, at, payload))
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
