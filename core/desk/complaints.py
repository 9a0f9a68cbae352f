"""Complaints on the desk (R-QUAL 客户投诉处理制度): filed with their complaint case, worked by the
complaint manager (reply, assign, investigate, resolve, close), corrected to closure.

The complaint case carries the clocks (``complaint_first_reply``, ``complaint_resolution``:
the contract's ``complaint`` targets on its calendars), so the scheduler escalates them
through the ladder as it does every clock; each step here is an event of that case.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clocks
from core.case import IllegalTransition, Status, check_transition
from core.complaints import (
    OPEN_COMPLAINT,
    AssignComplaint,
    ComplaintStatus,
    ComplaintView,
    Investigate,
    LinkCases,
    Reply,
    ResolveComplaint,
)
from core.corrective import ActionDone, CloseProblem, NewAction
from core.desk.corrective import CorrectiveRoom, action_views
from core.desk.errors import InvalidCommand, UnknownEngineer
from core.errors import NotFoundError
from core.events import (
    ClockOutcome,
    ComplaintAssigned,
    ComplaintClosed,
    ComplaintFiled,
    ComplaintInvestigated,
    ComplaintLinked,
    ComplaintReplied,
    ComplaintResolved,
)
from core.store import orm

COMPLAINT_CLOCKS = frozenset({"complaint_first_reply", "complaint_resolution"})


class ComplaintCommands(CorrectiveRoom):
    """The complaint manager's commands; each is one transaction on the complaint case."""

    def _file_complaint(
        self,
        session: Session,
        case: orm.Case,
        about: Sequence[str],
        actor: str,
        now: datetime,
        events: list[orm.CaseEvent],
    ) -> orm.Complaint:
        """The complaint record of a new complaint case (inside the opening transaction)."""
        complaint = orm.Complaint(
            case_id=case.id,
            contract_id=case.contract_id,
            customer_id=case.customer_id,
            status=ComplaintStatus.RECEIVED.value,
            received_at=now,
        )
        session.add(complaint)
        session.flush()
        numbers = self._link(session, complaint, case, about)
        events.append(
            self._record(
                session, case, ComplaintFiled(complaint=complaint.id, about=numbers), actor, now
            )
        )
        return complaint

    def _link(
        self, session: Session, complaint: orm.Complaint, case: orm.Case, about: Sequence[str]
    ) -> list[str]:
        """Link the customer's cases ``about``; another customer's case is unknown here."""
        linked = []
        for number in dict.fromkeys(about):
            target = session.scalars(
                select(orm.Case).where(
                    orm.Case.number == number, orm.Case.customer_id == case.customer_id
                )
            ).one_or_none()
            if target is None:
                raise NotFoundError(f"no case {number!r} of this customer to complain about")
            if session.get(orm.ComplaintCase, (complaint.id, target.id)) is None:
                session.add(orm.ComplaintCase(complaint_id=complaint.id, case_id=target.id))
            linked.append(number)
        return linked

    # --- the complaint manager's steps -----------------------------------------------------

    def link_complaint(
        self, complaint_id: int, cmd: LinkCases, *, actor: str, now: datetime
    ) -> ComplaintView:
        with self._unit() as (session, events):
            complaint, case = self._complaint(session, complaint_id)
            numbers = self._link(session, complaint, case, cmd.cases)
            body = ComplaintLinked(complaint=complaint.id, cases=numbers)
            events.append(self._record(session, case, body, actor, now))
            return self._complaint_view(session, complaint)

    def reply_complaint(
        self, complaint_id: int, cmd: Reply, *, actor: str, now: datetime
    ) -> ComplaintView:
        """The first reply (初次回复处理意见): stops the 2-hour clock; customer-visible."""
        with self._unit() as (session, events):
            complaint, case = self._open_complaint(session, complaint_id, "reply")
            if complaint.replied_at is not None:
                raise IllegalTransition(case.number, complaint.status, "reply: already replied")
            stopped = self._stop(case, "complaint_first_reply", now)
            complaint.replied_at, complaint.owner = now, complaint.owner or actor
            if complaint.status == ComplaintStatus.RECEIVED:
                complaint.status = ComplaintStatus.REPLIED.value
            if case.status == Status.ASSIGNED:
                case.status = Status.IN_PROGRESS.value
            body = ComplaintReplied(
                complaint=complaint.id,
                reply=cmd.reply,
                clock=stopped.clock if stopped else None,
                outcome=stopped.outcome if stopped else None,
                deadline=stopped.deadline if stopped else None,
            )
            events.append(self._record(session, case, body, actor, now, "customer"))
            self._refresh(case, now)
            return self._done(session, complaint, case, events)

    def assign_complaint(
        self, complaint_id: int, cmd: AssignComplaint, *, actor: str, now: datetime
    ) -> ComplaintView:
        """Who investigates: the complaint case's assignee too (the ladder's ``engineer``)."""
        with self._unit() as (session, events):
            complaint, case = self._open_complaint(session, complaint_id, "assign")
            staff = self.staff()
            if staff is not None and staff.person(cmd.assignee) is None:
                raise UnknownEngineer(cmd.assignee, staff.file)
            previous = complaint.assignee
            complaint.assignee = case.assignee = cmd.assignee
            complaint.owner = complaint.owner or actor
            if case.status == Status.NEW:
                case.status = Status.ASSIGNED.value
            body = ComplaintAssigned(
                complaint=complaint.id, assignee=cmd.assignee, previous=previous
            )
            events.append(self._record(session, case, body, actor, now))
            return self._done(session, complaint, case, events)

    def investigate_complaint(
        self, complaint_id: int, cmd: Investigate, *, actor: str, now: datetime
    ) -> ComplaintView:
        with self._unit() as (session, events):
            complaint, case = self._open_complaint(session, complaint_id, "investigate")
            complaint.status = ComplaintStatus.INVESTIGATING.value
            if case.status == Status.ASSIGNED:
                case.status = Status.IN_PROGRESS.value
            body = ComplaintInvestigated(complaint=complaint.id, finding=cmd.finding)
            events.append(self._record(session, case, body, actor, now))
            return self._done(session, complaint, case, events)

    def resolve_complaint(
        self, complaint_id: int, cmd: ResolveComplaint, *, actor: str, now: datetime
    ) -> ComplaintView:
        """Resolved (解决): the complaint clocks stop (a reply still owed is met or breached
        now); the complaint case is resolved."""
        with self._unit() as (session, events):
            complaint, case = self._open_complaint(session, complaint_id, "resolve")
            target = check_transition(case.number, case.status, Status.RESOLVED.value, "resolve")
            outcomes = []
            for clock in case.clocks:
                if clock.state not in clocks.ACTIVE:
                    continue
                if clock.kind in COMPLAINT_CLOCKS:
                    clocks.stop(clock, now)
                else:
                    clocks.cancel(clock)
                outcomes.append(ClockOutcome(clock=clock.kind, outcome=clock.state))
            case.status, case.resolved_at = target.value, now
            complaint.status, complaint.resolved_at = ComplaintStatus.RESOLVED.value, now
            complaint.resolution = cmd.resolution
            complaint.replied_at = complaint.replied_at or now
            body = ComplaintResolved(
                complaint=complaint.id, resolution=cmd.resolution, clocks=outcomes
            )
            events.append(self._record(session, case, body, actor, now, "customer"))
            self._refresh(case, now)
            return self._done(session, complaint, case, events)

    def close_complaint(
        self, complaint_id: int, cmd: CloseProblem, *, actor: str, now: datetime
    ) -> ComplaintView:
        """Closed once resolved and every corrective action is done; the improvement, if
        given, is reported back to the customer. The complaint case closes with it (no
        satisfaction survey: docs/quality.md)."""
        with self._unit() as (session, events):
            complaint, case = self._complaint(session, complaint_id)
            if complaint.status != ComplaintStatus.RESOLVED:
                raise IllegalTransition(case.number, complaint.status, "close", ("resolve first",))
            self._require_actions_done(
                session, "complaint", complaint.id, f"complaint {complaint.id}"
            )
            if case.status == Status.RESOLVED:
                case.status, case.closed_at = Status.CLOSED.value, now
            complaint.status, complaint.closed_at = ComplaintStatus.CLOSED.value, now
            body = ComplaintClosed(complaint=complaint.id, conclusion=cmd.conclusion)
            events.append(self._record(session, case, body, actor, now, "customer"))
            self._report_improvement(
                session, case, "complaint", complaint.id, cmd.improvement, actor, now, events
            )
            return self._done(session, complaint, case, events)

    def add_complaint_action(
        self, complaint_id: int, cmd: NewAction, *, actor: str, now: datetime
    ) -> ComplaintView:
        with self._unit() as (session, events):
            complaint, case = self._complaint(session, complaint_id)
            if complaint.status == ComplaintStatus.CLOSED:
                raise InvalidCommand(f"complaint {complaint_id} is closed")
            self._add_action(session, case, "complaint", complaint.id, cmd, actor, now, events)
            return self._done(session, complaint, case, events)

    def finish_complaint_action(
        self, complaint_id: int, action_id: int, cmd: ActionDone, *, actor: str, now: datetime
    ) -> ComplaintView:
        with self._unit() as (session, events):
            complaint, case = self._complaint(session, complaint_id)
            row = self._action(session, "complaint", complaint.id, action_id)
            self._finish_action(session, case, row, cmd, actor, now, events)
            return self._done(session, complaint, case, events)

    # --- reading -----------------------------------------------------------------------------

    def complaint(self, complaint_id: int, *, customer_id: str | None = None) -> ComplaintView:
        with self.sessions() as session:
            complaint = session.get(orm.Complaint, complaint_id)
            if complaint is None or (customer_id and complaint.customer_id != customer_id):
                raise NotFoundError(f"no complaint {complaint_id}")
            return self._complaint_view(session, complaint)

    def complaints(
        self, *, status: str | None = None, contract_id: str | None = None
    ) -> list[ComplaintView]:
        with self.sessions() as session:
            stmt = select(orm.Complaint).order_by(orm.Complaint.id)
            if status is not None:
                stmt = stmt.where(orm.Complaint.status == status)
            if contract_id is not None:
                stmt = stmt.where(orm.Complaint.contract_id == contract_id)
            return [self._complaint_view(session, c) for c in session.scalars(stmt)]

    # --- plumbing ----------------------------------------------------------------------------

    def _complaint(self, session: Session, complaint_id: int) -> tuple[orm.Complaint, orm.Case]:
        complaint = session.get(orm.Complaint, complaint_id, with_for_update=True)
        if complaint is None:
            raise NotFoundError(f"no complaint {complaint_id}")
        case = session.get(orm.Case, complaint.case_id)
        assert case is not None  # a foreign key
        return complaint, case

    def _open_complaint(
        self, session: Session, complaint_id: int, action: str
    ) -> tuple[orm.Complaint, orm.Case]:
        complaint, case = self._complaint(session, complaint_id)
        if complaint.status not in OPEN_COMPLAINT:
            raise IllegalTransition(f"complaint {complaint_id}", complaint.status, action)
        return complaint, case

    def _done(
        self,
        session: Session,
        complaint: orm.Complaint,
        case: orm.Case,
        events: list[orm.CaseEvent],
    ) -> ComplaintView:
        self._receipt(session, case, events)
        return self._complaint_view(session, complaint)

    def _complaint_view(self, session: Session, complaint: orm.Complaint) -> ComplaintView:
        case = session.get(orm.Case, complaint.case_id)
        assert case is not None
        about = session.scalars(
            select(orm.Case.number)
            .join(orm.ComplaintCase, orm.ComplaintCase.case_id == orm.Case.id)
            .where(orm.ComplaintCase.complaint_id == complaint.id)
            .order_by(orm.Case.number)
        )
        return ComplaintView(
            id=complaint.id,
            case_number=case.number,
            contract_id=complaint.contract_id,
            customer_id=complaint.customer_id,
            summary=case.summary,
            status=complaint.status,
            owner=complaint.owner,
            assignee=complaint.assignee,
            received_at=complaint.received_at,
            replied_at=complaint.replied_at,
            resolved_at=complaint.resolved_at,
            closed_at=complaint.closed_at,
            resolution=complaint.resolution,
            about=list(about),
            clocks={c.kind: c.state for c in case.clocks if c.kind in COMPLAINT_CLOCKS},
            actions=action_views(session, "complaint", complaint.id),
        )
