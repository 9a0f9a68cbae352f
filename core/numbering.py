"""Case numbers: ``<PREFIX>-<YYYY>-<NNNNNN>``, unique and gapless per prefix and year."""

from __future__ import annotations

import re

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.orm import CaseCounter

PREFIX = re.compile(r"^[A-Z][A-Z0-9]{0,15}$")


def format_number(prefix: str, year: int, seq: int) -> str:
    return f"{prefix}-{year:04d}-{seq:06d}"


def next_number(session: Session, prefix: str, year: int) -> str:
    """Take the next number inside the caller's transaction.

    One atomic upsert increments the counter row and returns the new value. On PostgreSQL
    the row stays locked until the transaction ends, so concurrent openers queue behind it;
    SQLite transactions here begin IMMEDIATE, so writers are serialised anyway. A rolled-back
    transaction rolls its increment back with it: no gaps.
    """
    if not PREFIX.match(prefix):
        raise ValueError(f"case prefix {prefix!r}: 1-16 capital letters or digits, letter first")
    insert = _dialect_insert(session)
    stmt = (
        insert(CaseCounter)
        .values(prefix=prefix, year=year, last=1)
        .on_conflict_do_update(
            index_elements=[CaseCounter.prefix, CaseCounter.year],
            set_={"last": CaseCounter.last + 1},
        )
        .returning(CaseCounter.last)
    )
    seq = session.execute(stmt).scalar_one()
    return format_number(prefix, year, seq)


def _dialect_insert(session: Session) -> type[Insert]:
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert  # type: ignore[return-value]
    if name == "sqlite":
        return sqlite.insert  # type: ignore[return-value]
    raise NotImplementedError(f"case numbering supports SQLite and PostgreSQL, not {name}")
