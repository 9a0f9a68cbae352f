"""Periodic reports to customers (R-QUAL, issue 15 §4): at each period's end the scheduler
builds the report of every contract whose ``reports.every`` is monthly or quarterly, e-mails
the PDF to the contract's contacts and keeps a ``report_runs`` row for problem management.

Exactly once across schedulers: the row is the claim. A pass INSERTs ``(contract, period)``
with ON CONFLICT DO NOTHING; only the pass whose insert took the row builds and sends. A
transient delivery failure leaves the row ``failed`` with its next attempt planned, and a
later pass takes it back with a compare-and-set UPDATE (the same attempt count), so again one
pass wins. Only the period that ended last is due: a new deployment does not send old ones.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import msgspec
from sqlalchemy import CursorResult, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.contract import Contract
from core.errors import CasetrackError, NaiveDatetimeError
from core.notify import Attachment, Delivery, Notice, Recipient, TransientDeliveryError
from core.reports.model import Report, RunState
from core.reports.period import ReportPeriod, parse_period, previous_period
from core.reports.render import to_pdf
from core.reports.service import contract_report, customer_of
from core.store.orm import ReportRun

if TYPE_CHECKING:
    from core.loaded import LoadedContract
    from core.runtime import Runtime

log = logging.getLogger("casetrack.reports")
TEMPLATE = "periodic_report"


CLAIMED, SENT, FAILED, DEAD = RunState.CLAIMED, RunState.SENT, RunState.FAILED, RunState.DEAD
MAX_ATTEMPTS = 5
FIRST_RETRY = timedelta(minutes=5)
LEASE = timedelta(minutes=15)  # a claim older than this was a pass that died mid-way


@dataclass
class ReportPass:
    """What one pass did: reports sent, failed for now, and contracts left alone."""

    now: datetime
    sent: list[str] = field(default_factory=list)  # "contract period"
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def quiet(self) -> bool:
        return not (self.sent or self.failed or self.errors)

    def line(self) -> str:
        stamp = self.now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        return f"reports {stamp}: {len(self.sent)} sent, {len(self.failed)} failed"


def due_periods(runtime: Runtime, now: datetime) -> list[tuple[LoadedContract, ReportPeriod]]:
    """Each reporting contract's period that ended last, if the contract ran in it."""
    tz = runtime.settings.timezone
    due = []
    for lc in runtime.contracts.contracts.values():
        every = lc.contract.reports.every
        if every == "off":
            continue
        period = previous_period("month" if every == "monthly" else "quarter", now, tz)
        runs = lc.contract.period
        if period.last >= runs.start and period.first <= runs.end:
            due.append((lc, period))
    return due


def report_pass(runtime: Runtime, *, now: datetime, worker: str = "scheduler") -> ReportPass:
    """Claim and send every due report no pass has sent yet, then retry failed ones."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise NaiveDatetimeError("a report pass needs an aware `now`")
    done = ReportPass(now=now)
    by_id: dict[str, LoadedContract] = {}
    for lc, period in due_periods(runtime, now):
        by_id[lc.id] = lc
        run_id = _claim_new(runtime, lc.id, period, now, worker)
        if run_id is not None:
            _deliver(runtime, run_id, lc, period, now, done)
    for run_id, contract_id, label in _retryable(runtime, now, worker):
        found = by_id.get(contract_id) or runtime.contracts.contracts.get(contract_id)
        if found is None:
            done.errors.append(f"{contract_id} {label}: the contract is no longer loaded")
            continue
        _deliver(runtime, run_id, found, _period_of_run(runtime, run_id), now, done)
    return done


def _claim_new(
    runtime: Runtime, contract_id: str, period: ReportPeriod, now: datetime, worker: str
) -> int | None:
    """Insert the (contract, period) row; its id when this pass took it, None when another
    pass (or an earlier one) has it."""
    values = {
        "contract_id": contract_id,
        "period": period.label,
        "period_start": period.start,
        "period_end": period.end,
        "state": CLAIMED,
        "attempts": 1,
        "claimed_at": now,
        "claimed_by": worker[:64],
        "recipients": [],
        "created_at": now,
    }
    with runtime.sessions.begin() as session:
        exists = session.execute(
            select(ReportRun.id).where(
                ReportRun.contract_id == contract_id, ReportRun.period == period.label
            )
        ).first()
        if exists is not None:
            return None
        stmt = _insert_ignoring_conflict(session).values(values)
        stmt = stmt.on_conflict_do_nothing(index_elements=["contract_id", "period"])
        inserted = session.execute(stmt.returning(ReportRun.id)).scalar_one_or_none()
    return inserted


def _insert_ignoring_conflict(session: Session) -> Any:
    table = ReportRun.__table__
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _retryable(runtime: Runtime, now: datetime, worker: str) -> list[tuple[int, str, str]]:
    """Failed rows whose next attempt is due, and claims whose pass died; each taken back
    by a compare-and-set on its attempt count (one pass wins)."""
    taken = []
    with runtime.sessions.begin() as session:
        rows = session.execute(
            select(ReportRun.id, ReportRun.contract_id, ReportRun.period, ReportRun.attempts)
            .where(
                ((ReportRun.state == FAILED) & (ReportRun.next_attempt_at <= now))
                | ((ReportRun.state == CLAIMED) & (ReportRun.claimed_at < now - LEASE))
            )
            .order_by(ReportRun.id)
            .limit(20)
        ).all()
        for row in rows:
            result = session.execute(
                update(ReportRun)
                .where(ReportRun.id == row.id, ReportRun.attempts == row.attempts)
                .values(state=CLAIMED, attempts=row.attempts + 1, claimed_at=now, claimed_by=worker)
            )
            if cast("CursorResult[Any]", result).rowcount == 1:
                taken.append((row.id, row.contract_id, row.period))
    return taken


def _period_of_run(runtime: Runtime, run_id: int) -> ReportPeriod:
    with runtime.sessions() as session:
        label = session.execute(select(ReportRun.period).where(ReportRun.id == run_id)).scalar_one()
    return parse_period(label, runtime.settings.timezone)


# --- building and sending --------------------------------------------------------------------


def recipients_for(contract: Contract) -> list[Recipient]:
    """The contacts of the ``send-to`` roles with an e-mail; else the first with one."""
    contacts = [c for c in contract.customer.contacts if c.email]
    chosen = [c for c in contacts if c.role in contract.reports.send_to] or contacts[:1]
    return [Recipient(name=c.name, email=c.email) for c in chosen]


def _deliver(
    runtime: Runtime,
    run_id: int,
    lc: LoadedContract,
    period: ReportPeriod,
    now: datetime,
    done: ReportPass,
) -> None:
    tag = f"{lc.id} {period.label}"
    if not recipients_for(lc.contract):
        _finish(runtime, run_id, DEAD, last_error="no customer contact has an e-mail address")
        done.errors.append(f"{tag}: no customer contact has an e-mail address")
        return
    try:
        with runtime.sessions() as session:
            report = contract_report(session, runtime.contracts, lc.id, period, now=now)
        pdf = to_pdf(report)
        sha = runtime.desk.blobs.put(pdf) if runtime.desk.blobs is not None else None
        sent = _send_all(runtime, lc, report, pdf)
    except TransientDeliveryError as exc:
        _failed(runtime, run_id, now, exc.detail)
        done.failed.append(tag)
        return
    except CasetrackError as exc:
        _finish(runtime, run_id, DEAD, last_error=exc.detail)
        done.errors.append(f"{tag}: {exc.detail}")
        return
    state = SENT if all(d["status"] == SENT for d in sent) else DEAD  # each Delivery's status
    _finish(
        runtime,
        run_id,
        state,
        sent_at=now if state == SENT else None,
        recipients=sent,
        pdf_sha256=sha,
        figures=msgspec.to_builtins(report),
        last_error=None if state == SENT else "the e-mail provider refused the report",
    )
    (done.sent if state == SENT else done.errors).append(tag)


def _send_all(
    runtime: Runtime, lc: LoadedContract, report: Report, pdf: bytes
) -> list[dict[str, Any]]:
    from core.jobs.deliver import notifiers

    sender = notifiers(runtime.pm).get("email")
    if sender is None:
        raise TransientDeliveryError("no e-mail notifier is registered (email_notify blocked?)")
    customer = customer_of(lc)
    filename = f"{lc.id}-{report.period.label}.pdf"
    totals = report.totals()
    variables: dict[str, Any] = {
        "customer": customer.name,
        "contract_id": lc.id,
        "period": report.period.label,
        "first": report.period.first.isoformat(),
        "last": report.period.last.isoformat(),
        "attachment": filename,
        "cases": totals.cases if totals else 0,
        "major": report.major_total,
    }
    out = []
    for recipient in recipients_for(lc.contract):
        notice = Notice(
            idempotency_key=f"report:{lc.id}:{report.period.label}:{recipient.email}",
            channel="email",
            recipient=recipient,
            template=TEMPLATE,
            variables=variables,
            attachments=[Attachment(filename=filename, content_type="application/pdf", data=pdf)],
        )
        delivery: Delivery = sender.send(notice)
        out.append(
            {
                "name": recipient.name,
                "email": recipient.email,
                "status": delivery.status,
                "detail": delivery.detail,
                "provider_id": delivery.provider_id,
            }
        )
    return out


def _failed(runtime: Runtime, run_id: int, now: datetime, error: str) -> None:
    with runtime.sessions.begin() as session:
        run = session.get_one(ReportRun, run_id)
        run.last_error = error
        if run.attempts >= MAX_ATTEMPTS:
            run.state = DEAD
            run.next_attempt_at = None
        else:
            run.state = FAILED
            run.next_attempt_at = now + FIRST_RETRY * 2 ** (run.attempts - 1)


def _finish(runtime: Runtime, run_id: int, state: str, **values: Any) -> None:
    with runtime.sessions.begin() as session:
        session.execute(
            update(ReportRun)
            .where(ReportRun.id == run_id)
            .values(state=state, next_attempt_at=None, **values)
        )
