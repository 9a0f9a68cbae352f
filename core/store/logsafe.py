"""Exceptions told to a log without the personal data they may carry.

A database error's text holds the statement's parameters (SQLAlchemy's ``[parameters: ...]``)
and, from PostgreSQL, the row or key that failed (``DETAIL: Failing row contains (...)``):
callers' phone numbers and e-mail addresses. Logs get the error's kind, SQLSTATE and the
constraint, table or column the driver names, plus the traceback's frames, never the
messages of database errors. Other messages are logged with e-mail addresses and mobile
numbers masked (core.store.queries.redact).
"""

from __future__ import annotations

import traceback

from sqlalchemy.exc import OperationalError, StatementError

from core.store.queries import redact


def describe(exc: BaseException) -> str:
    """One line for a log: what failed, without values."""
    name = _name(exc)
    if isinstance(exc, OperationalError):
        # the connection's state (refused, timed out, cancelled): no row data, worth telling
        return f"{name}: {_database(exc.orig)}: {_first_line(exc.orig)}"
    if isinstance(exc, StatementError):
        return f"{name}: {_database(exc.orig)}"
    if isinstance(exc.__cause__ or exc.__context__, StatementError):
        inner = exc.__cause__ or exc.__context__
        assert isinstance(inner, StatementError)
        return f"{name} (from {_name(inner)}: {_database(inner.orig)})"
    return f"{name}: {_first_line(exc)}"


def _first_line(exc: BaseException | None) -> str:
    lines = str(exc).strip().splitlines() if exc is not None else []
    return redact(lines[0]) or "" if lines else ""


def frames(exc: BaseException) -> str:
    """The tracebacks of ``exc`` and the exceptions it came from: files, lines and code,
    with each exception's type but not its message."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        cause = current.__cause__
        current = (
            cause if cause is not None or current.__suppress_context__ else current.__context__
        )
    parts = []
    for item in reversed(chain):
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_tb(item.__traceback__))
        parts.append(f"{_name(item)} (message not logged)\n")
    return "".join(parts)


def _database(orig: BaseException | None) -> str:
    """The driver error's kind and what it names: SQLSTATE, constraint, table, column."""
    if orig is None:
        return "no driver error"
    facts = [_name(orig)]
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None)
    if sqlstate:
        facts.append(f"code {sqlstate}")
    diag = getattr(orig, "diag", None)
    for label in ("constraint_name", "table_name", "column_name"):
        value = getattr(diag, label, None) if diag is not None else None
        if value:
            facts.append(f"{label.removesuffix('_name')} {value}")
    return ", ".join(facts)


def _name(exc: BaseException) -> str:
    kind = type(exc)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
