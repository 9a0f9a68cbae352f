"""Wiring from settings: database engine, contracts, plugins and the case desk, in one place."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pluggy
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from core import orm
from core.contract_load import ContractSet, LoadedContract, load_contracts
from core.db import make_engine, make_sessionmaker
from core.desk import CaseDesk
from core.plugins import make_plugin_manager
from core.secrets import CredentialVault, load_key
from core.settings import Settings


@dataclass
class Runtime:
    """Everything a process (CLI, API server, worker) needs to serve cases."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    contracts: ContractSet
    pm: pluggy.PluginManager
    desk: CaseDesk
    # the one place the wall clock is read; tests and benchmarks pass their own
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def close(self) -> None:
        self.engine.dispose()


def build_runtime(
    settings: Settings,
    *,
    pm: pluggy.PluginManager | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Runtime:
    """Load contracts and plugins, connect the database, build the desk."""
    pm = pm or make_plugin_manager()
    contracts = load_contracts([Path(settings.contracts_dir)], pm=pm, limits=settings.yaml_limits)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)

    def announce(event: orm.CaseEvent, contract: LoadedContract | None) -> None:
        # after commit: plugins only enqueue work (hookspecs: case_event_recorded)
        pm.hook.case_event_recorded(event=event, contract=contract)

    desk = CaseDesk(
        sessions,
        contracts,
        prefix=settings.case_prefix,
        tz=settings.timezone,
        vault=CredentialVault(load_key(settings)),
        on_event=announce,
    )
    runtime = Runtime(settings, engine, sessions, contracts, pm, desk)
    if clock is not None:
        runtime.clock = clock
    return runtime
