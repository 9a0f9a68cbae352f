"""阶段/定期服务总结 The stage or periodic service summary, and with the whole contract period
the stage report at contract end (合同期末阶段报告; seed: 服务合同结束后提供阶段服务报告): the
cases of the period by service type, the inspections and their findings, the change plans,
spares and RMAs, the SLA figures (core.store.report_sql, as the customer report counts them)
and what is still open at the document's ``now``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core.documents.common import header
from core.documents.model import (
    ChangeRow,
    FindingRow,
    InspectionRow,
    OpenCaseRow,
    RmaRow,
    SpareRow,
    StageSummaryDoc,
)
from core.loaded import LoadedContract
from core.reports.period import ReportPeriod
from core.store import document_sql, report_sql

OPEN_SHOWN = 50  # open cases listed (all are counted)
TITLES = {
    True: "合同期末阶段报告 Stage report at contract end",
    False: "阶段服务总结 Stage service summary",
}


def change_row(row: dict[str, Any]) -> ChangeRow:
    proposal, review, done = row["proposal"], row["review"] or {}, row["done"] or {}
    return ChangeRow(
        case_number=row["case_number"],
        seq=row["seq"],
        title=proposal["title"],
        change_kind=proposal["change_kind"],
        major=bool(proposal["major"]),
        plan=proposal["plan"],
        proposed_by=row["proposed_by"],
        proposed_at=row["proposed_at"],
        decision=review.get("decision"),
        reviewer=row["reviewer"],
        reviewed_at=row["reviewed_at"],
        review_comment=review.get("comment"),
        implemented_by=row["implemented_by"],
        implemented_at=row["implemented_at"],
        implementation_note=done.get("note"),
    )


def finding_rows(lc: LoadedContract, rows: list[dict[str, Any]]) -> list[FindingRow]:
    models = {d.serial: d.model for d in lc.contract.devices}
    return [FindingRow(model=models.get(r["serial"]), **r) for r in rows]


def build_summary(
    session: Session, lc: LoadedContract, period: ReportPeriod, *, now: datetime, tz: str
) -> StageSummaryDoc:
    contract = lc.contract
    at_end = (period.first, period.last) == (contract.period.start, contract.period.end)
    start, end = period.start, period.end
    report_sql.tune(session)
    scope = report_sql.Scope([contract.id], start, end, now)
    counts = report_sql.statistics(session, scope).get(contract.id, [])
    proposed = document_sql.changes(session, contract.id, start=start, end=end)
    changes = [change_row(r) for r in proposed]
    open_total, open_rows = document_sql.open_cases(session, contract.id, end, now, OPEN_SHOWN)
    pending = document_sql.changes(session, contract.id, end=end)
    return StageSummaryDoc(
        header=header(lc, "summary", TITLES[at_end], now, tz, period),
        contract_end=at_end,
        cases=[r for r in counts if r.dimension in ("all", "service_type")],
        inspections=inspection_rows(document_sql.inspections(session, contract.id, start, end)),
        findings=finding_rows(lc, document_sql.findings(session, contract.id, start, end)),
        changes=changes,
        spares=[SpareRow(**r) for r in document_sql.spares(session, contract.id, start, end)],
        rmas=[RmaRow(**r) for r in document_sql.rmas(session, contract.id, start, end)],
        sla=report_sql.sla(session, scope).get(contract.id, []),
        open_total=open_total,
        open_cases=[OpenCaseRow(**r) for r in open_rows],
        open_changes=[c for c in map(change_row, pending) if _pending(c, now)],
    )


def inspection_rows(rows: list[dict[str, Any]]) -> list[InspectionRow]:
    return [
        InspectionRow(
            plan=r["plan_id"],
            case_number=r["case_number"],
            start=r["start_at"],
            due=r["due_at"],
            status=r["status"],
            ok=r["ok"],
            findings=r["findings"],
        )
        for r in rows
    ]


def _pending(change: ChangeRow, now: datetime) -> bool:
    """Proposed and neither carried out nor rejected by ``now``."""
    done = change.implemented_at is not None and change.implemented_at <= now
    rejected = change.decision == "rejected" and (change.reviewed_at or now) <= now
    return not done and not rejected
