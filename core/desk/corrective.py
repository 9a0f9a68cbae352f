"""Corrective actions (纠正措施) of survey problems and complaints: recorded, finished, listed;
each step an event of the case the problem belongs to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.corrective import (
    ActionDone,
    ActionsOpen,
    ActionView,
    NewAction,
    Subject,
    SubjectAction,
)
from core.desk.base import DeskBase
from core.errors import ConflictError, NotFoundError
from core.events import CorrectiveActionDone, CorrectiveActionRecorded, ImprovementReported
from core.store import orm


class CorrectiveRoom(DeskBase):
    """What survey problems and complaints share: their corrective actions."""

    def corrective_actions(self, *, open_only: bool = False) -> list[SubjectAction]:
        """Every corrective action of survey problems and complaints, with the case it is
        recorded on: the report to management (通报总经理室)."""
        with self.sessions() as session:
            stmt = select(orm.CorrectiveAction).order_by(orm.CorrectiveAction.id)
            if open_only:
                stmt = stmt.where(orm.CorrectiveAction.done_at.is_(None))
            return [_subject_action(session, row) for row in session.scalars(stmt)]

    def _add_action(
        self,
        session: Session,
        case: orm.Case,
        subject: Subject,
        subject_id: int,
        cmd: NewAction,
        actor: str,
        now: datetime,
        events: list[orm.CaseEvent],
    ) -> orm.CorrectiveAction:
        row = orm.CorrectiveAction(
            subject=subject,
            subject_id=subject_id,
            text=cmd.text,
            owner=cmd.owner,
            due_on=cmd.due_on,
            created_at=now,
            created_by=actor,
        )
        session.add(row)
        session.flush()
        body = CorrectiveActionRecorded(
            subject=subject,
            subject_id=subject_id,
            action=row.id,
            text=cmd.text,
            owner=cmd.owner,
            due_on=cmd.due_on,
        )
        events.append(self._record(session, case, body, actor, now))
        return row

    def _finish_action(
        self,
        session: Session,
        case: orm.Case,
        row: orm.CorrectiveAction,
        cmd: ActionDone,
        actor: str,
        now: datetime,
        events: list[orm.CaseEvent],
    ) -> None:
        if row.done_at is not None:
            raise ConflictError(f"corrective action {row.id} is already done")
        row.done_at, row.result = now, cmd.result
        body = CorrectiveActionDone(
            subject=row.subject, subject_id=row.subject_id, action=row.id, result=cmd.result
        )
        events.append(self._record(session, case, body, actor, now))

    def _action(
        self, session: Session, subject: Subject, subject_id: int, action_id: int
    ) -> orm.CorrectiveAction:
        row = session.get(orm.CorrectiveAction, action_id, with_for_update=True)
        if row is None or row.subject != subject or row.subject_id != subject_id:
            raise NotFoundError(
                f"no corrective action {action_id} on this {subject.replace('_', ' ')}"
            )
        return row

    def _require_actions_done(
        self, session: Session, subject: Subject, subject_id: int, what: str
    ) -> None:
        open_ids = list(
            session.scalars(
                select(orm.CorrectiveAction.id)
                .where(
                    orm.CorrectiveAction.subject == subject,
                    orm.CorrectiveAction.subject_id == subject_id,
                    orm.CorrectiveAction.done_at.is_(None),
                )
                .order_by(orm.CorrectiveAction.id)
            )
        )
        if open_ids:
            raise ActionsOpen(what, open_ids)

    def _report_improvement(
        self,
        session: Session,
        case: orm.Case,
        subject: Subject,
        subject_id: int,
        text: str | None,
        actor: str,
        now: datetime,
        events: list[orm.CaseEvent],
    ) -> None:
        """The improvement reported back to the customer: a customer-visible event."""
        if text:
            body = ImprovementReported(subject=subject, subject_id=subject_id, text=text)
            events.append(self._record(session, case, body, actor, now, "customer"))


def action_views(session: Session, subject: Subject, subject_id: int) -> list[ActionView]:
    rows = session.scalars(
        select(orm.CorrectiveAction)
        .where(
            orm.CorrectiveAction.subject == subject,
            orm.CorrectiveAction.subject_id == subject_id,
        )
        .order_by(orm.CorrectiveAction.id)
    )
    return [
        ActionView(
            id=r.id,
            text=r.text,
            owner=r.owner,
            due_on=r.due_on,
            created_at=r.created_at,
            created_by=r.created_by,
            done_at=r.done_at,
            result=r.result,
        )
        for r in rows
    ]


def _subject_action(session: Session, row: orm.CorrectiveAction) -> SubjectAction:
    owner_table = orm.SurveyProblem if row.subject == "survey_problem" else orm.Complaint
    number = session.scalar(
        select(orm.Case.number)
        .join(owner_table, owner_table.case_id == orm.Case.id)
        .where(owner_table.id == row.subject_id)
    )
    return SubjectAction(
        id=row.id,
        text=row.text,
        owner=row.owner,
        due_on=row.due_on,
        created_at=row.created_at,
        created_by=row.created_by,
        done_at=row.done_at,
        result=row.result,
        subject=row.subject,
        subject_id=row.subject_id,
        case_number=number or "",
    )
