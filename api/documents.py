"""The maintenance documents over HTTP: ``GET /api/v1/documents/{contract}/{kind}`` (R-MAINT
维护支持体系文档; docs/documents.md).

``kind``: plan, summary, implementation, assessment, manual; ``period`` (summary, assessment:
``2026Q3``, ``2026-09`` or ``contract``), ``case`` (implementation), ``model`` (manual);
``format`` json (default), html or pdf. Staff who plan, review and account for the maintenance
read every contract's; a customer token only its own contract's (another is 404, as if it did
not exist).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from litestar import Response
from litestar.params import PathParameter, QueryParameter

from api.deps import PrincipalDep, RuntimeDep
from api.downloads import ContractId, contract_download, file_response, readable_contract
from core import limits
from core.case import Role
from core.documents.render import MEDIA_TYPES, Format, render
from core.documents.service import build_document

if TYPE_CHECKING:
    from core.runtime import Runtime
    from core.store.tokens import Principal

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


@contract_download("/documents/{contract_id:str}/{kind:str}", "getDocument", "documents", READERS)
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
    body = document_body(
        runtime, principal, contract_id, kind, format, period=period, case=case, model=model
    )
    name = f"{contract_id}-{kind}.pdf" if format == "pdf" else None
    return file_response(body, MEDIA_TYPES[format], name)


def document_body(
    runtime: Runtime,
    principal: Principal,
    contract_id: str,
    kind: str,
    format: Format,
    *,
    period: str | None,
    case: str | None,
    model: str | None,
) -> bytes:
    """The document rendered, for a principal who may read the contract (else 404); the
    route's query parameters as it parsed them. Shared with the pages (web/documents.py)."""
    readable_contract(runtime, principal, contract_id)
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
    return render(doc, format)
