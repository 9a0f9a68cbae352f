"""Spare-part requests on a case (R-SPARE): request a part, record each step, link the
customer's own vendor TAC case. Each command is one transaction; each step an event the
customer sees (internal notes are separate internal events).

The spare clocks are the case's: a hardware diagnosis starts ``spare_ship``/``spare_arrival``
(core.desk.work), and the first request for that device takes them over; a later request
(another part, or no diagnosis recorded) starts its own from the request. The installation
starts the return clock (``part_return``, or ``standby_return`` for a standby unit), which the
escalation ladder reminds of like any clock, and which outlives the case's resolution.

The vendor RMA channels (``core.rma``) call ``record_spare_step`` when they open an RMA or
learn that the part shipped or arrived.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from msgspec import UNSET, UnsetType
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import clocks, sla
from core.commands import LinkVendorCase, RecordSpareStep, RequestSpare
from core.contract import Device
from core.desk import devices
from core.desk.base import DeskBase, Receipt
from core.desk.entitlements import check_spare_level, onsite_refusal
from core.desk.errors import NotEntitled
from core.errors import ConflictError, InvalidField, NotFoundError
from core.events import NoteAdded, SpareRequested, SpareStepRecorded, SpareVendorCaseLinked
from core.loaded import LoadedContract
from core.spares import PRICE_BASIS, RETURN_CLOCK, DeliveryMode, SpareStep, check_step
from core.store import orm

SPARE_CLOCKS = ("spare_ship", "spare_arrival")
CUSTOMER = "customer"

# the step's own fields: which command field goes with which step
_STEP_FIELDS: dict[str, tuple[SpareStep, ...]] = {
    "rma_number": (SpareStep.RMA_OPENED,),
    "vendor": (SpareStep.RMA_OPENED,),
    "carrier": (SpareStep.SHIPPED,),
    "waybill": (SpareStep.SHIPPED,),
    "new_serial": (SpareStep.INSTALLED,),
    "new_model": (SpareStep.INSTALLED,),
}


class SpareCommands(DeskBase):
    """``request_spare``, ``spare_step`` (and ``record_spare_step``), ``link_vendor_case``."""

    def request_spare(
        self, number: str, cmd: RequestSpare, *, actor: str, now: datetime
    ) -> Receipt:
        """A part for a device on the case; its tier gives the ship and arrival deadlines.

        Refused (``NotEntitled``, with the clause) when the device's level is not sold in the
        case's zone (the 4-hour levels), when an engineer would swap it on a contract without
        on-site labour, or when no contract covers the device and the request does not say it
        is a chargeable emergency spare.
        """
        with _raced(), self._unit() as (session, events):
            case = self._load(session, number, cmd)
            self._require_open(case, "request a spare part")
            lc = self._contract(case.contract_id)
            serial = cmd.device_serial or case.device_serial
            device = None if case.out_of_contract else self._device(session, lc, serial)
            _check_entitled(lc, case, device, serial, cmd)
            request = _next_request(session, case)
            row = orm.SpareRequest(
                case_id=case.id,
                request=request,
                device_serial=serial,
                part=cmd.part,
                mode=cmd.mode.value,
                status=SpareStep.REQUESTED.value,
                steps=[SpareStep.REQUESTED.value],
                covered=device is not None,
                tier=device.tier if device is not None else None,
                chargeable=device is None,
                price_basis=PRICE_BASIS if device is None else None,
                vendor=cmd.vendor,
                vendor_case=cmd.vendor_case,
                requested_at=now,
                updated_at=now,
            )
            started: list[str] = []
            adopted: list[str] = []
            terms: str | None = None
            if device is not None:
                devices.remember(session, device, contract_id=lc.id, zone=case.zone, now=now)
                terms = sla.spare_terms(lc, device, case.zone).source
                started, adopted = self._spare_clocks(session, case, lc, device, row, now)
            elif serial:
                _remember_uncovered(session, serial, cmd.part, now)
            session.add(row)
            session.flush()
            ship, arrival = _clock(case, row.ship_clock_id), _clock(case, row.arrival_clock_id)
            body = SpareRequested(
                request=request,
                device_serial=serial,
                part=cmd.part,
                mode=cmd.mode.value,
                covered=device is not None,
                tier=row.tier,
                terms=terms,
                ship_due=ship.deadline if ship is not None else None,
                arrival_due=arrival.deadline if arrival is not None else None,
                clocks=started,
                adopted=adopted,
                chargeable=True if row.chargeable else UNSET,
                price_basis=row.price_basis or UNSET,
                vendor=cmd.vendor or UNSET,
                vendor_case=cmd.vendor_case or UNSET,
            )
            events.append(self._record(session, case, body, actor, now, CUSTOMER))
            if cmd.note:
                events.append(self._record(session, case, NoteAdded(text=cmd.note), actor, now))
            self._refresh(case, now)
            return self._receipt(session, case, events)

    def _spare_clocks(
        self,
        session: Session,
        case: orm.Case,
        lc: LoadedContract,
        device: Device,
        row: orm.SpareRequest,
        now: datetime,
    ) -> tuple[list[str], list[str]]:
        """The request's ship and arrival clocks: the diagnosis's, unclaimed and running, or
        new ones from now. Returns (started, adopted) clock kinds."""
        claimed = _claimed_clocks(session, case)
        terms = sla.spare_terms(lc, device, case.zone)
        started: list[str] = []
        adopted: list[str] = []
        wanted = {"spare_ship": terms.ship is not None, "spare_arrival": terms.arrival is not None}
        for kind in SPARE_CLOCKS:
            if not wanted[kind]:
                continue
            clock = self._unclaimed(case, kind, claimed)
            if clock is not None and case.device_serial == device.serial:
                adopted.append(kind)
            else:
                deadline = sla.due(lc, kind, at=now, device=device, zone=case.zone)
                clock = self._start(case, lc, deadline)
                started.append(kind)
            session.flush()  # the clock's id
            if kind == "spare_ship":
                row.ship_clock_id = clock.id
            else:
                row.arrival_clock_id = clock.id
        return started, adopted

    def _unclaimed(self, case: orm.Case, kind: str, claimed: set[int]) -> orm.SlaClock | None:
        for clock in case.clocks:
            if clock.kind == kind and clock.state in clocks.ACTIVE and clock.id not in claimed:
                return clock
        return None

    # --- steps ------------------------------------------------------------------------------

    def spare_step(
        self, number: str, cmd: RecordSpareStep, *, actor: str, now: datetime
    ) -> Receipt:
        """One step of a spare request, in order (core.spares.check_step); a step that ends a
        clock stops it (shipped: ship clock, the arrival re-planned from the shipment;
        arrived: arrival clock; part or standby returned: the return clock), the installation
        starts the return clock and, with a new serial, records the replacement device."""
        _check_step_fields(cmd)
        with _raced(), self._unit() as (session, events):
            case = self._load(session, number, cmd)
            self._step_in(session, case, cmd, actor=actor, now=now, events=events)
            return self._receipt(session, case, events)

    def _step_in(
        self,
        session: Session,
        case: orm.Case,
        cmd: RecordSpareStep,
        *,
        actor: str,
        now: datetime,
        events: list[orm.CaseEvent],
    ) -> None:
        """``spare_step``'s work inside the caller's transaction (also the RMA orders')."""
        row = _request_row(session, case, cmd.request)
        mode = DeliveryMode(row.mode)
        check_step(cmd.request, frozenset(SpareStep(s) for s in row.steps), cmd.step, mode)
        if cmd.step not in (SpareStep.PART_RETURNED, SpareStep.STANDBY_RETURNED):
            self._require_open(case, f"record {cmd.step} of spare request {cmd.request}")
        body = self._apply_step(session, case, row, cmd, now)
        row.steps = [*row.steps, cmd.step.value]
        row.status, row.updated_at = cmd.step.value, now
        events.append(self._record(session, case, body, actor, now, CUSTOMER))
        if cmd.internal_note:
            note = NoteAdded(text=cmd.internal_note)
            events.append(self._record(session, case, note, actor, now))
        self._refresh(case, now)

    def _supply_spare_step(
        self,
        session: Session,
        case: orm.Case,
        request: int,
        step: SpareStep,
        *,
        actor: str,
        now: datetime,
        events: list[orm.CaseEvent],
        **fields: str | None,
    ) -> bool:
        """Record ``step`` of spare request ``request`` in the caller's transaction unless
        the request already has it (then nothing, no error): an RMA order supplying the
        request records its steps this way (core.desk.rma). True when recorded."""
        row = _request_row(session, case, request)
        if step.value in row.steps:
            return False
        cmd = RecordSpareStep(request=request, step=step, **fields)  # type: ignore[arg-type]
        self._step_in(session, case, cmd, actor=actor, now=now, events=events)
        return True

    def record_spare_step(
        self,
        case_number: str,
        request_id: int,
        step: SpareStep | str,
        *,
        actor: str,
        now: datetime,
        rma_number: str | None = None,
        vendor: str | None = None,
        carrier: str | None = None,
        waybill: str | None = None,
        new_serial: str | None = None,
        new_model: str | None = None,
        note: str | None = None,
    ) -> Receipt:
        """``spare_step`` for code (the vendor RMA channels): e.g. the channel opened RMA
        ``rma_number`` for request 1 → ``record_spare_step(number, 1, "rma_opened",
        rma_number=..., vendor=..., actor=..., now=...)``; shipped with ``carrier`` and
        ``waybill``; arrived."""
        cmd = RecordSpareStep(
            request=request_id,
            step=SpareStep(step),
            rma_number=rma_number,
            vendor=vendor,
            carrier=carrier,
            waybill=waybill,
            new_serial=new_serial,
            new_model=new_model,
            note=note,
        )
        return self.spare_step(case_number, cmd, actor=actor, now=now)

    def _apply_step(
        self,
        session: Session,
        case: orm.Case,
        row: orm.SpareRequest,
        cmd: RecordSpareStep,
        now: datetime,
    ) -> SpareStepRecorded:
        """The step's effect on the request, its clocks and devices; the event that says so."""
        fields: dict[str, object] = {}
        stop_clock = {
            SpareStep.SHIPPED: row.ship_clock_id,
            SpareStep.ARRIVED: row.arrival_clock_id,
            SpareStep.PART_RETURNED: row.return_clock_id,
            SpareStep.STANDBY_RETURNED: row.return_clock_id,
        }.get(cmd.step)
        if stop_clock is not None:
            fields.update(_stop(case, stop_clock, now))
        if cmd.step == SpareStep.RMA_OPENED:
            row.rma_number, row.vendor = cmd.rma_number, cmd.vendor or row.vendor
            fields.update(rma_number=cmd.rma_number, vendor=cmd.vendor or UNSET)
        elif cmd.step == SpareStep.SHIPPED:
            row.carrier, row.waybill = cmd.carrier, cmd.waybill
            fields.update(carrier=cmd.carrier or UNSET, waybill=cmd.waybill or UNSET)
            self._replan_request_arrival(session, case, row, now)
        elif cmd.step == SpareStep.INSTALLED:
            fields.update(self._installed(session, case, row, cmd, now))
        return SpareStepRecorded(request=row.request, step=cmd.step.value, note=cmd.note, **fields)  # type: ignore[arg-type]

    def _replan_request_arrival(
        self, session: Session, case: orm.Case, row: orm.SpareRequest, shipped_at: datetime
    ) -> None:
        """An arrival counted from the shipment is due from the actual shipment now."""
        arrival = _clock(case, row.arrival_clock_id)
        if arrival is None or arrival.state not in clocks.ACTIVE or not row.covered:
            return
        lc = self._contract(case.contract_id)
        device = self._device(session, lc, row.device_serial)
        if device is None:
            return
        deadline = sla.spare_arrival(
            lc,
            device=device,
            diagnosed_at=arrival.started_at,
            shipped_at=shipped_at,
            zone=case.zone,
        )
        if deadline.due == arrival.deadline:
            return
        arrival.rule, arrival.provisional = deadline.rule, bool(deadline.provisional)
        ladder = self._ladder(lc, arrival.kind, case.priority)
        clocks.replan(arrival, deadline.due, lc.calendar(arrival.calendar), ladder)

    def _installed(
        self,
        session: Session,
        case: orm.Case,
        row: orm.SpareRequest,
        cmd: RecordSpareStep,
        now: datetime,
    ) -> dict[str, object]:
        """The return clock starts; a new serial becomes a device inheriting the coverage."""
        fields: dict[str, object] = {}
        mode = DeliveryMode(row.mode)
        if cmd.new_serial:
            if mode == DeliveryMode.STANDBY:
                raise InvalidField(
                    "new_serial",
                    "a standby unit stands in and goes back: the device keeps its serial",
                )
            self._swap_device(session, case, row, cmd.new_serial, cmd.new_model, now)
            fields.update(replaced_serial=row.device_serial or UNSET, new_serial=cmd.new_serial)
        if not case.out_of_contract:
            lc = self._contract(case.contract_id)
            kind = RETURN_CLOCK[mode]
            clock = self._start(case, lc, sla.spare_return(lc, kind=kind, installed_at=now))
            session.flush()
            row.return_clock_id = clock.id
            fields.update(return_clock=kind, return_due=clock.deadline)
        return fields

    def _swap_device(
        self,
        session: Session,
        case: orm.Case,
        row: orm.SpareRequest,
        new_serial: str,
        new_model: str | None,
        now: datetime,
    ) -> None:
        if not row.device_serial:
            raise InvalidField("new_serial", "the request names no device whose part was replaced")
        old = devices.find_row(session, row.device_serial)
        if old is None:  # requested before device records existed: record it now
            lc = self._contract(case.contract_id)
            device = self._device(session, lc, row.device_serial)
            if device is None:
                old = _remember_uncovered(session, row.device_serial, row.part, now)
            else:
                old = devices.remember(session, device, contract_id=lc.id, zone=case.zone, now=now)
            session.flush()
        devices.replace(
            session, old, new_serial, new_model or old.model, now, case_number=case.number
        )
        row.new_serial = new_serial

    # --- the customer's own vendor case -----------------------------------------------------

    def link_vendor_case(
        self, number: str, cmd: LinkVendorCase, *, actor: str, now: datetime
    ) -> Receipt:
        """The customer reported the fault to the vendor's TAC itself: its case number is
        recorded on the spare request and linked in the history."""
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            row = _request_row(session, case, cmd.request)
            row.vendor, row.vendor_case, row.updated_at = cmd.vendor, cmd.vendor_case, now
            body = SpareVendorCaseLinked(
                request=cmd.request, vendor=cmd.vendor, vendor_case=cmd.vendor_case
            )
            events.append(self._record(session, case, body, actor, now, CUSTOMER))
            return self._receipt(session, case, events)


# --- helpers ---------------------------------------------------------------------------------


@contextmanager
def _raced() -> Iterator[None]:
    """A concurrent command took the same request number or device serial first."""
    try:
        yield
    except IntegrityError as exc:
        raise ConflictError(
            "another command on this case (or device) got there first; reload and retry"
        ) from exc


def _check_entitled(
    lc: LoadedContract,
    case: orm.Case,
    device: Device | None,
    serial: str | None,
    cmd: RequestSpare,
) -> None:
    if device is None:
        if not cmd.chargeable:
            what = f"device {serial!r}" if serial else "a case naming no device"
            why = (
                "the case was opened out of contract"
                if case.out_of_contract
                else (f"contract {lc.id} does not cover {what} ($.devices)")
            )
            raise NotEntitled(
                f"{why}: a spare part goes out only as an emergency spare, charged at the "
                "standard price with no surcharge (备件紧急响应): request it with "
                "chargeable: true"
            )
        return
    if cmd.chargeable:
        raise InvalidField(
            "chargeable",
            f"device {device.serial} is covered by contract {lc.id} (tier {device.tier}): "
            "its spare part is not charged",
        )
    check_spare_level(lc, device, case.zone)
    if cmd.mode == DeliveryMode.ENGINEER:  # the engineer swaps it: on-site labour
        refusal = onsite_refusal(lc, case.number, device.serial, part_swap=True)
        if refusal is not None:
            raise NotEntitled(refusal)


def _check_step_fields(cmd: RecordSpareStep) -> None:
    """A step's own fields only with that step; ``rma_opened`` needs its RMA number."""
    for name, steps in _STEP_FIELDS.items():
        if getattr(cmd, name) is not None and cmd.step not in steps:
            raise InvalidField(name, f"goes with step {', '.join(steps)}, not {cmd.step}")
    if cmd.step == SpareStep.RMA_OPENED and not cmd.rma_number:
        raise InvalidField("rma_number", "an RMA opened needs the vendor's RMA (case) number")


def _next_request(session: Session, case: orm.Case) -> int:
    last = session.scalar(
        select(func.max(orm.SpareRequest.request)).where(orm.SpareRequest.case_id == case.id)
    )
    return (last or 0) + 1


def _request_row(session: Session, case: orm.Case, request: int) -> orm.SpareRequest:
    row = session.scalar(
        select(orm.SpareRequest).where(
            orm.SpareRequest.case_id == case.id, orm.SpareRequest.request == request
        )
    )
    if row is None:
        raise NotFoundError(f"case {case.number} has no spare request {request}")
    return row


def _claimed_clocks(session: Session, case: orm.Case) -> set[int]:
    rows = session.execute(
        select(orm.SpareRequest.ship_clock_id, orm.SpareRequest.arrival_clock_id).where(
            orm.SpareRequest.case_id == case.id
        )
    )
    return {clock_id for pair in rows for clock_id in pair if clock_id is not None}


def _clock(case: orm.Case, clock_id: int | None) -> orm.SlaClock | None:
    if clock_id is None:
        return None
    return next((c for c in case.clocks if c.id == clock_id), None)


def _stop(case: orm.Case, clock_id: int, at: datetime) -> dict[str, object]:
    """Stop the request's clock if it still runs; the event's clock fields (else none)."""
    clock = _clock(case, clock_id)
    if clock is None or clock.state not in clocks.ACTIVE:
        return {}  # stopped already (e.g. the case's spare_shipped milestone, or resolved)
    clocks.stop(clock, at)
    fields: dict[str, str | datetime | UnsetType] = {
        "clock": clock.kind,
        "outcome": clock.state,
        "deadline": clock.deadline,
    }
    return dict(fields)


def _remember_uncovered(session: Session, serial: str, part: str, now: datetime) -> orm.Device:
    """A device no contract covers, on record for its emergency spare (no coverage)."""
    row = devices.find_row(session, serial)
    if row is None:
        row = orm.Device(
            serial=serial,
            model=f"(not under contract; part: {part})"[:200],
            created_at=now,
            updated_at=now,
        )
        session.add(row)
    return row
