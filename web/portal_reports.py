"""The customer's reports on the portal: the periods their scheduled reports were sent for
(``report_runs``) and the last full quarter, each as PDF, HTML or CSV — built by the same
core functions as GET /api/v1/reports/{contract} (core/reports), for the customer's own
contracts only (another contract is a 404, as in the API)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.concurrency import sync_to_thread
from litestar.params import PathParameter, QueryParameter
from sqlalchemy import select

from api.auth import customer_scope
from api.deps import runtime_of
from core import limits
from core.errors import NotFoundError
from core.reports.period import previous_period
from core.reports.render import EXTENSIONS, MEDIA_TYPES, Format, render
from core.reports.service import contract_report, period_of
from core.runtime import Runtime
from core.store import orm
from web.auth import page_principal
from web.nav import CUSTOMERS

SHOWN = 8  # periods listed per contract, newest first
ContractId = Annotated[str, PathParameter(max_length=limits.IDENTIFIER)]
Period = Annotated[str, QueryParameter(pattern=r"^\d{4}(Q[1-4]|-\d{2})$")]
ReportFormat = Annotated[Format, QueryParameter()]


def own_contracts(runtime: Runtime, customer_id: str) -> list[str]:
    return sorted(
        cid
        for cid, lc in runtime.contracts.contracts.items()
        if lc.contract.customer.id == customer_id
    )


def _sent_periods(runtime: Runtime, contract_id: str) -> list[str]:
    with runtime.sessions() as session:
        rows = session.scalars(
            select(orm.ReportRun.period)
            .where(orm.ReportRun.contract_id == contract_id, orm.ReportRun.state == "sent")
            .order_by(orm.ReportRun.period_start.desc())
            .limit(SHOWN)
        ).all()
    return list(rows)


def report_links(runtime: Runtime, customer_id: str, now: datetime) -> list[dict[str, str]]:
    """Per own contract: the periods reports were sent for, and the last full quarter."""
    last_quarter = previous_period("quarter", now, runtime.settings.timezone).label
    links = []
    for contract_id in own_contracts(runtime, customer_id):
        periods = _sent_periods(runtime, contract_id)
        if last_quarter not in periods:
            periods.insert(0, last_quarter)
        for period in periods[:SHOWN]:
            links.append(
                {
                    "contract": contract_id,
                    "period": period,
                    "base": f"/portal/reports/{contract_id}?period={period}",
                }
            )
    return links


@get("/portal/reports/{contract_id:str}", opt={"roles": CUSTOMERS})
async def portal_report(
    request: Request[Any, Any, Any],
    contract_id: ContractId,
    period: Period,
    format: ReportFormat = "pdf",
) -> Response[Any]:
    """One report of one of the customer's own contracts, as a download (HTML: a page)."""
    principal = page_principal(request)
    runtime = runtime_of(request)

    def build() -> bytes | str:
        lc = runtime.contracts.contracts.get(contract_id)
        if lc is None or lc.contract.customer.id != customer_scope(principal):
            raise NotFoundError(f"no contract {contract_id!r}")
        span = period_of(runtime.settings.timezone, period)
        with runtime.sessions() as session:
            report = contract_report(
                session, runtime.contracts, contract_id, span, now=runtime.clock()
            )
        return render(report, format)

    body = await sync_to_thread(build)
    name = f"{contract_id}-{period}.{EXTENSIONS[format]}"
    disposition = "inline" if format in ("json", "html") else "attachment"
    headers = {
        "Content-Disposition": f'{disposition}; filename="{name}"',
        "Cache-Control": "no-store",
    }
    return Response(body, media_type=MEDIA_TYPES[format], headers=headers)


PORTAL_REPORT_ROUTES = [portal_report]
