"""Periodic reports to customers (R-QUAL, issue 15 §4): at each period's end the scheduler
builds the report of every contract whose ``reports.every`` is monthly or quarterly, e-mails
the PDF to the contract's contacts and keeps a ``report_runs`` row for problem management.

Exactly once across schedulers, retried after a transient failure: the ``report_runs`` row
(unique contract, period) is the claim (core/jobs/runs.py). Only the period that ended last is
due: a new deployment does not send old ones.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec

from core.contract import Contract
from core.errors import NaiveDatetimeError
from core.jobs import runs
from core.jobs.runs import DEAD, SENT, Mail, RunPass
from core.notify import Recipient
from core.reports.period import ReportPeriod, parse_period, previous_period
from core.reports.render import to_pdf
from core.reports.service import contract_report, customer_of
from core.store.orm import ReportRun

if TYPE_CHECKING:
    from core.loaded import LoadedContract
    from core.runtime import Runtime

__all__ = ["DEAD", "SENT", "due_periods", "recipients_for", "report_pass"]
LEDGER = runs.Ledger(ReportRun, ("contract_id", "period"), "periodic_report", "report")


def due_periods(runtime: Runtime, now: datetime) -> list[tuple[LoadedContract, ReportPeriod]]:
    """Each reporting contract's period that ended last, if the contract ran in it."""
    tz = runtime.settings.timezone
    due = []
    for lc in runtime.contracts.contracts.values():
        every = lc.contract.reports.every
        if every == "off":
            continue
        period = previous_period("month" if every == "monthly" else "quarter", now, tz)
        term = lc.contract.period
        if period.last >= term.start and period.first <= term.end:
            due.append((lc, period))
    return due


def report_pass(runtime: Runtime, *, now: datetime, worker: str = "scheduler") -> RunPass:
    """Claim and send every due report no pass has sent yet, then retry failed ones."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise NaiveDatetimeError("a report pass needs an aware `now`")
    done = RunPass("reports", now)
    for lc, period in due_periods(runtime, now):
        run_id = LEDGER.claim(runtime, (lc.id, period.label), period, now, worker)
        if run_id is not None:
            _deliver(runtime, run_id, lc, period, done)
    for run_id, (contract_id, label) in LEDGER.retake(runtime, now, worker):
        found = runtime.contracts.contracts.get(contract_id)
        if found is None:
            done.errors.append(f"{contract_id} {label}: the contract is no longer loaded")
            continue
        _deliver(runtime, run_id, found, parse_period(label, runtime.settings.timezone), done)
    return done


def recipients_for(contract: Contract) -> list[Recipient]:
    """The contacts of the ``send-to`` roles with an e-mail; else the first with one."""
    return runs.recipients_for(contract, contract.reports.send_to)


def _deliver(
    runtime: Runtime, run_id: int, lc: LoadedContract, period: ReportPeriod, done: RunPass
) -> None:
    def build() -> Mail:
        with runtime.sessions() as session:
            report = contract_report(session, runtime.contracts, lc.id, period, now=done.now)
        filename = f"{lc.id}-{period.label}.pdf"
        totals = report.totals()
        variables: dict[str, Any] = {
            "customer": customer_of(lc).name,
            "contract_id": lc.id,
            "period": period.label,
            "first": period.first.isoformat(),
            "last": period.last.isoformat(),
            "attachment": filename,
            "cases": totals.cases if totals else 0,
            "major": report.major_total,
        }
        return Mail(to_pdf(report), filename, variables, {"figures": msgspec.to_builtins(report)})

    key = (lc.id, period.label)
    LEDGER.deliver(runtime, run_id, key, recipients_for(lc.contract), build, done)
