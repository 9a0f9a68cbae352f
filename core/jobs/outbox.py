"""The outbox as managers work it: the notification list (the dead-letter view) and retry.

Rows are shown through core.store.queries' `NotificationView` (addresses masked). A retry puts a
``dead`` or ``failed`` row back to ``queued`` and appends a ``notification_retried`` event to
its case in the same transaction, so the append-only history names who retried what.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from core.case import NotificationState
from core.errors import ConflictError, NaiveDatetimeError, NotFoundError
from core.events import NotificationRetried
from core.jobs.credentials import scrubbed
from core.store import orm
from core.store.history import append_event, recorded
from core.store.queries import (
    NotificationCursor,
    NotificationView,
    Page,
    check_limit,
    decode_cursor,
    encode_cursor,
    notification_rows,
    notification_view,
    redact,
)

if TYPE_CHECKING:
    from core.runtime import Runtime

__all__ = [
    "RETRIED",
    "RETRYABLE",
    "STATES",
    "CredentialRemoved",
    "NotificationFilter",
    "NotificationNotRetryable",
    "NotificationState",
    "Retried",
    "list_notifications",
    "retry",
    "retry_notification",
]

STATES: tuple[NotificationState, ...] = tuple(NotificationState)
# dead: the transient retries ran out; failed: the provider refused it for good (a number
# that cannot get SMS, a template or account problem). Both are retried only once someone
# has fixed the cause, so only a person retries them.
RETRYABLE: tuple[NotificationState, ...] = (NotificationState.DEAD, NotificationState.FAILED)
RETRIED = "notification_retried"  # the event kind (core.events.NotificationRetried)


class NotificationFilter(msgspec.Struct, kw_only=True):
    """What to list; every criterion is optional and they combine with AND."""

    states: list[NotificationState] = msgspec.field(default_factory=list)
    case_number: str | None = None
    channel: str | None = None


class NotificationNotRetryable(ConflictError):
    """Only a dead or failed notification can be retried; ``state`` is the one it is in."""

    title = "notification not retryable"

    def __init__(self, notification_id: int, state: str) -> None:
        super().__init__(
            f"notification {notification_id} is {state}: only a "
            f"{' or '.join(RETRYABLE)} notification can be retried"
        )
        self.state = state


class CredentialRemoved(NotificationNotRetryable):
    """A final survey notice keeps no link (core.jobs.credentials): it cannot be sent again."""

    def __init__(self, notification_id: int, state: str) -> None:
        ConflictError.__init__(
            self,
            f"notification {notification_id} is {state} and its survey link was removed (the "
            "link is a credential): the survey can still be entered from the signed service form",
        )
        self.state = state


@dataclass(frozen=True, slots=True)
class Retried:
    """A retry as committed: the row as it is now and the event that records it."""

    notification: NotificationView
    event: orm.CaseEvent | None  # None: a notice about no one case has no history to note it
    contract_id: str


# --- the list --------------------------------------------------------------------------------


def list_notifications(
    session: Session, flt: NotificationFilter, *, limit: int = 50, after: str | None = None
) -> Page[NotificationView]:
    """One page of notifications matching ``flt``, newest first (keyset on the id)."""
    check_limit(limit)
    stmt = notification_rows().where(*_conditions(flt)).order_by(orm.Notification.id.desc())
    if after is not None:
        cursor = decode_cursor(after, NotificationCursor)
        stmt = stmt.where(orm.Notification.id < cursor.id)
    rows = session.execute(stmt.limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(NotificationCursor(id=rows[-1].id)) if more else None
    return Page(items=[notification_view(r) for r in rows], next_cursor=next_cursor)


def _conditions(flt: NotificationFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if flt.states:
        where.append(orm.Notification.state.in_([str(s) for s in flt.states]))
    if flt.case_number is not None:
        where.append(orm.Case.number == flt.case_number)
    if flt.channel is not None:
        where.append(orm.Notification.channel == flt.channel)
    return where


# --- retry -----------------------------------------------------------------------------------


def retry(runtime: Runtime, notification_id: int, *, actor: str, now: datetime) -> Retried:
    """Retry one notification in its own transaction; plugins hear the event after commit."""
    try:
        with runtime.sessions.begin() as session:
            retried = retry_notification(session, notification_id, actor=actor, now=now)
    except StaleDataError as exc:  # defensive: the case row is locked below
        raise ConflictError("the case was changed by someone else; retry again") from exc
    if retried.event is not None:
        contract = runtime.contracts.contracts.get(retried.contract_id)
        runtime.pm.hook.case_event_recorded(event=recorded(retried.event), contract=contract)
    return retried


def retry_notification(
    session: Session, notification_id: int, *, actor: str, now: datetime
) -> Retried:
    """Put a dead or failed notification back to ``queued`` (attempts 0, due at once) and
    record a ``notification_retried`` event on its case, in the caller's transaction.

    The row, then its case, are locked (PostgreSQL; SQLite's BEGIN IMMEDIATE serialises
    writers), so two retries of one row give one success and one NotificationNotRetryable.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise NaiveDatetimeError("a retry needs an aware `now`")
    row = session.get(orm.Notification, notification_id, with_for_update=True)
    if row is None:
        raise NotFoundError(f"no notification {notification_id}")
    if row.state not in RETRYABLE:
        raise NotificationNotRetryable(notification_id, row.state)
    if scrubbed(row):
        raise CredentialRemoved(notification_id, row.state)
    case = None if row.case_id is None else session.get(orm.Case, row.case_id, with_for_update=True)
    event = None
    if case is not None:
        event = append_event(session, case, _retried(row), actor=actor, at=now)
        case.updated_at = now
    _requeue(row, now)
    session.flush()
    view = session.execute(notification_rows().where(orm.Notification.id == notification_id)).one()
    contract_id = (
        case.contract_id if case is not None else str((row.variables or {}).get("contract_id", ""))
    )
    return Retried(notification_view(view), event, contract_id)


def _retried(row: orm.Notification) -> NotificationRetried:
    """What the history keeps of a retry: which notice, from which state, after which error;
    never an address (the error text is masked, as on every view of the outbox)."""
    person: dict[str, Any] = row.recipient or {}
    addresses = [person.get("email"), person.get("mobile") or person.get("phone")]
    return NotificationRetried(
        notification_id=row.id,
        previous_state=row.state,
        attempts=row.attempts,
        last_error=redact(row.last_error, addresses),
        channel=row.channel,
        recipient=person.get("id"),
        role=person.get("role"),
        escalation_seq=row.event_seq,
        level=row.level,
    )


def _requeue(row: orm.Notification, now: datetime) -> None:
    """Queued again as if new: no attempts, no lease, no digest, due now at the latest.

    ``last_error`` stays: a queued row with an error reads "will be tried again after this"
    (as after a transient failure), and the event keeps it for good.
    """
    row.state, row.attempts = NotificationState.QUEUED, 0
    row.claimed_at = row.relayed_at = None
    row.digest_key = None
    row.send_after = min(row.send_after, now)
