"""Read-side queries of the documents (core/documents; docs/documents.md): inspections and their
latest per-device results, change plans with their review and implementation, spares, RMAs,
open cases, faults per device and category, a model's knowledge entries.

Counting happens here, in SQL (GROUP BY, ``COUNT(*) FILTER``, ``ROW_NUMBER()``), the same
statements on SQLite and PostgreSQL; the documents only arrange the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from core.store import orm
from core.store.knowledge import visible_to

Case, Event = orm.Case, orm.CaseEvent
DONE = ("resolved", "closed")
INSPECTION = "periodic_inspection"


def _in(column: Any, start: datetime | None, end: datetime | None) -> list[Any]:
    out = []
    if start is not None:
        out.append(column >= start)
    if end is not None:
        out.append(column < end)
    return out


def inspections(
    session: Session, contract_id: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """The plans' occurrences starting in ``[start, end)``: case, status and the counts of its
    devices' latest results (ok, finding)."""
    latest = _latest_results(contract_id, None, None).subquery()
    counts = (
        select(
            latest.c.case_id,
            func.count().filter(latest.c.outcome == "ok").label("ok"),
            func.count().filter(latest.c.outcome == "finding").label("findings"),
        )
        .where(latest.c.rn == 1)
        .group_by(latest.c.case_id)
        .subquery()
    )
    i = orm.Inspection
    rows = session.execute(
        select(
            i.plan_id,
            i.case_number,
            i.start_at,
            i.due_at,
            Case.status,
            func.coalesce(counts.c.ok, 0).label("ok"),
            func.coalesce(counts.c.findings, 0).label("findings"),
        )
        .outerjoin(Case, Case.id == i.case_id)
        .outerjoin(counts, counts.c.case_id == i.case_id)
        .where(i.contract_id == contract_id, *_in(i.start_at, start, end))
        .order_by(i.start_at, i.plan_id)
    )
    return [dict(r._mapping) for r in rows]


def _latest_results(contract_id: str, start: datetime | None, end: datetime | None) -> Any:
    """Every inspection result of the contract's inspections opened in ``[start, end)`` with
    ``rn`` 1 on the latest one per (inspection, device): a later result corrects an earlier."""
    serial = Event.payload["serial"].as_string()
    rn = func.row_number().over(partition_by=(Event.case_id, serial), order_by=Event.seq.desc())
    return (
        select(
            Event.case_id,
            Case.number,
            Event.at,
            serial.label("serial"),
            Event.payload["outcome"].as_string().label("outcome"),
            Event.payload["severity"].as_string().label("severity"),
            Event.payload["note"].as_string().label("note"),
            Event.payload["follow_up"].as_string().label("follow_up"),
            rn.label("rn"),
        )
        .join(Case, Case.id == Event.case_id)
        .where(
            Case.contract_id == contract_id,
            Case.category == INSPECTION,
            Event.kind == "inspection_result",
            *_in(Case.opened_at, start, end),
        )
    )


def findings(
    session: Session,
    contract_id: str,
    start: datetime | None,
    end: datetime | None,
    serials: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """The findings standing (the latest result of their device) in the inspections opened in
    ``[start, end)`` (None: unbounded), oldest first, with their follow-up case's status."""
    latest = _latest_results(contract_id, start, end).subquery()
    follow = orm.Case.__table__.alias("follow")
    query = (
        select(
            latest.c.number.label("inspection"),
            latest.c.at,
            latest.c.serial,
            latest.c.severity,
            latest.c.note,
            latest.c.follow_up,
            follow.c.status.label("follow_up_status"),
        )
        .outerjoin(follow, follow.c.number == latest.c.follow_up)
        .where(latest.c.rn == 1, latest.c.outcome == "finding")
        .order_by(latest.c.at, latest.c.number, latest.c.serial)
    )
    if serials is not None:
        query = query.where(latest.c.serial.in_(list(serials)))
    return [dict(r._mapping) for r in session.execute(query)]


def changes(
    session: Session,
    contract_id: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    case_id: int | None = None,
) -> list[dict[str, Any]]:
    """Change plans proposed in ``[start, end)`` (or on one case), each with its review and
    implementation: the proposal's seq names it in both."""
    review = select(Event).where(Event.kind == "change_reviewed").subquery("review")
    done = select(Event).where(Event.kind == "change_implemented").subquery("done")
    proposal = Event
    scope = [Case.contract_id == contract_id, proposal.kind == "change_proposed"]
    if case_id is not None:
        scope.append(Case.id == case_id)
    scope += _in(proposal.at, start, end)
    rows = session.execute(
        select(
            Case.number.label("case_number"),
            proposal.seq,
            proposal.payload.label("proposal"),
            proposal.actor.label("proposed_by"),
            proposal.at.label("proposed_at"),
            review.c.payload.label("review"),
            review.c.actor.label("reviewer"),
            review.c.at.label("reviewed_at"),
            done.c.payload.label("done"),
            done.c.actor.label("implemented_by"),
            done.c.at.label("implemented_at"),
        )
        .join(Case, Case.id == proposal.case_id)
        .outerjoin(
            review,
            and_(
                review.c.case_id == proposal.case_id,
                review.c.payload["change"].as_integer() == proposal.seq,
            ),
        )
        .outerjoin(
            done,
            and_(
                done.c.case_id == proposal.case_id,
                done.c.payload["change"].as_integer() == proposal.seq,
            ),
        )
        .where(*scope)
        .order_by(proposal.at, Case.number, proposal.seq)
    )
    return [dict(r._mapping) for r in rows]


def spares(
    session: Session, contract_id: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    s = orm.SpareRequest
    rows = session.execute(
        select(
            Case.number.label("case_number"),
            s.request,
            s.part,
            s.device_serial,
            s.status,
            s.requested_at,
        )
        .join(Case, Case.id == s.case_id)
        .where(Case.contract_id == contract_id, *_in(s.requested_at, start, end))
        .order_by(s.requested_at, s.id)
    )
    return [dict(r._mapping) for r in rows]


def rmas(
    session: Session, contract_id: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    r = orm.RmaOrder
    rows = session.execute(
        select(r.case_number, r.channel, r.serial, r.state, r.vendor_case, r.created_at)
        .join(Case, Case.id == r.case_id)
        .where(Case.contract_id == contract_id, *_in(r.created_at, start, end))
        .order_by(r.created_at, r.id)
    )
    return [dict(row._mapping) for row in rows]


def open_cases(
    session: Session, contract_id: str, end: datetime, now: datetime, limit: int
) -> tuple[int, list[dict[str, Any]]]:
    """Cases opened before ``end`` and neither resolved nor closed by ``now``: how many, and
    the oldest ``limit`` of them."""
    resolved = and_(Case.resolved_at.is_not(None), Case.resolved_at <= now)
    closed = and_(Case.closed_at.is_not(None), Case.closed_at <= now)
    where = [Case.contract_id == contract_id, Case.opened_at < end, ~or_(resolved, closed)]
    total = session.scalar(select(func.count()).select_from(Case).where(*where)) or 0
    rows = session.execute(
        select(Case.number, Case.summary, Case.category, Case.priority, Case.status, Case.opened_at)
        .where(*where)
        .order_by(Case.opened_at, Case.id)
        .limit(limit)
    )
    return total, [dict(r._mapping) for r in rows]


def fault_counts(
    session: Session,
    contract_id: str,
    start: datetime | None,
    end: datetime | None,
    serials: Sequence[str],
) -> list[dict[str, Any]]:
    """Per device and service type: the cases about the device (inspections left out) opened
    in ``[start, end)``, with the first and the last opening."""
    rows = session.execute(
        select(
            Case.device_serial.label("serial"),
            Case.category,
            func.count().label("cases"),
            func.min(Case.opened_at).label("first"),
            func.max(Case.opened_at).label("last"),
        )
        .where(
            Case.contract_id == contract_id,
            Case.device_serial.in_(list(serials)),
            Case.category != INSPECTION,
            *_in(Case.opened_at, start, end),
        )
        .group_by(Case.device_serial, Case.category)
        .order_by(Case.device_serial, func.count().desc(), Case.category)
    )
    return [dict(r._mapping) for r in rows]


def fault_cases(
    session: Session,
    contract_id: str,
    start: datetime | None,
    end: datetime | None,
    serial: str,
    category: str,
) -> list[str]:
    """The numbers of the cases one ``fault_counts`` row counts, oldest first."""
    return list(
        session.scalars(
            select(Case.number)
            .where(
                Case.contract_id == contract_id,
                Case.device_serial == serial,
                Case.category == category,
                *_in(Case.opened_at, start, end),
            )
            .order_by(Case.opened_at, Case.id)
        )
    )


def device_rows(session: Session, serials: Sequence[str]) -> dict[str, orm.Device]:
    """The device records (software version, environment, replacement) by serial."""
    if not serials:
        return {}
    rows = session.scalars(select(orm.Device).where(orm.Device.serial.in_(list(serials))))
    return {row.serial: row for row in rows}


def case_by_number(session: Session, number: str) -> orm.Case | None:
    return session.scalars(select(Case).where(Case.number == number)).one_or_none()


def has_change_plan(session: Session, number: str) -> bool:
    """Whether a change plan was proposed on the case (its implementation document exists)."""
    found = session.scalar(
        select(Event.id)
        .join(Case, Case.id == Event.case_id)
        .where(Case.number == number, Event.kind == "change_proposed")
        .limit(1)
    )
    return found is not None


def resolution_of(session: Session, case_id: int) -> str | None:
    """The text of the case's latest resolution."""
    payload = session.scalar(
        select(Event.payload)
        .where(Event.case_id == case_id, Event.kind == "resolved")
        .order_by(Event.seq.desc())
        .limit(1)
    )
    return None if payload is None else str(payload.get("resolution", ""))


def case_events(
    session: Session, case_id: int, kinds: Sequence[str], *, also_internal: Sequence[str] = ()
) -> list[orm.CaseEvent]:
    """The case's customer-visible events of ``kinds`` (and those of ``also_internal`` whatever
    their visibility), in order."""
    shown = or_(Event.visibility == "customer", Event.kind.in_(list(also_internal)))
    return list(
        session.scalars(
            select(Event)
            .where(Event.case_id == case_id, Event.kind.in_(list(kinds)), shown)
            .order_by(Event.seq)
        )
    )


def known_problems(session: Session, model: str, customer_id: str, limit: int) -> list[orm.KbEntry]:
    """The active knowledge entries about ``model`` the customer may read (public and its
    own), the newest first."""
    return list(
        session.scalars(
            select(orm.KbEntry)
            .where(
                orm.KbEntry.device_model == model,
                orm.KbEntry.active.is_(True),
                visible_to(customer_id),
            )
            .order_by(orm.KbEntry.updated_at.desc(), orm.KbEntry.id.desc())
            .limit(limit)
        )
    )
