"""SLA clock arithmetic on a case's clock rows: start, pause, resume, stop, re-plan, alerts.

Pure rules: functions read and set attributes of any object shaped like ``ClockRow`` (the ORM
row in practice) and take calendars as arguments; nothing here touches a database.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from core.calendar import Calendar
from core.contract import EscalationStep
from core.errors import ClientError

RUNNING, PAUSED, MET, BREACHED, CANCELLED = "running", "paused", "met", "breached", "cancelled"
ACTIVE = frozenset({RUNNING, PAUSED})


class ClockError(ClientError):
    """A clock operation that does not apply to the clock's state."""

    title = "clock error"


class ClockRow(Protocol):
    """What the rules below read and set on a clock (the ORM row in practice); the view
    with every column is core.store.queries.ClockView."""

    kind: str
    started_at: datetime
    deadline: datetime
    state: str  # RUNNING, PAUSED, MET, BREACHED, CANCELLED
    met_at: datetime | None
    breached_at: datetime | None
    # pending customer: when it began, why, and the closed intervals before it
    paused_at: datetime | None
    pause_cause: str | None
    pauses: list[Any]
    # the escalation ladder: rungs fired so far and when the next one is due
    alert_level: int
    next_alert_at: datetime | None
    # excluded from compensation (R-QUAL) with one of the contract's causes
    exclusion_cause: str | None
    exclusion_note: str | None


# --- pauses ---------------------------------------------------------------------------------


def pause(clock: ClockRow, at: datetime, cause: str) -> None:
    """Stop the clock counting (pending customer); the cause is recorded with the interval."""
    if clock.state != RUNNING:
        raise ClockError(f"{clock.kind} clock is {clock.state}, cannot pause")
    if not cause.strip():
        raise ClockError(f"pausing the {clock.kind} clock needs a recorded cause")
    clock.state = PAUSED
    clock.paused_at = at
    clock.pause_cause = cause
    clock.next_alert_at = None


def resume(clock: ClockRow, at: datetime, cal: Calendar, ladder: Sequence[Alert]) -> None:
    """Count again; the deadline moves by the open time the pause took out of the target."""
    if clock.state != PAUSED or clock.paused_at is None:
        raise ClockError(f"{clock.kind} clock is {clock.state}, cannot resume")
    paused_at = clock.paused_at
    clock.pauses = [
        *clock.pauses,
        {"start": _iso(paused_at), "end": _iso(at), "cause": clock.pause_cause},
    ]
    clock.deadline = shift_for_pause(clock.deadline, paused_at, at, cal)
    clock.state = RUNNING
    clock.paused_at = None
    clock.pause_cause = None
    plan_alerts(clock, cal, ladder)


def shift_for_pause(deadline: datetime, start: datetime, end: datetime, cal: Calendar) -> datetime:
    """The deadline after a pause [start, end): the open time left at ``start`` counts on
    from ``end``. A pause that began after the deadline changes nothing (already late)."""
    if start >= deadline:
        return deadline
    remaining = cal.elapsed(start, deadline)
    return cal.add(max(end, start), remaining)


def with_pauses(deadline: datetime, pauses: Sequence[Any], cal: Calendar) -> datetime:
    """A deadline counted from a clock's start, moved by each recorded pause in turn."""
    for interval in pauses:
        deadline = shift_for_pause(deadline, _dt(interval["start"]), _dt(interval["end"]), cal)
    return deadline


def replan(clock: ClockRow, deadline: datetime, cal: Calendar, ladder: Sequence[Alert]) -> None:
    """A new deadline from the clock's start (priority changed, holiday data arrived), past
    pauses re-applied."""
    clock.deadline = with_pauses(deadline, clock.pauses, cal)
    if clock.state == RUNNING:
        plan_alerts(clock, cal, ladder)


# --- outcome --------------------------------------------------------------------------------


def stop(clock: ClockRow, at: datetime) -> None:
    """The clock's event happened at ``at``: met when on time, breached when late."""
    if clock.state not in ACTIVE:
        raise ClockError(f"{clock.kind} clock is already {clock.state}")
    if clock.state == PAUSED:
        clock.paused_at = None
        clock.pause_cause = None
    clock.met_at = at
    if at > clock.deadline:
        clock.state = BREACHED
        clock.breached_at = clock.breached_at or clock.deadline
    else:
        clock.state = MET
    clock.next_alert_at = None


def cancel(clock: ClockRow) -> None:
    """The clock no longer applies (e.g. the case was resolved before an on-site visit)."""
    clock.state = CANCELLED
    clock.paused_at = None
    clock.next_alert_at = None


def note_breach(clock: ClockRow, now: datetime) -> bool:
    """Record that a running clock passed its deadline; True when newly breached."""
    if clock.state == RUNNING and clock.breached_at is None and now > clock.deadline:
        clock.breached_at = clock.deadline
        return True
    return False


def is_breached(clock: ClockRow, now: datetime) -> bool:
    if clock.state == BREACHED or clock.breached_at is not None:
        return True
    return clock.state == RUNNING and now > clock.deadline


def exclude(clock: ClockRow, cause: str, note: str, allowed: Sequence[str]) -> None:
    """Mark a (possible) breach as excluded from compensation with one of the contract's
    causes (R-QUAL); the outcome itself is kept."""
    if cause not in allowed:
        raise ClockError(
            f"exclusion cause {cause!r} is not in this contract ({', '.join(allowed) or 'none'})"
        )
    clock.exclusion_cause = cause
    clock.exclusion_note = note


# --- escalation alerts ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Alert:
    """One rung of a ladder, parsed: fraction of the target, then a wall-clock offset."""

    fraction: float
    offset: timedelta
    step: EscalationStep


_AT = re.compile(r"^\s*(\d{1,3})\s*%\s*(?:\+\s*(\d+)\s*(m|h)\s*)?$")


def parse_at(text: str) -> tuple[float, timedelta]:
    """ "80%" → (0.8, 0); "100% + 2h" → (1.0, 2 h)."""
    match = _AT.match(text)
    if not match:
        raise ClockError(f"cannot read escalation point {text!r}: expected e.g. 80% or 100% + 2h")
    amount = int(match.group(2) or 0)
    offset = timedelta(minutes=amount) if match.group(3) == "m" else timedelta(hours=amount)
    return int(match.group(1)) / 100, offset


def ladder_for(steps: Sequence[EscalationStep], kind: str, priority: str) -> list[Alert]:
    """The rungs that apply to one clock, in firing order."""
    alerts = []
    for step in steps:
        if step.clocks and kind not in step.clocks:
            continue
        if step.priorities and priority not in step.priorities:
            continue
        fraction, offset = parse_at(step.at)
        alerts.append(Alert(fraction, offset, step))
    return sorted(alerts, key=lambda a: (a.fraction, a.offset))


def alert_time(clock: ClockRow, alert: Alert, cal: Calendar) -> datetime:
    """When a rung fires: that share of the clock's open time, then the offset."""
    if alert.fraction >= 1:
        base = clock.deadline
    else:
        total = cal.elapsed(clock.started_at, clock.deadline)
        base = cal.add(clock.started_at, total * alert.fraction)
    return base + alert.offset


def carry_level(clock: ClockRow, old: Sequence[Alert], new: Sequence[Alert]) -> None:
    """The clock moves from ladder ``old`` to ``new`` (its priority changed): every rung of
    ``new`` at or before the last rung fired counts as fired, the others are still to come."""
    if clock.alert_level == 0 or not old:
        return
    last = old[min(clock.alert_level, len(old)) - 1]
    done = (last.fraction, last.offset)
    clock.alert_level = sum(1 for r in new if (r.fraction, r.offset) <= done)


def plan_alerts(clock: ClockRow, cal: Calendar, ladder: Sequence[Alert]) -> None:
    """Set ``next_alert_at`` to the next rung that has not fired (None when none is left)."""
    if clock.state != RUNNING or clock.alert_level >= len(ladder):
        clock.next_alert_at = None
        return
    clock.next_alert_at = alert_time(clock, ladder[clock.alert_level], cal)


# --- the history's record of a clock ---------------------------------------------------------

# what an event records of each clock it starts or changes (core.store.replay checks the rows
# against the last record); the alert bookkeeping (alert_level, next_alert_at) is a plan,
# not an outcome, and is left out
SNAPSHOT_FIELDS = (
    "kind",
    "state",
    "calendar",
    "target",
    "rule",
    "started_at",
    "deadline",
    "paused_at",
    "pause_cause",
    "pauses",
    "met_at",
    "breached_at",
    "exclusion_cause",
    "exclusion_note",
)


def snapshot(clock: ClockRow, position: int) -> dict[str, Any]:
    """The clock as an event records it; ``position`` (1-based) is its place among the
    case's clocks in creation order, which is how replay tells clocks of one kind apart."""
    record: dict[str, Any] = {"n": position}
    for name in SNAPSHOT_FIELDS:
        value = getattr(clock, name)
        record[name] = list(value) if name == "pauses" else value
    return record


# --- helpers --------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)
