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

from api.deps import runtime_of
from api.documents import READERS, CaseNumber, DocumentKind, Model, Period, document_body
from api.downloads import file_response
from core import limits
from core.documents.assessment import model_of
from core.documents.render import MEDIA_TYPES
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
    body = await sync_to_thread(
        document_body,
        runtime,
        principal,
        contract_id,
        kind,
        format,
        period=period,
        case=case,
        model=model,
    )
    name = "-".join(p for p in (contract_id, kind, period or case) if p) + ".pdf"
    attachment = name if format == "pdf" else None
    return file_response(body, MEDIA_TYPES[format], attachment, {"Cache-Control": "no-store"})


DOCUMENT_ROUTES = [page_document]
