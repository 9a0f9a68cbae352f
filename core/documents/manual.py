"""维护手册模板 The maintenance manual template of one device model (维护服务技术手册: "就常见的系统
问题和预防等提出了合理的建议和模板"): the contract's devices of the model with their recorded
environment and software version, the inspection checklist and deliverables of the
periodic-inspection service type as a record sheet to fill in, the model's fault history by
service type and its latest inspection findings, and the knowledge base's entries for it (the
ones the customer may read)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy.orm import Session

from core.case import Category
from core.documents.assessment import model_of
from core.documents.common import device_rows, header
from core.documents.model import Item, KnownProblem, ManualDoc
from core.documents.summary import finding_rows
from core.errors import NotFoundError
from core.loaded import LoadedContract
from core.service_types import effective_service_type
from core.store import document_sql

TITLE = "维护手册模板 Maintenance manual template"
FINDINGS_SHOWN = 20
PROBLEMS_SHOWN = 20


def build_manual(
    session: Session, lc: LoadedContract, model: str, *, now: datetime, tz: str
) -> ManualDoc:
    """NotFoundError when no device of the contract is of ``model`` (the recorded model, with
    or without its note in brackets)."""
    contract = lc.contract
    wanted = model_of(model.strip())
    serials = [d.serial for d in contract.devices if model_of(d.model) == wanted]
    if not serials:
        known = sorted({model_of(d.model) for d in contract.devices})
        raise NotFoundError(
            f"contract {lc.id} has no device of model {model!r} (its models: {'; '.join(known)})"
        )
    counts = document_sql.fault_counts(session, contract.id, None, None, serials)
    categories: Counter[str] = Counter()
    for row in counts:
        categories[row["category"]] += row["cases"]
    findings = finding_rows(lc, document_sql.findings(session, contract.id, None, None, serials))
    service = effective_service_type(str(Category.PERIODIC_INSPECTION), contract.service_types)
    models = sorted({d.model for d in contract.devices if d.serial in serials})
    entries = [
        e
        for name in {wanted, *models}
        for e in document_sql.known_problems(session, name, contract.customer.id, PROBLEMS_SHOWN)
    ]
    return ManualDoc(
        header=header(lc, "manual", TITLE, now, tz),
        model=wanted,
        devices=device_rows(session, contract, serials),
        checklist=[Item(id=i.id, text=i.text) for i in service.checklist],
        deliverables=[Item(id=d.id, text=d.label) for d in service.deliverables],
        fault_categories=dict(categories.most_common()),
        findings=findings[-FINDINGS_SHOWN:],
        known_problems=[
            KnownProblem(
                title=e.title,
                problem=e.problem,
                cause=e.cause,
                fix=e.fix,
                case_number=e.case_number,
            )
            for e in sorted(entries, key=lambda e: (-e.updated_at.timestamp(), e.id))
        ][:PROBLEMS_SHOWN],
    )
