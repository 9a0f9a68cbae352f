"""Wiring from settings: database engine, contracts, plugins and the case desk, in one place."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pluggy
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from core.calendar import Calendar
from core.contract_calendars import build_calendar, visible_calendars
from core.desk import CaseDesk
from core.desk.rma import RmaPolicy
from core.events import RecordedEvent
from core.holidays import RegionHorizon, horizon_report
from core.loaded import ContractSet, LoadedContract
from core.notify import Delivery, Notice
from core.plugins import collect_named, make_plugin_manager
from core.rma import RmaChannels, RmaContext, RmaError
from core.settings import Settings
from core.sources.contracts import load_contracts
from core.staff import cached_staff, staff_path
from core.store.blobs import open_blobs
from core.store.db import make_engine, make_sessionmaker
from core.store.seal import load_audit_key
from core.store.secrets import CredentialVault, load_key


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

    def use_contracts(self, loaded: ContractSet) -> None:
        """Serve ``loaded`` from now on: the runtime and its desk switch together (plain
        assignments: a request already holding the old set finishes on it)."""
        self.contracts = loaded
        self.desk.contracts = loaded

    # --- the holiday data horizon (docs/calendars.md) ---------------------------------------

    def today(self) -> date:
        """The desk's local date (its zone: settings.timezone)."""
        return self.clock().astimezone(ZoneInfo(self.settings.timezone)).date()

    def horizon(self) -> list[RegionHorizon]:
        """How far each region the contracts use has published holiday data."""
        return horizon_report(self.contracts.registry, self.contracts.regions(), self.today())

    def horizon_warnings(self) -> list[str]:
        """A line per region whose data ends within settings.calendar_horizon_days."""
        within = self.settings.calendar_horizon_days
        return [w for h in self.horizon() if (w := h.warning(within))]

    def replan_provisional(self) -> list[dict[str, Any]]:
        """Provisional clocks planned again on the current holiday data (see the desk)."""
        return self.desk.replan_provisional(now=self.clock())


def build_runtime(
    settings: Settings,
    *,
    pm: pluggy.PluginManager | None = None,
    clock: Callable[[], datetime] | None = None,
    contracts: ContractSet | None = None,
) -> Runtime:
    """Load contracts and plugins, connect the database, build the desk. ``contracts``, when
    given, were loaded from ``settings.contracts_dir`` with ``pm`` (tests share one load)."""
    pm = pm or make_plugin_manager()
    if contracts is None:
        contracts = load_contracts(
            [Path(settings.contracts_dir)], pm=pm, limits=settings.yaml_limits
        )
    engine = make_engine(settings.database_url, timeouts=settings.db_timeouts)
    sessions = make_sessionmaker(engine, audit_key=load_audit_key(settings, create=True))

    def announce(event: RecordedEvent, contract: LoadedContract | None) -> None:
        # after commit: plugins only enqueue work (hookspecs: case_event_recorded)
        pm.hook.case_event_recorded(event=event, contract=contract)

    desk = CaseDesk(
        sessions,
        contracts,
        prefix=settings.case_prefix,
        tz=settings.timezone,
        vault=CredentialVault(load_key(settings)),
        on_event=announce,
        skew=timedelta(seconds=settings.clock_skew_seconds),
        staff=lambda: cached_staff(staff_path(settings.contracts_dir)),
        blobs=open_blobs(settings),
        attachment_max_bytes=settings.attachment_max_bytes,
    )
    runtime = Runtime(settings, engine, sessions, contracts, pm, desk)
    if clock is not None:
        runtime.clock = clock
    desk.public_url = settings.public_url  # survey links (core.desk.surveys)
    desk.rma_channels = rma_channels(runtime)
    desk.rma_policy = rma_policy(settings)
    desk.notice_days = settings.notice_days
    return runtime


def rma_policy(settings: Settings) -> RmaPolicy:
    return RmaPolicy(
        poll_every=timedelta(seconds=settings.rma_poll_seconds),
        first_retry=timedelta(seconds=settings.rma_retry_seconds),
        max_retry=timedelta(seconds=settings.rma_retry_max_seconds),
        max_failures=settings.rma_max_failures,
        lease=timedelta(seconds=settings.rma_lease_seconds),
        escalation_group=settings.rma_escalation_group,
    )


def rma_channels(runtime: Runtime) -> RmaChannels:
    """The registered RMA channels with what their factories need (core.rma.RmaContext):
    calendars of the contracts the runtime serves now, and the notifier plugins' e-mail."""

    def calendar(contract_id: str | None, name: str) -> Calendar:
        contracts = runtime.contracts
        loaded = contracts.contracts.get(contract_id or "")
        if loaded is not None:
            return loaded.calendar(name)
        spec = visible_calendars(None, contracts.catalog)[name]
        return build_calendar(spec, contracts.registry, name=name)

    def send_email(notice: Notice) -> Delivery:
        from core.jobs.deliver import notifiers

        sender = notifiers(runtime.pm).get("email")
        if sender is None:
            raise RmaError("no e-mail notifier is registered (plugin email_notify blocked?)")
        return sender.send(notice)

    context = RmaContext(
        calendar=calendar, holidays=runtime.contracts.registry, send_email=send_email
    )
    channels = collect_named(runtime.pm, "register_rma_channels")
    return RmaChannels(channels, runtime.settings, context)
