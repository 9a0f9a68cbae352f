"""Shared fixtures: every store test runs on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from core.runtime import Runtime, build_runtime
from core.settings import Settings
from core.store.db import make_engine, make_sessionmaker
from core.store.migrate import upgrade
from core.store.tokens import create_token

if TYPE_CHECKING:
    from litestar.testing import TestClient

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


# --- the HTTP API -----------------------------------------------------------------------------

API_NOW = datetime(2026, 10, 14, 2, 0, tzinfo=UTC)  # Wed 10:00 in Weihai: working hours


class Api:
    """A test client over a fresh database plus a way to mint tokens with given roles."""

    def __init__(self, runtime: Runtime, client: TestClient[Any]) -> None:
        self.runtime = runtime
        self.client = client
        self.now = API_NOW

    def token(self, *roles: str, customer: str | None = None, name: str = "test") -> str:
        with self.runtime.sessions.begin() as session:
            token, _ = create_token(
                session, roles=roles, name=name, now=self.now, customer_id=customer
            )
        return token

    def headers(self, *roles: str, customer: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(*roles, customer=customer)}"}


@pytest.fixture
def api(db_url: str, tmp_path: Path) -> Iterator[Api]:
    """The app over each back end, contracts from the repository, time fixed at API_NOW."""
    from litestar.testing import TestClient

    from server import create_app

    settings = Settings(
        database_url=db_url,
        contracts_dir=str(Path(__file__).resolve().parent.parent / "contracts"),
        var_dir=str(tmp_path / "var"),
    )
    holder = Api.__new__(Api)
    runtime = build_runtime(settings, clock=lambda: holder.now)
    app = create_app(settings, runtime=runtime)
    with TestClient(app, raise_server_exceptions=False) as client:
        holder.__init__(runtime, client)
        yield holder


def with_period(contracts: Any, contract_id: str, end: str) -> Any:
    """``contracts`` (a ContractSet) with one contract's period running to ``end``
    (YYYY-MM-DD): for tests of far-future calendars, since a contract binds only within its
    period (opening outside it is refused)."""
    import dataclasses
    from datetime import date

    import msgspec

    from core.loaded import ContractSet

    lc = contracts.get(contract_id)
    period = msgspec.structs.replace(lc.contract.period, end=date.fromisoformat(end))
    contract = msgspec.structs.replace(lc.contract, period=period)
    changed = dataclasses.replace(lc, contract=contract)
    return ContractSet(
        {**contracts.contracts, contract_id: changed}, contracts.catalog, contracts.registry
    )


# --- the web pages in a real browser: tests/browser_support.py --------------------------------

from browser_support import browser, web_page, web_server  # noqa: E402, F401
