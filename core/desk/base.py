"""What every desk room stands on: the transaction unit, loading and recording, clocks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, selectinload, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from core import clocks, sla
from core.case import OPEN_STATUSES, IllegalTransition
from core.commands import Command
from core.contract import Device
from core.desk.devices import covered_device
from core.desk.errors import InvalidCommand
from core.errors import ConflictError, NotFoundError
from core.events import ClockSnapshot, EventBody, Opened, RecordedEvent
from core.jobs.stale import sweep_cases
from core.loaded import ContractSet, LoadedContract
from core.store import orm
from core.store.blobs import BlobStore
from core.store.history import append_event, recorded
from core.store.secrets import CredentialVault

if TYPE_CHECKING:
    from core.staff import StaffDirectory


DEFAULT_ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024  # settings.attachment_max_bytes


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a command returns: the case, its new version and the events it appended."""

    number: str
    version: int
    events: tuple[int, ...]
    replayed: bool = False  # True when an Idempotency-Key replayed an earlier open
    # the rows as committed (case with its clocks, the appended events), so a caller can
    # answer without reading them back; None on a replay
    case: orm.Case | None = None
    appended: tuple[orm.CaseEvent, ...] = ()


class DeskBase:
    """The desk's plumbing; the command rooms (``core.desk.*``) build on it.

    ``now`` is always passed in (time is injected); all stored times are UTC.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        contracts: ContractSet,
        *,
        prefix: str = "MS",
        tz: str = "Asia/Shanghai",
        vault: CredentialVault | None = None,
        on_event: Callable[[RecordedEvent, LoadedContract | None], None] | None = None,
        skew: timedelta = timedelta(minutes=5),
        staff: Callable[[], StaffDirectory | None] = lambda: None,
        blobs: BlobStore | None = None,
        attachment_max_bytes: int = DEFAULT_ATTACHMENT_MAX_BYTES,
    ) -> None:
        self.sessions = sessions
        self.contracts = contracts
        self.prefix = prefix
        self.tz = ZoneInfo(tz)
        self.vault = vault
        self.on_event = on_event
        # how far a reported time may run ahead of our clock (core.instants.check_reported)
        self.skew = skew
        # the staff directory as it is now (None: there is none, see docs/escalation.md)
        self.staff = staff
        # where attachments' bytes go (core.store.blobs) and how large one may be
        self.blobs = blobs
        self.attachment_max_bytes = attachment_max_bytes

    # --- plumbing -------------------------------------------------------------------------

    @contextmanager
    def _unit(self) -> Iterator[tuple[Session, list[orm.CaseEvent]]]:
        """One transaction; a concurrent update of the same case becomes ConflictError.

        The caller appends the events it recorded to the yielded list; they are announced
        to plugins only after the commit succeeded.
        """
        appended: list[orm.CaseEvent] = []
        contract_of: dict[orm.CaseEvent, str] = {}
        try:
            with self.sessions.begin() as session:
                session.info["contract_of"] = contract_of
                yield session, appended
        except StaleDataError as exc:
            raise ConflictError("the case was changed by someone else; reload and retry") from exc
        if self.on_event is not None:
            for event in appended:
                lc = self.contracts.contracts.get(contract_of.get(event, ""))
                self.on_event(recorded(event), lc)

    def _load(self, session: Session, number: str, cmd: Command | None = None) -> orm.Case:
        case = session.scalars(
            select(orm.Case).where(orm.Case.number == number).options(selectinload(orm.Case.clocks))
        ).one_or_none()
        if case is None:
            raise NotFoundError(f"no case {number!r}")
        expected = cmd.expected_version if cmd is not None else None
        if expected is not None and expected != case.version:
            raise ConflictError(
                f"case {number} is at version {case.version}, not {expected}: "
                "someone else changed it; reload and retry"
            )
        return case

    def _record(
        self,
        session: Session,
        case: orm.Case,
        body: EventBody,
        actor: str,
        now: datetime,
        visibility: str = "internal",
    ) -> orm.CaseEvent:
        """Append ``body``; the clocks this command started or changed ride along under
        ``sla`` (always on ``opened``), so the history alone says what each clock is."""
        changed = _changed_clocks(session, case)
        if changed or isinstance(body, Opened):
            body = msgspec.structs.replace(body, sla=changed)
        event = append_event(session, case, body, actor=actor, at=now, visibility=visibility)
        case.updated_at = now
        session.info["contract_of"][event] = case.contract_id
        return event

    def _receipt(self, session: Session, case: orm.Case, events: list[orm.CaseEvent]) -> Receipt:
        session.flush()
        sweep_cases(session, [case.id])  # e.g. warnings held for a calendar, case now resolved
        return Receipt(
            case.number,
            case.version,
            tuple(e.seq for e in events),
            case=case,
            appended=tuple(events),
        )

    def _contract(self, contract_id: str) -> LoadedContract:
        return self.contracts.get(contract_id)

    def _device(self, session: Session, lc: LoadedContract, serial: str | None) -> Device | None:
        """The device ``serial`` as ``lc`` covers it, replacements included (None: not)."""
        return covered_device(session, lc, serial)

    # --- clocks ---------------------------------------------------------------------------

    def _ladder(self, lc: LoadedContract, kind: str, priority: str) -> list[clocks.Alert]:
        return clocks.ladder_for(lc.contract.escalation, kind, priority)

    def _clock_row(self, lc: LoadedContract, deadline: sla.Deadline, priority: str) -> orm.SlaClock:
        """A running clock for ``deadline`` with its first escalation instant planned."""
        clock = orm.SlaClock(
            kind=deadline.kind,
            state=clocks.RUNNING,
            calendar=deadline.calendar,
            target=deadline.target,
            rule=deadline.rule,
            started_at=deadline.start,
            deadline=deadline.due,
            pauses=[],
            alert_level=0,
            provisional=bool(deadline.provisional),
        )
        clocks.plan_alerts(
            clock, lc.calendar(deadline.calendar), self._ladder(lc, deadline.kind, priority)
        )
        return clock

    def _start(self, case: orm.Case, lc: LoadedContract, deadline: sla.Deadline) -> orm.SlaClock:
        clock = self._clock_row(lc, deadline, case.priority)
        case.clocks.append(clock)
        return clock

    def _active(self, case: orm.Case, kind: str) -> orm.SlaClock | None:
        for clock in reversed(case.clocks):
            if clock.kind == kind and clock.state in clocks.ACTIVE:
                return clock
        return None

    def _stop(self, case: orm.Case, kind: str, at: datetime) -> Stopped | None:
        clock = self._active(case, kind)
        if clock is None:
            return None
        clocks.stop(clock, at)
        return Stopped(clock=kind, outcome=clock.state, deadline=clock.deadline)

    def _refresh(self, case: orm.Case, now: datetime) -> None:
        """Keep the indexed projections in step: next deadline and the breached flag."""
        running = [c for c in case.clocks if c.state == clocks.RUNNING]
        case.next_deadline = min((c.deadline for c in running), default=None)
        case.breached = any(clocks.is_breached(c, now) for c in case.clocks)

    def _require_contracted(self, case: orm.Case, action: str) -> None:
        """A case opened out of contract has no SLA clocks: the commands that start or stop
        one are refused (its work is recorded as notes, calls, status and resolution)."""
        if case.out_of_contract:
            raise InvalidCommand(
                f"case {case.number} was opened out of contract (chargeable, no SLA clocks): "
                f"cannot {action}; record the work as notes and calls"
            )

    def _require_open(self, case: orm.Case, action: str) -> None:
        if case.status not in OPEN_STATUSES:
            raise IllegalTransition(case.number, case.status, action, ("reopen",))


@dataclass(frozen=True, slots=True)
class Stopped:
    """A clock a command stopped, as its event records it (``clock``, ``outcome``,
    ``deadline``: the fields bodies such as ``events.FirstResponded`` share)."""

    clock: str
    outcome: str
    deadline: datetime


def _changed_clocks(session: Session, case: orm.Case) -> list[ClockSnapshot]:
    """Snapshots of the case's clocks that are new or were touched since the last record in
    this transaction (an unchanged snapshot is not repeated)."""
    seen: dict[int, dict[str, Any]] = session.info.setdefault("sla_recorded", {})
    changed = []
    for position, clock in enumerate(case.clocks, 1):
        state = inspect(clock)
        if not (state.transient or state.pending or state.modified):
            continue
        record = clocks.snapshot(clock, position)
        if seen.get(id(clock)) != record:
            seen[id(clock)] = record
            changed.append(ClockSnapshot(**record))
    return changed
