"""The append-only, hash-chained history of a case: canonical encoding, hashing, appending."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import NaiveDatetimeError
from core.events import EventBody, RecordedEvent, decode_body, kind_of, payload_of
from core.store import orm
from core.store.seal import event_seal, head_seal, key_of

GENESIS = "0" * 64  # the prev_hash of every case's first event
VISIBILITIES = ("internal", "customer")

# Changing anything in this module's encoding breaks every stored chain: a new encoding
# needs a new chain version, never an edit in place (tests/test_history.py pins the bytes).


def utc_iso(moment: datetime) -> str:
    """An aware instant as UTC ISO 8601 with microseconds and "Z": 2026-11-25T08:00:00.000000Z."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise NaiveDatetimeError(f"naive datetime {moment.isoformat()}: history needs instants")
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def normalize_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload exactly as it is stored and hashed: plain JSON values only.

    Accepted: dicts with str keys, lists and tuples, str, int, bool, None, finite floats,
    aware datetimes (-> UTC ISO strings, as `utc_iso`) and dates (-> YYYY-MM-DD). str and
    int enum members become their plain values. Floats are discouraged: they survive the JSON
    round trip exactly, but amounts and durations are clearer as ints or decimal strings.
    Normalizing is idempotent, so a payload read back from the database hashes the same.
    """
    if not isinstance(payload, Mapping):
        raise TypeError(f"payload must be a mapping, not {type(payload).__name__}")
    return _normalize_mapping(payload, "$")


def _normalize_mapping(mapping: Mapping[Any, Any], path: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in mapping.items():
        if not isinstance(key, str):
            # JSON would silently turn 1 into "1" (and collide with a real "1")
            raise TypeError(f"payload {path}: key {key!r} is not a str")
        result[str.__str__(key)] = _normalize(value, f"{path}.{key}")
    return result


def _normalize(value: Any, path: str) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        # str.__str__, not str(): a (str, Enum) member's str() is "Cls.NAME", JSON's is the value
        return str.__str__(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"payload {path}: {value} is not valid JSON")
        return float(value)
    if isinstance(value, datetime):  # before date: every datetime is a date
        return utc_iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return _normalize_mapping(value, path)
    if isinstance(value, list | tuple):
        return [_normalize(item, f"{path}[{i}]") for i, item in enumerate(value)]
    raise TypeError(f"payload {path}: a {type(value).__name__} cannot be stored as JSON")


def canonical(
    case_number: str,
    seq: int,
    kind: str,
    actor: str,
    at: datetime,
    payload: Mapping[str, Any],
    visibility: str,
    prev_hash: str,
) -> bytes:
    """The bytes an event's hash covers: every field, as compact sorted-key UTF-8 JSON."""
    document = {
        "actor": actor,
        "at": utc_iso(at),
        "case": case_number,
        "kind": kind,
        "payload": normalize_payload(payload),
        "prev_hash": prev_hash,
        "seq": seq,
        "visibility": visibility,
    }
    text = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")  # a lone surrogate raises UnicodeEncodeError (a ValueError)


def event_hash(
    case_number: str,
    seq: int,
    kind: str,
    actor: str,
    at: datetime,
    payload: Mapping[str, Any],
    visibility: str,
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of `canonical` of the same arguments."""
    data = canonical(case_number, seq, kind, actor, at, payload, visibility, prev_hash)
    return hashlib.sha256(data).hexdigest()


def append_event(
    session: Session,
    case: orm.Case,
    body: EventBody,
    *,
    actor: str,
    at: datetime,
    visibility: str = "internal",
) -> orm.CaseEvent:
    """Record ``body`` as the case's next event: its tag is the kind, ``payload_of(body)``
    the payload (see ``append_payload``)."""
    return append_payload(
        session,
        case,
        kind=kind_of(body),
        actor=actor,
        at=at,
        payload=payload_of(body),
        visibility=visibility,
    )


def append_payload(
    session: Session,
    case: orm.Case,
    *,
    kind: str,
    actor: str,
    at: datetime,
    payload: Mapping[str, Any],
    visibility: str = "internal",
) -> orm.CaseEvent:
    """Add the case's next event to the session and move the case's chain head to it.

    ``kind`` and ``payload`` as given: the code of casetrack records typed bodies through
    ``append_event``; this is the layer under it (and the one the encoding tests pin).
    With an audit key in ``session.info`` (core.store.seal) the event and the new head are sealed;
    without one both seals are None (a stale head seal would be worse than none).
    The caller's transaction commits both rows together. Two writers appending to the same
    case both bump the case row, so its version column makes the later flush fail
    (StaleDataError) rather than fork the chain; UNIQUE(case_id, seq) is the second guard.
    """
    _check_event(kind, actor, at, visibility)
    seq = (case.last_seq or 0) + 1
    prev_hash = case.last_hash or GENESIS
    at = at.astimezone(UTC)
    body = normalize_payload(payload)
    digest = event_hash(case.number, seq, kind, actor, at, body, visibility, prev_hash)
    key = key_of(session.info)
    event = orm.CaseEvent(
        seq=seq,
        kind=kind,
        actor=actor,
        at=at,
        payload=body,
        visibility=visibility,
        prev_hash=prev_hash,
        hash=digest,
        mac=event_seal(key, digest) if key else None,
    )
    # linked through the relationship: a case not yet flushed gets its id and its first
    # event in the same flush (no insert-then-update of the case row)
    event.case = case
    session.add(event)
    case.last_seq = seq
    case.last_hash = digest
    case.head_mac = head_seal(key, case.number, seq, digest) if key else None
    return event


def recorded(event: orm.CaseEvent) -> RecordedEvent:
    """A committed event as plugins hear it: its stored payload decoded to its typed body.

    The event must have been appended in this process (its case is linked in memory).
    """
    return RecordedEvent(
        case_number=event.case.number,
        seq=event.seq,
        at=event.at,
        actor=event.actor,
        visibility=event.visibility,
        kind=event.kind,
        body=decode_body(event.kind, event.payload),
        hash=event.hash,
    )


def _check_event(kind: str, actor: str, at: datetime, visibility: str) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise NaiveDatetimeError(f"naive datetime {at.isoformat()}: an event needs an instant")
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}: {visibility!r}")
    if not kind or not actor:
        raise ValueError("an event needs a kind and an actor")


def events_of(
    session: Session, case_id: int, *, customer_view: bool = False
) -> list[orm.CaseEvent]:
    """A case's events in order; the customer view holds only customer-visible ones."""
    query = select(orm.CaseEvent).where(orm.CaseEvent.case_id == case_id)
    if customer_view:
        query = query.where(orm.CaseEvent.visibility == "customer")
    return list(session.scalars(query.order_by(orm.CaseEvent.seq)))
