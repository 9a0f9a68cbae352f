"""The knowledge base in the database: entries (resolved cases, articles), who may see which,
and search on each back end (docs/knowledge.md).

Search cuts the query into terms (core.kbtext) and asks the back end's index for entries
holding any of them, best first: PostgreSQL ranks a ``simple`` tsvector with ``ts_rank``
(GIN index), SQLite ranks its FTS5 trigram table with ``bm25``. Ranking looks at the
``RANK_WINDOW`` newest matches only, so a query of common words costs the same on a million
entries as on a thousand (a visible setting: ``rank_window``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import msgspec
from sqlalchemy import ColumnElement, Select, and_, or_, select, text
from sqlalchemy.orm import Session

from core import kbtext
from core.errors import NotFoundError
from core.store import orm

Visibility = Literal["public", "customer", "internal"]
VISIBILITIES: tuple[str, ...] = ("public", "customer", "internal")
RANK_WINDOW = 2000  # newest matching entries ranked per query
NO_SUCH_ENTRY = "no such knowledge entry"  # one text for missing and not-yours


class KbHit(msgspec.Struct, kw_only=True):
    """One entry as a search or a listing shows it."""

    id: int
    kind: str
    title: str
    problem: str | None
    cause: str | None
    fix: str | None
    case_number: str | None
    device_model: str | None
    category: str | None
    visibility: str
    customer_id: str | None
    updated_at: datetime
    score: float = 0.0


class KbArticle(KbHit, kw_only=True):
    """One entry in full."""

    body: str | None
    author: str
    created_at: datetime
    updated_by: str
    active: bool


def index_terms(entry: orm.KbEntry) -> str:
    """What the search index holds for ``entry`` (title, problem, cause, fix, body, model)."""
    return kbtext.indexed(
        (entry.title, entry.problem, entry.cause, entry.fix, entry.body, entry.device_model)
    )


def visible_to(customer_id: str | None) -> ColumnElement[bool]:
    """Staff (None) see every entry; a customer sees public ones and its own."""
    if customer_id is None:
        return orm.KbEntry.id.is_not(None)
    return or_(
        orm.KbEntry.visibility == "public",
        and_(orm.KbEntry.visibility == "customer", orm.KbEntry.customer_id == customer_id),
    )


def _hit(entry: orm.KbEntry, score: float, *, customer_view: bool) -> KbHit:
    return KbHit(
        id=entry.id,
        kind=entry.kind,
        title=entry.title,
        problem=entry.problem,
        cause=_cause(entry, customer_view),
        fix=entry.fix,
        case_number=entry.case_number,
        device_model=entry.device_model,
        category=entry.category,
        visibility=entry.visibility,
        customer_id=entry.customer_id,
        updated_at=entry.updated_at,
        score=round(score, 6),
    )


def _cause(entry: orm.KbEntry, customer_view: bool) -> str | None:
    """A harvested case's cause is the engineer's diagnosis, an internal event: a customer
    sees the problem and the fix of its own cases, not the internal finding."""
    return None if customer_view and entry.kind == "case" else entry.cause


def article_view(entry: orm.KbEntry, *, customer_view: bool = False) -> KbArticle:
    hit = _hit(entry, 0.0, customer_view=customer_view)
    return KbArticle(
        **msgspec.structs.asdict(hit),
        body=entry.body,
        author=entry.author,
        created_at=entry.created_at,
        updated_by=entry.updated_by,
        active=entry.active,
    )


def get_entry(session: Session, entry_id: int, *, customer_id: str | None = None) -> orm.KbEntry:
    """Entry ``entry_id`` if the caller may see it, else NotFoundError (same answer)."""
    entry = session.scalar(
        select(orm.KbEntry).where(orm.KbEntry.id == entry_id, visible_to(customer_id))
    )
    if entry is None:
        raise NotFoundError(NO_SUCH_ENTRY)
    return entry


def search(
    session: Session,
    query: str,
    *,
    customer_id: str | None = None,
    device_model: str | None = None,
    category: str | None = None,
    exclude_case_id: int | None = None,
    limit: int = 10,
    rank_window: int = RANK_WINDOW,
) -> list[KbHit]:
    """Active entries matching any term of ``query``, best first, as ``customer_id`` (None:
    staff) may see them, optionally of one device model and category."""
    words = kbtext.query_terms(query)
    if not words:
        return []
    filters = [orm.KbEntry.active.is_(True), visible_to(customer_id)]
    if device_model is not None:
        filters.append(orm.KbEntry.device_model == device_model)
    if category is not None:
        filters.append(orm.KbEntry.category == category)
    if exclude_case_id is not None:
        filters.append(or_(orm.KbEntry.case_id.is_(None), orm.KbEntry.case_id != exclude_case_id))
    if session.get_bind().dialect.name == "postgresql":
        ranked = _postgres_ranked(session, words, filters, limit, rank_window)
    else:
        ranked = _sqlite_ranked(session, words, filters, limit, rank_window)
    return _hits(session, ranked, customer_view=customer_id is not None)


def _postgres_ranked(
    session: Session,
    words: Sequence[str],
    filters: list[ColumnElement[bool]],
    limit: int,
    window: int,
) -> list[tuple[int, float]]:
    matches = (
        select(orm.KbEntry.id.label("id"), text("kb_entries.search_vector AS v"))
        .where(text("kb_entries.search_vector @@ to_tsquery('simple', :q)"), *filters)
        .order_by(orm.KbEntry.id.desc())
        .limit(window)
        .subquery("m")
    )
    stmt: Select[Any] = (
        select(matches.c.id, text("ts_rank(m.v, to_tsquery('simple', :q)) AS score"))
        .order_by(text("score DESC"), matches.c.id.desc())
        .limit(limit)
    )
    rows = session.execute(stmt, {"q": kbtext.tsquery(words)}).all()
    return [(int(row[0]), float(row[1])) for row in rows]


def _sqlite_ranked(
    session: Session,
    words: Sequence[str],
    filters: list[ColumnElement[bool]],
    limit: int,
    window: int,
) -> list[tuple[int, float]]:
    # bm25 is lower for better matches; the window keeps the newest matches, as on PostgreSQL
    matches = text(
        "SELECT rowid AS id, bm25(kb_fts) AS score FROM kb_fts WHERE kb_fts MATCH :q "
        "ORDER BY rowid DESC LIMIT :window"
    ).columns()
    found = {
        int(row[0]): float(row[1])
        for row in session.execute(matches, {"q": kbtext.fts5_match(words), "window": window}).all()
    }
    if not found:
        return []
    allowed = set(
        session.scalars(select(orm.KbEntry.id).where(orm.KbEntry.id.in_(found), *filters))
    )
    ranked = sorted(((i, -s) for i, s in found.items() if i in allowed), key=_best_first)
    return ranked[:limit]


def _best_first(item: tuple[int, float]) -> tuple[float, int]:
    return (-item[1], -item[0])


def _hits(session: Session, ranked: list[tuple[int, float]], *, customer_view: bool) -> list[KbHit]:
    if not ranked:
        return []
    rows = {
        row.id: row
        for row in session.scalars(
            select(orm.KbEntry).where(orm.KbEntry.id.in_([i for i, _ in ranked]))
        )
    }
    return [_hit(rows[i], score, customer_view=customer_view) for i, score in ranked if i in rows]


def recent_for(
    session: Session,
    *,
    device_model: str | None,
    category: str,
    exclude_case_id: int | None,
    limit: int,
) -> list[KbHit]:
    """The newest active entries of one device model and category (staff view)."""
    if device_model is None:
        return []
    stmt = (
        select(orm.KbEntry)
        .where(
            orm.KbEntry.active.is_(True),
            orm.KbEntry.device_model == device_model,
            orm.KbEntry.category == category,
            or_(orm.KbEntry.case_id.is_(None), orm.KbEntry.case_id != (exclude_case_id or -1))
            if exclude_case_id is not None
            else orm.KbEntry.id.is_not(None),
        )
        .order_by(orm.KbEntry.id.desc())
        .limit(limit)
    )
    return [_hit(entry, 0.0, customer_view=False) for entry in session.scalars(stmt)]


def case_entry(session: Session, case_id: int) -> orm.KbEntry | None:
    return session.scalar(select(orm.KbEntry).where(orm.KbEntry.case_id == case_id))


def withdraw_case(session: Session, case_id: int, now: datetime, actor: str) -> None:
    """A reopened case's fix did not hold: its entry leaves search until resolved again."""
    entry = case_entry(session, case_id)
    if entry is not None and entry.active:
        entry.active, entry.updated_at, entry.updated_by = False, now, actor


def unharvested(session: Session, *, limit: int) -> list[orm.Case]:
    """Resolved or closed cases without an entry yet (the backfill's work list)."""
    has_entry = select(orm.KbEntry.id).where(orm.KbEntry.case_id == orm.Case.id).exists()
    stmt = (
        select(orm.Case)
        .where(orm.Case.status.in_(("resolved", "closed")), ~has_entry)
        .order_by(orm.Case.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


__all__ = [
    "NO_SUCH_ENTRY",
    "RANK_WINDOW",
    "VISIBILITIES",
    "KbArticle",
    "KbHit",
    "Visibility",
    "article_view",
    "case_entry",
    "get_entry",
    "index_terms",
    "recent_for",
    "search",
    "unharvested",
    "visible_to",
    "withdraw_case",
]
