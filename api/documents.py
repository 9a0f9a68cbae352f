"""The maintenance documents over HTTP: ``GET /api/v1/documents/{contract}/{kind}`` (R-MAINT
维护支持体系文档; docs/documents.md).

``kind``: plan, summary, implementation, assessment, manual; ``period`` (summary, assessment:
``2026Q3``, ``2026-09`` or ``contract``), ``case`` (implementation), ``model`` (manual);
``format`` json (default), html or pdf. Staff who plan, review and account for the maintenance
read every contract's; a customer token only its own contract's (another is 404, as if it did
not exist).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Response, get
from litestar.params import PathParameter, QueryParameter

from api.auth import authenticated, customer_scope
from api.deps import PrincipalDep, RuntimeDep
from api.reports import ContractId
from api.schemas import problem_responses
from core import limits
from core.case import Role
from core.documents.render import MEDIA_TYPES, Format, render
from core.documents.service import build_document
from core.errors import NotFoundError

PREFIX = "/api/v1"
READERS = (
    Role.ADMIN,
    Role.SERVICE_MANAGER,
    Role.PROJECT_MANAGER,
    Role.GENERAL_MANAGER,
    Role.QUALITY_DEPARTMENT,
    Role.ENGINEER,
    Role.EXPERT_GROUP,
    Role.CUSTOMER,
)
DocumentKind = Annotated[
    Literal["plan", "summary", "implementation", "assessment", "manual"],
    PathParameter(title="document kind"),
]
Period = Annotated[
    str | None,
    QueryParameter(
        description="summary, assessment: a quarter (`2026Q3`), a month (`2026-09`) or "
        "`contract` (the whole contract period, the default)",
        pattern=r"^(\d{4}(Q[1-4]|-\d{2})|contract)$",
    ),
]
CaseNumber = Annotated[
    str | None,
    QueryParameter(description="implementation: the case number", max_length=32, min_length=1),
]
Model = Annotated[
    str | None,
    QueryParameter(description="manual: the device model", max_length=limits.NAME, min_length=1),
]
DocumentFormat = Annotated[Format, QueryParameter(description="json, html or pdf")]


@get(
    f"{PREFIX}/documents/{{contract_id:str}}/{{kind:str}}",
    operation_id="getDocument",
    tags=["documents"],
    guards=[authenticated],
    opt={"roles": READERS},
    sync_to_thread=True,
    responses=problem_responses(400, 401, 403, 404),
)
def get_document(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    contract_id: ContractId,
    kind: DocumentKind,
    period: Period = None,
    case: CaseNumber = None,
    model: Model = None,
    format: DocumentFormat = "json",  # the query parameter's name, as the problem names it
) -> Response[Any]:
    """A maintenance document of a contract, generated from the record: the maintenance plan,
    a stage summary, a case's implementation proposal or report, the assessment with
    preventive advice, or a device model's maintenance manual template."""
    lc = runtime.contracts.contracts.get(contract_id)
    scope = customer_scope(principal)
    if lc is None or (scope is not None and scope != lc.contract.customer.id):
        raise NotFoundError(f"no contract {contract_id!r}")
    with runtime.sessions() as session:
        doc = build_document(
            session,
            runtime.contracts,
            kind,
            contract_id,
            now=runtime.clock(),
            tz=runtime.settings.timezone,
            period=period,
            case=case,
            model=model,
        )
    body = render(doc, format)
    headers = {}
    if format == "pdf":
        name = f"{contract_id}-{kind}.pdf"
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return Response(body, media_type=MEDIA_TYPES[format], headers=headers)
