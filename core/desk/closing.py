"""The end of a case: resolve, close against the checklist, reopen; the breach sweep."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from msgspec import UNSET, UnsetType
from sqlalchemy import select

from core import clocks, sla
from core.case import IllegalTransition, Status, check_transition
from core.commands import Close, Reopen, Resolve
from core.desk.base import Receipt
from core.desk.errors import CloseRefused, InvalidCommand
from core.desk.knowledge import KnowledgeCommands
from core.desk.surveys import SurveyCommands
from core.events import ClockOutcome, Closed, Reopened, Resolved
from core.instants import check_reported
from core.service_types import effective_service_type, missing_for_close
from core.spares import RETURN_CLOCKS
from core.store import orm
from core.store.knowledge import withdraw_case

# resolving meets (or, when late, breaches) these; every other active clock is cancelled.
# The resolution is the last progress report of an emergency visit: one overdue is breached.
STOP_ON_RESOLVE = frozenset(
    {
        "first_response",
        "complaint_first_reply",
        "diagnosis",
        "resolution",
        "complaint_resolution",
        "progress_report",
    }
)

EnteredBy = Literal["customer", "staff"]


def _document(entered_by: EnteredBy | None, document: str | None) -> str | UnsetType:
    """The paper confirmation's reference, kept only when staff entered it."""
    return document if entered_by == "staff" and document else UNSET


class ClosingCommands(SurveyCommands, KnowledgeCommands):
    """Resolve, close and reopen a case; note breached clocks. Resolving writes the case's
    knowledge-base entry in the same transaction; a close sends the case's satisfaction
    survey in its transaction (core.desk.surveys); a re-open withdraws both."""

    def resolve(self, number: str, cmd: Resolve, *, actor: str, now: datetime) -> Receipt:
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            check_transition(number, case.status, Status.RESOLVED.value, "resolve")
            outcomes = []
            for clock in case.clocks:
                if clock.state not in clocks.ACTIVE or clock.kind in RETURN_CLOCKS:
                    continue  # a part or standby unit may go back after the fix
                if clock.kind in STOP_ON_RESOLVE:
                    clocks.stop(clock, now)
                    outcomes.append(ClockOutcome(clock=clock.kind, outcome=clock.state))
                else:
                    clocks.cancel(clock)
                    outcomes.append(ClockOutcome(clock=clock.kind, outcome=clock.state))
            case.status, case.resolved_at = Status.RESOLVED.value, now
            body = Resolved(resolution=cmd.resolution, clocks=outcomes)
            events.append(self._record(session, case, body, actor, now, "customer"))
            self._harvest(session, case, actor, now, cmd.resolution)
            self._refresh(case, now)
            return self._receipt(session, case, events)

    def close(
        self,
        number: str,
        cmd: Close,
        *,
        actor: str,
        now: datetime,
        entered_by: EnteredBy | None = None,
    ) -> Receipt:
        """The customer confirms the service type's checklist; every deliverable is required.

        ``entered_by``: ``customer`` when the customer confirms itself (its own token),
        ``staff`` when staff record a confirmation given on paper, which needs the signed
        document (``cmd.confirmation_document``); both are recorded on the ``closed`` event.
        None (internal callers: the demo, scripts) records neither.
        """
        if entered_by == "staff" and not cmd.confirmation_document:
            raise InvalidCommand(
                "the customer confirms closure itself; staff may record a confirmation given "
                "on paper only with the document attached: confirmation_document"
            )
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            check_transition(number, case.status, Status.CLOSED.value, "close")
            check_reported(
                "$.confirmed_at",
                cmd.confirmed_at,
                opened_at=case.opened_at,
                now=now,
                skew=self.skew,
            )
            lc = self._contract(case.contract_id)
            service = effective_service_type(case.category, lc.contract.service_types)
            items, documents = missing_for_close(service, cmd.checklist, cmd.deliverables)
            if items or documents:
                raise CloseRefused(number, items, documents)
            case.status, case.closed_at = Status.CLOSED.value, now
            body = Closed(
                confirmed_by=cmd.confirmed_by,
                confirmed_at=cmd.confirmed_at,
                checklist=sorted(cmd.checklist),
                deliverables=cmd.deliverables,
                entered_by=entered_by or UNSET,
                confirmation_document=_document(entered_by, cmd.confirmation_document),
            )
            events.append(self._record(session, case, body, actor, now, "customer"))
            self._send_survey(session, case, lc, now, events)
            self._refresh(case, now)
            return self._receipt(session, case, events)

    def reopen(self, number: str, cmd: Reopen, *, actor: str, now: datetime) -> Receipt:
        """Back to work: a new resolution clock starts now (the old one keeps its outcome)."""
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            if case.status not in (Status.RESOLVED, Status.CLOSED):
                raise IllegalTransition(number, case.status, "reopen", ("resolve first",))
            previous = case.status
            case.status = check_transition(number, case.status, "in_progress", "reopen").value
            case.resolved_at = case.closed_at = None
            lc = self._contract(case.contract_id)
            self._start(case, lc, sla.resolution(lc, priority=case.priority, reported_at=now))
            body = Reopened(from_=previous, reason=cmd.reason)
            events.append(self._record(session, case, body, actor, now, "customer"))
            self._withdraw_survey(session, case)
            withdraw_case(session, case.id, now, actor)
            self._refresh(case, now)
            return self._receipt(session, case, events)

    # --- sweeps ---------------------------------------------------------------------------

    def note_breaches(self, *, now: datetime, limit: int = 1000) -> int:
        """Record breached_at on running clocks past their deadline; returns how many."""
        with self._unit() as (session, _events):
            rows = session.scalars(
                select(orm.SlaClock)
                .where(
                    orm.SlaClock.state == clocks.RUNNING,
                    orm.SlaClock.breached_at.is_(None),
                    orm.SlaClock.deadline < now,
                )
                .limit(limit)
            ).all()
            for clock in rows:
                clocks.note_breach(clock, now)
                clock.case.breached = True
            return len(rows)
