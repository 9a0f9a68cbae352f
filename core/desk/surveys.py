"""Satisfaction surveys on the desk (R-QUAL): sent in the closing transaction, answered through
the link or from the signed technical service form, withdrawn on re-open; a low score opens a
survey problem for the quality department, classified and corrected to closure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.case import NotificationState, RequestType, Status
from core.corrective import ActionDone, Classify, CloseProblem, NewAction
from core.desk.base import Receipt
from core.desk.corrective import CorrectiveRoom, action_views
from core.desk.errors import InvalidCommand
from core.errors import NotFoundError
from core.events import (
    SurveyAnswered,
    SurveyProblemClassified,
    SurveyProblemClosed,
    SurveyProblemOpened,
)
from core.jobs.scheduler import insert_outbox
from core.loaded import LoadedContract
from core.logs import current_request_id
from core.notify import OutboxRecipient
from core.phones import phone_problem
from core.store import orm
from core.surveys import (
    LOW_SCORE,
    SURVEY_TEMPLATE,
    SurveyAnswer,
    SurveyClosed,
    SurveyForm,
    SurveyProblemView,
    SurveyView,
    check_score,
    hash_token,
    new_token,
    survey_link,
)

LINK_ACTOR = "customer:survey-link"
NO_SUCH_SURVEY = "no such survey"  # one text for every unknown token


class SurveyVariables(msgspec.Struct, frozen=True, kw_only=True):
    """The ``variables`` of a survey notice; ``expires_at`` ISO 8601 in the contract's zone;
    urgent: sent at once, never held for a digest."""

    case_number: str
    customer: str
    summary: str
    link: str
    expires_at: str
    urgent: bool = True


class SurveyCommands(CorrectiveRoom):
    """Surveys and survey problems; ``_send_survey`` and ``_withdraw_survey`` run inside the
    close and re-open transactions (core.desk.closing)."""

    public_url: str = ""  # settings.public_url: "" sends no survey link (none would work)

    # --- sending and withdrawing (inside the case's transaction) ---------------------------

    def _send_survey(
        self,
        session: Session,
        case: orm.Case,
        lc: LoadedContract,
        now: datetime,
        events: list[orm.CaseEvent],
    ) -> str | None:
        """A new current survey for this close (its event is ``events[-1]``) and its notices
        to the caller; returns the token (None for a complaint case: a complaint is rated
        through its own handling, not surveyed). Without ``public_url`` no link is sent:
        the survey can still be answered from the service form."""
        if case.request_type == RequestType.COMPLAINT.value:
            return None
        survey_cfg = lc.contract.survey
        token = new_token()
        last = session.scalar(
            select(func.max(orm.Survey.round)).where(orm.Survey.case_id == case.id)
        )
        survey = orm.Survey(
            case_id=case.id,
            contract_id=case.contract_id,
            customer_id=case.customer_id,
            round=(last or 0) + 1,
            current=True,
            token_hash=hash_token(token),
            case_opened_at=case.opened_at,
            case_closed_at=now,
            expires_at=now + timedelta(days=survey_cfg.link_days),
        )
        session.add(survey)
        session.flush()
        channels = survey_channels(survey_cfg.channels, case.caller_email, case.caller_phone)
        if not self.public_url:
            channels = []  # without a public URL a link cannot work: the survey waits (form)
        variables = SurveyVariables(
            case_number=case.number,
            customer=lc.contract.customer.name,
            summary=case.summary,
            link=survey_link(self.public_url, token),
            expires_at=survey.expires_at.astimezone(lc.calendar("duty").tz).isoformat(),
        )
        # the notices belong to the close's event (the survey itself is its row: the case's
        # history keeps only the answer, so a close records what it always recorded)
        seq = events[-1].seq
        rows = [_survey_row(case, survey, seq, c, variables, now) for c in channels]
        insert_outbox(session, rows)
        return token

    def _withdraw_survey(self, session: Session, case: orm.Case) -> None:
        """A re-opened case's survey no longer counts and its link no longer works (the
        ``reopened`` event says so; the next close sends a new survey)."""
        survey = _current(session, case.id)
        if survey is not None:
            survey.current = False

    # --- answering -------------------------------------------------------------------------

    def survey_by_token(self, token: str, *, now: datetime) -> SurveyView:
        """What the survey page shows for ``token`` (NotFoundError for an unknown token)."""
        with self.sessions() as session:
            survey = _by_token(session, token, lock=False)
            case = session.get(orm.Case, survey.case_id)
            assert case is not None  # a foreign key
            return self._view(survey, case, now)

    def answer_survey(self, token: str, answer: SurveyAnswer, *, now: datetime) -> SurveyView:
        """Record the customer's score (1–5) and comment through the link: once, before it
        expires, only for the case the token was made for. A score of 2 or below opens a
        survey problem."""
        score = check_score(answer.score)
        with self._unit() as (session, events):
            survey = _by_token(session, token, lock=True)
            _check_usable(survey, now)
            case = _case_of(session, survey)
            survey.used_at = now
            self._answer(session, case, survey, score, answer.comment, LINK_ACTOR, now, events)
            return self._view(survey, case, now)

    def enter_survey_form(
        self, number: str, form: SurveyForm, *, actor: str, now: datetime
    ) -> Receipt:
        """The score the customer signed on the technical service form (技术服务单), entered
        by staff (``actor``) for the case's current survey; its link is spent."""
        score = check_score(form.score)
        with self._unit() as (session, events):
            case = self._load(session, number)
            survey = _current(session, case.id)
            if survey is None or case.status != Status.CLOSED.value:
                raise InvalidCommand(
                    f"case {number} has no survey to answer: the form's score is entered once "
                    "the case is closed"
                )
            if survey.answered_at is not None:
                raise SurveyClosed("the survey was already answered")
            survey.used_at = survey.used_at or now
            survey.signed_by, survey.signed_at = form.signed_by, form.signed_at
            self._answer(session, case, survey, score, form.comment, actor, now, events, form=form)
            return self._receipt(session, case, events)

    def _answer(
        self,
        session: Session,
        case: orm.Case,
        survey: orm.Survey,
        score: int,
        comment: str | None,
        actor: str,
        now: datetime,
        events: list[orm.CaseEvent],
        *,
        form: SurveyForm | None = None,
    ) -> None:
        survey.score, survey.comment, survey.answered_at = score, comment, now
        survey.source = "form" if form else "link"
        survey.entered_by = actor if form else None
        body = SurveyAnswered(
            round=survey.round,
            score=score,
            comment=comment,
            source=survey.source,
            signed_by=form.signed_by if form else msgspec.UNSET,
            signed_at=form.signed_at if form else msgspec.UNSET,
        )
        events.append(self._record(session, case, body, actor, now, "customer"))
        if score <= LOW_SCORE:
            problem = orm.SurveyProblem(
                survey_id=survey.id,
                case_id=case.id,
                contract_id=case.contract_id,
                score=score,
                status="open",
                opened_at=now,
            )
            session.add(problem)
            session.flush()
            opened = SurveyProblemOpened(problem=problem.id, score=score, round=survey.round)
            events.append(self._record(session, case, opened, "system", now))

    def _view(self, survey: orm.Survey, case: orm.Case, now: datetime) -> SurveyView:
        lc = self.contracts.contracts.get(case.contract_id)
        return SurveyView(
            case_number=case.number,
            customer=lc.contract.customer.name if lc else case.customer_id,
            summary=case.summary,
            closed_at=survey.case_closed_at,
            expires_at=survey.expires_at,
            answered=survey.answered_at is not None,
            usable=_closed_reason(survey, now) is None,
        )

    # --- survey problems (the quality department) ------------------------------------------

    def survey_problems(self, *, status: str | None = None) -> list[SurveyProblemView]:
        with self.sessions() as session:
            stmt = select(orm.SurveyProblem).order_by(orm.SurveyProblem.id)
            if status is not None:
                stmt = stmt.where(orm.SurveyProblem.status == status)
            return [_problem_view(session, p) for p in session.scalars(stmt)]

    def survey_problem(self, problem_id: int) -> SurveyProblemView:
        with self.sessions() as session:
            return _problem_view(session, _problem(session, problem_id))

    def classify_problem(
        self, problem_id: int, cmd: Classify, *, actor: str, now: datetime
    ) -> SurveyProblemView:
        with self._unit() as (session, events):
            problem, case = self._open_problem(session, problem_id)
            problem.classification = cmd.classification
            body = SurveyProblemClassified(
                problem=problem.id, classification=cmd.classification, note=cmd.note
            )
            events.append(self._record(session, case, body, actor, now))
            session.flush()
            return _problem_view(session, problem)

    def add_problem_action(
        self, problem_id: int, cmd: NewAction, *, actor: str, now: datetime
    ) -> SurveyProblemView:
        with self._unit() as (session, events):
            problem, case = self._open_problem(session, problem_id)
            self._add_action(session, case, "survey_problem", problem.id, cmd, actor, now, events)
            return _problem_view(session, problem)

    def finish_problem_action(
        self, problem_id: int, action_id: int, cmd: ActionDone, *, actor: str, now: datetime
    ) -> SurveyProblemView:
        with self._unit() as (session, events):
            problem, case = self._open_problem(session, problem_id)
            row = self._action(session, "survey_problem", problem.id, action_id)
            self._finish_action(session, case, row, cmd, actor, now, events)
            session.flush()
            return _problem_view(session, problem)

    def close_problem(
        self, problem_id: int, cmd: CloseProblem, *, actor: str, now: datetime
    ) -> SurveyProblemView:
        """Closed once classified and every corrective action is done; the improvement, if
        given, is reported back to the customer on the case."""
        with self._unit() as (session, events):
            problem, case = self._open_problem(session, problem_id)
            if problem.classification is None:
                raise InvalidCommand(f"survey problem {problem_id} is not classified yet")
            self._require_actions_done(
                session, "survey_problem", problem.id, f"survey problem {problem_id}"
            )
            problem.status, problem.closed_at, problem.closed_by = "closed", now, actor
            problem.conclusion = cmd.conclusion
            body = SurveyProblemClosed(problem=problem.id, conclusion=cmd.conclusion)
            events.append(self._record(session, case, body, actor, now))
            self._report_improvement(
                session, case, "survey_problem", problem.id, cmd.improvement, actor, now, events
            )
            session.flush()
            return _problem_view(session, problem)

    def _open_problem(
        self, session: Session, problem_id: int
    ) -> tuple[orm.SurveyProblem, orm.Case]:
        problem = _problem(session, problem_id, lock=True)
        if problem.status != "open":
            raise SurveyProblemClosedError(problem_id)
        case = session.get(orm.Case, problem.case_id)
        assert case is not None  # a foreign key
        return problem, case


class SurveyProblemClosedError(InvalidCommand):
    """A closed survey problem takes no more steps."""

    title = "survey problem closed"

    def __init__(self, problem_id: int) -> None:
        super().__init__(f"survey problem {problem_id} is closed")


def survey_channels(wanted: Sequence[str], email: str | None, phone: str | None) -> list[str]:
    """The contract's survey channels the caller can be reached on: e-mail with an address,
    SMS with a mobile number (a landline takes no SMS)."""
    reachable = {
        "email": bool(email),
        "sms": bool(phone) and phone_problem(phone or "", mobile=True) is None,
    }
    return [channel for channel in wanted if reachable.get(channel)]


# --- rows and lookups ------------------------------------------------------------------------


def _by_token(session: Session, token: str, *, lock: bool) -> orm.Survey:
    if not token or len(token) > 200:
        raise NotFoundError(NO_SUCH_SURVEY)
    stmt = select(orm.Survey).where(orm.Survey.token_hash == hash_token(token))
    if lock:
        stmt = stmt.with_for_update()
    survey = session.scalars(stmt).one_or_none()
    if survey is None:
        raise NotFoundError(NO_SUCH_SURVEY)
    return survey


def _closed_reason(survey: orm.Survey, now: datetime) -> str | None:
    if survey.answered_at is not None or survey.used_at is not None:
        return "the survey was already answered"
    if not survey.current:
        return "the case was re-opened; a new survey follows when it is closed again"
    if now >= survey.expires_at:
        return f"the link expired at {survey.expires_at.isoformat()}"
    return None


def _check_usable(survey: orm.Survey, now: datetime) -> None:
    reason = _closed_reason(survey, now)
    if reason is not None:
        raise SurveyClosed(reason)


def _case_of(session: Session, survey: orm.Survey) -> orm.Case:
    case = session.get(orm.Case, survey.case_id, with_for_update=True)
    assert case is not None  # a foreign key
    return case


def _current(session: Session, case_id: int) -> orm.Survey | None:
    return session.scalars(
        select(orm.Survey).where(orm.Survey.case_id == case_id, orm.Survey.current.is_(True))
    ).one_or_none()


def _problem(session: Session, problem_id: int, *, lock: bool = False) -> orm.SurveyProblem:
    problem = session.get(orm.SurveyProblem, problem_id, with_for_update=lock or None)
    if problem is None:
        raise NotFoundError(f"no survey problem {problem_id}")
    return problem


def _problem_view(session: Session, problem: orm.SurveyProblem) -> SurveyProblemView:
    number = session.scalar(select(orm.Case.number).where(orm.Case.id == problem.case_id))
    comment = session.scalar(select(orm.Survey.comment).where(orm.Survey.id == problem.survey_id))
    return SurveyProblemView(
        id=problem.id,
        case_number=number or "",
        contract_id=problem.contract_id,
        score=problem.score,
        comment=comment,
        status=problem.status,
        classification=problem.classification,
        opened_at=problem.opened_at,
        closed_at=problem.closed_at,
        conclusion=problem.conclusion,
        actions=action_views(session, "survey_problem", problem.id),
    )


def _survey_row(
    case: orm.Case,
    survey: orm.Survey,
    event_seq: int,
    channel: str,
    variables: SurveyVariables,
    now: datetime,
) -> dict[str, Any]:
    """One outbox row to the caller, as the scheduler writes its rows (no clock, level 0)."""
    recipient = OutboxRecipient(
        id=f"caller:{case.number}",
        name=case.caller_name,
        role="customer",
        email=case.caller_email,
        mobile=case.caller_phone,
        locale="zh",
    )
    return {
        "case_id": case.id,
        "clock_id": None,
        "event_seq": event_seq,
        "level": 0,
        "channel": channel,
        "recipient": msgspec.to_builtins(recipient),
        "template": SURVEY_TEMPLATE,
        "variables": msgspec.to_builtins(variables),
        "idempotency_key": f"survey:{case.number}:{survey.round}:{channel}",
        "state": NotificationState.QUEUED.value,
        "attempts": 0,
        "last_error": None,
        "send_after": now,
        "created_at": now,
        "sent_at": None,
        "request_id": current_request_id(),
    }
