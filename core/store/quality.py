"""The quarter's satisfaction sums in SQL (R-QUAL; both back ends, the same statement).

The population: a contract's cases whose **current** survey (the latest close; a re-opened
case's earlier survey no longer counts) belongs to a case that arose and was closed within
[start, end), outside-contract cases left out. One aggregate statement counts the cases,
the answers and the score sum, and the same three over the cases without a recorded
exclusion cause (``FILTER``); a second lists the cases with such a cause.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.orm import Session

from core.loaded import LoadedContract
from core.quality import ExcludedCase, Quarter, QuarterlyResult, QuarterSums, build_result
from core.store.orm import Case, Complaint, SlaClock, Survey

__all__ = ["quarter_exclusions", "quarter_sums", "quarterly_result"]


def _population(contract_id: str, start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    return [
        Survey.contract_id == contract_id,
        Survey.current.is_(True),
        Survey.case_opened_at >= start,
        Survey.case_opened_at < end,
        Survey.case_closed_at >= start,
        Survey.case_closed_at < end,
        Case.out_of_contract.is_(False),
    ]


def _excluded(causes: Sequence[str]) -> ColumnElement[bool]:
    """The case has a clock whose breach carries one of the contract's exclusion causes."""
    return exists().where(
        and_(SlaClock.case_id == Survey.case_id, SlaClock.exclusion_cause.in_(list(causes)))
    )


def quarter_sums(
    session: Session, contract_id: str, start: datetime, end: datetime, causes: Sequence[str]
) -> QuarterSums:
    """Cases, answers and score sum of the quarter, overall and without excluded cases."""
    covered = ~_excluded(causes) if causes else Survey.id.is_not(None)
    stmt = (
        select(
            func.count(),
            func.count(Survey.score),
            func.coalesce(func.sum(Survey.score), 0),
            func.count().filter(covered),
            func.count(Survey.score).filter(covered),
            func.coalesce(func.sum(Survey.score).filter(covered), 0),
        )
        .select_from(Survey)
        .join(Case, Case.id == Survey.case_id)
        .where(*_population(contract_id, start, end))
    )
    row: Any = session.execute(stmt).one()
    return QuarterSums(
        cases=int(row[0]),
        answered=int(row[1]),
        score_sum=int(row[2]),
        covered_cases=int(row[3]),
        covered_answered=int(row[4]),
        covered_score_sum=int(row[5]),
    )


def quarter_exclusions(
    session: Session, contract_id: str, start: datetime, end: datetime, causes: Sequence[str]
) -> list[ExcludedCase]:
    """The quarter's cases with a recorded exclusion cause, by case number."""
    if not causes:
        return []
    stmt = (
        select(Case.number, SlaClock.exclusion_cause, Survey.score)
        .select_from(Survey)
        .join(Case, Case.id == Survey.case_id)
        .join(SlaClock, SlaClock.case_id == Survey.case_id)
        .where(*_population(contract_id, start, end), SlaClock.exclusion_cause.in_(list(causes)))
        .distinct()
        .order_by(Case.number, SlaClock.exclusion_cause)
    )
    found: dict[str, tuple[list[str], int | None]] = {}
    for number, cause, score in session.execute(stmt):
        found.setdefault(number, ([], score))[0].append(str(cause))
    return [ExcludedCase(case_number=n, causes=c, score=s) for n, (c, s) in found.items()]


def quarterly_result(
    session: Session, lc: LoadedContract, quarter: Quarter, *, now: datetime
) -> QuarterlyResult:
    """The contract's quarter (its duty calendar's zone draws the quarter's edges): the
    handbook's figure and the figure over answers, from SQL's sums."""
    contract = lc.contract
    start, end = quarter.bounds(lc.calendar("duty").tz)
    causes = list(contract.exclusions)
    return build_result(
        contract_id=lc.id,
        customer_id=contract.customer.id,
        customer=contract.customer.name,
        quarter=quarter,
        rule=contract.survey.unanswered,
        target=contract.survey.target,
        sums=quarter_sums(session, lc.id, start, end, causes),
        exclusions=quarter_exclusions(session, lc.id, start, end, causes),
        generated_at=now,
    )


class ComplaintCounts(msgspec.Struct, frozen=True, kw_only=True):
    """A contract's complaints over ``[start, end)``: received, closed, still open at the end,
    and first replies that missed their clock (complaint cases' ``complaint_first_reply``
    breached within the period)."""

    opened: int
    closed: int
    still_open: int
    first_reply_breaches: int


def complaint_counts(
    session: Session, contract_id: str, start: datetime, end: datetime
) -> ComplaintCounts:
    """One aggregate over the complaints table and one over their first-reply clocks."""
    c = Complaint
    opened = func.count().filter(and_(c.received_at >= start, c.received_at < end))
    closed = func.count().filter(and_(c.closed_at >= start, c.closed_at < end))
    still = func.count().filter(
        and_(c.received_at < end, (c.closed_at.is_(None)) | (c.closed_at >= end))
    )
    row = session.execute(select(opened, closed, still).where(c.contract_id == contract_id)).one()
    breaches = session.scalar(
        select(func.count())
        .select_from(SlaClock)
        .join(c, c.case_id == SlaClock.case_id)
        .where(
            c.contract_id == contract_id,
            SlaClock.kind == "complaint_first_reply",
            SlaClock.breached_at >= start,
            SlaClock.breached_at < end,
        )
    )
    return ComplaintCounts(
        opened=row[0], closed=row[1], still_open=row[2], first_reply_breaches=breaches or 0
    )
