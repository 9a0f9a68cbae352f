"""Functional escalation: hand a case to Digital China, the expert group, an on-site engineer
or the vendor (and back), each hand-over a ``handed_over`` event."""

from __future__ import annotations

from datetime import datetime

from msgspec import UNSET
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.case import IllegalTransition, Status, check_transition
from core.commands import HandOver
from core.desk.base import DeskBase, Receipt
from core.errors import InvalidField
from core.events import HandedOver, StatusMove
from core.handover import (
    BASE_LEVEL,
    EVENT_KIND,
    TICKET_REQUIRED,
    HandOverTarget,
    direction,
)
from core.store import orm

# a vendor hand-over parks an active case at pending_vendor (it does not pause resolution:
# vendor delay is ours to manage); pending_customer stays, the customer still owes us
TO_VENDOR_FROM = frozenset({Status.ASSIGNED, Status.IN_PROGRESS})


class HandOverCommands(DeskBase):
    """R-CASE's flow: engineer → Digital China → expert group or on-site engineer → vendor."""

    def hand_over(self, number: str, cmd: HandOver, *, actor: str, now: datetime) -> Receipt:
        """Record who the case goes to (with their ticket) and move pending_vendor with it."""
        check_hand_over(cmd)
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            self._require_open(case, "hand the case over")
            if case.assignee is None:
                raise IllegalTransition(
                    number, case.status, "hand over an unassigned case", ("assign",)
                )
            previous = current_level(session, case)
            status = _status_after(case, previous, cmd.target)
            body = HandedOver(
                target=cmd.target.value,
                vendor=cmd.vendor,
                ticket=cmd.ticket,
                reason=cmd.reason,
                previous=previous.value,
                direction=direction(previous, cmd.target),
                status=(
                    StatusMove(from_=case.status, to=status.value) if status is not None else UNSET
                ),
            )
            if status is not None:
                case.status = status.value
            events.append(self._record(session, case, body, actor, now, str(cmd.visibility)))
            return self._receipt(session, case, events)


def check_hand_over(cmd: HandOver) -> None:
    """The rules the command's schema cannot say, each naming its field."""
    if cmd.target in TICKET_REQUIRED and not (cmd.ticket or "").strip():
        raise InvalidField(
            "ticket", f"a hand-over to {cmd.target.value} needs their ticket (case) number"
        )
    if cmd.vendor is not None and cmd.target != HandOverTarget.VENDOR:
        raise InvalidField(
            "vendor", f"names the vendor of a vendor hand-over, not of {cmd.target.value}"
        )


def current_level(session: Session, case: orm.Case) -> HandOverTarget:
    """The case's functional level: its last hand-over's target, else the engineer."""
    payload = session.scalar(
        select(orm.CaseEvent.payload)
        .where(orm.CaseEvent.case_id == case.id, orm.CaseEvent.kind == EVENT_KIND)
        .order_by(orm.CaseEvent.seq.desc())
        .limit(1)
    )
    return BASE_LEVEL if payload is None else HandOverTarget(payload["target"])


def _status_after(
    case: orm.Case, previous: HandOverTarget, target: HandOverTarget
) -> Status | None:
    """pending_vendor while the vendor has it; back to in_progress when it comes back."""
    current = Status(case.status)
    if target == HandOverTarget.VENDOR and current in TO_VENDOR_FROM:
        return check_transition(case.number, current, Status.PENDING_VENDOR, "hand to the vendor")
    if (
        target != HandOverTarget.VENDOR
        and previous == HandOverTarget.VENDOR
        and current == Status.PENDING_VENDOR
    ):
        return check_transition(case.number, current, Status.IN_PROGRESS, "take back from vendor")
    return None
