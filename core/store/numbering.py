"""Case numbers: ``<PREFIX>-<YYYY>-<NNNNNN>``, unique and gapless per prefix and year."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.store.orm import CaseCounter
from core.store.seal import counter_seal, key_of

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
    connection = session.connection()
    stmt = _UPSERTS.get(connection.dialect.name)
    if stmt is None:
        raise NotImplementedError(
            f"case numbering supports SQLite and PostgreSQL, not {connection.dialect.name}"
        )
    seq = connection.execute(stmt, {"prefix": prefix, "year": year}).scalar_one()
    _seal(connection, key_of(session.info), prefix, year, seq)
    return format_number(prefix, year, seq)


def _seal(connection: Any, key: bytes | None, prefix: str, year: int, last: int) -> None:
    """Seal the counter's new value (core.store.seal): moving it back is then found by verify."""
    table = CaseCounter.__table__
    mac = counter_seal(key, prefix, year, last) if key else None
    where = (table.c.prefix == prefix) & (table.c.year == year)
    connection.execute(update(table).where(where).values(mac=mac))


def _upsert(insert: Any) -> Any:
    """INSERT the counter at 1, or add 1 to it, and return the new value (Core, built once)."""
    table = CaseCounter.__table__
    return (
        insert(table)
        .values(prefix=bindparam("prefix"), year=bindparam("year"), last=1)
        .on_conflict_do_update(
            index_elements=[table.c.prefix, table.c.year], set_={"last": table.c.last + 1}
        )
        .returning(table.c.last)
    )


_UPSERTS = {"postgresql": _upsert(postgresql.insert), "sqlite": _upsert(sqlite.insert)}
