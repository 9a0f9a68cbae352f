"""The relay: hand due outbox rows to the broker, bundling each person's notices into digests."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import update

from core.case import NotificationState
from core.jobs.deliver import DeliveryPolicy, due_notifications
from core.logs import bound_request_id, joined_request_ids
from core.store.orm import Notification

if TYPE_CHECKING:
    from sqlalchemy import CursorResult

    from core.jobs.broker import Jobs
    from core.runtime import Runtime

# the message option the worker reads (core.jobs.broker.RequestIds): send_with_options's name
REQUEST_ID = "request_id"

__all__ = ["RelayReport", "plan_batches", "relay", "release_orphans"]

log = logging.getLogger("casetrack.relay")


@dataclass
class RelayReport:
    """What one relay pass did: messages enqueued, rows they carry, rows held for a digest."""

    messages: int = 0
    notifications: int = 0
    held: int = 0
    batches: list[list[int]] = field(default_factory=list)

    def line(self) -> str:
        return f"relay: {self.messages} messages, {self.notifications} notifications" + (
            f", {self.held} held for a digest" if self.held else ""
        )


def plan_batches(
    rows: Sequence[Notification], now: datetime, window: timedelta
) -> tuple[list[list[Notification]], int]:
    """Group rows into messages: (batches, rows held back).

    Urgent notices go alone and at once. The others of one recipient on one channel wait
    until the oldest of them has waited ``window`` (so notices arriving in the meantime join
    it), then go as one message — a digest when there are several. ``window`` 0: each alone.
    """
    batches: list[list[Notification]] = []
    groups: dict[tuple[str, str], list[Notification]] = {}
    for row in rows:
        if (row.variables or {}).get("urgent") or window <= timedelta(0):
            batches.append([row])
        else:
            person = str((row.recipient or {}).get("id") or row.idempotency_key)
            groups.setdefault((person, row.channel), []).append(row)
    held = 0
    for group in groups.values():
        if min(r.send_after for r in group) <= now - window:
            batches.append(group)
        else:
            held += len(group)
    return batches, held


def relay(
    runtime: Runtime,
    jobs: Jobs,
    *,
    now: datetime,
    limit: int = 200,
    policy: DeliveryPolicy | None = None,
) -> RelayReport:
    """Hand due rows (and rows whose message was lost) to the workers.

    Rows are marked ``sending`` and enqueued in the transaction that locked them: if the
    broker is down the enqueue raises, the transaction rolls back and the rows stay queued
    for the next pass; a message enqueued before a failed commit finds its rows claimable
    and is sent once (workers claim rows before sending).
    """
    policy = policy or jobs.policy
    report = RelayReport()
    with runtime.sessions.begin() as session:
        rows = due_notifications(session, now, limit, lease=policy.lease)
        batches, report.held = plan_batches(rows, now, policy.digest_window)
        for batch in batches:
            for row in batch:
                row.state, row.relayed_at, row.claimed_at = NotificationState.SENDING, now, None
        session.flush()
        for batch in batches:
            ids = [row.id for row in batch]
            # the requests that caused them travel with the message: the worker logs under them
            request_id = joined_request_ids(row.request_id for row in batch)
            if request_id:
                jobs.deliver_notification.send_with_options(args=(ids,), request_id=request_id)
            else:
                jobs.deliver_notification.send(ids)
            report.batches.append(ids)
            with bound_request_id(request_id):
                log.info("relayed notifications %s (%s)", ids, _about(batch))
        report.messages = len(batches)
        report.notifications = sum(len(b) for b in batches)
    return report


def _about(batch: Sequence[Notification]) -> str:
    """What a message carries, without an address: case, channel, template."""
    first = batch[0]
    case = (first.variables or {}).get("case_number", f"case id {first.case_id}")
    what = "digest" if len(batch) > 1 else first.template
    return f"{case}, {first.channel}, {what}"


def release_orphans(runtime: Runtime) -> int:
    """Embedded start: rows a previous run handed to its in-process broker died with it, and
    no other process can hold them, so they are queued again at once (a shared broker's rows
    wait for their lease instead). Returns how many."""
    with runtime.sessions.begin() as session:
        result = session.execute(
            update(Notification)
            .where(Notification.state == NotificationState.SENDING)
            .values(state=NotificationState.QUEUED, relayed_at=None, claimed_at=None)
        )
        return int(cast("CursorResult[Any]", result).rowcount or 0)  # DML: typed only Result
