"""Opening a case: idempotent replay, numbering, zone, the clocks a new case starts."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime

import msgspec
from msgspec import UNSET
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import sla
from core.case import RequestType, Status
from core.commands import OpenCase
from core.contract import Device
from core.desk.base import Receipt
from core.desk.complaints import ComplaintCommands
from core.desk.devices import covered_device
from core.desk.errors import IdempotencyMismatch, InvalidCommand, OutsideContract
from core.errors import CalendarDataMissing
from core.events import (
    Assigned,
    CallerRecord,
    ClocksUnplanned,
    Opened,
    UnplannedClock,
    WindowRecord,
)
from core.instants import check_appointment
from core.loaded import LoadedContract
from core.logs import current_request_id
from core.store import orm
from core.store.numbering import next_number


class OpenCommands(ComplaintCommands):
    """``open_case`` and what it needs; a complaint opens with its complaint record."""

    def open_case(
        self,
        cmd: OpenCase,
        *,
        actor: str,
        now: datetime,
        idempotency: tuple[str, str] | None = None,
        about: Sequence[str] = (),
    ) -> Receipt:
        """Number the case, start its clocks and record who called about what (R-CASE).

        ``idempotency`` is (scope, key): the key is stored in the opening transaction, so a
        retried request replays the first case instead of opening a second one. A complaint
        (request type ``complaint``) gets its complaint record in the same transaction,
        linked to the customer's cases ``about`` (core.desk.complaints).
        """
        lc = self._contract(cmd.contract_id)
        self._check_open(cmd, lc, now)
        request_hash = _request_hash(cmd)
        if idempotency is not None:
            replay = self._replay(idempotency, request_hash)
            if replay is not None:
                return replay
        # after the replay: a retry of a case opened on the period's last day still replays
        self._check_period(cmd, lc, now)
        try:
            return self._open(cmd, lc, actor, now, idempotency, request_hash, about)
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
        about: Sequence[str] = (),
    ) -> Receipt:
        # everything that is pure computation happens before the transaction takes the
        # case-number lock, which queues every other opener until commit
        device = self._covered(lc, cmd.device_serial)
        zone, zone_reason = self._zone(cmd, lc, device)
        planned, unplanned = self._plan_opening_clocks(cmd, lc, zone, now)
        body = _opened(cmd, lc, zone, zone_reason, device)
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
            case = self._new_case(cmd, lc, number, zone, now, device)
            case.clocks = planned  # a new list: no lazy load of an empty collection
            self._refresh(case, now)
            session.add(case)
            events.append(self._record(session, case, body, actor, now, "customer"))
            if cmd.request_type == RequestType.COMPLAINT:
                session.flush()  # the case's id, for the complaint record
                self._file_complaint(session, case, about, actor, now, events)
            stationed = None if cmd.out_of_contract else self._stationed_engineer(lc, now)
            if stationed is not None:
                case.assignee, case.status = stationed, Status.ASSIGNED.value
                events.append(
                    self._record(
                        session,
                        case,
                        Assigned(engineer=stationed, previous=None, status=case.status),
                        "system",
                        now,
                    )
                )
            if unplanned:
                events.append(
                    self._record(session, case, ClocksUnplanned(clocks=unplanned), "system", now)
                )
            return self._receipt(session, case, events)

    def _open_in(
        self,
        session: Session,
        events: list[orm.CaseEvent],
        cmd: OpenCase,
        lc: LoadedContract,
        actor: str,
        now: datetime,
    ) -> orm.Case:
        """Open a case inside the caller's transaction (an inspection the scheduler opens, a
        follow-up a finding opens): as ``_open`` without an idempotency key; the caller has
        checked the command."""
        listed = lc.contract.device(cmd.device_serial) if cmd.device_serial else None
        device = listed or covered_device(session, lc, cmd.device_serial)
        zone, zone_reason = self._zone(cmd, lc, device)
        planned, unplanned = self._plan_opening_clocks(cmd, lc, zone, now)
        number = next_number(session, self.prefix, now.astimezone(self.tz).year)
        case = self._new_case(cmd, lc, number, zone, now, device)
        case.clocks = planned
        self._refresh(case, now)
        session.add(case)
        body = _opened(cmd, lc, zone, zone_reason, device)
        events.append(self._record(session, case, body, actor, now, "customer"))
        if unplanned:
            events.append(
                self._record(session, case, ClocksUnplanned(clocks=unplanned), "system", now)
            )
        return case

    def _stationed_engineer(self, lc: LoadedContract, now: datetime) -> str | None:
        """R-EXTRA: while a support plan runs, a new case goes to its first stationed
        engineer the staff directory knows (none known: the case waits for an assignment)."""
        plan = sla.active_plan(lc, now)
        if plan is None:
            return None
        staff = self.staff()
        for engineer in plan.engineers:
            if staff is None or staff.person(engineer) is not None:
                return engineer
        return None

    def _plan_opening_clocks(
        self, cmd: OpenCase, lc: LoadedContract, zone: str | None, now: datetime
    ) -> tuple[list[orm.SlaClock], list[UnplannedClock]]:
        """The new case's clock rows, and the clocks that cannot be planned (no holiday data:
        the call is never lost — the case opens and the clock waits for the data)."""
        planned: list[orm.SlaClock] = []
        unplanned: list[UnplannedClock] = []
        if cmd.out_of_contract:
            return planned, unplanned  # chargeable, best effort: no promise to time
        for kind, compute in self._opening_deadlines(cmd, lc, zone, now):
            try:
                planned.append(self._clock_row(lc, compute(), cmd.priority))
            except CalendarDataMissing as exc:
                unplanned.append(UnplannedClock(clock=kind, reason=exc.detail))
        return planned, unplanned

    def _check_open(self, cmd: OpenCase, lc: LoadedContract, now: datetime) -> None:
        # a complaint about an installation or inspection is no visit: it needs no window
        by_appointment = cmd.request_type != RequestType.COMPLAINT and (
            lc.contract.runs_by_appointment(cmd.category, emergency=cmd.emergency)
        )
        if by_appointment and cmd.appointment is None:
            hint = (
                " (an emergency needs none: emergency: true)"
                if lc.contract.emergency_resolution == "priority-target"
                else ""
            )
            raise InvalidCommand(
                f"{cmd.category!s} runs at a customer-agreed time: appointment is required{hint}"
            )
        if cmd.appointment is not None:
            check_appointment(cmd.appointment.start, cmd.appointment.end, now=now)

    def _check_period(self, cmd: OpenCase, lc: LoadedContract, now: datetime) -> None:
        """A contract binds only within its period: outside it the agent must say the case is
        out of contract (chargeable, no SLA clocks, R-EXTRA), or the open is refused."""
        if cmd.out_of_contract:
            return
        period = lc.contract.period
        day = now.astimezone(lc.calendar("duty").tz).date()
        if not period.start <= day <= period.end:
            raise OutsideContract(
                f"contract {lc.id}: its period {period.start}..{period.end} ($.period) does "
                f"not cover {day}: renew it, or open the case as out of contract "
                "(out_of_contract: true; chargeable, no SLA clocks)"
            )

    def _covered(self, lc: LoadedContract, serial: str | None) -> Device | None:
        """The device as the contract covers it: listed, or a replacement that inherited a
        listed device's coverage (core.desk.devices)."""
        listed = lc.contract.device(serial) if serial else None
        if listed is not None or not serial:
            return listed
        with self.sessions() as session:
            return covered_device(session, lc, serial)

    def _zone(
        self, cmd: OpenCase, lc: LoadedContract, device: Device | None
    ) -> tuple[str | None, str | None]:
        site, lat, lon = cmd.site, cmd.lat, cmd.lon
        if site is None and lat is None and device is not None:
            site, lat, lon = device.site, device.lat, device.lon
        if site is None and lat is None:
            return None, None
        match = lc.resolve_site(address=site, lat=lat, lon=lon)
        return match.zone, match.reason

    def _new_case(
        self,
        cmd: OpenCase,
        lc: LoadedContract,
        number: str,
        zone: str | None,
        now: datetime,
        device: Device | None,
    ) -> orm.Case:
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
            out_of_contract=cmd.out_of_contract,
            channel=str(cmd.channel),
            device_serial=cmd.device_serial,
            site=cmd.site or (device.site if device else None),
            zone=zone,
            appointment_start=cmd.appointment.start if cmd.appointment else None,
            appointment_end=cmd.appointment.end if cmd.appointment else None,
            status=Status.NEW.value,
            opened_at=now,
            opened_request_id=current_request_id(),  # its notices' logs name it (core.logs)
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
                lambda: sla.first_response(
                    lc,
                    priority=cmd.priority,
                    received_at=now,
                    request_type=cmd.request_type,
                    agreed_at=cmd.appointment.start if cmd.appointment else None,
                ),
            ),
        ]
        by_appointment = lc.contract.runs_by_appointment(cmd.category, emergency=cmd.emergency)
        if cmd.appointment is not None and by_appointment:
            plan.append(("resolution", lambda: _appointment_deadline(lc, cmd, now)))
        else:
            plan.append(
                ("resolution", lambda: sla.resolution(lc, priority=cmd.priority, reported_at=now))
            )
        if (
            cmd.emergency
            and zone is not None
            and lc.contract.onsite.included
            and sla.onsite_priced(lc, zone=zone, emergency=True, at=now)
        ):
            # an emergency sends the engineer straight to the site (R-RESP); a zone left to
            # negotiation (null) or a contract without on-site support starts no clock here:
            # the on-site request says why (docs/onsite.md)
            plan.append(
                (
                    "onsite_arrival",
                    lambda: sla.onsite_arrival(lc, zone=zone, emergency=True, agreed_at=now),
                )
            )
        return plan


def _request_hash(cmd: OpenCase) -> str:
    return hashlib.sha256(msgspec.json.encode(cmd)).hexdigest()


def _appointment_deadline(lc: LoadedContract, cmd: OpenCase, now: datetime) -> sla.Deadline:
    assert cmd.appointment is not None
    window = cmd.appointment
    # in the duty calendar's zone, ISO with its offset as before (the bytes of a window given
    # in local time are unchanged: the history's hashes cover them)
    tz = lc.calendar("duty").tz
    shown = (moment.astimezone(tz).isoformat() for moment in (window.start, window.end))
    return sla.Deadline(
        kind="resolution",
        start=now,
        due=window.end,
        target="customer-agreed appointment window",
        calendar="duty",
        rule=f"{cmd.category!s} at the customer-agreed time: {' – '.join(shown)}",
    )


def _opened(
    cmd: OpenCase,
    lc: LoadedContract,
    zone: str | None,
    zone_reason: str | None,
    device: Device | None,
) -> Opened:
    caller = cmd.caller
    return Opened(
        contract_id=lc.id,
        customer_id=lc.contract.customer.id,
        caller=CallerRecord(
            name=caller.name,
            company=caller.company,
            phone=caller.phone,
            email=caller.email,
            address=caller.address,
        ),
        summary=cmd.summary,
        description=cmd.description,
        category=str(cmd.category),
        request_type=str(cmd.request_type),
        priority=cmd.priority,
        emergency=cmd.emergency,
        channel=str(cmd.channel),
        device_serial=cmd.device_serial,
        covered_device=device is not None,
        site=cmd.site,
        device_site=device.site if device is not None else None,  # the case's site if no site
        zone=zone,
        zone_reason=zone_reason,
        appointment=(
            WindowRecord(start=cmd.appointment.start, end=cmd.appointment.end)
            if cmd.appointment is not None
            else UNSET
        ),
        out_of_contract=True if cmd.out_of_contract else UNSET,
    )
