"""The inspections table: claiming occurrences of maintenance plans, and what was opened.

``claim`` inserts one row per occurrence with ON CONFLICT DO NOTHING and returns the rows it
inserted: an occurrence another scheduler claimed first (committed, or waiting on its
transaction on PostgreSQL) comes back as not claimed, so each is opened once. Rows are
inserted in a fixed order, so two schedulers claiming overlapping sets wait, never deadlock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.maintenance import Occurrence
from core.store import orm

Key = tuple[str, str, datetime]  # contract id, plan id, nominal instant (UTC)


def key_of(occurrence: Occurrence) -> Key:
    return occurrence.contract_id, occurrence.plan_id, occurrence.nominal.astimezone(UTC)


def claim(session: Session, occurrences: Sequence[Occurrence], now: datetime) -> dict[Key, int]:
    """Insert a row for each occurrence not yet claimed; the claimed ones' row ids."""
    if not occurrences:
        return {}
    rows = [_row(o, now) for o in sorted(occurrences, key=key_of)]
    table = orm.Inspection.__table__
    stmt: Any
    if session.get_bind().dialect.name == "postgresql":
        stmt = postgresql.insert(table).values(rows)
    else:
        stmt = sqlite.insert(table).values(rows)
    stmt = stmt.on_conflict_do_nothing(
        index_elements=["contract_id", "plan_id", "nominal_at"]
    ).returning(table.c.id, table.c.contract_id, table.c.plan_id, table.c.nominal_at)
    return {(r.contract_id, r.plan_id, r.nominal_at): r.id for r in session.execute(stmt)}


def _row(occurrence: Occurrence, now: datetime) -> dict[str, Any]:
    return {
        "contract_id": occurrence.contract_id,
        "plan_id": occurrence.plan_id,
        "nominal_at": occurrence.nominal,
        "start_at": occurrence.start,
        "due_at": occurrence.due,
        "case_id": None,
        "case_number": None,
        "opened_at": now,
    }


def link(session: Session, opened: Sequence[tuple[int, int, str]]) -> None:
    """Name each claimed row's case: (row id, case id, case number), one executemany."""
    table = orm.Inspection.__table__
    stmt = (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values(case_id=bindparam("cid"), case_number=bindparam("cnumber"))
    )
    session.execute(stmt, [{"row_id": r, "cid": c, "cnumber": n} for r, c, n in opened])


def claimed_since(session: Session, after: datetime) -> set[Key]:
    """The occurrences already claimed whose start is after ``after`` (index on start_at)."""
    table = orm.Inspection.__table__
    query = select(table.c.contract_id, table.c.plan_id, table.c.nominal_at).where(
        table.c.start_at > after
    )
    return {(r.contract_id, r.plan_id, r.nominal_at) for r in session.execute(query)}


def opened_for(session: Session, contract_id: str, plan_id: str) -> list[orm.Inspection]:
    """A plan's opened occurrences, oldest first."""
    query = (
        select(orm.Inspection)
        .where(orm.Inspection.contract_id == contract_id, orm.Inspection.plan_id == plan_id)
        .order_by(orm.Inspection.nominal_at)
    )
    return list(session.scalars(query))
