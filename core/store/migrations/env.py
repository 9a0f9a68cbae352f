"""Alembic environment: runs against the connection handed in by core.store.migrate."""

from __future__ import annotations

from typing import TYPE_CHECKING

from alembic import context

from core.store.orm import Base, is_search_object

if TYPE_CHECKING:
    from sqlalchemy import Connection

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        from core.store.db import make_engine

        url = config.get_main_option("sqlalchemy.url")
        if url is None:
            raise SystemExit("no database to migrate; run `casetrack db upgrade`")
        with make_engine(url).connect() as conn:
            _run(conn)
        return
    _run(connection)


def _described(name: str | None, type_: str, parent_names: object) -> bool:
    """The knowledge search index is the migration's own (a tsvector column, an FTS5 table):
    not described by the models, never dropped by autogenerate."""
    return not is_search_object(name)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=_described,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `casetrack db upgrade`")
run_migrations_online()
