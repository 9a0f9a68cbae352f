"""The case desk: every case command as one transaction that validates, then records events."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from core import clocks, orm, sla
from core.case import (
    APPOINTMENT_CATEGORIES,
    OPEN_STATUSES,
    IllegalTransition,
    RequestType,
    Status,
    check_transition,
)
from core.commands import (
    Assign,
    CallLog,
    ChangePriority,
    ChangeStatus,
    Close,
    Command,
    ConfirmDiagnosis,
    Escalate,
    ExcludeClock,
    FirstResponse,
    Milestone,
    Note,
    OpenCase,
    RemoteAccess,
    Reopen,
    RequestOnsite,
    Resolve,
)
from core.contract_load import ContractSet, LoadedContract
from core.errors import CalendarDataMissing, CasetrackError, ConflictError, NotFoundError
from core.history import append_event
from core.numbering import next_number
from core.secrets import CredentialVault
from core.service_types import effective_service_type, missing_for_close


class InvalidCommand(CasetrackError):
    """A command whose content does not fit the case or its contract; nothing recorded."""

    title = "invalid command"


class CloseRefused(CasetrackError):
    """The customer's confirmation lacks checklist items or deliverable documents."""

    title = "close refused"

    def __init__(self, number: str, items: list[str], documents: list[str]) -> None:
        parts = []
        if items:
            parts.append(f"unconfirmed checklist items: {', '.join(items)}")
        if documents:
            parts.append(f"missing deliverables: {', '.join(documents)}")
        super().__init__(f"case {number} cannot close: {'; '.join(parts)}")
        self.items = items
        self.documents = documents


class IdempotencyMismatch(CasetrackError):
    """An Idempotency-Key reused with a different request body."""

    title = "idempotency key reused"


class Forbidden(CasetrackError):
    """The actor may not do this (e.g. see credentials without being the assigned engineer)."""

    title = "forbidden"


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


PRIORITY_CLOCKS = {
    "first_response": sla.first_response,
    "diagnosis": sla.diagnosis,
    "resolution": sla.resolution,
}
STOP_ON_RESOLVE = frozenset(
    {"first_response", "complaint_first_reply", "diagnosis", "resolution", "complaint_resolution"}
)
PAUSED_BY_CUSTOMER = frozenset({"resolution", "complaint_resolution"})


class CaseDesk:
    """Case commands over a database; each public method is one transaction.

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
        on_event: Callable[[orm.CaseEvent, LoadedContract | None], None] | None = None,
    ) -> None:
        self.sessions = sessions
        self.contracts = contracts
        self.prefix = prefix
        self.tz = ZoneInfo(tz)
        self.vault = vault
        self.on_event = on_event

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
                self.on_event(event, lc)

    def _load(self, session: Session, number: str, cmd: Command | None = None) -> orm.Case:
        case = session.scalars(
            select(orm.Case).where(orm.Case.number == number).options(selectinload(orm.Case.clocks))
        ).one_or_none()
        if case is None:
            raise NotFoundError(f"no case {number!r}")
        expected = cmd.expected_version if cmd is not None else None
        if expected is not None and expected != case.version:
            raise ConflictError(
                f"case {number} is at version {case.version}, not {cmd.expected_version}: "
                "someone else changed it; reload and retry"
            )
        return case

    def _record(
        self,
        session: Session,
        case: orm.Case,
        kind: str,
        actor: str,
        now: datetime,
        payload: dict[str, Any],
        visibility: str = "internal",
    ) -> orm.CaseEvent:
        event = append_event(
            session, case, kind=kind, actor=actor, at=now, payload=payload, visibility=visibility
        )
        case.updated_at = now
        session.info["contract_of"][event] = case.contract_id
        return event

    def _receipt(self, session: Session, case: orm.Case, events: list[orm.CaseEvent]) -> Receipt:
        session.flush()
        return Receipt(
            case.number,
            case.version,
            tuple(e.seq for e in events),
            case=case,
            appended=tuple(events),
        )

    def _contract(self, contract_id: str) -> LoadedContract:
        return self.contracts.get(contract_id)

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

    def _stop(self, case: orm.Case, kind: str, at: datetime) -> dict[str, Any] | None:
        clock = self._active(case, kind)
        if clock is None:
            return None
        clocks.stop(clock, at)
        return {"clock": kind, "outcome": clock.state, "deadline": clock.deadline}

    def _refresh(self, case: orm.Case, now: datetime) -> None:
        """Keep the indexed projections in step: next deadline and the breached flag."""
        running = [c for c in case.clocks if c.state == clocks.RUNNING]
        case.next_deadline = min((c.deadline for c in running), default=None)
        case.breached = any(clocks.is_breached(c, now) for c in case.clocks)

    # --- open -----------------------------------------------------------------------------

    def open_case(
        self,
        cmd: OpenCase,
        *,
        actor: str,
        now: datetime,
        idempotency: tuple[str, str] | None = None,
    ) -> Receipt:
        """Number the case, start its clocks and record who called about what (R-CASE).

        ``idempotency`` is (scope, key): the key is stored in the opening transaction, so a
        retried request replays the first case instead of opening a second one.
        """
        lc = self._contract(cmd.contract_id)
        self._check_open(cmd, lc)
        request_hash = _request_hash(cmd)
        if idempotency is not None:
            replay = self._replay(idempotency, request_hash)
            if replay is not None:
                return replay
        try:
            return self._open(cmd, lc, actor, now, idempotency, request_hash)
        except IntegrityError:
            # a concurrent request with the same key won the race: replay its case
            replay = self._replay(idempotency, request_hash) if idempotency else None
            if replay is None:
                raise
            return replay

    def _replay(self, idempotency: tuple[str, str], request_hash: str) -> Receipt | None:
        scope, key = idempotency
        with self.sessions() as session:
            row = session.get(orm.IdempotencyKey, (scope, key))
            if row is None:
                return None
            if row.request_hash != request_hash:
                raise IdempotencyMismatch(
                    f"Idempotency-Key {key!r} was used for a different request "
                    f"(it opened {row.case_number})"
                )
            version = session.scalar(
                select(orm.Case.version).where(orm.Case.number == row.case_number)
            )
            return Receipt(row.case_number, version or 0, (1,), replayed=True)

    def _open(
        self,
        cmd: OpenCase,
        lc: LoadedContract,
        actor: str,
        now: datetime,
        idempotency: tuple[str, str] | None,
        request_hash: str,
    ) -> Receipt:
        # everything that is pure computation happens before the transaction takes the
        # case-number lock, which queues every other opener until commit
        zone, zone_reason = self._zone(cmd, lc)
        planned, unplanned = self._plan_opening_clocks(cmd, lc, zone, now)
        payload = _open_payload(cmd, lc, zone, zone_reason)
        with self._unit() as (session, events):
            if idempotency is not None:
                # first statement: a concurrent twin blocks here, then fails on the key
                key = orm.IdempotencyKey(
                    scope=idempotency[0],
                    key=idempotency[1],
                    request_hash=request_hash,
                    case_number="",
                    created_at=now,
                )
                session.add(key)
                session.flush()
            number = next_number(session, self.prefix, now.astimezone(self.tz).year)
            if idempotency is not None:
                key.case_number = number
            case = self._new_case(cmd, lc, number, zone, now)
            case.clocks = planned  # a new list: no lazy load of an empty collection
            self._refresh(case, now)
            session.add(case)
            events.append(self._record(session, case, "opened", actor, now, payload, "customer"))
            if unplanned:
                events.append(
                    self._record(
                        session, case, "clocks_unplanned", "system", now, {"clocks": unplanned}
                    )
                )
            return self._receipt(session, case, events)

    def _plan_opening_clocks(
        self, cmd: OpenCase, lc: LoadedContract, zone: str | None, now: datetime
    ) -> tuple[list[orm.SlaClock], list[dict[str, str]]]:
        """The new case's clock rows, and the clocks that cannot be planned (no holiday data:
        the call is never lost — the case opens and the clock waits for the data)."""
        planned, unplanned = [], []
        for kind, compute in self._opening_deadlines(cmd, lc, zone, now):
            try:
                planned.append(self._clock_row(lc, compute(), cmd.priority))
            except CalendarDataMissing as exc:
                unplanned.append({"clock": kind, "reason": exc.detail})
        return planned, unplanned

    def _check_open(self, cmd: OpenCase, lc: LoadedContract) -> None:
        if cmd.category in APPOINTMENT_CATEGORIES and cmd.appointment is None:
            raise InvalidCommand(
                f"{cmd.category!s} runs at a customer-agreed time: appointment is required"
            )

    def _zone(self, cmd: OpenCase, lc: LoadedContract) -> tuple[str | None, str | None]:
        site, lat, lon = cmd.site, cmd.lat, cmd.lon
        device = lc.contract.device(cmd.device_serial) if cmd.device_serial else None
        if site is None and lat is None and device is not None:
            site, lat, lon = device.site, device.lat, device.lon
        if site is None and lat is None:
            return None, None
        match = lc.resolve_site(address=site, lat=lat, lon=lon)
        return match.zone, match.reason

    def _new_case(
        self, cmd: OpenCase, lc: LoadedContract, number: str, zone: str | None, now: datetime
    ) -> orm.Case:
        device = lc.contract.device(cmd.device_serial) if cmd.device_serial else None
        return orm.Case(
            number=number,
            contract_id=lc.id,
            customer_id=lc.contract.customer.id,
            caller_name=cmd.caller.name,
            caller_company=cmd.caller.company,
            caller_phone=cmd.caller.phone,
            caller_email=cmd.caller.email,
            caller_address=cmd.caller.address,
            summary=cmd.summary,
            category=str(cmd.category),
            request_type=str(cmd.request_type),
            priority=cmd.priority,
            emergency=cmd.emergency,
            channel=str(cmd.channel),
            device_serial=cmd.device_serial,
            site=cmd.site or (device.site if device else None),
            zone=zone,
            appointment_start=cmd.appointment.start if cmd.appointment else None,
            appointment_end=cmd.appointment.end if cmd.appointment else None,
            status=Status.NEW.value,
            opened_at=now,
            updated_at=now,
            breached=False,
            last_seq=0,
            last_hash="",
        )

    def _opening_deadlines(
        self, cmd: OpenCase, lc: LoadedContract, zone: str | None, now: datetime
    ) -> list[tuple[str, Callable[[], sla.Deadline]]]:
        """The clocks a new case starts, each as (kind, how to compute its deadline)."""
        if cmd.request_type == RequestType.COMPLAINT:
            return [
                ("complaint_first_reply", lambda: sla.complaint_first_reply(lc, received_at=now)),
                ("complaint_resolution", lambda: sla.complaint_resolution(lc, received_at=now)),
            ]
        plan = [
            (
                "first_response",
                lambda: sla.first_response(lc, priority=cmd.priority, received_at=now),
            ),
        ]
        if cmd.appointment is not None and cmd.category in APPOINTMENT_CATEGORIES:
            plan.append(("resolution", lambda: _appointment_deadline(cmd, now)))
        else:
            plan.append(
                ("resolution", lambda: sla.resolution(lc, priority=cmd.priority, reported_at=now))
            )
        if cmd.emergency and zone is not None:
            # an emergency sends the engineer straight to the site (R-RESP)
            plan.append(
                (
                    "onsite_arrival",
                    lambda: sla.onsite_arrival(lc, zone=zone, emergency=True, agreed_at=now),
                )
            )
        return plan

    # --- work on a case -------------------------------------------------------------------

    def assign(self, number: str, cmd: Assign, *, actor: str, now: datetime) -> Receipt:
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            if case.status not in OPEN_STATUSES:
                raise IllegalTransition(number, case.status, "assign an engineer")
            previous = case.assignee
            case.assignee = cmd.engineer
            if case.status == Status.NEW:
                case.status = check_transition(number, case.status, "assigned", "assign").value
            payload = {"engineer": cmd.engineer, "previous": previous, "status": case.status}
            events.append(self._record(session, case, "assigned", actor, now, payload))
            return self._receipt(session, case, events)

    def first_response(
        self, number: str, cmd: FirstResponse, *, actor: str, now: datetime
    ) -> Receipt:
        """Service content agreed and diagnosis started: stops the response clock."""
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            self._require_open(case, "record a first response")
            stopped = self._stop(case, "first_response", now) or self._stop(
                case, "complaint_first_reply", now
            )
            if stopped is None:
                raise IllegalTransition(number, case.status, "respond again: already responded")
            lc = self._contract(case.contract_id)
            if case.request_type == RequestType.PROBLEM_REPORT.value:
                self._start(case, lc, sla.diagnosis(lc, fault_level=case.priority, started_at=now))
            if case.status == Status.ASSIGNED:
                case.status = Status.IN_PROGRESS.value
            payload = {"agreed_content": cmd.agreed_content, **stopped, "status": case.status}
            events.append(
                self._record(session, case, "first_response", actor, now, payload, "customer")
            )
            self._refresh(case, now)
            return self._receipt(session, case, events)

    def confirm_diagnosis(
        self, number: str, cmd: ConfirmDiagnosis, *, actor: str, now: datetime
    ) -> Receipt:
        """Stops the diagnosis clock; a hardware fault starts the device's spare-part clocks."""
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            self._require_open(case, "confirm a diagnosis")
            stopped = self._stop(case, "diagnosis", now)
            if stopped is None:
                raise IllegalTransition(number, case.status, "confirm a diagnosis not started")
            spares = self._start_spares(case, now) if cmd.hardware_fault else []
            payload = {
                "finding": cmd.finding,
                "hardware_fault": cmd.hardware_fault,
                **stopped,
                "spare_clocks": spares,
            }
            events.append(
                self._record(session, case, "diagnosis_confirmed", actor, now, payload, "customer")
            )
            self._refresh(case, now)
            return self._receipt(session, case, events)

    def _start_spares(self, case: orm.Case, now: datetime) -> list[str]:
        lc = self._contract(case.contract_id)
        device = lc.contract.device(case.device_serial) if case.device_serial else None
        if device is None:
            return []  # no covered device: emergency spare "as stock allows" (R-EXTRA)
        terms = sla.spare_terms(lc, device, case.zone)
        started = []
        if terms.ship is not None:
            self._start(
                case, lc, sla.spare_ship(lc, device=device, diagnosed_at=now, zone=case.zone)
            )
            started.append("spare_ship")
        if terms.arrival is not None:
            self._start(
                case, lc, sla.spare_arrival(lc, device=device, diagnosed_at=now, zone=case.zone)
            )
            started.append("spare_arrival")
        return started

    def spare_shipped(self, number: str, cmd: Milestone, *, actor: str, now: datetime) -> Receipt:
        """RMA supply status: the part left; an arrival counted from shipment is re-planned."""
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            stopped = self._stop(case, "spare_ship", now)
            if stopped is None:
                raise IllegalTransition(number, case.status, "ship a part no clock waits for")
            self._replan_arrival(case, now)
            payload = {"rma_status": "shipped", "note": cmd.note, **stopped}
            events.append(
                self._record(session, case, "rma_status", actor, now, payload, "customer")
            )
            self._refresh(case, now)
            return self._receipt(session, case, events)

    def _replan_arrival(self, case: orm.Case, shipped_at: datetime) -> None:
        arrival = self._active(case, "spare_arrival")
        lc = self._contract(case.contract_id)
        device = lc.contract.device(case.device_serial) if case.device_serial else None
        if arrival is None or device is None:
            return
        deadline = sla.spare_arrival(
            lc,
            device=device,
            diagnosed_at=arrival.started_at,
            shipped_at=shipped_at,
            zone=case.zone,
        )
        arrival.rule = deadline.rule
        clocks.replan(
            arrival,
            deadline.due,
            lc.calendar(arrival.calendar),
            self._ladder(lc, arrival.kind, case.priority),
        )

    def spare_arrived(self, number: str, cmd: Milestone, *, actor: str, now: datetime) -> Receipt:
        return self._milestone(
            number, cmd, "spare_arrival", "rma_status", {"rma_status": "arrived"}, actor, now
        )

    def remote_logged_in(
        self, number: str, cmd: Milestone, *, actor: str, now: datetime
    ) -> Receipt:
        return self._milestone(number, cmd, "remote_access", "remote_logged_in", {}, actor, now)

    def onsite_arrived(self, number: str, cmd: Milestone, *, actor: str, now: datetime) -> Receipt:
        return self._milestone(number, cmd, "onsite_arrival", "onsite_arrived", {}, actor, now)

    def _milestone(
        self,
        number: str,
        cmd: Milestone,
        kind: str,
        event: str,
        extra: dict[str, Any],
        actor: str,
        now: datetime,
    ) -> Receipt:
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            stopped = self._stop(case, kind, now)
            if stopped is None:
                raise IllegalTransition(number, case.status, f"record {event}: no {kind} clock")
            payload = {**extra, "note": cmd.note, **stopped}
            events.append(self._record(session, case, event, actor, now, payload, "customer"))
            self._refresh(case, now)
            return self._receipt(session, case, events)

    def grant_remote_access(
        self, number: str, cmd: RemoteAccess, *, actor: str, now: datetime
    ) -> Receipt:
        """Consent recorded, credentials stored encrypted (never in events), clock started."""
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            self._require_open(case, "arrange remote access")
            if cmd.credentials:
                self._store_secret(session, case, cmd.credentials, actor, now)
            lc = self._contract(case.contract_id)
            self._start(case, lc, sla.remote_access(lc, agreed_at=cmd.consent_at))
            payload = {
                "consent_by": cmd.consent_by,
                "consent_at": cmd.consent_at,
                "credentials_stored": sorted(cmd.credentials),  # which fields, never values
            }
            events.append(
                self._record(session, case, "remote_access_agreed", actor, now, payload, "customer")
            )
            self._refresh(case, now)
            return self._receipt(session, case, events)

    def _store_secret(
        self,
        session: Session,
        case: orm.Case,
        credentials: dict[str, str],
        actor: str,
        now: datetime,
    ) -> None:
        if self.vault is None:
            raise InvalidCommand("no credential key configured: cannot store credentials")
        ciphertext = self.vault.encrypt(credentials)
        secret = session.get(orm.CaseSecret, case.id)
        if secret is None:
            session.add(
                orm.CaseSecret(
                    case_id=case.id, ciphertext=ciphertext, stored_at=now, stored_by=actor
                )
            )
        else:
            secret.ciphertext, secret.stored_at, secret.stored_by = ciphertext, now, actor

    def reveal_credentials(self, number: str, *, actor: str, now: datetime) -> dict[str, str]:
        """Only the assigned engineer sees the credentials; the viewing itself is recorded."""
        with self._unit() as (session, events):
            case = self._load(session, number)
            if case.assignee is None or actor != case.assignee:
                raise Forbidden(f"only the engineer assigned to {number} may see its credentials")
            secret = session.get(orm.CaseSecret, case.id)
            if secret is None or self.vault is None:
                raise NotFoundError(f"case {number} has no stored credentials")
            credentials = self.vault.decrypt(secret.ciphertext)
            events.append(self._record(session, case, "credentials_viewed", actor, now, {}))
            return credentials

    def request_onsite(
        self, number: str, cmd: RequestOnsite, *, actor: str, now: datetime
    ) -> Receipt:
        """Both sides agreed on-site support is needed: the arrival clock of the zone starts."""
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            self._require_open(case, "request on-site support")
            if case.zone is None:
                raise InvalidCommand(f"case {number} has no site/zone: on-site time is unknown")
            if self._active(case, "onsite_arrival") is not None:
                raise IllegalTransition(number, case.status, "request on-site twice")
            lc = self._contract(case.contract_id)
            deadline = sla.onsite_arrival(
                lc, zone=case.zone, emergency=case.emergency, agreed_at=now
            )
            self._start(case, lc, deadline)
            payload = {"reason": cmd.reason, "zone": case.zone, "deadline": deadline.due}
            events.append(
                self._record(session, case, "onsite_requested", actor, now, payload, "customer")
            )
            self._refresh(case, now)
            return self._receipt(session, case, events)

    def add_note(self, number: str, cmd: Note, *, actor: str, now: datetime) -> Receipt:
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            events.append(
                self._record(
                    session, case, "note", actor, now, {"text": cmd.text}, str(cmd.visibility)
                )
            )
            return self._receipt(session, case, events)

    def log_call(self, number: str, cmd: CallLog, *, actor: str, now: datetime) -> Receipt:
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            payload = {"direction": cmd.direction, "party": cmd.party, "summary": cmd.summary}
            events.append(
                self._record(session, case, "call", actor, now, payload, str(cmd.visibility))
            )
            return self._receipt(session, case, events)

    def change_priority(
        self, number: str, cmd: ChangePriority, *, actor: str, now: datetime
    ) -> Receipt:
        """Both values recorded; running priority clocks re-planned from their start."""
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            self._require_open(case, "change priority")
            if cmd.priority == case.priority:
                raise InvalidCommand(f"case {number} is already {cmd.priority}")
            previous, case.priority = case.priority, cmd.priority
            replanned = self._replan_priority_clocks(case)
            payload = {
                "from": previous,
                "to": cmd.priority,
                "reason": cmd.reason,
                "replanned": replanned,
            }
            events.append(
                self._record(session, case, "priority_changed", actor, now, payload, "customer")
            )
            self._refresh(case, now)
            return self._receipt(session, case, events)

    def _replan_priority_clocks(self, case: orm.Case) -> list[dict[str, Any]]:
        lc = self._contract(case.contract_id)
        replanned = []
        for clock in case.clocks:
            compute = PRIORITY_CLOCKS.get(clock.kind)
            if compute is None or clock.state not in clocks.ACTIVE:
                continue
            if clock.kind == "resolution" and case.appointment_end is not None:
                continue  # an appointment window does not depend on priority
            deadline = _priority_deadline(compute, lc, case.priority, clock.started_at)
            before = clock.deadline
            clock.target, clock.rule, clock.calendar = (
                deadline.target,
                deadline.rule,
                deadline.calendar,
            )
            clocks.replan(
                clock,
                deadline.due,
                lc.calendar(clock.calendar),
                self._ladder(lc, clock.kind, case.priority),
            )
            replanned.append({"clock": clock.kind, "from": before, "to": clock.deadline})
        return replanned

    def change_status(
        self, number: str, cmd: ChangeStatus, *, actor: str, now: datetime
    ) -> Receipt:
        """Moves along the status machine; pending customer pauses resolution with a cause."""
        if cmd.status in (Status.RESOLVED, Status.CLOSED):
            raise InvalidCommand(f"use the {cmd.status.value[:-1]} command to {cmd.status.value}")
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            if case.status in (Status.RESOLVED, Status.CLOSED):
                raise IllegalTransition(
                    number, case.status, f"move to {cmd.status.value}", ("reopen",)
                )
            target = check_transition(number, case.status, cmd.status.value, "change status")
            if target == Status.PENDING_CUSTOMER and not (cmd.cause or "").strip():
                raise InvalidCommand("pending customer pauses resolution: a cause is required")
            previous = case.status
            paused = self._pause_or_resume(case, previous, target, cmd.cause, now)
            case.status = target.value
            payload = {"from": previous, "to": target.value, "cause": cmd.cause, **paused}
            events.append(
                self._record(session, case, "status_changed", actor, now, payload, "customer")
            )
            self._refresh(case, now)
            return self._receipt(session, case, events)

    def _pause_or_resume(
        self, case: orm.Case, previous: str, target: Status, cause: str | None, now: datetime
    ) -> dict[str, Any]:
        lc = self._contract(case.contract_id)
        changed: dict[str, list[str]] = {"paused": [], "resumed": []}
        for clock in case.clocks:
            if clock.kind not in PAUSED_BY_CUSTOMER:
                continue
            if target == Status.PENDING_CUSTOMER and clock.state == clocks.RUNNING:
                clocks.pause(clock, now, cause or "")
                changed["paused"].append(clock.kind)
            elif previous == Status.PENDING_CUSTOMER and clock.state == clocks.PAUSED:
                clocks.resume(
                    clock,
                    now,
                    lc.calendar(clock.calendar),
                    self._ladder(lc, clock.kind, case.priority),
                )
                changed["resumed"].append(clock.kind)
        return {k: v for k, v in changed.items() if v}

    def escalate(self, number: str, cmd: Escalate, *, actor: str, now: datetime) -> Receipt:
        """A manual escalation raises an alarm with its time stamp (R-CASE)."""
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            self._require_open(case, "escalate")
            payload = {
                "alarm": True,
                "level": cmd.level,
                "reason": cmd.reason,
                "target_group": cmd.target_group,
                "alarm_at": now,
            }
            events.append(self._record(session, case, "escalated", actor, now, payload))
            return self._receipt(session, case, events)

    def exclude_clock(
        self, number: str, cmd: ExcludeClock, *, actor: str, now: datetime
    ) -> Receipt:
        """Exclude a clock's breach from compensation with one of the contract's causes."""
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            clock = next((c for c in reversed(case.clocks) if c.kind == cmd.kind), None)
            if clock is None:
                raise NotFoundError(f"case {number} has no {cmd.kind} clock")
            lc = self._contract(case.contract_id)
            clocks.exclude(clock, cmd.cause, cmd.note, list(lc.contract.exclusions))
            payload = {"clock": cmd.kind, "cause": cmd.cause, "note": cmd.note}
            events.append(self._record(session, case, "clock_excluded", actor, now, payload))
            return self._receipt(session, case, events)

    # --- end of a case --------------------------------------------------------------------

    def resolve(self, number: str, cmd: Resolve, *, actor: str, now: datetime) -> Receipt:
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            check_transition(number, case.status, Status.RESOLVED.value, "resolve")
            outcomes = []
            for clock in case.clocks:
                if clock.state not in clocks.ACTIVE:
                    continue
                if clock.kind in STOP_ON_RESOLVE:
                    clocks.stop(clock, now)
                    outcomes.append({"clock": clock.kind, "outcome": clock.state})
                else:
                    clocks.cancel(clock)
                    outcomes.append({"clock": clock.kind, "outcome": clock.state})
            case.status, case.resolved_at = Status.RESOLVED.value, now
            payload = {"resolution": cmd.resolution, "clocks": outcomes}
            events.append(self._record(session, case, "resolved", actor, now, payload, "customer"))
            self._refresh(case, now)
            return self._receipt(session, case, events)

    def close(self, number: str, cmd: Close, *, actor: str, now: datetime) -> Receipt:
        """The customer confirms the service type's checklist; every deliverable is required."""
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            check_transition(number, case.status, Status.CLOSED.value, "close")
            lc = self._contract(case.contract_id)
            service = effective_service_type(case.category, lc.contract.service_types)
            items, documents = missing_for_close(service, cmd.checklist, cmd.deliverables)
            if items or documents:
                raise CloseRefused(number, items, documents)
            case.status, case.closed_at = Status.CLOSED.value, now
            payload = {
                "confirmed_by": cmd.confirmed_by,
                "confirmed_at": cmd.confirmed_at,
                "checklist": sorted(cmd.checklist),
                "deliverables": cmd.deliverables,
            }
            events.append(self._record(session, case, "closed", actor, now, payload, "customer"))
            self._refresh(case, now)
            return self._receipt(session, case, events)

    def reopen(self, number: str, cmd: Reopen, *, actor: str, now: datetime) -> Receipt:
        """Back to work: a new resolution clock starts now (the old one keeps its outcome)."""
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            if case.status not in (Status.RESOLVED, Status.CLOSED):
                raise IllegalTransition(number, case.status, "reopen", ("resolve first",))
            previous = case.status
            case.status = check_transition(number, case.status, "in_progress", "reopen").value
            case.resolved_at = case.closed_at = None
            lc = self._contract(case.contract_id)
            self._start(case, lc, sla.resolution(lc, priority=case.priority, reported_at=now))
            payload = {"from": previous, "reason": cmd.reason}
            events.append(self._record(session, case, "reopened", actor, now, payload, "customer"))
            self._refresh(case, now)
            return self._receipt(session, case, events)

    # --- sweeps ---------------------------------------------------------------------------

    def note_breaches(self, *, now: datetime, limit: int = 1000) -> int:
        """Record breached_at on running clocks past their deadline; returns how many."""
        with self._unit() as (session, _events):
            rows = session.scalars(
                select(orm.SlaClock)
                .where(
                    orm.SlaClock.state == clocks.RUNNING,
                    orm.SlaClock.breached_at.is_(None),
                    orm.SlaClock.deadline < now,
                )
                .limit(limit)
            ).all()
            for clock in rows:
                clocks.note_breach(clock, now)
                clock.case.breached = True
            return len(rows)

    def _require_open(self, case: orm.Case, action: str) -> None:
        if case.status not in OPEN_STATUSES:
            raise IllegalTransition(case.number, case.status, action, ("reopen",))


def _request_hash(cmd: OpenCase) -> str:
    return hashlib.sha256(msgspec.json.encode(cmd)).hexdigest()


def _priority_deadline(
    compute: Callable[..., sla.Deadline], lc: LoadedContract, priority: str, start: datetime
) -> sla.Deadline:
    if compute is sla.diagnosis:
        return compute(lc, fault_level=priority, started_at=start)
    if compute is sla.first_response:
        return compute(lc, priority=priority, received_at=start)
    return compute(lc, priority=priority, reported_at=start)


def _appointment_deadline(cmd: OpenCase, now: datetime) -> sla.Deadline:
    assert cmd.appointment is not None
    window = cmd.appointment
    return sla.Deadline(
        kind="resolution",
        start=now,
        due=window.end,
        target="customer-agreed appointment window",
        calendar="duty",
        rule=f"{cmd.category!s} at the customer-agreed time: "
        f"{window.start.isoformat()} – {window.end.isoformat()}",
    )


def _open_payload(
    cmd: OpenCase, lc: LoadedContract, zone: str | None, zone_reason: str | None
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "contract_id": lc.id,
        "caller": {
            "name": cmd.caller.name,
            "company": cmd.caller.company,
            "phone": cmd.caller.phone,
            "email": cmd.caller.email,
            "address": cmd.caller.address,
        },
        "summary": cmd.summary,
        "description": cmd.description,
        "category": str(cmd.category),
        "request_type": str(cmd.request_type),
        "priority": cmd.priority,
        "emergency": cmd.emergency,
        "channel": str(cmd.channel),
        "device_serial": cmd.device_serial,
        "covered_device": bool(cmd.device_serial and lc.contract.device(cmd.device_serial)),
        "site": cmd.site,
        "zone": zone,
        "zone_reason": zone_reason,
    }
    if cmd.appointment is not None:
        payload["appointment"] = {"start": cmd.appointment.start, "end": cmd.appointment.end}
    return payload
