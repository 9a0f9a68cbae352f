"""Deliver one outbox notification through its channel's notifier, recording the outcome."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.notify import Delivery, Notice, NotifierError, Recipient, TransientDeliveryError
from core.orm import Notification
from core.plugins import collect_named
from core.runtime import Runtime

FINAL_STATES: frozenset[str] = frozenset({"sent", "failed", "dead"})
PENDING_STATES: tuple[str, ...] = ("queued", "sending")  # `sending`: handed to a worker
MAX_ATTEMPTS = 5


def notice_from_row(row: Notification) -> Notice:
    """The Notice a notifier sends, built from the outbox row (``mobile`` → ``phone``)."""
    person: dict[str, Any] = row.recipient or {}
    recipient = Recipient(
        name=str(person.get("name") or ""),
        email=person.get("email"),
        phone=person.get("mobile") or person.get("phone"),
        locale=person.get("locale") or "zh",
    )
    return Notice(
        idempotency_key=row.idempotency_key,
        channel=row.channel,
        recipient=recipient,
        template=row.template,
        variables=dict(row.variables or {}),
    )


def deliver(
    runtime: Runtime, notification_id: int, *, now: datetime, max_attempts: int = MAX_ATTEMPTS
) -> str:
    """Send the notification once and return its new state (sent, failed, dead).

    A row already sent, failed or dead is left alone (a redelivered message never sends
    twice). ``TransientDeliveryError`` counts an attempt and is re-raised for the caller to
    retry, unless that was the last allowed attempt: then the row is ``dead``.
    """
    with runtime.sessions() as session:
        row = session.get(Notification, notification_id)
        if row is None:
            raise LookupError(f"no notification {notification_id}")
        if row.state in FINAL_STATES:
            return row.state
        notice = notice_from_row(row)
    notifier = collect_named(runtime.pm, "register_notifiers").get(notice.channel)
    if notifier is None:
        detail = f"no notifier registered for channel {notice.channel!r}"
        return _finish(runtime, notification_id, Delivery(status="failed", detail=detail), now)
    try:
        outcome = notifier.send(notice)
    except TransientDeliveryError as exc:
        if _count_attempt(runtime, notification_id, str(exc), max_attempts) == "dead":
            return "dead"
        raise
    except NotifierError as exc:  # template or configuration: a retry fails the same way
        outcome = Delivery(status="failed", detail=str(exc))
    return _finish(runtime, notification_id, outcome, now)


def _finish(runtime: Runtime, notification_id: int, outcome: Delivery, now: datetime) -> str:
    """Record a classified outcome: ``sent`` with its time, or ``failed`` with the reason."""
    values: dict[str, Any] = {"state": outcome.status}
    if outcome.status == "sent":
        values |= {"sent_at": now, "last_error": None}
    else:
        values["last_error"] = outcome.detail
    with runtime.sessions.begin() as session:
        session.execute(
            update(Notification)
            .where(Notification.id == notification_id, Notification.state.in_(PENDING_STATES))
            .values(**values)
        )
    return outcome.status


def _count_attempt(runtime: Runtime, notification_id: int, error: str, max_attempts: int) -> str:
    """One more failed attempt; ``dead`` (a visible dead letter) once ``max_attempts`` is hit."""
    with runtime.sessions.begin() as session:
        row = session.get(Notification, notification_id, with_for_update=True)
        if row is None or row.state in FINAL_STATES:
            return row.state if row is not None else "dead"
        row.attempts += 1
        row.last_error = error
        if row.attempts >= max_attempts:
            row.state = "dead"
        return row.state


def due_notifications(session: Session, now: datetime, limit: int = 100) -> list[Notification]:
    """Queued rows whose ``send_after`` has passed, oldest first, locked (SKIP LOCKED on PG)."""
    query = (
        select(Notification)
        .where(Notification.state == "queued", Notification.send_after <= now)
        .order_by(Notification.send_after, Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query))


def requeue_dead(session: Session, notification_id: int) -> bool:
    """A manager's retry of a dead letter: back to ``queued`` with no attempts counted."""
    result = session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.state == "dead")
        .values(state="queued", attempts=0)
    )
    return bool(result.rowcount)
