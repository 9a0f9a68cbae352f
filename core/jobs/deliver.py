"""Deliver outbox notifications through their channel's notifier, recording the outcome.

A row goes ``queued`` → ``sending`` (the relay handed it to the broker) → ``sent``,
``failed`` (the provider refused it for good), ``dead`` (transient failures until
``max_attempts``) or ``dropped`` (stale when it was to go out: core.jobs.stale). A worker
first *claims* the rows it sends (``claimed_at``, a lease), so
two messages for one row — a redelivery, a relay's re-pick — never send it twice at once;
a claim lapses after ``lease`` (the worker died mid-send). A transient failure puts the row
back to ``queued`` with ``send_after`` = now + back-off: the retry schedule lives in the
database, shows on the case and survives a broker restart.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pluggy
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from core.case import NotificationState
from core.jobs.credentials import CREDENTIALS, scrub
from core.jobs.metrics import record_delivery
from core.jobs.stale import drop_stale
from core.logs import bound_request_id, current_request_id, joined_request_ids
from core.notify import (
    Delivery,
    Notice,
    Notifier,
    NotifierError,
    Recipient,
    TransientDeliveryError,
    with_case_links,
)
from core.plugins import collect_named
from core.store.orm import Notification

if TYPE_CHECKING:
    from core.runtime import Runtime
    from core.settings import Settings

S = NotificationState
FINAL_STATES: frozenset[NotificationState] = frozenset({S.SENT, S.FAILED, S.DEAD, S.DROPPED})
# `sending`: handed to a worker
PENDING_STATES: tuple[NotificationState, ...] = (S.QUEUED, S.SENDING)
MAX_ATTEMPTS = 5
DIGEST_TEMPLATE = "digest"
log = logging.getLogger("casetrack.worker")


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """Retries, leases and digests (settings: docs/escalation.md)."""

    max_attempts: int = MAX_ATTEMPTS
    lease: timedelta = timedelta(minutes=5)
    first_retry: timedelta = timedelta(seconds=30)
    max_retry: timedelta = timedelta(minutes=30)
    digest_window: timedelta = timedelta(minutes=2)

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryPolicy:
        return cls(
            max_attempts=settings.max_attempts,
            lease=timedelta(seconds=settings.delivery_lease_seconds),
            first_retry=timedelta(seconds=settings.retry_seconds),
            max_retry=timedelta(seconds=settings.retry_max_seconds),
            digest_window=timedelta(seconds=settings.digest_seconds),
        )

    def retry_after(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failure: first_retry, doubling, capped."""
        return min(self.first_retry * 2 ** max(attempts - 1, 0), self.max_retry)


# --- notices from rows ---------------------------------------------------------------------------


def notice_from_row(row: Notification) -> Notice:
    """The Notice a notifier sends, built from the outbox row (``mobile`` → ``phone``)."""
    return Notice(
        idempotency_key=row.idempotency_key,
        channel=row.channel,
        recipient=_recipient(row),
        template=row.template,
        variables=dict(row.variables or {}),
    )


def notice_for(rows: Sequence[Notification]) -> Notice:
    """One row's notice, or one ``digest`` notice carrying every row (same person, channel)."""
    if len(rows) == 1:
        return notice_from_row(rows[0])
    items = [{"template": r.template, **(r.variables or {})} for r in rows]
    items.sort(key=lambda item: (not item.get("breached"), str(item.get("deadline"))))
    cases = list(dict.fromkeys(str(item.get("case_number")) for item in items))
    deadlines = sorted(str(item["deadline"]) for item in items if item.get("deadline"))
    return Notice(
        idempotency_key=digest_key(rows),
        channel=rows[0].channel,
        recipient=_recipient(rows[0]),
        template=DIGEST_TEMPLATE,
        variables={
            "count": len(items),
            "cases": ", ".join(cases),
            "breached": sum(1 for item in items if item.get("breached")),
            "earliest_deadline": deadlines[0] if deadlines else None,
        },
        items=items,
    )


def digest_key(rows: Iterable[Notification]) -> str:
    """``digest:<recipient>:<channel>:<hash of the members' keys>``: the same group, the same
    key (an SMS gateway or mail client drops a repeat)."""
    members = list(rows)
    joined = "\n".join(sorted(r.idempotency_key for r in members))
    person = str((members[0].recipient or {}).get("id") or "")
    digest = hashlib.sha256(joined.encode()).hexdigest()[:16]
    return f"digest:{person}:{members[0].channel}:{digest}"


def _recipient(row: Notification) -> Recipient:
    person: dict[str, Any] = row.recipient or {}
    return Recipient(
        name=str(person.get("name") or ""),
        email=person.get("email"),
        phone=person.get("mobile") or person.get("phone"),
        locale=person.get("locale") or "zh",
    )


# --- delivering ---------------------------------------------------------------------------------


def deliver(
    runtime: Runtime,
    ids: int | Sequence[int],
    *,
    now: datetime,
    policy: DeliveryPolicy | None = None,
) -> str:
    """Send the notification (several ids: one digest of them) and return the new state.

    Rows already final, claimed by another worker within its lease, or queued for a later
    retry are left alone (a redelivered message never sends twice); then their current
    state is returned. A transient failure returns ``queued`` (retry planned) or ``dead``.
    """
    policy = policy or DeliveryPolicy.from_settings(runtime.settings)
    wanted = [ids] if isinstance(ids, int) else list(ids)
    with runtime.sessions.begin() as session:
        rows = drop_stale(session, _claim(session, wanted, now, policy.lease))
        if not rows:
            state = _state_of(session, wanted[0])
            log.debug("notifications %s not sent now: %s", wanted, state)
            return state
        claimed = [r.id for r in rows]
        notice = with_case_links(notice_for(rows), runtime.settings.public_url)
        # the requests that caused them (the message said so too, unless an older relay sent it)
        request_id = joined_request_ids(r.request_id for r in rows) or current_request_id()
        about = _about(rows, notice)
    with bound_request_id(request_id):
        state = _send(runtime, claimed, notice, now, policy)
        level = logging.INFO if state == S.SENT else logging.WARNING
        log.log(level, "delivery of notifications %s (%s): %s", claimed, about, state)
    return state


def _send(
    runtime: Runtime, claimed: list[int], notice: Notice, now: datetime, policy: DeliveryPolicy
) -> str:
    """Send the claimed rows' notice through its channel's notifier; record the outcome."""
    digest = notice.idempotency_key if len(claimed) > 1 else None
    notifier = notifiers(runtime.pm).get(notice.channel)
    if notifier is None:
        failure = Delivery(status="failed", detail=f"no notifier for channel {notice.channel!r}")
        record_delivery(notice.channel, S.FAILED, len(claimed), None)
        return _finish(runtime, claimed, failure, now, digest)
    started = time.perf_counter()  # the notifier's duration, for the metrics only
    try:
        outcome = notifier.send(notice)
    except TransientDeliveryError as exc:
        state = _retry_later(runtime, claimed, str(exc), now, policy)
        retried = "retried" if state == S.QUEUED else state
        record_delivery(notice.channel, retried, len(claimed), time.perf_counter() - started)
        return state
    except NotifierError as exc:  # template or configuration: a retry fails the same way
        outcome = Delivery(status="failed", detail=str(exc))
    seconds = time.perf_counter() - started
    record_delivery(notice.channel, outcome.status, len(claimed), seconds)
    return _finish(runtime, claimed, outcome, now, digest)


def _about(rows: Sequence[Notification], notice: Notice) -> str:
    """What was sent, for the log, without an address: case, channel, template."""
    case = (rows[0].variables or {}).get("case_number", f"case id {rows[0].case_id}")
    return f"{case}, {notice.channel}, {notice.template}"


_NOTIFIERS: weakref.WeakKeyDictionary[
    pluggy.PluginManager, tuple[frozenset[str], dict[str, Notifier]]
] = weakref.WeakKeyDictionary()
_NOTIFIERS_LOCK = threading.Lock()


def notifiers(pm: pluggy.PluginManager) -> dict[str, Notifier]:
    """The channels' notifiers, collected once per plugin manager and plugin set: a notifier
    keeps its HTTP connections and its memory of spent SMS nonces across sends (a new one
    per send would forget them). Registering or blocking a plugin collects them anew."""
    names = frozenset(name for name, _ in pm.list_name_plugin())
    with _NOTIFIERS_LOCK:
        cached = _NOTIFIERS.get(pm)
        if cached is None or cached[0] != names:
            cached = _NOTIFIERS[pm] = (names, collect_named(pm, "register_notifiers"))
        return cached[1]


def _claim(
    session: Session, ids: Sequence[int], now: datetime, lease: timedelta
) -> list[Notification]:
    """Lock the sendable rows among ``ids`` and stamp them as ours (``claimed_at``)."""
    query = (
        select(Notification)
        .where(Notification.id.in_(ids), claimable(now, lease))
        .order_by(Notification.id)
        .with_for_update()
    )
    rows = list(session.scalars(query))
    for row in rows:
        row.state, row.claimed_at = S.SENDING, now
    return rows


def claimable(now: datetime, lease: timedelta) -> Any:
    """Queued and due, or handed over and not held by a live claim."""
    free = or_(Notification.claimed_at.is_(None), Notification.claimed_at <= now - lease)
    return or_(
        and_(Notification.state == S.QUEUED, Notification.send_after <= now),
        and_(Notification.state == S.SENDING, free),
    )


def _state_of(session: Session, notification_id: int) -> str:
    row = session.get(Notification, notification_id)
    if row is None:
        raise LookupError(f"no notification {notification_id}")
    return row.state


def _finish(
    runtime: Runtime, ids: list[int], outcome: Delivery, now: datetime, digest: str | None
) -> str:
    """Record a classified outcome: ``sent`` with its time, or ``failed`` with the reason."""
    values: dict[str, Any] = {"state": outcome.status, "claimed_at": None, "digest_key": digest}
    if S(outcome.status) is S.SENT:  # a Delivery's status is one of the states' words
        values |= {"sent_at": now, "last_error": None}
    else:
        values["last_error"] = outcome.detail
    with runtime.sessions.begin() as session:
        session.execute(
            update(Notification)
            .where(Notification.id.in_(ids), Notification.state == S.SENDING)
            .values(**values)
        )
        scrub(_with_credentials(session, ids))
    return outcome.status


def _with_credentials(session: Session, ids: Sequence[int]) -> list[Notification]:
    """The rows among ``ids`` whose template carries a credential (the survey link)."""
    query = select(Notification).where(
        Notification.id.in_(ids), Notification.template.in_(CREDENTIALS)
    )
    return list(session.scalars(query.execution_options(populate_existing=True)))


def _retry_later(
    runtime: Runtime, ids: list[int], error: str, now: datetime, policy: DeliveryPolicy
) -> str:
    """One more failed attempt per row: queued again after the back-off, or ``dead`` (a
    visible dead letter) once ``max_attempts`` is reached."""
    states = set()
    with runtime.sessions.begin() as session:
        for row in session.scalars(
            select(Notification).where(Notification.id.in_(ids)).with_for_update()
        ):
            if row.state in FINAL_STATES:
                states.add(row.state)
                continue
            row.attempts += 1
            row.last_error = error
            row.claimed_at = row.relayed_at = None
            if row.attempts >= policy.max_attempts:
                row.state = S.DEAD
            else:
                row.state = S.QUEUED
                row.send_after = now + policy.retry_after(row.attempts)
            states.add(row.state)
            scrub([row])  # a dead survey notice keeps no link
    return S.DEAD if states == {S.DEAD} else S.QUEUED


# --- what the relay and managers use ------------------------------------------------------------


def due_notifications(
    session: Session, now: datetime, limit: int = 100, *, lease: timedelta | None = None
) -> list[Notification]:
    """Rows to hand to the workers, oldest first, locked (SKIP LOCKED on PostgreSQL): queued
    rows whose ``send_after`` has passed and, with ``lease``, rows relayed that long ago and
    never finished (the broker lost the message or the worker died)."""
    ready = and_(Notification.state == S.QUEUED, Notification.send_after <= now)
    if lease is not None:
        cutoff = now - lease
        lost = and_(
            Notification.state == S.SENDING,
            Notification.send_after <= cutoff,  # keeps the (state, send_after) index usable
            or_(Notification.relayed_at.is_(None), Notification.relayed_at <= cutoff),
            or_(Notification.claimed_at.is_(None), Notification.claimed_at <= cutoff),
        )
        ready = or_(ready, lost)
    query = (
        select(Notification)
        .where(ready)
        .order_by(Notification.send_after, Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query))
