"""The maintenance documents for signed-in users (R-MAINT; docs/documents.md): one download,
``/documents/{contract}/{kind}``, under the rules of GET /api/v1/documents — the same roles
(``api.documents.READERS``), a customer only its own contract's (another is a 404, as if it
did not exist) — and the links the portal and the case page offer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from litestar import Request, Response, get
from litestar.concurrency import sync_to_thread
from litestar.params import PathParameter, QueryParameter

from api.auth import customer_scope
from api.deps import runtime_of
from api.documents import READERS, CaseNumber, DocumentKind, Model, Period
from core import limits
from core.documents.assessment import model_of
from core.documents.render import MEDIA_TYPES, render
from core.documents.service import build_document
from core.errors import NotFoundError
from core.reports.period import previous_period
from core.runtime import Runtime
from web.auth import page_principal
from web.portal_reports import own_contracts

ContractId = Annotated[str, PathParameter(max_length=limits.IDENTIFIER)]
PageFormat = Annotated[Literal["html", "pdf"], QueryParameter(description="html or pdf")]


def document_url(contract_id: str, kind: str, format: str, **params: str) -> str:
    """The download's address (``format``: pdf or html)."""
    return f"/documents/{contract_id}/{kind}?" + urlencode({**params, "format": format})


def document_links(runtime: Runtime, customer_id: str, now: datetime) -> list[dict[str, str]]:
    """Per own contract: the plan, the stage summaries of the last full quarter and of the
    whole contract, the assessment of the whole contract, a manual per device model."""
    quarter = previous_period("quarter", now, runtime.settings.timezone).label
    links = []
    for contract_id in own_contracts(runtime, customer_id):
        contract = runtime.contracts.contracts[contract_id].contract
        models = sorted({model_of(d.model) for d in contract.devices})
        wanted = [
            ("doc_plan", "plan", "", {}),
            ("doc_summary_quarter", "summary", quarter, {"period": quarter}),
            ("doc_summary_contract", "summary", "", {"period": "contract"}),
            ("doc_assessment", "assessment", "", {"period": "contract"}),
            *(("doc_manual", "manual", model, {"model": model}) for model in models),
        ]
        for label, kind, arg, params in wanted:
            pdf, html = (document_url(contract_id, kind, f, **params) for f in ("pdf", "html"))
            links.append(
                {"contract": contract_id, "label": label, "arg": arg, "pdf": pdf, "html": html}
            )
    return links


@get("/documents/{contract_id:str}/{kind:str}", opt={"roles": READERS})
async def page_document(
    request: Request[Any, Any, Any],
    contract_id: ContractId,
    kind: DocumentKind,
    period: Period = None,
    case: CaseNumber = None,
    model: Model = None,
    format: PageFormat = "pdf",
) -> Response[Any]:
    """One document of a contract the signed-in user may read: a PDF download or a page."""
    principal = page_principal(request)
    runtime = runtime_of(request)

    def build() -> bytes | str:
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
        return render(doc, format)

    body = await sync_to_thread(build)
    headers = {"Cache-Control": "no-store"}
    if format == "pdf":
        name = "-".join(p for p in (contract_id, kind, period or case) if p) + ".pdf"
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return Response(body, media_type=MEDIA_TYPES[format], headers=headers)


DOCUMENT_ROUTES = [page_document]
