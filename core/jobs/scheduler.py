"""The escalation scheduler: fire due ladder levels as `escalated` events plus outbox rows."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import Select, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core import clocks
from core.case import NotificationState
from core.errors import CasetrackError, NaiveDatetimeError
from core.escalation import (
    PlannedNotice,
    Resolution,
    Skip,
    is_urgent,
    plan_notices,
    recipients_for,
)
from core.events import ClockSnapshot, PlannedNoticeRecord, ScheduledEscalation, SkippedNotice
from core.jobs.stale import sweep_cases
from core.logs import bound_request_id
from core.notify import AlertVariables, OutboxRecipient
from core.staff import StaffDirectory, cached_staff, staff_path
from core.store import orm
from core.store.history import append_event, recorded

if TYPE_CHECKING:
    from core.loaded import LoadedContract
    from core.runtime import Runtime

__all__ = [
    "ACTOR",
    "BATCH",
    "BREACH_TEMPLATE",
    "WARNING_TEMPLATE",
    "TickReport",
    "staff_path",
    "tick",
]


ACTOR = "system:scheduler"
log = logging.getLogger("casetrack.scheduler")
# the notifier plugins' templates: a rung before the deadline warns, one at or after it
# reports the breach (plugins/email_notify/templates, plugins/sms_notify/templates.yaml)
WARNING_TEMPLATE, BREACH_TEMPLATE = "clock_warning", "clock_breached"
BATCH = 50  # clocks claimed per transaction: short locks, bounded work per commit


@dataclass
class TickReport:
    """What one tick did; ``errors`` names clocks left alone (e.g. their contract is gone)."""

    now: datetime
    clocks: int = 0  # clocks that fired at least one level
    events: int = 0  # `escalated` events appended, one per fired level
    notifications: int = 0  # outbox rows inserted
    breaches: int = 0  # clocks newly marked breached
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        """One line for the scheduler's log."""
        stamp = self.now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        text = (
            f"tick {stamp}: {self.clocks} clocks, {self.events} events, "
            f"{self.notifications} notifications, {self.breaches} breaches"
        )
        return text + (f", {len(self.errors)} errors" if self.errors else "")


@dataclass
class Tick:
    """What every level fired in one transaction needs: its session and instant, the staff
    directory, the report to count into and the outbox rows to insert before commit."""

    session: Session
    now: datetime
    staff: StaffDirectory | None
    report: TickReport
    outbox: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Due:
    """A claimed clock with its case and the case's contract."""

    case: orm.Case
    clock: orm.SlaClock
    lc: LoadedContract


def tick(runtime: Runtime, *, now: datetime, limit: int = 500) -> TickReport:
    """Fire every ladder level due at ``now`` (up to ``limit`` clocks), one small batch of
    claimed clocks per transaction; each level is an event plus its queued notifications."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise NaiveDatetimeError("tick needs an aware `now`")
    report = TickReport(now=now)
    staff = _load_staff(runtime.settings.contracts_dir, report)
    left_alone: set[int] = set()
    while report.clocks + len(left_alone) < limit:
        size = min(BATCH, limit - report.clocks - len(left_alone))
        appended: list[tuple[orm.CaseEvent, LoadedContract]] = []
        with runtime.sessions.begin() as session:
            claimed = session.execute(_claim(session, now, size, left_alone)).all()
            batch = Tick(session, now, staff, report)  # its rows: one INSERT before commit
            for clock, case in claimed:
                try:
                    lc = runtime.contracts.get(case.contract_id)
                except CasetrackError as exc:
                    left_alone.add(clock.id)
                    report.errors.append(f"{case.number} {clock.kind}: {exc.detail}")
                    continue
                fired = _fire(batch, Due(case, clock, lc))
                appended += [(event, lc) for event in fired]
            report.notifications += _insert(session, batch.outbox)
            # e.g. warnings that a breach fired just now superseded
            sweep_cases(session, {case.id for _, case in claimed})
        for event, lc in appended:  # after commit, as the desk does: plugins only enqueue
            runtime.pm.hook.case_event_recorded(event=recorded(event), contract=lc)
        if not claimed:
            break
    return report


def _load_staff(contracts_dir: str, report: TickReport) -> StaffDirectory | None:
    path = staff_path(contracts_dir)
    try:
        return cached_staff(path)
    except CasetrackError as exc:  # an invalid directory must not stop the alarms
        report.errors.append(f"staff directory {path}: {exc.detail}")
        return None


def _claim(
    session: Session, now: datetime, size: int, skip: set[int]
) -> Select[orm.SlaClock, orm.Case]:
    """Due running clocks with their cases, the longest-waiting first. On PostgreSQL both rows
    are locked and rows another scheduler holds are skipped; SQLite's BEGIN IMMEDIATE
    already serialises writers."""
    stmt = (
        select(orm.SlaClock, orm.Case)
        .join(orm.Case, orm.Case.id == orm.SlaClock.case_id)
        .where(
            orm.SlaClock.next_alert_at.is_not(None),
            orm.SlaClock.next_alert_at <= now,
            orm.SlaClock.state == clocks.RUNNING,
        )
        .order_by(orm.SlaClock.next_alert_at, orm.SlaClock.id)
        .limit(size)
    )
    if skip:
        stmt = stmt.where(orm.SlaClock.id.not_in(skip))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(
            skip_locked=True, of=[orm.SlaClock.__table__, orm.Case.__table__]
        )
    return stmt


def _fire(tick: Tick, due: Due) -> list[orm.CaseEvent]:
    """Every level of the clock due at ``tick.now``, in ladder order; then the next one
    planned. The levels' notification rows are added to ``tick.outbox``."""
    case, clock, lc, now = due.case, due.clock, due.lc, tick.now
    ladder = clocks.ladder_for(lc.contract.escalation, clock.kind, case.priority)
    cal = lc.calendar(clock.calendar)
    events: list[orm.CaseEvent] = []
    breached = clocks.note_breach(clock, now)  # recorded with the first level fired below
    if breached:
        case.breached = True
        tick.report.breaches += 1
    while clock.next_alert_at is not None and clock.next_alert_at <= now:
        if clock.alert_level >= len(ladder):  # the ladder shrank since this was planned
            break
        rung = ladder[clock.alert_level]
        newly = breached and not events
        event = _fire_level(tick, due, rung, newly)
        events.append(event)
        clock.alert_level += 1
        clocks.plan_alerts(clock, cal, ladder)
    clocks.plan_alerts(clock, cal, ladder)
    if events:
        case.updated_at = now
        tick.report.clocks += 1
    return events


def _fire_level(tick: Tick, due: Due, rung: clocks.Alert, breached: bool) -> orm.CaseEvent:
    """One level: the alarm event, and its notices added to ``tick.outbox``."""
    session, now, case, clock, lc = tick.session, tick.now, due.case, due.clock, due.lc
    step, level, due_at = rung.step, clock.alert_level, clock.next_alert_at
    assert due_at is not None  # _fire fires only due levels
    urgent = is_urgent(step, case.priority, rung.fraction)
    resolution = _recipients(step, lc, tick.staff, case.assignee, now)
    plan = plan_notices(
        case_number=case.number,
        clock_kind=clock.kind,
        level_index=level,
        step=step,
        urgent=urgent,
        recipients=resolution.recipients,
        at=now,
        calendars=lc.calendar,
        clock_id=clock.id,
    )
    body = ScheduledEscalation(
        alarm_at=now,
        clock=clock.kind,
        level=level,
        at=step.at,
        due_at=due_at,
        deadline=clock.deadline,
        breached=clock.breached_at is not None,
        newly_breached=breached,
        urgent=urgent,
        notify=list(step.notify),
        channels=list(step.channels),
        planned=[_planned(n) for n in plan.notices],
        skipped=[_skipped(s) for s in [*resolution.skipped, *plan.skipped]],
        sla=[ClockSnapshot(**clocks.snapshot(clock, _position(session, clock)))],
    )
    event = append_event(session, case, body, actor=ACTOR, at=now)
    tick.report.events += 1
    with bound_request_id(case.opened_request_id):
        log.info(
            "escalated %s %s level %d%s: %d notices planned, %d skipped",
            case.number,
            clock.kind,
            level + 1,
            " (breached)" if body.breached else "",
            len(plan.notices),
            len(body.skipped),
        )
    tick.outbox += [_row(tick, due, event.seq, notice) for notice in plan.notices]
    return event


def _position(session: Session, clock: orm.SlaClock) -> int:
    """The clock's place among its case's clocks in creation order (core.clocks.snapshot)."""
    table = orm.SlaClock.__table__
    query = (
        select(func.count())
        .select_from(table)
        .where(table.c.case_id == clock.case_id, table.c.id <= clock.id)
    )
    with session.no_autoflush:  # flushing here would write the case row twice in one tick
        return session.execute(query).scalar_one()


def _recipients(
    step: Any, lc: LoadedContract, staff: StaffDirectory | None, assignee: str | None, at: datetime
) -> Resolution:
    if staff is None:
        reason = "no staff directory (contracts/staff/staff.yaml): nobody to resolve roles to"
        return Resolution([], [Skip(role, reason) for role in step.notify])
    return recipients_for(step, contract=lc, staff=staff, assignee=assignee, at=at)


def _planned(notice: PlannedNotice) -> PlannedNoticeRecord:
    """A notice as the event records it: who, how and when, never an address."""
    return PlannedNoticeRecord(
        recipient=notice.recipient.id,
        name=notice.recipient.name,
        role=notice.recipient.role,
        channel=notice.channel,
        send_after=notice.send_after,
        why=notice.why,
    )


def _skipped(skip: Skip) -> SkippedNotice:
    return SkippedNotice(role=skip.role, reason=skip.reason, who=skip.who, channel=skip.channel)


def _insert(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """Insert outbox rows; a key already there is left alone. Returns the rows added."""
    if not rows:
        return 0
    # RETURNING, not rowcount: drivers disagree on rowcount for multi-row inserts
    return len(session.execute(_insert_ignoring_duplicates(session, rows)).all())


def _insert_ignoring_duplicates(session: Session, rows: Sequence[dict[str, Any]]) -> Any:
    table = orm.Notification.__table__
    dialect = session.get_bind().dialect.name
    stmt: postgresql.Insert | sqlite.Insert
    if dialect == "postgresql":
        stmt = postgresql.insert(table).values(list(rows))
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).values(list(rows))
    else:  # pragma: no cover - only the two back ends are supported
        return insert(table).values(list(rows)).returning(table.c.id)
    return stmt.on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(table.c.id)


def _row(tick: Tick, due: Due, event_seq: int, notice: PlannedNotice) -> dict[str, Any]:
    """One outbox row: the notifications table's columns, a new queued notice."""
    case, clock = due.case, due.clock
    return {
        "case_id": case.id,
        "clock_id": clock.id,
        "event_seq": event_seq,
        "level": notice.level,
        "channel": notice.channel,
        "recipient": msgspec.to_builtins(_addressee(notice)),
        "template": BREACH_TEMPLATE if notice.due_at >= clock.deadline else WARNING_TEMPLATE,
        "variables": msgspec.to_builtins(_variables(due, notice)),
        "idempotency_key": notice.idempotency_key,
        "state": NotificationState.QUEUED.value,
        "attempts": 0,
        "last_error": None,
        "send_after": notice.send_after,
        "created_at": tick.now,
        "sent_at": None,
        "request_id": case.opened_request_id,  # the request that opened it (core.logs)
    }


def _addressee(notice: PlannedNotice) -> OutboxRecipient:
    person = notice.recipient
    return OutboxRecipient(
        id=person.id,
        name=person.name,
        role=person.role,
        email=person.email,
        mobile=person.mobile,
        locale=person.locale,
    )


def _variables(due: Due, notice: PlannedNotice) -> AlertVariables:
    """What the alert says; times in the zone of the clock's calendar (the contract's)."""
    case, clock, lc = due.case, due.clock, due.lc
    zone = lc.calendar(clock.calendar).tz
    return AlertVariables(
        case_number=case.number,
        customer=lc.contract.customer.name,
        summary=case.summary,
        priority=case.priority,
        contract_id=case.contract_id,
        clock=clock.kind,
        level=notice.level + 1,  # people count rungs from 1 (第 1 级)
        at=notice.step_at,
        deadline=_iso(clock.deadline, zone),
        due_at=_iso(notice.due_at, zone),
        breached=clock.breached_at is not None,
        urgent=notice.urgent,
    )


def _iso(moment: datetime, zone: tzinfo) -> str:
    """ISO 8601 with the zone's offset (e.g. +08:00): what the recipient reads."""
    return moment.astimezone(zone).isoformat()


# the pieces a manual escalation (core.jobs.manual) shares with the ladder
insert_outbox = _insert
planned_record = _planned
skipped_record = _skipped
addressee = _addressee
