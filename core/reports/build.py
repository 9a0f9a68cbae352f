"""A report assembled from the SQL aggregations (core.store.report_sql) for one contract or,
in one pass per section, for many contracts sharing a period (the scheduler, the benchmark)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from core.errors import NaiveDatetimeError
from core.reports.model import (
    FirstTimeFix,
    Report,
    SatisfactionProvider,
    no_satisfaction,
)
from core.reports.period import ReportPeriod
from core.store import report_sql
from core.store.report_sql import Scope

MAJOR_CASES_SHOWN = 50  # the latest P1 cases listed with their timelines (the count is total)
NO_FIX = FirstTimeFix(resolved=0, fixed_first_time=0, reopened=0, revisited=0, rate=None)


@dataclass(frozen=True)
class Customer:
    """Who a report is about: the contract and its customer as the contract file names them."""

    contract_id: str
    customer_id: str
    name: str


def build_reports(
    session: Session,
    customers: Sequence[Customer],
    period: ReportPeriod,
    *,
    now: datetime,
    satisfaction: SatisfactionProvider = no_satisfaction,
    major_limit: int = MAJOR_CASES_SHOWN,
) -> list[Report]:
    """One report per customer, each section one query over all of them."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise NaiveDatetimeError("a report needs an aware `now`")
    report_sql.tune(session)
    scope = Scope([c.contract_id for c in customers], period.start, period.end, now)
    stats = report_sql.statistics(session, scope)
    clocks = report_sql.sla(session, scope)
    excluded = report_sql.exclusions(session, scope)
    fixes = report_sql.first_time_fix(session, scope)
    spreads = report_sql.percentiles(session, scope)
    rmas = report_sql.rma(session, scope)
    majors = report_sql.major_cases(session, scope, limit=major_limit)
    reports = []
    for c in customers:
        total, major = majors.get(c.contract_id, (0, []))
        reports.append(
            Report(
                contract_id=c.contract_id,
                customer_id=c.customer_id,
                customer_name=c.name,
                period=period,
                generated_at=now,
                statistics=stats.get(c.contract_id, []),
                major_total=total,
                major_cases=major,
                sla=clocks.get(c.contract_id, []),
                exclusions=excluded.get(c.contract_id, []),
                first_time_fix=fixes.get(c.contract_id, NO_FIX),
                percentiles=spreads.get(c.contract_id, []),
                rma=rmas.get(c.contract_id, []),
                satisfaction=satisfaction(session, c.contract_id, period, now),
            )
        )
    return reports


def build_report(
    session: Session,
    customer: Customer,
    period: ReportPeriod,
    *,
    now: datetime,
    satisfaction: SatisfactionProvider = no_satisfaction,
) -> Report:
    return build_reports(session, [customer], period, now=now, satisfaction=satisfaction)[0]
