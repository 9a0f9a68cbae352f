"""Maintenance documents the scheduler e-mails (R-MAINT, issue 16 §2; docs/documents.md): the
stage report of the whole contract when its period ends (合同期末阶段报告: "服务合同结束后提供
阶段服务报告") and, at each month's or quarter's end, the periodic service summary the contract
asks for (``documents.summary-every``). Each is the stage-summary document as a PDF, mailed
to the contract's contacts of the ``documents.send-to`` roles.

Exactly once across schedulers, retried after a transient failure, as the periodic reports:
the ``document_runs`` row (unique contract, kind, period) is the claim (core/jobs/runs.py).
Only the period that ended last is due, and the stage report only within ``STAGE_WINDOW`` of
the contract's end: a new deployment does not send old ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, cast

from core.contract import Contract
from core.documents.common import document_period
from core.documents.render import render
from core.documents.summary import build_summary
from core.errors import NaiveDatetimeError
from core.jobs import runs
from core.jobs.runs import DEAD, FAILED, SENT, Mail, RunPass
from core.notify import Recipient
from core.reports.period import ReportPeriod, parse_period, previous_period
from core.store.orm import DocumentRun

if TYPE_CHECKING:
    from core.loaded import LoadedContract
    from core.runtime import Runtime

__all__ = ["DEAD", "FAILED", "SENT", "document_pass", "due_documents", "recipients_for"]
LEDGER = runs.Ledger(
    DocumentRun, ("contract_id", "kind", "period"), "maintenance_document", "document"
)
DocKind = Literal["stage", "summary"]
STAGE: DocKind = "stage"
SUMMARY: DocKind = "summary"
# ours: how long after the contract's end its stage report is still due (a scheduler down
# longer than this does not send it; nor does a deployment after a contract long ended)
STAGE_WINDOW = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Due:
    lc: LoadedContract
    kind: DocKind
    period: ReportPeriod

    @property
    def key(self) -> runs.Key:
        return (self.lc.id, self.kind, self.period.label)


def due_documents(runtime: Runtime, now: datetime) -> list[Due]:
    """Per contract: its stage report when its period ended within ``STAGE_WINDOW``; its
    periodic summary of the month or quarter that ended last, if the contract ran in it."""
    tz = runtime.settings.timezone
    due = []
    for lc in runtime.contracts.contracts.values():
        wanted = lc.contract.documents
        if wanted.stage_report:
            whole = document_period(lc, None, tz)
            if whole.end <= now < whole.end + STAGE_WINDOW:
                due.append(Due(lc, STAGE, whole))
        if wanted.summary_every != "off":
            period = previous_period(
                "month" if wanted.summary_every == "monthly" else "quarter", now, tz
            )
            term = lc.contract.period
            if period.last >= term.start and period.first <= term.end:
                due.append(Due(lc, SUMMARY, period))
    return due


def document_pass(runtime: Runtime, *, now: datetime, worker: str = "scheduler") -> RunPass:
    """Claim and send every due document no pass has sent yet, then retry failed ones."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise NaiveDatetimeError("a document pass needs an aware `now`")
    done = RunPass("documents", now)
    for due in due_documents(runtime, now):
        run_id = LEDGER.claim(runtime, due.key, due.period, now, worker)
        if run_id is not None:
            _deliver(runtime, run_id, due, done)
    for run_id, (contract_id, kind, label) in LEDGER.retake(runtime, now, worker):
        lc = runtime.contracts.contracts.get(contract_id)
        if lc is None:
            done.errors.append(f"{contract_id} {kind} {label}: the contract is no longer loaded")
            continue
        tz = runtime.settings.timezone
        span = document_period(lc, None, tz) if kind == STAGE else parse_period(label, tz)
        _deliver(runtime, run_id, Due(lc, cast("DocKind", kind), span), done)
    return done


def recipients_for(contract: Contract) -> list[Recipient]:
    """The contacts of the ``documents.send-to`` roles with an e-mail; else the first."""
    return runs.recipients_for(contract, contract.documents.send_to)


def _deliver(runtime: Runtime, run_id: int, due: Due, done: RunPass) -> None:
    def build() -> Mail:
        lc, period = due.lc, due.period
        with runtime.sessions() as session:
            doc = build_summary(session, lc, period, now=done.now, tz=runtime.settings.timezone)
        pdf = render(doc, "pdf")
        assert isinstance(pdf, bytes)
        filename = f"{lc.id}-summary-{'contract' if due.kind == STAGE else period.label}.pdf"
        variables: dict[str, Any] = {
            "customer": lc.contract.customer.name,
            "contract_id": lc.id,
            "stage": due.kind == STAGE,
            "title": doc.header.title,
            "period": period.label,
            "first": period.first.isoformat(),
            "last": period.last.isoformat(),
            "attachment": filename,
        }
        return Mail(pdf, filename, variables)

    LEDGER.deliver(runtime, run_id, due.key, recipients_for(due.lc.contract), build, done)
