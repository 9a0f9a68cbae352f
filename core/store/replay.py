"""Replay a case's history and compare what it derives with the stored rows.

The events are the truth; ``cases`` and ``sla_clocks`` are projections of them. Replay knows
how each event kind moves the case's fields (opened, assigned, first_response, status and
priority changes, hand-overs, resolve, close, reopen) and reads the clocks from the snapshots
the events carry under ``sla`` (core.clocks.snapshot). Histories written before the snapshots
existed get their clocks checked only as far as some later event recorded them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from core import clocks
from core.store import orm
from core.store.history import utc_iso

INSTANT_FIELDS = frozenset(
    {
        "opened_at",
        "updated_at",
        "resolved_at",
        "closed_at",
        "appointment_start",
        "appointment_end",
        "next_deadline",
        "started_at",
        "deadline",
        "paused_at",
        "met_at",
        "breached_at",
    }
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing ``audit verify`` found wrong with a case (or a number, or the database)."""

    case_number: str
    detail: str

    def __str__(self) -> str:
        return f"{self.case_number}: {self.detail}"


@dataclass(frozen=True, slots=True)
class Event:
    """What replay needs of a stored event."""

    seq: int
    kind: str
    at: datetime
    payload: dict[str, Any]


@dataclass(slots=True)
class Derived:
    """The case as its history tells it: the fields it knows and each clock's last record."""

    fields: dict[str, Any] = field(default_factory=dict)
    clocks: dict[int, dict[str, Any]] = field(default_factory=dict)
    records_clocks: bool = False  # the opened event recorded the clocks: every clock is known


# --- replay ---------------------------------------------------------------------------------


def derive(events: Sequence[Event]) -> Derived:
    """Apply every event in order; unknown kinds (plugins' events) change no field."""
    state = Derived()
    for event in events:
        apply = _APPLY.get(event.kind)
        if apply is not None:
            apply(state, event)
        state.fields["updated_at"] = event.at
        for record in event.payload.get("sla") or ():
            state.clocks[record["n"]] = record
    return state


def _opened(state: Derived, event: Event) -> None:
    p = event.payload
    caller = p.get("caller") or {}
    appointment = p.get("appointment") or {}
    state.records_clocks = "sla" in p
    state.fields.update(
        contract_id=p.get("contract_id"),
        caller_name=caller.get("name"),
        caller_company=caller.get("company"),
        caller_phone=caller.get("phone"),
        caller_email=caller.get("email"),
        caller_address=caller.get("address"),
        summary=p.get("summary"),
        category=p.get("category"),
        request_type=p.get("request_type"),
        priority=p.get("priority"),
        emergency=p.get("emergency"),
        out_of_contract=bool(p.get("out_of_contract", False)),
        channel=p.get("channel"),
        device_serial=p.get("device_serial"),
        zone=p.get("zone"),
        appointment_start=appointment.get("start"),
        appointment_end=appointment.get("end"),
        status="new",
        assignee=None,
        opened_at=event.at,
        resolved_at=None,
        closed_at=None,
    )
    if "customer_id" in p:  # recorded since the seals came (migration 0005)
        state.fields["customer_id"] = p["customer_id"]
    if p.get("site") is not None:
        state.fields["site"] = p["site"]
    elif "device_site" in p or not p.get("covered_device"):
        state.fields["site"] = p.get("device_site")


def _set(**moves: Callable[[Event], Any]) -> Callable[[Derived, Event], None]:
    """A handler setting each named field from the event (a KeyError: no such field)."""

    def apply(state: Derived, event: Event) -> None:
        for name, value in moves.items():
            state.fields[name] = value(event)

    return apply


def _status_from_payload(state: Derived, event: Event) -> None:
    if "status" in event.payload:
        state.fields["status"] = event.payload["status"]


def _handed_over(state: Derived, event: Event) -> None:
    moved = event.payload.get("status")
    if isinstance(moved, dict):
        state.fields["status"] = moved["to"]


def _at(event: Event) -> datetime:
    return event.at


_APPLY: dict[str, Callable[[Derived, Event], None]] = {
    "opened": _opened,
    "assigned": _set(
        assignee=lambda e: e.payload["engineer"], status=lambda e: e.payload["status"]
    ),
    "first_response": _status_from_payload,
    "status_changed": _set(status=lambda e: e.payload["to"]),
    "priority_changed": _set(priority=lambda e: e.payload["to"]),
    "handed_over": _handed_over,
    "resolved": _set(status=lambda e: "resolved", resolved_at=_at),
    "closed": _set(status=lambda e: "closed", closed_at=_at),
    "reopened": _set(
        status=lambda e: "in_progress", resolved_at=lambda e: None, closed_at=lambda e: None
    ),
}


# --- comparison -----------------------------------------------------------------------------


def compare(case: orm.Case, events: Sequence[Event]) -> list[Finding]:
    """Every difference between the stored case (with its clocks) and its history."""
    number = case.number
    if not events:
        return [Finding(number, "the case has no history (not even an opened event)")]
    if events[0].kind != "opened":
        return [Finding(number, f"the history begins with {events[0].kind!r}, not 'opened'")]
    derived = derive(events)
    stored_clocks = list(case.clocks)
    findings = list(_field_findings(case, derived.fields))
    findings += _clock_findings(number, stored_clocks, derived)
    findings += _projection_findings(case, stored_clocks, derived)
    return findings


def _field_findings(case: orm.Case, fields: dict[str, Any]) -> Iterable[Finding]:
    for name, told in fields.items():
        stored = getattr(case, name)
        if not _same(name, stored, told):
            yield _mismatch(case.number, f"cases.{name}", stored, told)


def _clock_findings(number: str, stored: list[orm.SlaClock], derived: Derived) -> Iterable[Finding]:
    for position, record in sorted(derived.clocks.items()):
        if position > len(stored):
            yield Finding(
                number,
                f"clock #{position} ({record['kind']}) of the history is missing from sla_clocks",
            )
            continue
        yield from _one_clock(number, position, stored[position - 1], record)
    if derived.records_clocks:
        for position, clock in enumerate(stored, 1):
            if position not in derived.clocks:
                yield Finding(
                    number, f"sla_clocks #{position} ({clock.kind}) is not in the history"
                )


def _one_clock(
    number: str, position: int, clock: orm.SlaClock, record: dict[str, Any]
) -> Iterable[Finding]:
    label = f"sla_clocks #{position} ({record['kind']})"
    for name in clocks.SNAPSHOT_FIELDS:
        stored, told = getattr(clock, name), record.get(name)
        if name == "breached_at" and _swept(clock, record):
            continue
        if not _same(name, stored, told):
            yield _mismatch(number, f"{label}.{name}", stored, told)


def _swept(clock: orm.SlaClock, record: dict[str, Any]) -> bool:
    """The breach sweep (CaseDesk.note_breaches) marks a running clock past its deadline
    without an event: breached_at is then exactly the recorded deadline."""
    return (
        record.get("breached_at") is None
        and record.get("state") == clocks.RUNNING
        and clock.breached_at is not None
        and _same("deadline", clock.breached_at, record.get("deadline"))
    )


def _projection_findings(
    case: orm.Case, stored: list[orm.SlaClock], derived: Derived
) -> Iterable[Finding]:
    """next_deadline and breached, the indexed summaries of the clocks."""
    known = derived.records_clocks and len(derived.clocks) == len(stored)
    if known:
        running = [r["deadline"] for r in derived.clocks.values() if r["state"] == clocks.RUNNING]
        # a running clock records its deadline, so each _instant here is a datetime
        told = min((cast(datetime, _instant(d)) for d in running), default=None)
        if not _same("next_deadline", case.next_deadline, told):
            yield _mismatch(case.number, "cases.next_deadline", case.next_deadline, told)
    must = any(
        r["state"] == clocks.BREACHED or r.get("breached_at") for r in derived.clocks.values()
    )
    if must and not case.breached:
        yield Finding(case.number, "cases.breached is False but history says a clock breached")
    last = derived.fields.get("updated_at")
    may = must or any(_may_be_breached(c, last) for c in stored)
    if known and case.breached and not may:
        yield Finding(case.number, "cases.breached is True but no clock breached")


def _may_be_breached(clock: orm.SlaClock, last_event_at: datetime | None) -> bool:
    if clock.state == clocks.BREACHED or clock.breached_at is not None:
        return True
    late = last_event_at is not None and clock.deadline < last_event_at
    return clock.state == clocks.RUNNING and late


# --- values ---------------------------------------------------------------------------------


def _same(name: str, stored: Any, told: Any) -> bool:
    if name in INSTANT_FIELDS:
        try:
            return _instant(stored) == _instant(told)
        except (TypeError, ValueError):
            return False
    return bool(stored == told)


def _instant(value: Any) -> datetime | None:
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _shown(value: Any) -> str:
    if isinstance(value, datetime):
        return repr(utc_iso(_instant(value) or value))
    return repr(value)


def _mismatch(number: str, what: str, stored: Any, told: Any) -> Finding:
    return Finding(number, f"{what} is {_shown(stored)} but history says {_shown(told)}")
