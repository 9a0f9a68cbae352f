"""Work on an open case: assignment, response, diagnosis, notes, priority, status, escalation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import msgspec
from msgspec import UNSET
from sqlalchemy.orm import Session

from core import clocks, sla
from core.case import OPEN_STATUSES, IllegalTransition, RequestType, Status, check_transition
from core.commands import (
    Assign,
    CallLog,
    ChangePriority,
    ChangeStatus,
    ConfirmDiagnosis,
    Escalate,
    ExcludeClock,
    FirstResponse,
    Note,
)
from core.desk.base import DeskBase, Receipt
from core.desk.entitlements import check_spare_level
from core.desk.errors import InvalidCommand, UnknownEngineer
from core.errors import NotFoundError
from core.events import (
    Assigned,
    CallLogged,
    ClockExcluded,
    DiagnosisConfirmed,
    FirstResponded,
    ManualEscalation,
    MovedClock,
    NoteAdded,
    PriorityChanged,
    StatusChanged,
)
from core.jobs.manual import plan_manual
from core.loaded import LoadedContract
from core.store import orm

PriorityClock = Callable[[LoadedContract, str, datetime, str], sla.Deadline]
"""A clock whose target depends on the case's priority:
(contract, priority, start, request type) → deadline."""

PRIORITY_CLOCKS: dict[str, PriorityClock] = {
    "first_response": lambda lc, p, at, rt: sla.first_response(
        lc, priority=p, received_at=at, request_type=rt
    ),
    "diagnosis": lambda lc, p, at, rt: sla.diagnosis(lc, fault_level=p, started_at=at),
    "resolution": lambda lc, p, at, rt: sla.resolution(lc, priority=p, reported_at=at),
}
PAUSED_BY_CUSTOMER = frozenset({"resolution", "complaint_resolution"})


class WorkCommands(DeskBase):
    """Commands that move a case along while it is being worked on."""

    def assign(self, number: str, cmd: Assign, *, actor: str, now: datetime) -> Receipt:
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            if case.status not in OPEN_STATUSES:
                raise IllegalTransition(number, case.status, "assign an engineer")
            self._check_engineer(cmd.engineer)
            previous = case.assignee
            case.assignee = cmd.engineer
            if case.status == Status.NEW:
                case.status = check_transition(number, case.status, "assigned", "assign").value
            body = Assigned(engineer=cmd.engineer, previous=previous, status=case.status)
            events.append(self._record(session, case, body, actor, now))
            return self._receipt(session, case, events)

    def _check_engineer(self, name: str) -> None:
        """Engineers are people in the staff directory (by id or name); without a directory
        any name is accepted (docs/escalation.md, "Staff directory")."""
        staff = self.staff()
        if staff is not None and staff.person(name) is None:
            raise UnknownEngineer(name, staff.file)

    def first_response(
        self, number: str, cmd: FirstResponse, *, actor: str, now: datetime
    ) -> Receipt:
        """Service content agreed and diagnosis started: stops the response clock."""
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            self._require_open(case, "record a first response")
            self._require_contracted(case, "record a first response")
            stopped = self._stop(case, "first_response", now) or self._stop(
                case, "complaint_first_reply", now
            )
            if stopped is None:
                raise IllegalTransition(number, case.status, "respond again: already responded")
            lc = self._contract(case.contract_id)
            if case.request_type == RequestType.PROBLEM_REPORT.value:
                self._start(case, lc, sla.diagnosis(lc, fault_level=case.priority, started_at=now))
            if case.status == Status.ASSIGNED:
                case.status = Status.IN_PROGRESS.value
            body = FirstResponded(
                agreed_content=cmd.agreed_content,
                clock=stopped.clock,
                outcome=stopped.outcome,
                deadline=stopped.deadline,
                status=case.status,
            )
            events.append(self._record(session, case, body, actor, now, "customer"))
            self._refresh(case, now)
            return self._receipt(session, case, events)

    def confirm_diagnosis(
        self, number: str, cmd: ConfirmDiagnosis, *, actor: str, now: datetime
    ) -> Receipt:
        """Stops the diagnosis clock; a hardware fault starts the device's spare-part clocks."""
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            self._require_open(case, "confirm a diagnosis")
            self._require_contracted(case, "confirm a diagnosis")
            stopped = self._stop(case, "diagnosis", now)
            if stopped is None:
                raise IllegalTransition(number, case.status, "confirm a diagnosis not started")
            spares = self._start_spares(session, case, now) if cmd.hardware_fault else []
            body = DiagnosisConfirmed(
                finding=cmd.finding,
                hardware_fault=cmd.hardware_fault,
                clock=stopped.clock,
                outcome=stopped.outcome,
                deadline=stopped.deadline,
                spare_clocks=spares,
            )
            events.append(self._record(session, case, body, actor, now, "customer"))
            self._refresh(case, now)
            return self._receipt(session, case, events)

    def _start_spares(self, session: Session, case: orm.Case, now: datetime) -> list[str]:
        lc = self._contract(case.contract_id)
        device = self._device(session, lc, case.device_serial)
        if device is None:
            return []  # no covered device: emergency spare "as stock allows" (R-EXTRA)
        check_spare_level(lc, device, case.zone)
        terms = sla.spare_terms(lc, device, case.zone)
        started = []
        if terms.ship is not None:
            self._start(
                case, lc, sla.spare_ship(lc, device=device, diagnosed_at=now, zone=case.zone)
            )
            started.append("spare_ship")
        if terms.arrival is not None:
            self._start(
                case, lc, sla.spare_arrival(lc, device=device, diagnosed_at=now, zone=case.zone)
            )
            started.append("spare_arrival")
        return started

    def add_note(self, number: str, cmd: Note, *, actor: str, now: datetime) -> Receipt:
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            body = NoteAdded(text=cmd.text)
            events.append(self._record(session, case, body, actor, now, str(cmd.visibility)))
            return self._receipt(session, case, events)

    def log_call(self, number: str, cmd: CallLog, *, actor: str, now: datetime) -> Receipt:
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            body = CallLogged(direction=cmd.direction, party=cmd.party, summary=cmd.summary)
            events.append(self._record(session, case, body, actor, now, str(cmd.visibility)))
            return self._receipt(session, case, events)

    def change_priority(
        self, number: str, cmd: ChangePriority, *, actor: str, now: datetime
    ) -> Receipt:
        """Both values recorded; running priority clocks re-planned from their start."""
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            self._require_open(case, "change priority")
            if cmd.priority == case.priority:
                raise InvalidCommand(f"case {number} is already {cmd.priority}")
            previous, case.priority = case.priority, cmd.priority
            replanned = self._replan_priority_clocks(case, previous)
            body = PriorityChanged(
                from_=previous, to=cmd.priority, reason=cmd.reason, replanned=replanned
            )
            events.append(self._record(session, case, body, actor, now, "customer"))
            self._refresh(case, now)
            return self._receipt(session, case, events)

    def _replan_priority_clocks(self, case: orm.Case, previous: str) -> list[MovedClock]:
        """Every running clock moves to the new priority's ladder, keeping the rungs already
        fired; the clocks whose target depends on priority get a new deadline too."""
        lc = self._contract(case.contract_id)
        replanned = []
        for clock in case.clocks:
            if clock.state not in clocks.ACTIVE:
                continue
            ladder = self._ladder(lc, clock.kind, case.priority)
            clocks.carry_level(clock, self._ladder(lc, clock.kind, previous), ladder)
            compute = PRIORITY_CLOCKS.get(clock.kind)
            fixed = (
                clock.kind == "resolution"
                and case.appointment_end is not None
                and lc.contract.runs_by_appointment(case.category, emergency=case.emergency)
            ) or clock.target == sla.AGREED_TIME  # a time agreed with the customer stands
            if compute is None or fixed:  # the deadline stands; the ladder may differ by priority
                clocks.plan_alerts(clock, lc.calendar(clock.calendar), ladder)
                continue
            deadline = _priority_deadline(compute, lc, case, clock.started_at)
            before = clock.deadline
            clock.target, clock.rule, clock.calendar = (
                deadline.target,
                deadline.rule,
                deadline.calendar,
            )
            clock.provisional = bool(deadline.provisional)
            clocks.replan(clock, deadline.due, lc.calendar(clock.calendar), ladder)
            replanned.append(MovedClock(clock=clock.kind, from_=before, to=clock.deadline))
        return replanned

    def change_status(
        self, number: str, cmd: ChangeStatus, *, actor: str, now: datetime
    ) -> Receipt:
        """Moves along the status machine; pending customer pauses resolution with a cause."""
        if cmd.status in (Status.RESOLVED, Status.CLOSED):
            raise InvalidCommand(f"use the {cmd.status.value[:-1]} command to {cmd.status.value}")
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            if case.status in (Status.RESOLVED, Status.CLOSED):
                raise IllegalTransition(
                    number, case.status, f"move to {cmd.status.value}", ("reopen",)
                )
            target = check_transition(number, case.status, cmd.status.value, "change status")
            if target == Status.PENDING_CUSTOMER and not (cmd.cause or "").strip():
                raise InvalidCommand("pending customer pauses resolution: a cause is required")
            previous = case.status
            paused, resumed = self._pause_or_resume(case, previous, target, cmd.cause, now)
            case.status = target.value
            body = StatusChanged(
                from_=previous,
                to=target.value,
                cause=cmd.cause,
                paused=paused or UNSET,  # a key only when some clock moved
                resumed=resumed or UNSET,
            )
            events.append(self._record(session, case, body, actor, now, "customer"))
            self._refresh(case, now)
            return self._receipt(session, case, events)

    def _pause_or_resume(
        self, case: orm.Case, previous: str, target: Status, cause: str | None, now: datetime
    ) -> tuple[list[str], list[str]]:
        """The clocks paused and the clocks resumed."""
        lc = self._contract(case.contract_id)
        changed: dict[str, list[str]] = {"paused": [], "resumed": []}
        for clock in case.clocks:
            if clock.kind not in PAUSED_BY_CUSTOMER:
                continue
            if target == Status.PENDING_CUSTOMER and clock.state == clocks.RUNNING:
                clocks.pause(clock, now, cause or "")
                changed["paused"].append(clock.kind)
            elif previous == Status.PENDING_CUSTOMER and clock.state == clocks.PAUSED:
                clocks.resume(
                    clock,
                    now,
                    lc.calendar(clock.calendar),
                    self._ladder(lc, clock.kind, case.priority),
                )
                changed["resumed"].append(clock.kind)
        return changed["paused"], changed["resumed"]

    def escalate(self, number: str, cmd: Escalate, *, actor: str, now: datetime) -> Receipt:
        """A manual escalation raises an alarm with its time stamp (R-CASE) and notifies its
        target group through the ladder's channels (core.jobs.manual)."""
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            self._require_open(case, "escalate")
            seq = (case.last_seq or 0) + 1  # the event's: it keys the notices
            plan = plan_manual(
                case=case,
                lc=self._contract(case.contract_id),
                staff=self.staff(),
                level=cmd.level,
                reason=cmd.reason,
                target_group=cmd.target_group,
                event_seq=seq,
                now=now,
            )
            body = ManualEscalation(
                level=cmd.level, reason=cmd.reason, target_group=cmd.target_group, alarm_at=now
            )
            if plan.notify:  # a group naming no role or person we know: the alarm only
                body = msgspec.structs.replace(
                    body,
                    notify=plan.notify,
                    channels=plan.channels,
                    planned=plan.planned,
                    skipped=plan.skipped_records,
                )
            event = self._record(session, case, body, actor, now)
            events.append(event)
            session.flush()  # the event row first: the outbox rows name it
            plan.insert(session, case, event.seq, now)
            return self._receipt(session, case, events)

    def exclude_clock(
        self, number: str, cmd: ExcludeClock, *, actor: str, now: datetime
    ) -> Receipt:
        """Exclude a clock's breach from compensation with one of the contract's causes."""
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            clock = next((c for c in reversed(case.clocks) if c.kind == cmd.kind), None)
            if clock is None:
                raise NotFoundError(f"case {number} has no {cmd.kind} clock")
            lc = self._contract(case.contract_id)
            clocks.exclude(clock, cmd.cause, cmd.note, list(lc.contract.exclusions))
            body = ClockExcluded(clock=cmd.kind, cause=cmd.cause, note=cmd.note)
            events.append(self._record(session, case, body, actor, now))
            return self._receipt(session, case, events)


def _priority_deadline(
    compute: PriorityClock, lc: LoadedContract, case: orm.Case, start: datetime
) -> sla.Deadline:
    return compute(lc, case.priority, start, case.request_type)
