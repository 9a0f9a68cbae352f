"""How long casetrack waits for PostgreSQL: to connect, for a statement, for a pooled
connection, and for any answer at all from a server that stopped answering (docs/outages.md).

Without these a black-holed database (packets dropped, server frozen) held every request,
``/readyz`` included, for about 130 s. The server-side ``statement_timeout`` cancels a slow
query cleanly; the client-side answer deadline catches what the server cannot: a connection
whose peer sends nothing back (a frozen host still acknowledges TCP, so keepalives alone do
not notice it).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.errors import _WaitTimeout  # psycopg's own timeout of Connection.wait
from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import make_url

from core.limits import DbTimeouts


def postgres_options(url: str, timeouts: DbTimeouts) -> dict[str, Any]:
    """create_engine() arguments: libpq timeouts and keepalives, pool wait, pre-ping."""
    connect_args: dict[str, Any] = {
        "connect_timeout": max(1, math.ceil(timeouts.connect)),
        # an idle pooled connection to a vanished host is noticed within ~45 s, not hours
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 5,
        "keepalives_count": 3,
    }
    if timeouts.answer is not None:
        given = make_url(url).query.get("options")
        ms = round(timeouts.statement * 1000)
        own = f"-c statement_timeout={ms}"
        connect_args["options"] = f"{given} {own}" if isinstance(given, str) else own
        # data sent and never acknowledged (packets dropped): the kernel gives up too
        connect_args["tcp_user_timeout"] = round(timeouts.answer * 1000)
    # pre-ping: a connection broken while the database was away is replaced at checkout,
    # so the first request after the database returns already succeeds
    return {"connect_args": connect_args, "pool_timeout": timeouts.pool, "pool_pre_ping": True}


def install_answer_deadline(engine: Engine, timeouts: DbTimeouts) -> None:
    """Every connection of ``engine`` gives up on a server silent for ``timeouts.answer``."""
    seconds = timeouts.answer
    if seconds is None:
        return

    def connect(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> DeadlineConnection:
        connection = DeadlineConnection.connect(*cargs, **cparams)
        connection.answer_within = seconds
        return connection

    event.listen(engine, "do_connect", connect)


@contextmanager
def unbounded(connection: Connection) -> Iterator[None]:
    """No statement limit on ``connection`` within its current transaction (migrations: a
    new index on a large table may take minutes)."""
    raw = connection.connection.driver_connection
    if not isinstance(raw, DeadlineConnection):
        yield
        return
    connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
    before, raw.answer_within = raw.answer_within, None
    try:
        yield
    finally:
        raw.answer_within = before


class DeadlineConnection(psycopg.Connection[Any]):
    """A psycopg connection whose every exchange with the server (statements, commit,
    rollback, the pool's ping) ends within ``answer_within`` seconds.

    When it runs out the connection is closed, mid-exchange it is unusable, and an
    OperationalError raised: SQLAlchemy sees a disconnect and drops the pool's connections.
    """

    answer_within: float | None = None

    def wait(self, gen: Any, *args: Any, **kwargs: Any) -> Any:
        if self.answer_within is None or "timeout" in kwargs or len(args) > 1:
            return super().wait(gen, *args, **kwargs)
        kwargs["timeout"] = self.answer_within
        try:
            return super().wait(gen, *args, **kwargs)
        except _WaitTimeout:
            self.close()
            raise psycopg.OperationalError(
                f"the database sent no answer within {self.answer_within:g} s; "
                "the connection was given up"
            ) from None
