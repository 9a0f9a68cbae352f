"""Notices of a manual escalation: the target group through the ladder's channels.

The scheduler's planning (core.escalation recipients_for / plan_notices) chooses the people
and channels; the rows go into the outbox in the desk's transaction, so the relay and the
workers deliver them like the ladder's own (template ``escalated``, sent at once).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy.orm import Session

from core import clocks
from core.case import NotificationState
from core.contract import EscalationStep
from core.escalation import (
    PlannedNotice,
    Recipient,
    Skip,
    ladder_channels,
    manual_targets,
    person_recipient,
    plan_notices,
    recipients_for,
)
from core.events import PlannedNoticeRecord, SkippedNotice
from core.jobs.scheduler import addressee, insert_outbox, planned_record, skipped_record
from core.logs import current_request_id
from core.store import orm

if TYPE_CHECKING:
    from core.loaded import LoadedContract
    from core.staff import StaffDirectory

__all__ = ["MANUAL_TEMPLATE", "ManualPlan", "plan_manual"]

MANUAL_TEMPLATE = "escalated"  # plugins/email_notify/templates/*/escalated.*, sms templates
NO_DIRECTORY = "no staff directory (contracts/staff/staff.yaml): nobody to resolve roles to"


class ManualVariables(msgspec.Struct, frozen=True, kw_only=True):
    """The ``variables`` of a manual escalation's notice (template ``escalated``); times are
    ISO 8601 in the contract's zone. ``urgent``: the relay sends it alone and at once."""

    case_number: str
    customer: str
    summary: str
    priority: str
    contract_id: str
    level: int
    reason: str
    target_group: str
    clock: str | None = None  # the case's running clock due first, if any
    deadline: str | None = None
    urgent: bool = True


@dataclass(frozen=True)
class ManualPlan:
    """Who a manual escalation notifies, on which channels; ``rows`` for the outbox once the
    event's sequence number is known."""

    notify: list[str]
    channels: list[str]
    notices: list[PlannedNotice]
    skipped: list[Skip]
    variables: ManualVariables

    @property
    def planned(self) -> list[PlannedNoticeRecord]:
        return [planned_record(n) for n in self.notices]

    @property
    def skipped_records(self) -> list[SkippedNotice]:
        return [skipped_record(s) for s in self.skipped]

    def insert(self, session: Session, case: orm.Case, event_seq: int, now: datetime) -> int:
        """The planned notices as queued outbox rows; returns the rows added."""
        rows = [_row(case, event_seq, notice, self.variables, now) for notice in self.notices]
        return insert_outbox(session, rows)


def plan_manual(
    *,
    case: orm.Case,
    lc: LoadedContract,
    staff: StaffDirectory | None,
    level: int,
    reason: str,
    target_group: str,
    event_seq: int,
    now: datetime,
) -> ManualPlan:
    """The notices of a manual escalation to ``target_group`` recorded as event ``event_seq``.

    The target group's roles resolve as a ladder rung's do (the case's engineer, the
    contract's managers, the directory); people it names directly are notified too. The
    channels are the ladder's (``ladder_channels``). A person escalating means now: the
    notices go at once, whatever the recipients' calendars (our choice).
    """
    targets = manual_targets(target_group, staff)
    channels = ladder_channels(lc.contract.escalation, case.priority, targets.roles)
    step = EscalationStep(at="manual", notify=targets.roles, channels=channels)
    skipped = [
        Skip(target_group, f"{word!r}: no role or person we know") for word in targets.unknown
    ]
    recipients: list[Recipient] = []
    if staff is None:
        skipped += [Skip(role, NO_DIRECTORY) for role in targets.roles]
    else:
        found = recipients_for(step, contract=lc, staff=staff, assignee=case.assignee, at=now)
        recipients, skipped = found.recipients, skipped + found.skipped
        known = {r.id for r in recipients}
        recipients += [person_recipient(p, p.roles[0]) for p in targets.people if p.id not in known]
    plan = plan_notices(
        case_number=case.number,
        clock_kind="manual",
        level_index=level - 1,
        step=step,
        urgent=True,
        recipients=recipients,
        at=now,
        calendars=lc.calendar,
        clock_id=event_seq,
    )
    return ManualPlan(
        notify=[*targets.roles, *(p.id for p in targets.people)],
        channels=channels,
        notices=plan.notices,
        skipped=[*skipped, *plan.skipped],
        variables=_variables(case, lc, level, reason, target_group),
    )


def _variables(
    case: orm.Case, lc: LoadedContract, level: int, reason: str, target_group: str
) -> ManualVariables:
    running = [c for c in case.clocks if c.state == clocks.RUNNING]
    first = min(running, key=lambda c: c.deadline, default=None)
    zone = lc.calendar(first.calendar).tz if first is not None else None
    return ManualVariables(
        case_number=case.number,
        customer=lc.contract.customer.name,
        summary=case.summary,
        priority=case.priority,
        contract_id=case.contract_id,
        level=level,
        reason=reason,
        target_group=target_group,
        clock=first.kind if first is not None else None,
        deadline=first.deadline.astimezone(zone).isoformat() if first and zone else None,
    )


def _row(
    case: orm.Case, event_seq: int, notice: PlannedNotice, variables: ManualVariables, now: datetime
) -> dict[str, Any]:
    """One outbox row, as the scheduler writes them (no clock: a person raised it)."""
    return {
        "case_id": case.id,
        "clock_id": None,
        "event_seq": event_seq,
        "level": notice.level,
        "channel": notice.channel,
        "recipient": msgspec.to_builtins(addressee(notice)),
        "template": MANUAL_TEMPLATE,
        "variables": msgspec.to_builtins(variables),
        "idempotency_key": notice.idempotency_key,
        "state": NotificationState.QUEUED.value,
        "attempts": 0,
        "last_error": None,
        "send_after": notice.send_after,
        "created_at": now,
        "sent_at": None,
        "request_id": current_request_id(),  # the request escalating: in the workers' logs
    }
