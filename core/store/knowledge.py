"""The knowledge base in the database: entries (resolved cases, articles), who may see which,
and search on each back end (docs/knowledge.md).

Search cuts the query into terms (core.kbtext) and asks the back end's index for entries
holding every term, then (when those are too few) any term, best first: PostgreSQL ranks a
``simple`` tsvector with ``ts_rank`` (GIN index), SQLite ranks its FTS5 trigram table with
``bm25``. Ranking looks at the first ``RANK_WINDOW`` matches the index yields only, so a
query of common words costs about the same on a million entries as on a thousand; below that
many matches the ranking is exact (docs/knowledge.md).

Past fixes on a case (``related``) read no word index: they rank the newest
``RELATED_WINDOW`` entries of the device model and category (a btree range, newest first)
against the case's words, so their cost does not grow with the knowledge base or with how
common the words are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import msgspec
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    column,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.orm import Session

from core import kbtext
from core.errors import NotFoundError
from core.store import orm

Visibility = Literal["public", "customer", "internal"]
VISIBILITIES: tuple[str, ...] = ("public", "customer", "internal")
RANK_WINDOW = 300  # matches ranked per query (all of them when there are fewer)
RELATED_WINDOW = 500  # newest entries of a model and category a case's past fixes come from
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
    """What the search index holds for ``entry``: the terms of its title, problem, cause,
    fix, body and model, then its facets (who may see it, its model)."""
    words = kbtext.indexed(
        (entry.title, entry.problem, entry.cause, entry.fix, entry.body, entry.device_model)
    )
    return f"{words or ' '}{' '.join(entry_facets(entry))} "


def entry_facets(entry: orm.KbEntry) -> list[str]:
    facets = [kbtext.facet("v", entry.visibility)]
    if entry.visibility == "customer" and entry.customer_id:
        facets.append(kbtext.facet("c", entry.customer_id))
    if entry.device_model:
        facets.append(kbtext.facet("m", entry.device_model))
        if entry.category:
            facets.append(model_category_facet(entry.device_model, entry.category))
    return facets


def model_category_facet(device_model: str, category: str) -> str:
    """The facet of one device model and category together (migration 0022 added it to the
    entries written before): far fewer entries than the model's, and no row of another
    category for the SQL filter to read and drop."""
    return kbtext.facet("p", f"{device_model}\x00{category}")


def query_facets(
    customer_id: str | None, device_model: str | None, category: str | None = None
) -> list[list[str]]:
    """The facet groups a search needs (one term of each): the same conditions as the SQL
    filters, answered by the index."""
    groups = []
    if customer_id is not None:
        groups.append([kbtext.facet("v", "public"), kbtext.facet("c", customer_id)])
    if device_model is not None and category is not None:
        groups.append([model_category_facet(device_model, category)])
    elif device_model is not None:
        groups.append([kbtext.facet("m", device_model)])
    return groups  # a category alone is in too many entries to narrow a scan: SQL filters it


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
    """Active entries matching ``query``, best first, as ``customer_id`` (None: staff) may
    see them, optionally of one device model and category.

    Entries holding every term come first; when they are fewer than ``limit``, entries
    holding any term follow (a query in other words than the entry's still finds it)."""
    words = kbtext.query_terms(query)
    if not words:
        return []
    filters, implied = _filters(customer_id, device_model, category, exclude_case_id)
    facets = query_facets(customer_id, device_model, category)
    every = len(words) > 1
    ranked = _ranked(session, words, facets, filters, limit, rank_window, every=every)
    if len(ranked) < limit:
        seen = {entry_id for entry_id, _ in ranked}
        wanted = limit + len(seen)
        if customer_id is None and device_model is not None and category is not None:
            # staff, any term, one model and category: its newest entries only (a customer's
            # facet narrows the index scan instead; its share of a window could be tiny)
            newest = _newest(device_model, category, [*filters, *implied])
            more = [item for item in _rank_newest(session, newest, words, wanted) if item[1] >= 0]
        else:
            more = _ranked(session, words, facets, filters, wanted, rank_window, every=False)
        ranked.extend(item for item in more if item[0] not in seen)
    customer_view = customer_id is not None
    return _hits(session, ranked[:limit], customer_view=customer_view, where=implied)


def _filters(
    customer_id: str | None,
    device_model: str | None,
    category: str | None,
    exclude_case_id: int | None,
) -> tuple[list[ColumnElement[bool]], list[ColumnElement[bool]]]:
    """The SQL conditions of a search: those the scan applies, and those its facets already
    answer, checked again on the rows found (so a facet can only narrow, never widen, what
    someone sees): in the scan they would let the planner AND a btree's whole range of the
    model or the customer with the word index, for nothing."""
    scan: list[ColumnElement[bool]] = [orm.KbEntry.active.is_(True)]
    implied: list[ColumnElement[bool]] = [visible_to(customer_id)]
    if device_model is not None:
        implied.append(orm.KbEntry.device_model == device_model)
    if category is not None:
        (implied if device_model is not None else scan).append(orm.KbEntry.category == category)
    if exclude_case_id is not None:
        scan.append(or_(orm.KbEntry.case_id.is_(None), orm.KbEntry.case_id != exclude_case_id))
    return scan, implied


def _ranked(
    session: Session,
    words: Sequence[str],
    facets: list[list[str]],
    filters: list[ColumnElement[bool]],
    limit: int,
    window: int,
    *,
    every: bool,
) -> list[tuple[int, float]]:
    """``(id, score)`` of the best ``limit`` among the first ``window`` matches the index
    yields (every match, when there are fewer): the window bounds the work of a query of
    common words whatever the size of the knowledge base."""
    if session.get_bind().dialect.name == "postgresql":
        tsquery = func.to_tsquery(
            literal_column("'simple'"), kbtext.tsquery(words, every=every, facets=facets)
        )
        vector: ColumnElement[Any] = literal_column("kb_entries.search_vector")
        window_rows = (
            select(orm.KbEntry.id.label("id"), vector.label("v"))
            .where(vector.op("@@")(tsquery), *filters)
            .limit(window)
            .subquery("m")
        )
        score = func.ts_rank(window_rows.c.v, tsquery).label("score")
        stmt: Select[Any] = (
            select(window_rows.c.id, score)
            .order_by(score.desc(), window_rows.c.id.desc())
            .limit(limit)
        )
        return [(int(row[0]), float(row[1])) for row in session.execute(stmt).all()]
    # SQLite: bm25 is lower for better matches
    fts = table("kb_fts", column("rowid"))
    bm25: ColumnElement[float] = literal_column("bm25(kb_fts)")
    lite = (
        select(orm.KbEntry.id, bm25)
        .select_from(fts)
        .join(orm.KbEntry, orm.KbEntry.id == fts.c.rowid)
        .where(text("kb_fts MATCH :q"), *filters)
        .limit(window)
    )
    match = kbtext.fts5_match(words, every=every, facets=facets)
    found = [(int(row[0]), -float(row[1])) for row in session.execute(lite, {"q": match})]
    return sorted(found, key=_best_first)[:limit]


def _best_first(item: tuple[int, float]) -> tuple[float, int]:
    return (-item[1], -item[0])


def _hits(
    session: Session,
    ranked: list[tuple[int, float]],
    *,
    customer_view: bool,
    where: Sequence[ColumnElement[bool]] = (),
) -> list[KbHit]:
    if not ranked:
        return []
    ids = [i for i, _ in ranked]
    rows = {
        row.id: row
        for row in session.scalars(select(orm.KbEntry).where(orm.KbEntry.id.in_(ids), *where))
    }
    return [_hit(rows[i], score, customer_view=customer_view) for i, score in ranked if i in rows]


def related(
    session: Session,
    text_: str,
    *,
    device_model: str | None,
    category: str,
    exclude_case_id: int | None,
    limit: int,
    window: int = RELATED_WINDOW,
) -> list[KbHit]:
    """Past fixes (staff view): among the newest ``window`` active entries of one device
    model and category, those matching any term of ``text_`` best first, then the newest
    others. A btree range bounds the work (no word index list is read, however common the
    words): the ranking is exact within the window."""
    if device_model is None:
        return []
    conditions: list[ColumnElement[bool]] = [orm.KbEntry.active.is_(True)]
    if exclude_case_id is not None:
        conditions.append(
            or_(orm.KbEntry.case_id.is_(None), orm.KbEntry.case_id != exclude_case_id)
        )
    newest = _newest(device_model, category, conditions, window)
    ranked = _rank_newest(session, newest, kbtext.query_terms(text_), limit)
    # the newest others (ranked -1, after every match) are shown without a score
    return _hits(session, [(i, max(score, 0.0)) for i, score in ranked], customer_view=False)


def _newest(
    device_model: str,
    category: str,
    conditions: Sequence[ColumnElement[bool]],
    window: int = RELATED_WINDOW,
) -> Select[Any]:
    """The ids of the newest ``window`` entries of one model and category (and
    ``conditions``): a backward range of ``ix_kb_entries_newest``. Newest by ``created_at``
    (a harvested case's resolution; a backfilled one's too), which only that index orders:
    by ``id`` the planner may walk the primary key backwards and filter, a scan of most of
    the table for a model whose entries are all old."""
    return (
        select(orm.KbEntry.id)
        .where(
            orm.KbEntry.device_model == device_model,
            orm.KbEntry.category == category,
            *conditions,
        )
        .order_by(orm.KbEntry.created_at.desc(), orm.KbEntry.id.desc())
        .limit(window)
    )


def _rank_newest(
    session: Session, newest: Select[Any], words: Sequence[str], limit: int
) -> list[tuple[int, float]]:
    """The best ``limit`` of ``newest``: the entries holding any of ``words``, best first,
    then the others (score -1), newest first."""
    if session.get_bind().dialect.name == "postgresql":
        return _related_postgres(session, newest, words, limit)
    return _related_sqlite(session, newest, words, limit)


def _related_postgres(
    session: Session, newest: Select[Any], words: Sequence[str], limit: int
) -> list[tuple[int, float]]:
    vector: ColumnElement[Any] = literal_column("kb_entries.search_vector")
    recent = newest.add_columns(orm.KbEntry.created_at.label("at"), vector.label("v"))
    window = recent.subquery("recent")
    newest_first = (window.c.at.desc(), window.c.id.desc())
    if not words:
        stmt = select(window.c.id, literal_column("0.0")).order_by(*newest_first)
    else:
        tsquery = func.to_tsquery(literal_column("'simple'"), kbtext.tsquery(words))
        matched = window.c.v.op("@@")(tsquery)
        score = case((matched, func.ts_rank(window.c.v, tsquery)), else_=-1.0).label("score")
        stmt = select(window.c.id, score).order_by(score.desc(), *newest_first)
    return [(int(row[0]), float(row[1])) for row in session.execute(stmt.limit(limit))]


def _related_sqlite(
    session: Session, newest: Select[Any], words: Sequence[str], limit: int
) -> list[tuple[int, float]]:
    """SQLite: BM25 over the window's own terms, computed here. FTS5 cannot rank a given set
    of rows: its MATCH walks every entry holding a word (seconds for common words at 100k
    entries) before the window's ids could filter them."""
    rows = [
        (int(row[0]), str(row[1])) for row in session.execute(newest.add_columns(orm.KbEntry.terms))
    ]
    scores = window_bm25(words, [terms for _, terms in rows])
    ranked = [(entry_id, score) for (entry_id, _), score in zip(rows, scores, strict=True)]
    # best first; equal scores (the others: -1) stay newest first (a stable sort)
    return sorted(ranked, key=lambda item: -item[1])[:limit]


def window_bm25(
    words: Sequence[str], documents: Sequence[str], k1: float = 1.2, b: float = 0.75
) -> list[float]:
    """Okapi BM25 of each of ``documents`` (space-padded terms, as ``index_terms`` makes them)
    for ``words``, the frequencies counted within ``documents``; -1 for one holding none."""
    counts = [[doc.count(f" {word} ") for word in words] for doc in documents]
    lengths = [doc.count(" ") for doc in documents]
    average = (sum(lengths) / len(lengths)) if lengths else 0.0
    n = len(documents)
    idf = []
    for index in range(len(words)):
        df = sum(1 for row in counts if row[index])
        idf.append(math.log((n - df + 0.5) / (df + 0.5) + 1.0))
    scores = []
    for row, length in zip(counts, lengths, strict=True):
        if not any(row):
            scores.append(-1.0)
            continue
        norm = k1 * (1 - b + b * length / average) if average else k1
        scores.append(sum(w * tf * (k1 + 1) / (tf + norm) for w, tf in zip(idf, row, strict=True)))
    return scores


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
    "RELATED_WINDOW",
    "VISIBILITIES",
    "KbArticle",
    "KbHit",
    "Visibility",
    "article_view",
    "case_entry",
    "get_entry",
    "index_terms",
    "related",
    "search",
    "unharvested",
    "visible_to",
    "withdraw_case",
]
