"""Engines, sessions and migrations for SQLite (embedded) and PostgreSQL (production)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from core.store import case_facts
from core.store.db_timeouts import DbTimeouts, install_answer_deadline, postgres_options
from core.store.seal import KEY_INFO

MIGRATIONS = Path(__file__).with_name("migrations")


def normalize_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here; a relative SQLite file gets its folder made."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, *, timeouts: DbTimeouts | None = None, **kwargs: Any) -> Engine:
    """An engine with the settings each back end needs for correctness under concurrency.

    On PostgreSQL waits are bounded by ``timeouts`` (the server and the CLI pass the
    CASETRACK_DB_* settings); without them only connecting and the pool are bounded.

    ``hide_parameters``: a failing statement's error text leaves out the bound values
    (callers' phone numbers, e-mail addresses), so that no log that prints it holds them.
    """
    url = normalize_url(url)
    kwargs.setdefault("hide_parameters", True)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    timeouts = timeouts or DbTimeouts(statement=0)
    engine = create_engine(url, **{**postgres_options(url, timeouts), **kwargs})
    install_answer_deadline(engine, timeouts)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling is switched off so that "begin" below decides
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    # one writer at a time, taken at BEGIN: no "database is locked" upgrade deadlocks and
    # gapless case numbers without row locks (SQLite has none)
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine, *, audit_key: bytes | None = None) -> sessionmaker[Session]:
    """Sessions; with ``audit_key`` every event, case head and counter they write is sealed
    (core.store.seal reads it from ``session.info``). Their commits keep the report's
    per-case facts in step (core.store.case_facts)."""
    info = {KEY_INFO: audit_key} if audit_key else {}
    factory = sessionmaker(engine, expire_on_commit=False, info=info)
    case_facts.install(factory)  # the report's per-case facts follow every commit
    return factory


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception."""
    with factory.begin() as session:
        yield session


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"
