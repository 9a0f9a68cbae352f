"""Device records over time (R-MAINT 设备档案; R-QUAL: analyse faults against the device's
operating environment and software version): record a change of model, site, environment or
software version, and read a device with its history (docs/knowledge.md "Device records").

Where the history lives: every change is a row of ``device_events`` (append-only: database
triggers refuse UPDATE and DELETE), the device's own history whatever caused it. A change
made during a case (or an inspection, which is a case) is also a ``device_changed`` event of
that case, in the case's hash-chained history, and the device event names the case and the
event's seq: the case tells what was done on it, the device what happened to it, and neither
needs the other's table to be read. Inspections record their findings through
``_note_device_change`` in their own transaction.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.commands import RecordDeviceChange
from core.desk import devices
from core.desk.base import DeskBase
from core.errors import InvalidField, NotFoundError
from core.events import DeviceChanged, FieldChange
from core.store import orm

TRACKED = ("model", "site", "environment", "software_version")


class DeviceEventView(msgspec.Struct, kw_only=True):
    kind: str
    source: str
    changes: dict[str, dict[str, str | None]]
    note: str | None
    case_number: str | None
    case_seq: int | None
    actor: str
    at: datetime


class DeviceView(msgspec.Struct, kw_only=True):
    """A device as recorded now, its replacement links and its history, oldest first."""

    serial: str
    model: str
    contract_id: str | None
    site: str | None
    zone: str | None
    tier: str | None
    environment: str | None
    software_version: str | None
    predecessor_serial: str | None
    replaced_by: str | None
    history: list[DeviceEventView]


def device_history(session: Session, serial: str) -> list[orm.DeviceEvent]:
    return list(
        session.scalars(
            select(orm.DeviceEvent)
            .where(orm.DeviceEvent.serial == serial)
            .order_by(orm.DeviceEvent.id)
        )
    )


def device_view(session: Session, row: orm.Device) -> DeviceView:
    return DeviceView(
        serial=row.serial,
        model=row.model,
        contract_id=row.contract_id,
        site=row.site,
        zone=row.zone,
        tier=row.tier,
        environment=row.environment,
        software_version=row.software_version,
        predecessor_serial=row.predecessor_serial,
        replaced_by=row.replaced_by,
        history=[
            DeviceEventView(
                kind=e.kind,
                source=e.source,
                changes=e.changes,
                note=e.note,
                case_number=e.case_number,
                case_seq=e.case_seq,
                actor=e.actor,
                at=e.at,
            )
            for e in device_history(session, row.serial)
        ],
    )


class DeviceRecordCommands(DeskBase):
    """Record device changes; read a device with its history."""

    def device(self, serial: str) -> DeviceView:
        """The device on record, or one a contract lists (not yet on record: no history)."""
        with self.sessions() as session:
            row = devices.find_row(session, serial) or self._listed_device(serial)
            if row is None:
                raise NotFoundError(f"no device {serial!r} on record or in a contract")
            return device_view(session, row)

    def record_device_change(
        self, serial: str, cmd: RecordDeviceChange, *, actor: str, now: datetime
    ) -> DeviceView:
        """Apply the fields given; each value that differs is one change, recorded once in
        the device's history (and on the case named). Nothing differing: nothing recorded."""
        with self._unit() as (session, events):
            row = devices.find_row(session, serial) or self._listed_device(serial, session, now)
            if row is None:
                raise NotFoundError(f"no device {serial!r} on record or in a contract")
            case = self._load(session, cmd.case_number) if cmd.case_number else None
            if case is not None and case.device_serial not in (None, serial):
                raise InvalidField(
                    "$.case_number", f"case {case.number} is about device {case.device_serial}"
                )
            values = {name: getattr(cmd, name) for name in TRACKED if getattr(cmd, name)}
            source = cmd.source or ("case" if case is not None else "manual")
            event = self._note_device_change(
                session, row, values, source=source, actor=actor, now=now, case=case, note=cmd.note
            )
            if event is not None and case is not None:
                events.append(event)
            session.flush()
            return device_view(session, row)

    def _note_device_change(
        self,
        session: Session,
        row: orm.Device,
        values: dict[str, str | None],
        *,
        source: str,
        actor: str,
        now: datetime,
        case: orm.Case | None = None,
        note: str | None = None,
    ) -> orm.CaseEvent | None:
        """Set ``values`` on the device; the differing ones are one device event (and one
        ``device_changed`` event of ``case``, returned, when given). Inspections call this in
        their own transaction with their case."""
        changes = {
            name: (getattr(row, name), value)
            for name, value in values.items()
            if getattr(row, name) != value
        }
        if not changes:
            return None
        for name, (_, value) in changes.items():
            setattr(row, name, value)
        row.updated_at = now
        recorded = None
        if case is not None:
            body = DeviceChanged(
                serial=row.serial,
                changes={k: FieldChange(from_=old, to=new) for k, (old, new) in changes.items()},
                source=source,
                note=note,
            )
            recorded = self._record(session, case, body, actor, now)
        session.add(
            orm.DeviceEvent(
                serial=row.serial,
                kind="changed",
                source=source,
                changes={k: {"from": old, "to": new} for k, (old, new) in changes.items()},
                note=note,
                case_number=case.number if case is not None else None,
                case_seq=recorded.seq if recorded is not None else None,
                actor=actor,
                at=now,
            )
        )
        return recorded

    def _listed_device(
        self, serial: str, session: Session | None = None, now: datetime | None = None
    ) -> orm.Device | None:
        """A device a contract lists but nobody recorded yet: its row as the contract says
        (added to ``session`` when one is given, with a ``recorded`` event)."""
        for lc in self.contracts.contracts.values():
            device = lc.contract.device(serial)
            if device is None:
                continue
            if session is None or now is None:
                return orm.Device(
                    serial=device.serial,
                    model=device.model,
                    contract_id=lc.id,
                    site=device.site,
                    tier=device.tier,
                )
            return devices.remember(session, device, contract_id=lc.id, zone=None, now=now)
        return None
