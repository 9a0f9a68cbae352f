"""Customer reports over HTTP: ``GET /api/v1/reports/{contract}`` (R-QUAL, docs/reports.md).

``period=2026Q3`` (or ``2026-09``), or ``from``/``to`` dates; ``format`` json (default),
csv (a zip of one table per section), html (the page with its charts) or pdf. Managers, the
quality department and admins see every contract; a customer token only its own contract's
(another contract is 404, as if it did not exist).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Response, get
from litestar.params import PathParameter, QueryParameter

from api.auth import authenticated, customer_scope
from api.deps import PrincipalDep, RuntimeDep
from api.schemas import problem_responses
from core import limits
from core.case import Role
from core.errors import NotFoundError
from core.reports.render import EXTENSIONS, MEDIA_TYPES, Format, render
from core.reports.service import contract_report, period_of

PREFIX = "/api/v1"
READERS = (
    Role.ADMIN,
    Role.SERVICE_MANAGER,
    Role.PROJECT_MANAGER,
    Role.GENERAL_MANAGER,
    Role.QUALITY_DEPARTMENT,
    Role.CUSTOMER,
)
DATE = r"^\d{4}-\d{2}-\d{2}$"
ID = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"

ContractId = Annotated[
    str, PathParameter(title="contract id", max_length=limits.IDENTIFIER, pattern=ID)
]
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


@get(
    f"{PREFIX}/reports/{{contract_id:str}}",
    operation_id="getReport",
    tags=["reports"],
    guards=[authenticated],
    opt={"roles": READERS},
    sync_to_thread=True,
    responses=problem_responses(400, 401, 403, 404),
)
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
    lc = runtime.contracts.contracts.get(contract_id)
    scope = customer_scope(principal)
    if lc is None or (scope is not None and scope != lc.contract.customer.id):
        raise NotFoundError(f"no contract {contract_id!r}")
    span = period_of(runtime.settings.timezone, period, first, to)
    with runtime.sessions() as session:
        report = contract_report(session, runtime.contracts, contract_id, span, now=runtime.clock())
    fmt = format
    body = render(report, fmt)
    name = f"{contract_id}-{span.label.replace('..', '_')}.{EXTENSIONS[fmt]}"
    headers = (
        {} if fmt in ("json", "html") else {"Content-Disposition": f'attachment; filename="{name}"'}
    )
    return Response(body, media_type=MEDIA_TYPES[fmt], headers=headers)
