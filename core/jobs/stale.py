"""Notices no longer worth sending, dropped with the reason instead of sent late.

A notice is stale when, at the moment it would go out:

- its case is resolved or closed (nobody has to act any more), unless it reminds of a faulty
  part or standby unit to return (those go back after the fix);
- its clock has stopped: met (on time or late) or cancelled;
- it warns that a deadline approaches and the clock has breached meanwhile;
- a later level of the same clock has reached the same person on the same channel.

Stale rows become ``dropped`` with the reason in ``last_error``: the outbox keeps the record
(shown on the case and in ``GET /api/v1/notifications?state=dropped``). Two places drop them:
the desk, after every command, drops the case's *queued* rows (so a warning held for a
manager's calendar does not wait until Monday after the case was resolved), and the worker
re-checks at send time, digests included, the rows it has just claimed (the case may have
changed after the relay handed them over).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clocks
from core.case import NotificationState, Status
from core.jobs.credentials import scrub
from core.spares import RETURN_CLOCKS
from core.store import orm
from core.surveys import SURVEY_TEMPLATE

__all__ = ["DROPPED", "drop_stale", "stale_reason", "sweep_cases"]

DROPPED = NotificationState.DROPPED
WARNING_TEMPLATE = "clock_warning"  # core.jobs.scheduler's template for a rung before the deadline
_DONE = (Status.RESOLVED.value, Status.CLOSED.value)
# a closed case's satisfaction survey (core.desk.surveys) is meant for the closed case: it is
# stale only once the case was re-opened (its link was withdrawn)

Audience = tuple[int | None, str, str]  # clock id, recipient id, channel


def stale_reason(
    row: orm.Notification,
    case_status: str,
    clock: orm.SlaClock | None,
    latest_level: int | None,
) -> str | None:
    """Why ``row`` must not be sent now, or None when it is still worth sending.

    ``latest_level`` is the highest level of the same clock planned for the same recipient
    and channel (None when unknown).
    """
    # a faulty part or standby unit may go back after the case is resolved: its reminders
    # still matter (core.spares.RETURN_CLOCKS)
    after_fix = clock is not None and clock.kind in RETURN_CLOCKS
    if row.template == SURVEY_TEMPLATE:
        closed = case_status == Status.CLOSED.value
        return None if closed else "dropped: the case was re-opened; its survey was withdrawn"
    if case_status in _DONE and not after_fix:
        return f"dropped: the case is {case_status}"
    if clock is not None and clock.state not in clocks.ACTIVE:
        return f"dropped: the {clock.kind} clock has stopped ({clock.state})"
    if clock is not None and row.template == WARNING_TEMPLATE and clock.breached_at is not None:
        return f"dropped: superseded, the {clock.kind} clock has breached"
    if latest_level is not None and latest_level > row.level:
        return f"dropped: superseded by level {latest_level + 1}"
    return None


def drop_stale(session: Session, rows: Sequence[orm.Notification]) -> list[orm.Notification]:
    """Mark the stale ones among ``rows`` ``dropped`` (reason kept); return the others."""
    if not rows:
        return []
    statuses = _case_statuses(session, {r.case_id for r in rows if r.case_id is not None})
    clock_ids = {r.clock_id for r in rows if r.clock_id is not None}
    by_id = _clocks(session, clock_ids)
    latest = _latest_levels(session, clock_ids)
    kept: list[orm.Notification] = []
    for row in rows:
        if row.case_id is None:  # a notice to a customer (core.desk.notices): never stale
            kept.append(row)
            continue
        clock = by_id.get(row.clock_id) if row.clock_id is not None else None
        status = statuses[row.case_id] if row.case_id is not None else ""  # "": about no case
        reason = stale_reason(row, status, clock, latest.get(_audience(row)))
        if reason is None:
            kept.append(row)
        else:
            row.state, row.last_error, row.claimed_at = DROPPED, reason, None
            row.sent_at = None
            scrub([row])  # a dropped survey notice keeps no link (core.jobs.credentials)
    return kept


def sweep_cases(session: Session, case_ids: Collection[int]) -> int:
    """Drop the stale queued notices of these cases (the desk calls it after each command,
    the scheduler after each batch of fired levels); returns how many were dropped."""
    if not case_ids:
        return 0
    queued = session.scalars(
        select(orm.Notification)
        .where(
            orm.Notification.case_id.in_(case_ids),
            orm.Notification.state == NotificationState.QUEUED,
        )
        .with_for_update()
    ).all()
    kept = drop_stale(session, queued)
    return len(queued) - len(kept)


def _audience(row: orm.Notification) -> Audience:
    return (row.clock_id, str((row.recipient or {}).get("id") or ""), row.channel)


def _case_statuses(session: Session, case_ids: set[int]) -> dict[int, str]:
    query = select(orm.Case.id, orm.Case.status).where(orm.Case.id.in_(case_ids))
    return {case_id: status for case_id, status in session.execute(query)}


def _clocks(session: Session, clock_ids: set[int]) -> dict[int | None, orm.SlaClock]:
    if not clock_ids:
        return {}
    query = select(orm.SlaClock).where(orm.SlaClock.id.in_(clock_ids))
    return {clock.id: clock for clock in session.scalars(query)}


def _latest_levels(session: Session, clock_ids: set[int]) -> dict[Audience, int]:
    """Per clock, recipient and channel: the highest level planned and not itself dropped."""
    if not clock_ids:
        return {}
    query = select(
        orm.Notification.clock_id,
        orm.Notification.recipient,
        orm.Notification.channel,
        orm.Notification.level,
    ).where(orm.Notification.clock_id.in_(clock_ids), orm.Notification.state != DROPPED)
    latest: dict[Audience, int] = {}
    for clock_id, recipient, channel, level in session.execute(query):
        key = (clock_id, str((recipient or {}).get("id") or ""), channel)
        latest[key] = max(level, latest.get(key, level))
    return latest
