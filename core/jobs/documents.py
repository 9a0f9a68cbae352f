"""Maintenance documents the scheduler e-mails (R-MAINT, issue 16 §2; docs/documents.md): the
stage report of the whole contract when its period ends (合同期末阶段报告: "服务合同结束后提供
阶段服务报告") and, at each month's or quarter's end, the periodic service summary the contract
asks for (``documents.summary-every``). Each is the stage-summary document as a PDF, mailed
to the contract's contacts of the ``documents.send-to`` roles.

Exactly once across schedulers, as the periodic reports (core/jobs/reports.py): the
``document_runs`` row (unique contract, kind, period) is the claim, inserted with ON CONFLICT
DO NOTHING; only the pass whose insert took it builds and sends. A transient delivery failure
leaves it ``failed`` with its next attempt; a later pass takes it back with a compare-and-set
on the attempt count. Only the period that ended last is due, and the stage report only
within ``STAGE_WINDOW`` of the contract's end: a new deployment does not send old ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.contract import Contract
from core.documents.common import document_period
from core.documents.model import StageSummaryDoc
from core.documents.render import render
from core.documents.summary import build_summary
from core.errors import CasetrackError, NaiveDatetimeError
from core.jobs.reports import CLAIMED, DEAD, FAILED, FIRST_RETRY, LEASE, MAX_ATTEMPTS, SENT
from core.notify import Attachment, Delivery, Notice, Recipient, TransientDeliveryError
from core.reports.period import ReportPeriod, parse_period, previous_period
from core.store.orm import DocumentRun

if TYPE_CHECKING:
    from core.loaded import LoadedContract
    from core.runtime import Runtime

TEMPLATE = "maintenance_document"
DocKind = Literal["stage", "summary"]
STAGE: DocKind = "stage"
SUMMARY: DocKind = "summary"
# ours: how long after the contract's end its stage report is still due (a scheduler down
# longer than this does not send it; nor does a deployment after a contract long ended)
STAGE_WINDOW = timedelta(days=30)


@dataclass
class DocumentPass:
    """What one pass did: documents sent ("contract kind period"), failed for now, errors."""

    now: datetime
    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def quiet(self) -> bool:
        return not (self.sent or self.failed or self.errors)

    def line(self) -> str:
        stamp = self.now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        return f"documents {stamp}: {len(self.sent)} sent, {len(self.failed)} failed"


@dataclass(frozen=True, slots=True)
class Due:
    lc: LoadedContract
    kind: DocKind
    period: ReportPeriod

    @property
    def tag(self) -> str:
        return f"{self.lc.id} {self.kind} {self.period.label}"


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
            runs = lc.contract.period
            if period.last >= runs.start and period.first <= runs.end:
                due.append(Due(lc, SUMMARY, period))
    return due


def document_pass(runtime: Runtime, *, now: datetime, worker: str = "scheduler") -> DocumentPass:
    """Claim and send every due document no pass has sent yet, then retry failed ones."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise NaiveDatetimeError("a document pass needs an aware `now`")
    done = DocumentPass(now=now)
    for due in due_documents(runtime, now):
        run_id = _claim_new(runtime, due, now, worker)
        if run_id is not None:
            _deliver(runtime, run_id, due, now, done)
    for run_id, contract_id, kind, label in _retryable(runtime, now, worker):
        lc = runtime.contracts.contracts.get(contract_id)
        if lc is None:
            done.errors.append(f"{contract_id} {kind} {label}: the contract is no longer loaded")
            continue
        tz = runtime.settings.timezone
        span = document_period(lc, None, tz) if kind == STAGE else parse_period(label, tz)
        _deliver(runtime, run_id, Due(lc, cast("DocKind", kind), span), now, done)
    return done


# --- claims ----------------------------------------------------------------------------------


def _claim_new(runtime: Runtime, due: Due, now: datetime, worker: str) -> int | None:
    """Insert the (contract, kind, period) row; its id when this pass took it."""
    key = (due.lc.id, due.kind, due.period.label)
    values = {
        "contract_id": key[0],
        "kind": key[1],
        "period": key[2],
        "period_start": due.period.start,
        "period_end": due.period.end,
        "state": CLAIMED,
        "attempts": 1,
        "claimed_at": now,
        "claimed_by": worker[:64],
        "recipients": [],
        "created_at": now,
    }
    with runtime.sessions.begin() as session:
        exists = session.execute(
            select(DocumentRun.id).where(
                DocumentRun.contract_id == key[0],
                DocumentRun.kind == key[1],
                DocumentRun.period == key[2],
            )
        ).first()
        if exists is not None:
            return None
        stmt = _insert(session).values(values)
        stmt = stmt.on_conflict_do_nothing(index_elements=["contract_id", "kind", "period"])
        return session.execute(stmt.returning(DocumentRun.id)).scalar_one_or_none()


def _insert(session: Session) -> Any:
    table = DocumentRun.__table__
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _retryable(runtime: Runtime, now: datetime, worker: str) -> list[tuple[int, str, str, str]]:
    """Failed rows whose next attempt is due and claims whose pass died, each taken back by a
    compare-and-set on its attempt count (one pass wins)."""
    taken = []
    run = DocumentRun
    with runtime.sessions.begin() as session:
        rows = session.execute(
            select(run.id, run.contract_id, run.kind, run.period, run.attempts)
            .where(
                ((run.state == FAILED) & (run.next_attempt_at <= now))
                | ((run.state == CLAIMED) & (run.claimed_at < now - LEASE))
            )
            .order_by(run.id)
            .limit(20)
        ).all()
        for row in rows:
            result = session.execute(
                update(run)
                .where(run.id == row.id, run.attempts == row.attempts)
                .values(state=CLAIMED, attempts=row.attempts + 1, claimed_at=now, claimed_by=worker)
            )
            if cast("CursorResult[Any]", result).rowcount == 1:
                taken.append((row.id, row.contract_id, row.kind, row.period))
    return taken


# --- building and sending --------------------------------------------------------------------


def recipients_for(contract: Contract) -> list[Recipient]:
    """The contacts of the ``documents.send-to`` roles with an e-mail; else the first."""
    contacts = [c for c in contract.customer.contacts if c.email]
    chosen = [c for c in contacts if c.role in contract.documents.send_to] or contacts[:1]
    return [Recipient(name=c.name, email=c.email) for c in chosen]


def _deliver(runtime: Runtime, run_id: int, due: Due, now: datetime, done: DocumentPass) -> None:
    if not recipients_for(due.lc.contract):
        _finish(runtime, run_id, DEAD, last_error="no customer contact has an e-mail address")
        done.errors.append(f"{due.tag}: no customer contact has an e-mail address")
        return
    try:
        tz = runtime.settings.timezone
        with runtime.sessions() as session:
            doc = build_summary(session, due.lc, due.period, now=now, tz=tz)
        pdf = render(doc, "pdf")
        assert isinstance(pdf, bytes)
        sha = runtime.desk.blobs.put(pdf) if runtime.desk.blobs is not None else None
        sent = _send_all(runtime, due, doc, pdf)
    except TransientDeliveryError as exc:
        _failed(runtime, run_id, now, exc.detail)
        done.failed.append(due.tag)
        return
    except CasetrackError as exc:
        _finish(runtime, run_id, DEAD, last_error=exc.detail)
        done.errors.append(f"{due.tag}: {exc.detail}")
        return
    state = SENT if all(d["status"] == SENT for d in sent) else DEAD
    _finish(
        runtime,
        run_id,
        state,
        sent_at=now if state == SENT else None,
        recipients=sent,
        pdf_sha256=sha,
        last_error=None if state == SENT else "the e-mail provider refused the document",
    )
    (done.sent if state == SENT else done.errors).append(due.tag)


def _send_all(runtime: Runtime, due: Due, doc: StageSummaryDoc, pdf: bytes) -> list[dict[str, Any]]:
    from core.jobs.deliver import notifiers

    sender = notifiers(runtime.pm).get("email")
    if sender is None:
        raise TransientDeliveryError("no e-mail notifier is registered (email_notify blocked?)")
    lc, period = due.lc, due.period
    label = "contract" if due.kind == STAGE else period.label
    filename = f"{lc.id}-summary-{label}.pdf"
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
    out = []
    for recipient in recipients_for(lc.contract):
        notice = Notice(
            idempotency_key=f"document:{lc.id}:{due.kind}:{period.label}:{recipient.email}",
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
        run = session.get_one(DocumentRun, run_id)
        run.last_error = error
        if run.attempts >= MAX_ATTEMPTS:
            run.state, run.next_attempt_at = DEAD, None
        else:
            run.state = FAILED
            run.next_attempt_at = now + FIRST_RETRY * 2 ** (run.attempts - 1)


def _finish(runtime: Runtime, run_id: int, state: str, **values: Any) -> None:
    with runtime.sessions.begin() as session:
        session.execute(
            update(DocumentRun)
            .where(DocumentRun.id == run_id)
            .values(state=state, next_attempt_at=None, **values)
        )
