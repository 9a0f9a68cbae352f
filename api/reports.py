"""Customer reports over HTTP: ``GET /api/v1/reports/{contract}`` (R-QUAL, docs/reports.md).

``period=2026Q3`` (or ``2026-09``), or ``from``/``to`` dates; ``format`` json (default),
csv (a zip of one table per section), html (the page with its charts) or pdf. Managers, the
quality department and admins see every contract; a customer token only its own contract's
(another contract is 404, as if it did not exist).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Response
from litestar.params import QueryParameter

from api.deps import PrincipalDep, RuntimeDep
from api.downloads import ContractId, contract_download, file_response, readable_contract
from core.case import Role
from core.reports.render import EXTENSIONS, MEDIA_TYPES, Format, render
from core.reports.service import contract_report, period_of

READERS = (
    Role.ADMIN,
    Role.SERVICE_MANAGER,
    Role.PROJECT_MANAGER,
    Role.GENERAL_MANAGER,
    Role.QUALITY_DEPARTMENT,
    Role.CUSTOMER,
)
DATE = r"^\d{4}-\d{2}-\d{2}$"
Period = Annotated[
    str | None,
    QueryParameter(
        description="a quarter (`2026Q3`) or a month (`2026-09`); else `from` and `to`",
        pattern=r"^\d{4}(Q[1-4]|-\d{2})$",
    ),
]
From = Annotated[
    str | None, QueryParameter(name="from", description="first local date", pattern=DATE)
]
To = Annotated[str | None, QueryParameter(description="last local date (inclusive)", pattern=DATE)]
ReportFormat = Annotated[Format, QueryParameter(description="json, csv (a zip), html or pdf")]


@contract_download("/reports/{contract_id:str}", "getReport", "reports", READERS)
def get_report(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    contract_id: ContractId,
    period: Period = None,
    first: From = None,
    to: To = None,
    format: ReportFormat = "json",  # the query parameter's name, as the problem names it
) -> Response[Any]:
    """A contract's report for a period: case statistics, major cases with their timelines,
    SLA compliance, first-time fix and response percentiles, RMA turnaround, satisfaction."""
    readable_contract(runtime, principal, contract_id)
    span = period_of(runtime.settings.timezone, period, first, to)
    with runtime.sessions() as session:
        report = contract_report(session, runtime.contracts, contract_id, span, now=runtime.clock())
    name = f"{contract_id}-{span.label.replace('..', '_')}.{EXTENSIONS[format]}"
    attachment = None if format in ("json", "html") else name
    return file_response(render(report, format), MEDIA_TYPES[format], attachment)
