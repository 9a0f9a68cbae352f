"""Schema migrations shipped inside the package: `casetrack db upgrade` and readiness checks."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from core.errors import Unavailable
from core.store.db import MIGRATIONS
from core.store.db_timeouts import unbounded

NOT_INITIALISED = "database not initialised: run `casetrack db upgrade`"

# alembic announces its context at INFO on every revision check (each /readyz): keep quiet
logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)


class SchemaNotReady(Unavailable):
    """The database is missing or not at the newest migration."""

    title = "database not ready"


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    if engine is not None:
        config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (default: the newest)."""
    config = alembic_config(engine)
    with engine.begin() as connection, unbounded(connection):
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_current(engine: Engine) -> bool:
    """True when the database schema is at the newest migration."""
    return current_revision(engine) == head_revision()


def require_current(engine: Engine) -> None:
    """SchemaNotReady unless the schema is at the newest migration."""
    current = current_revision(engine)
    if current is None:
        raise SchemaNotReady(NOT_INITIALISED)
    if current != head_revision():
        raise SchemaNotReady(
            f"database schema is at revision {current}, not {head_revision()}: "
            "run `casetrack db upgrade`"
        )


def sqlite_file_missing(url: str) -> bool:
    """True for a SQLite URL whose file does not exist (connecting would create it empty)."""
    parsed = make_url(url)
    database = parsed.database or ""
    on_disk = parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:")
    return bool(on_disk and not Path(database).is_file())
