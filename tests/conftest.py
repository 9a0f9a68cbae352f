"""Shared fixtures: every store test runs on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from core.db import make_engine, make_sessionmaker
from core.migrate import upgrade

PG_ADMIN_URL = os.environ.get(
    "CASETRACK_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ("sqlite", "postgresql")


def _pg_reachable() -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect means "not here"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


class Templates:
    """A migrated template database per back end; each test gets a fresh copy of it."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.tag = uuid.uuid4().hex[:8]
        self.sqlite_template = tmp / "template.db"
        self.pg_template = f"casetrack_tpl_{self.tag}"
        self.pg_admin: Engine | None = None
        self.made: list[str] = []

    def sqlite(self) -> str:
        if not self.sqlite_template.exists():
            engine = make_engine(f"sqlite:///{self.sqlite_template}")
            upgrade(engine)
            engine.dispose()
        copy = self.tmp / f"db-{uuid.uuid4().hex[:8]}.db"
        shutil.copy(self.sqlite_template, copy)
        return f"sqlite:///{copy}"

    def postgresql(self) -> str:
        reason = _pg_reachable() if self.pg_admin is None else None
        if reason is not None:
            if os.environ.get("CI"):
                pytest.fail(f"PostgreSQL is required in CI and unreachable: {reason}")
            pytest.skip(f"PostgreSQL not reachable outside CI ({reason})")
        if self.pg_admin is None:
            self.pg_admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            self._create(self.pg_template)
            engine = make_engine(self._url(self.pg_template))
            upgrade(engine)
            engine.dispose()
        name = f"casetrack_t_{uuid.uuid4().hex[:12]}"
        self._create(name, template=self.pg_template)
        return self._url(name)

    def _create(self, name: str, template: str | None = None) -> None:
        assert self.pg_admin is not None
        suffix = f" TEMPLATE {template}" if template else ""
        with self.pg_admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}{suffix}"))
        self.made.append(name)

    def _url(self, name: str) -> str:
        return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"

    def drop(self, url: str) -> None:
        if url.startswith("postgresql") and self.pg_admin is not None:
            name = url.rsplit("/", 1)[1]
            with self.pg_admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            self.made.remove(name)

    def close(self) -> None:
        if self.pg_admin is None:
            return
        with self.pg_admin.connect() as conn:
            for name in reversed(self.made):
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        self.pg_admin.dispose()


@pytest.fixture(scope="session")
def db_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    templates = Templates(tmp_path_factory.mktemp("databases"))
    yield templates
    templates.close()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, db_templates: Templates) -> Iterator[str]:
    """A fresh, migrated database on each back end (PostgreSQL is never skipped in CI)."""
    url = getattr(db_templates, request.param)()
    yield url
    db_templates.drop(url)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)
