"""One contract's report as the API, the CLI and the scheduler ask for it: the customer from
the contract file, the period in the desk's zone (``settings.timezone``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from core.loaded import ContractSet, LoadedContract
from core.reports import satisfaction
from core.reports.build import Customer, build_report
from core.reports.model import Report
from core.reports.period import InvalidPeriod, ReportPeriod, date_range, parse_period


def customer_of(lc: LoadedContract) -> Customer:
    c = lc.contract
    return Customer(contract_id=c.id, customer_id=c.customer.id, name=c.customer.name)


def period_of(
    tz: str, period: str | None, first: str | None = None, last: str | None = None
) -> ReportPeriod:
    """``period`` (2026Q3, 2026-09) or the dates ``first``..``last``: exactly one of them."""
    if period is not None and (first is not None or last is not None):
        raise InvalidPeriod("period", "give either a period or from/to, not both")
    if period is not None:
        return parse_period(period, tz)
    if first is None or last is None:
        raise InvalidPeriod("period", "give a period (2026Q3, 2026-09) or both from and to")
    return date_range(first, last, tz)


def contract_report(
    session: Session,
    contracts: ContractSet,
    contract_id: str,
    period: ReportPeriod,
    *,
    now: datetime,
) -> Report:
    """The report of ``contract_id`` (NotFoundError when no such contract is loaded)."""
    customer = customer_of(contracts.get(contract_id))
    section = satisfaction.provider_for(contracts)
    return build_report(session, customer, period, now=now, satisfaction=section)
