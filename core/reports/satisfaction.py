"""The report's satisfaction and complaint section, from the quality module (issue 15 §1–3).

The trend is the quarterly promise of each quarter the period touches and of the
``TREND_BEFORE`` quarters before it (the handbook's figure beside the figure over answers,
with the unanswered count, each quarter as `core.store.quality.quarterly_result` computes it
for the quarter-end report: the same numbers); quarters not begun at ``now`` are left out.
Complaint counts are over the report's own period.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from sqlalchemy.orm import Session

from core.loaded import ContractSet, LoadedContract
from core.quality import Quarter, QuarterlyResult
from core.reports.model import (
    SatisfactionPoint,
    SatisfactionProvider,
    SatisfactionSection,
)
from core.reports.period import ReportPeriod
from core.store.quality import complaint_counts, quarterly_result

TREND_BEFORE = 3  # quarters shown before the period's first, for the trend
NOTE = (
    "per quarter: cases that arose and closed in it; the handbook's figure counts an "
    "unanswered survey as the contract's rule says"
)


def provider_for(contracts: ContractSet) -> SatisfactionProvider:
    """The section for a contract of ``contracts`` (what the API, CLI and scheduler use)."""

    def section(
        session: object, contract_id: str, period: ReportPeriod, now: datetime
    ) -> SatisfactionSection:
        assert isinstance(session, Session)
        return satisfaction_section(session, contracts.get(contract_id), period, now)

    return section


def satisfaction_section(
    session: Session, lc: LoadedContract, period: ReportPeriod, now: datetime
) -> SatisfactionSection:
    tz = lc.calendar("duty").tz
    results = [
        quarterly_result(session, lc, quarter, now=now)
        for quarter in trend_quarters(period, now, tz)
    ]
    counts = complaint_counts(session, lc.id, period.start, period.end)
    return SatisfactionSection(
        available=True,
        note=NOTE,
        unanswered_rule=lc.contract.survey.unanswered,
        trend=[_point(result) for result in results],
        complaints_opened=counts.opened,
        complaints_closed=counts.closed,
        complaints_open=counts.still_open,
        complaint_first_reply_breaches=counts.first_reply_breaches,
    )


def trend_quarters(period: ReportPeriod, now: datetime, tz: tzinfo) -> list[Quarter]:
    """The quarters from ``TREND_BEFORE`` before the period's first to its last, oldest
    first, without those that begin after ``now``."""
    quarter = Quarter.of(period.start, tz)
    last = Quarter.of(period.end - timedelta(microseconds=1), tz)
    for _ in range(TREND_BEFORE):
        quarter = quarter.previous
    quarters = []
    while quarter <= last:
        if quarter.bounds(tz)[0] <= now:
            quarters.append(quarter)
        quarter = quarter.next
    return quarters


def _point(result: QuarterlyResult) -> SatisfactionPoint:
    return SatisfactionPoint(
        period=result.quarter,
        cases=result.cases,
        answered=result.answered,
        unanswered=result.unanswered,
        handbook_score=result.handbook_figure,
        answers_score=result.answered_figure,
        target=result.target,
        met=result.met,
    )
