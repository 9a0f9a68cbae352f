"""Documents the scheduler e-mails once (the periodic reports of core/jobs/reports.py, the
maintenance documents of core/jobs/documents.py): the ledger of their runs and the sending
they share. Each job keeps only its own: what is due, what is built, the template.

Exactly once across schedulers: the row is the claim. A pass INSERTs the row of its unique key
(contract and period, and what the table adds) with ON CONFLICT DO NOTHING; only the pass whose
insert took the row builds and sends. A transient delivery failure leaves the row ``failed``
with its next attempt planned (``FIRST_RETRY``, doubling; dead after ``MAX_ATTEMPTS``), and a
later pass takes it back with a compare-and-set UPDATE on the attempt count, as it takes back
a claim older than ``LEASE`` (its pass died mid-way): again one pass wins.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.contract import Contract
from core.errors import CasetrackError
from core.notify import Attachment, Delivery, Notice, Recipient, TransientDeliveryError
from core.reports.model import RunState

if TYPE_CHECKING:
    from core.reports.period import ReportPeriod
    from core.runtime import Runtime
    from core.store.orm import MailedRun

CLAIMED, SENT, FAILED, DEAD = RunState.CLAIMED, RunState.SENT, RunState.FAILED, RunState.DEAD
MAX_ATTEMPTS = 5
FIRST_RETRY = timedelta(minutes=5)
LEASE = timedelta(minutes=15)  # a claim older than this was a pass that died mid-way
RETAKEN = 20  # rows a pass takes back at the most
NO_ADDRESS = "no customer contact has an e-mail address"
Key = tuple[str, ...]  # a row's unique key, in the order of ``Ledger.key``


@dataclass
class RunPass:
    """What one pass did: the runs sent (their keys, "contract period"), failed for now, and
    the errors (a run dead, a contract no longer loaded)."""

    what: str  # reports, documents: the line's first word
    now: datetime
    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def quiet(self) -> bool:
        return not (self.sent or self.failed or self.errors)

    def line(self) -> str:
        stamp = self.now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        return f"{self.what} {stamp}: {len(self.sent)} sent, {len(self.failed)} failed"


@dataclass(frozen=True, slots=True)
class Mail:
    """What a run sends: the PDF, its file name, the template's variables, and the columns its
    row keeps besides the common ones (a report's figures)."""

    pdf: bytes
    filename: str
    variables: dict[str, Any]
    kept: dict[str, Any] = field(default_factory=dict)


def recipients_for(contract: Contract, roles: Sequence[str]) -> list[Recipient]:
    """The contract's contacts of ``roles`` with an e-mail; else the first with one."""
    contacts = [c for c in contract.customer.contacts if c.email]
    chosen = [c for c in contacts if c.role in roles] or contacts[:1]
    return [Recipient(name=c.name, email=c.email) for c in chosen]


@dataclass(frozen=True, slots=True)
class Ledger:
    """One table of runs (a ``MailedRun``): its unique key's columns, the e-mail template, and
    what it sends in a word (``report``: the notices' idempotency keys, the errors)."""

    table: type[MailedRun]
    key: tuple[str, ...]  # ("contract_id", "period"), ("contract_id", "kind", "period")
    template: str
    noun: str

    def claim(
        self, runtime: Runtime, key: Key, period: ReportPeriod, now: datetime, worker: str
    ) -> int | None:
        """Insert the row of ``key``; its id when this pass took it, None when another pass
        (or an earlier one) has it."""
        run = self.table
        named = dict(zip(self.key, key, strict=True))
        values = {
            **named,
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
            same = [getattr(run, column) == value for column, value in named.items()]
            if session.execute(select(run.id).where(*same)).first() is not None:
                return None
            stmt = _insert(session, run).values(values)
            stmt = stmt.on_conflict_do_nothing(index_elements=list(self.key))
            return cast("int | None", session.execute(stmt.returning(run.id)).scalar_one_or_none())

    def retake(self, runtime: Runtime, now: datetime, worker: str) -> list[tuple[int, Key]]:
        """Failed rows whose next attempt is due and claims whose pass died, each taken back
        by a compare-and-set on its attempt count (one pass wins): (row id, key)."""
        run, taken = self.table, []
        columns = [getattr(run, column) for column in self.key]
        with runtime.sessions.begin() as session:
            rows = session.execute(
                select(run.id, run.attempts, *columns)
                .where(
                    ((run.state == FAILED) & (run.next_attempt_at <= now))
                    | ((run.state == CLAIMED) & (run.claimed_at < now - LEASE))
                )
                .order_by(run.id)
                .limit(RETAKEN)
            ).all()
            for row in rows:
                result = session.execute(
                    update(run)
                    .where(run.id == row.id, run.attempts == row.attempts)
                    .values(
                        state=CLAIMED, attempts=row.attempts + 1, claimed_at=now, claimed_by=worker
                    )
                )
                if cast("CursorResult[Any]", result).rowcount == 1:
                    taken.append((row.id, tuple(row[2:])))
        return taken

    def deliver(
        self,
        runtime: Runtime,
        run_id: int,
        key: Key,
        recipients: list[Recipient],
        build: Callable[[], Mail],
        done: RunPass,
    ) -> None:
        """Build the run's mail, keep its PDF and send it to each recipient; the row records
        the outcome: sent, failed for now (a transient failure) or dead."""
        tag = " ".join(key)
        if not recipients:
            self._finish(runtime, run_id, DEAD, last_error=NO_ADDRESS)
            done.errors.append(f"{tag}: {NO_ADDRESS}")
            return
        try:
            mail = build()
            sha = runtime.desk.blobs.put(mail.pdf) if runtime.desk.blobs is not None else None
            sent = self._send_all(runtime, key, recipients, mail)
        except TransientDeliveryError as exc:
            self._failed(runtime, run_id, done.now, exc.detail)
            done.failed.append(tag)
            return
        except CasetrackError as exc:
            self._finish(runtime, run_id, DEAD, last_error=exc.detail)
            done.errors.append(f"{tag}: {exc.detail}")
            return
        state = SENT if all(d["status"] == SENT for d in sent) else DEAD  # each Delivery's status
        self._finish(
            runtime,
            run_id,
            state,
            sent_at=done.now if state == SENT else None,
            recipients=sent,
            pdf_sha256=sha,
            last_error=None if state == SENT else f"the e-mail provider refused the {self.noun}",
            **mail.kept,
        )
        (done.sent if state == SENT else done.errors).append(tag)

    def _send_all(
        self, runtime: Runtime, key: Key, recipients: list[Recipient], mail: Mail
    ) -> list[dict[str, Any]]:
        from core.jobs.deliver import notifiers

        sender = notifiers(runtime.pm).get("email")
        if sender is None:
            raise TransientDeliveryError("no e-mail notifier is registered (email_notify blocked?)")
        pdf = Attachment(filename=mail.filename, content_type="application/pdf", data=mail.pdf)
        out = []
        for recipient in recipients:
            notice = Notice(
                idempotency_key=f"{self.noun}:{':'.join(key)}:{recipient.email}",
                channel="email",
                recipient=recipient,
                template=self.template,
                variables=mail.variables,
                attachments=[pdf],
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

    def _failed(self, runtime: Runtime, run_id: int, now: datetime, error: str) -> None:
        with runtime.sessions.begin() as session:
            run = session.get_one(self.table, run_id)
            run.last_error = error
            if run.attempts >= MAX_ATTEMPTS:
                run.state, run.next_attempt_at = DEAD, None
            else:
                run.state = FAILED
                run.next_attempt_at = now + FIRST_RETRY * 2 ** (run.attempts - 1)

    def _finish(self, runtime: Runtime, run_id: int, state: str, **values: Any) -> None:
        with runtime.sessions.begin() as session:
            session.execute(
                update(self.table)
                .where(self.table.id == run_id)
                .values(state=state, next_attempt_at=None, **values)
            )


def _insert(session: Session, run: type[MailedRun]) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(run.__table__)
    return sqlite.insert(run.__table__)
