"""The report's per-case facts (docs/reports.md, "Indexes and speed"): ``case_facts`` (one
row per case) and ``clock_facts`` (one row per SLA clock, with its case's contract and
opening instant), read by ``core.store.report_sql`` instead of joining clocks and events.

One statement computes a case's facts from its row, its events and its clocks
(``case_select``/``clock_select``); the same statements rebuild every case (``rebuild``: the
CLI ``casetrack reports rebuild-facts``, the benchmark) and refresh the cases a transaction
touched (``refresh``). Sessions from ``core.store.db.make_sessionmaker`` call ``refresh``
themselves (``install``): after each flush they note the cases whose report facts may have
changed (a new or changed case, a clock's outcome, pauses, deadline or exclusion, a first
response, re-open or on-site arrival), and before the commit they recompute those rows in
the same transaction. So every writer (the desk's commands, the scheduler's breach
marking, loaders using the ORM) keeps the facts in step without calling anything.
Recomputing a case's row, not applying deltas, keeps it equal to a rebuild by construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    Connection,
    Select,
    bindparam,
    case,
    delete,
    event,
    func,
    inspect,
    or_,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from core.store.orm import Case, CaseEvent, CaseFacts, ClockFacts, SlaClock

Rows = Select[*tuple[Any, ...]]  # a statement of any columns

# the events whose arrival changes a case's facts
FACT_EVENTS = ("first_response", "reopened", "onsite_arrived")
# the case and clock attributes the facts copy or derive from
CASE_FIELDS = frozenset(
    (
        "contract_id",
        "opened_at",
        "priority",
        "category",
        "channel",
        "zone",
        "request_type",
        "emergency",
        "breached",
        "resolved_at",
        "closed_at",
    )
)
CLOCK_FIELDS = frozenset(
    ("case_id", "kind", "state", "deadline", "paused_at", "pauses", "breached_at")
) | {"exclusion_cause"}
DIRTY = "case_facts_dirty"  # session.info: case ids to refresh before the commit
BATCH = 500  # case ids per refresh statement


class epoch(FunctionElement[int]):
    """Whole epoch seconds of a timestamp column, floored, on either back end."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch, "sqlite")
def _epoch_sqlite(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(epoch, "postgresql")
def _epoch_pg(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


# --- the statements -----------------------------------------------------------------------------

CASE_COLUMNS = tuple(c.name for c in CaseFacts.__table__.columns)
CLOCK_COLUMNS = tuple(c.name for c in ClockFacts.__table__.columns)


def case_select(ids: Sequence[int] | BindParameter[Any] | None = None) -> Rows:
    """The facts of the cases ``ids`` (None: every case), columns in ``CASE_COLUMNS`` order."""
    e = CaseEvent
    history = select(
        e.case_id,
        func.min(epoch(e.at)).filter(e.kind == "first_response").label("first_response"),
        func.count().filter(e.kind == "reopened").label("reopens"),
        func.count().filter(e.kind == "onsite_arrived").label("visits"),
    ).where(e.kind.in_(FACT_EVENTS))
    cases: list[ColumnElement[bool]] = [true()]
    if ids is not None:
        history = history.where(e.case_id.in_(ids))
        cases = [Case.id.in_(ids)]
    h = history.group_by(e.case_id).subquery("h")
    opened = epoch(Case.opened_at)
    return (
        select(
            Case.id,
            Case.contract_id,
            Case.opened_at,
            Case.priority,
            Case.category,
            Case.channel,
            Case.zone,
            Case.request_type,
            Case.emergency,
            Case.breached,
            Case.resolved_at,
            Case.closed_at,
            (h.c.first_response - opened).label("first_response_s"),
            case((Case.resolved_at.is_not(None), epoch(Case.resolved_at) - opened)).label(
                "resolution_s"
            ),
            func.coalesce(h.c.reopens, 0).label("reopens"),
            func.coalesce(h.c.visits, 0).label("visits"),
        )
        .outerjoin(h, h.c.case_id == Case.id)
        .where(*cases)
    )


def clock_select(ids: Sequence[int] | BindParameter[Any] | None = None) -> Rows:
    """The facts of the clocks of the cases ``ids`` (None: every clock), in
    ``CLOCK_COLUMNS`` order."""
    c = SlaClock
    intervals = func.coalesce(func.json_array_length(c.pauses), 0)
    running_pause = case((c.paused_at.is_not(None), 1), else_=0)
    marked = or_(c.state == "breached", c.breached_at.is_not(None))
    stmt = select(
        c.id,
        c.case_id,
        Case.contract_id,
        Case.opened_at,
        c.kind,
        c.state,
        c.deadline,
        case((marked, True), else_=False).label("marked"),
        (intervals + running_pause).label("pauses"),
        c.exclusion_cause,
    ).join(Case, Case.id == c.case_id)
    return stmt.where(true() if ids is None else c.case_id.in_(ids))


def _dialect(bind: Session | Connection) -> str:
    return bind.get_bind().dialect.name if isinstance(bind, Session) else bind.dialect.name


def _upsert(dialect: str, model: Any, key: str, source: Rows) -> Any:
    """INSERT … SELECT … ON CONFLICT (key) DO UPDATE every other column."""
    table = model.__table__
    columns = [col.name for col in table.columns]
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    stmt = ins.from_select(columns, source)
    return stmt.on_conflict_do_update(
        index_elements=[key],
        set_={name: stmt.excluded[name] for name in columns if name != key},
    )


IDS: BindParameter[Any] = bindparam("ids", expanding=True)  # the cases a refresh recomputes


@cache
def _refresh_statements(dialect: str) -> tuple[Any, ...]:
    """Built once per dialect (a command's commit pays only for running them)."""
    return (
        delete(ClockFacts).where(ClockFacts.case_id.in_(IDS)),
        _upsert(dialect, CaseFacts, "case_id", case_select(IDS)),
        _upsert(dialect, ClockFacts, "clock_id", clock_select(IDS)),
    )


def refresh(bind: Session | Connection, case_ids: Iterable[int]) -> None:
    """Recompute the facts of ``case_ids`` from their rows, events and clocks (in the
    caller's transaction). Idempotent: an unknown id writes nothing."""
    ids = sorted(set(case_ids))
    statements = _refresh_statements(_dialect(bind))
    for at in range(0, len(ids), BATCH):
        chunk = {"ids": ids[at : at + BATCH]}
        for stmt in statements:
            bind.execute(stmt, chunk)


def rebuild(bind: Session | Connection) -> int:
    """Every case's facts from scratch (the CLI, the benchmark); returns the cases."""
    dialect = _dialect(bind)
    bind.execute(delete(ClockFacts))
    bind.execute(delete(CaseFacts))
    # upserts: a command committing meanwhile may have refreshed a case already
    bind.execute(_upsert(dialect, CaseFacts, "case_id", case_select()))
    bind.execute(_upsert(dialect, ClockFacts, "clock_id", clock_select()))
    return int(bind.execute(select(func.count()).select_from(CaseFacts)).scalar_one())


def rows(bind: Session | Connection) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Both tables' rows in key order (tests compare maintained facts with a rebuild)."""
    cases = bind.execute(select(CaseFacts.__table__).order_by(CaseFacts.case_id)).all()
    clocks = bind.execute(select(ClockFacts.__table__).order_by(ClockFacts.clock_id)).all()
    return [tuple(r) for r in cases], [tuple(r) for r in clocks]


# --- keeping them in step -----------------------------------------------------------------------


def _changed(obj: Any, fields: frozenset[str]) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in fields)


def _touched(session: Session) -> set[int]:
    """The cases this flush may have changed the facts of (ids are assigned by now)."""
    ids: set[int] = set()
    for obj in session.new:
        if isinstance(obj, Case):
            ids.add(obj.id)
        elif isinstance(obj, SlaClock) or (isinstance(obj, CaseEvent) and obj.kind in FACT_EVENTS):
            ids.add(obj.case_id)
    for obj in session.dirty:
        if isinstance(obj, Case) and _changed(obj, CASE_FIELDS):
            ids.add(obj.id)
        elif isinstance(obj, SlaClock) and _changed(obj, CLOCK_FIELDS):
            ids.add(obj.case_id)
    ids.discard(None)
    return ids


def _after_flush(session: Session, _context: Any) -> None:
    touched = _touched(session)
    if touched:
        session.info.setdefault(DIRTY, set()).update(touched)


def _before_commit(session: Session) -> None:
    session.flush()  # the last changes' cases are noted too
    ids = session.info.pop(DIRTY, None)
    if ids:
        refresh(session, ids)


def _forget(session: Session, *_: Any) -> None:
    session.info.pop(DIRTY, None)


def install(factory: sessionmaker[Session]) -> None:
    """Sessions of ``factory`` refresh the facts of the cases they changed, before commit."""
    event.listen(factory, "after_flush", _after_flush)
    event.listen(factory, "before_commit", _before_commit)
    event.listen(factory, "after_rollback", _forget)


__all__ = [
    "CASE_COLUMNS",
    "CLOCK_COLUMNS",
    "case_select",
    "clock_select",
    "epoch",
    "install",
    "rebuild",
    "refresh",
    "rows",
]
