"""The configured database for the command line: its engine, a session, its shown URL.

A server that cannot be reached is one line for the user, never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from core.errors import CasetrackError

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from core.settings import Settings


@contextmanager
def engine(settings: Settings, *, require_schema: bool = False) -> Iterator[Engine]:
    """The configured database's engine; an unreachable server is a one-line error.

    With ``require_schema`` a missing SQLite file or a schema behind the newest migration is
    refused first (connecting would create an empty SQLite file).
    """
    from core.store.db import make_engine
    from core.store.migrate import NOT_INITIALISED, require_current, sqlite_file_missing

    url = settings.database_url
    if require_schema and sqlite_file_missing(url):
        raise CasetrackError(NOT_INITIALISED)
    bound = make_engine(url, timeouts=settings.db_timeouts)
    try:
        with reachable():
            if require_schema:
                require_current(bound)
            yield bound
    finally:
        bound.dispose()


@contextmanager
def transaction(settings: Settings) -> Iterator[Session]:
    """A transaction on the configured database, refused unless its schema is current."""
    from core.store.db import make_sessionmaker

    with (
        engine(settings, require_schema=True) as bound,
        make_sessionmaker(bound).begin() as session,
    ):
        yield session


@contextmanager
def reachable(error: type[CasetrackError] = CasetrackError) -> Iterator[None]:
    """Turn a database connection failure into one line (an ``error``) instead of a traceback."""
    from sqlalchemy.exc import OperationalError

    try:
        yield
    except OperationalError as exc:
        reason = (str(exc.orig).strip().splitlines() or ["no reason given"])[0]
        raise error(f"database unavailable: {reason}") from None


def shown_url(url: str) -> str:
    """``url`` with its password hidden."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
