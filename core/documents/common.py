"""What every document shares: its header from the contract, the period it covers (a report
period, or ``contract``: the whole contract period), the contract's devices as rows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from core.contract import Contract
from core.documents.model import DeviceRow, Header, Kind
from core.errors import NaiveDatetimeError
from core.loaded import LoadedContract
from core.reports.period import ReportPeriod, date_range, parse_period
from core.store import document_sql

WHOLE_CONTRACT = "contract"  # --period contract: the contract's whole period (合同期末)


def document_period(lc: LoadedContract, text: str | None, tz: str) -> ReportPeriod:
    """``2026Q3``, ``2026-09`` or ``contract`` (default): InvalidPeriod (400) otherwise."""
    if text is None or text.strip() == WHOLE_CONTRACT:
        period = lc.contract.period
        return date_range(period.start.isoformat(), period.end.isoformat(), tz)
    return parse_period(text, tz)


def header(
    lc: LoadedContract,
    kind: Kind,
    title: str,
    now: datetime,
    tz: str,
    period: ReportPeriod | None = None,
) -> Header:
    if now.tzinfo is None or now.utcoffset() is None:
        raise NaiveDatetimeError("a document needs an aware `now`")
    c: Contract = lc.contract
    return Header(
        kind=kind,
        title=title,
        contract_id=c.id,
        customer_id=c.customer.id,
        customer_name=c.customer.name,
        contract_start=c.period.start,
        contract_end=c.period.end,
        project_manager=c.our_staff.project_manager.name,
        service_manager=c.our_staff.service_manager.name,
        generated_at=now,
        tz=tz,
        period_label=None if period is None else period.label,
        period_first=None if period is None else period.first,
        period_last=None if period is None else period.last,
    )


def device_rows(session: Session, contract: Contract, serials: list[str]) -> list[DeviceRow]:
    """The devices as the record holds them now (model, site, software version, environment),
    the contract's listing where nothing was recorded yet; in the order of ``serials``."""
    recorded = document_sql.device_rows(session, serials)
    out = []
    for serial in serials:
        listed = contract.device(serial)
        row = recorded.get(serial)
        out.append(
            DeviceRow(
                serial=serial,
                model=row.model if row is not None else (listed.model if listed else "?"),
                site=row.site
                if row is not None and row.site
                else (listed.site if listed else None),
                software_version=None if row is None else row.software_version,
                environment=None if row is None else row.environment,
            )
        )
    return out
