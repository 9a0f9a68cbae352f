"""实施方案/实施报告 The implementation proposal or report of a case with a change plan
(core/desk/changes.py, 专家审核评估制度): each plan as proposed, the expert group's decision with
who and when, and what was done (the implementation note, the case's resolution). A proposal
while none of its changes was carried out, a report once one was (the record as it
stands; ``now`` dates the document)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core.documents.common import device_rows, header
from core.documents.model import ImplementationDoc, WorkStep
from core.documents.summary import change_row
from core.errors import NotFoundError
from core.loaded import LoadedContract
from core.store import document_sql

WORK: dict[str, Callable[[dict[str, Any]], str]] = {
    "onsite_solution_approved": lambda p: (
        f"方案经 {p['approved_by']} 批准 solution approved: "
        f"{p['solution']} (实施 carried out by {p['carried_out_by']})"
    ),
    "onsite_operation_approved": lambda p: f"{p['operation']}: {p['approved_by']} 批准 approved",
    "onsite_operation_performed": lambda p: f"{p['operation']}: {p['description']}",
    "device_changed": lambda p: (
        f"{p['serial']}: "
        + "; ".join(
            f"{k} {v.get('from') or '–'} → {v.get('to') or '–'}" for k, v in p["changes"].items()
        )
    ),
    "onsite_report_signed": lambda p: (
        f"现场服务报告 {p['signed_by']} 签字 report signed: {p['summary']}"
    ),
}
TITLES = {
    True: "实施报告 Implementation report",
    False: "实施方案 Implementation proposal",
}


def build_implementation(
    session: Session, lc: LoadedContract, number: str, *, now: datetime, tz: str
) -> ImplementationDoc:
    """NotFoundError: no such case under this contract, or the case has no change plan."""
    case = document_sql.case_by_number(session, number)
    if case is None or case.contract_id != lc.id:
        raise NotFoundError(f"no case {number!r} under contract {lc.id}")
    rows = document_sql.changes(session, lc.id, case_id=case.id)
    if not rows:
        raise NotFoundError(
            f"case {number} has no change plan: an implementation proposal or report is "
            "about a change proposed on the case (POST /cases/{number}/changes)"
        )
    changes = [change_row(r) for r in rows]
    implemented = any(c.implemented_at is not None for c in changes)
    resolved = case.resolved_at
    device = (
        device_rows(session, lc.contract, [case.device_serial])[0] if case.device_serial else None
    )
    return ImplementationDoc(
        header=header(lc, "implementation", TITLES[implemented], now, tz),
        case_number=case.number,
        summary=case.summary,
        category=case.category,
        status=case.status,
        device=device,
        site=case.site,
        opened_at=case.opened_at,
        resolved_at=resolved,
        resolution=document_sql.resolution_of(session, case.id) if resolved else None,
        changes=changes,
        work=work_steps(session, case.id),
        implemented=implemented,
    )


def work_steps(session: Session, case_id: int) -> list[WorkStep]:
    """The customer-visible work steps, and the device records changed during the case (an
    internal event, but the documents show the device records anyway): notes, calls and
    credential views stay out."""
    return [
        WorkStep(seq=e.seq, at=e.at, kind=e.kind, actor=e.actor, detail=_detail(e.kind, e.payload))
        for e in document_sql.case_events(
            session, case_id, tuple(WORK), also_internal=("device_changed",)
        )
    ]


def _detail(kind: str, payload: dict[str, Any]) -> str:
    return WORK[kind](payload)
