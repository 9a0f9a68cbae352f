"""One document as the API and the CLI ask for it: which kind, of which contract, for which
period (summary, assessment), case (implementation) or model (manual)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from core.documents.assessment import build_assessment
from core.documents.common import document_period
from core.documents.implementation import build_implementation
from core.documents.manual import build_manual
from core.documents.model import KINDS, Document
from core.documents.plan import build_plan
from core.documents.summary import build_summary
from core.errors import InvalidField
from core.loaded import ContractSet
from core.reports.period import ReportPeriod

NEEDS = {"implementation": "case", "manual": "model"}
TAKES = {
    "plan": set(),
    "summary": {"period"},
    "implementation": {"case"},
    "assessment": {"period"},
    "manual": {"model"},
}


def check_request(
    contracts: ContractSet,
    kind: str,
    contract_id: str,
    *,
    tz: str,
    period: str | None = None,
    case: str | None = None,
    model: str | None = None,
) -> ReportPeriod | None:
    """What can be refused before the database is asked: NotFoundError for an unknown
    contract; InvalidField (400) for an unknown kind, a parameter missing or one the kind does
    not take; InvalidPeriod for a bad period (``2026Q3``, ``2026-09`` or ``contract``, the
    default). The period the summary or the assessment covers (None for the other kinds)."""
    if kind not in KINDS:
        raise InvalidField("kind", f"{kind!r} is not a document kind ({', '.join(KINDS)})")
    lc = contracts.get(contract_id)
    given = {
        name for name, value in (("period", period), ("case", case), ("model", model)) if value
    }
    if extra := sorted(given - TAKES[kind]):
        raise InvalidField(extra[0], f"the {kind} document takes no {extra[0]}")
    if kind in NEEDS and NEEDS[kind] not in given:
        raise InvalidField(NEEDS[kind], f"the {kind} document needs a {NEEDS[kind]}")
    return document_period(lc, period, tz) if "period" in TAKES[kind] else None


def build_document(
    session: Session,
    contracts: ContractSet,
    kind: str,
    contract_id: str,
    *,
    now: datetime,
    tz: str,
    period: str | None = None,
    case: str | None = None,
    model: str | None = None,
) -> Document:
    """The document (``check_request`` first); NotFoundError also for a case not under the
    contract, one without a change plan, or a model none of its devices is."""
    span = check_request(contracts, kind, contract_id, tz=tz, period=period, case=case, model=model)
    lc = contracts.get(contract_id)
    if kind == "plan":
        return build_plan(session, lc, now=now, tz=tz)
    if kind == "implementation":
        assert case is not None
        return build_implementation(session, lc, case, now=now, tz=tz)
    if kind == "manual":
        assert model is not None
        return build_manual(session, lc, model, now=now, tz=tz)
    assert span is not None
    if kind == "summary":
        return build_summary(session, lc, span, now=now, tz=tz)
    return build_assessment(session, lc, span, now=now, tz=tz)
