"""Migrations shipped in the package build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from core.store.migrate import current_revision, head_revision, is_current
from core.store.orm import Base, is_search_object


def test_database_is_at_head_after_upgrade(engine: Engine) -> None:
    assert head_revision() is not None
    assert current_revision(engine) == head_revision()
    assert is_current(engine)


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        # the knowledge search index (FTS5 table, tsvector column) is the migration's own
        context = MigrationContext.configure(
            conn, opts={"include_name": lambda name, *_: not is_search_object(name)}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_escalation_scan_index_exists(engine: Engine) -> None:
    names = {ix["name"] for ix in inspect(engine).get_indexes("sla_clocks")}
    assert "ix_sla_clocks_next_alert_at" in names
