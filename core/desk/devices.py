"""Device records: a contract's covered devices by serial, and the replacements that inherit
their coverage (R-SPARE: "替换备件仍旧保有被替换设备同等服务").

A contract lists its devices in YAML; a part swapped in with its own serial becomes a row of
``devices`` whose ``predecessor_serial`` names the device it replaced. Looking a serial up
under a contract follows that chain back to a device the contract lists, and answers that
device's terms (tier, site, RMA channel, vendor terms) under the new serial and model.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.contract import Device
from core.errors import ConflictError
from core.loaded import LoadedContract
from core.store import orm

MAX_CHAIN = 50  # replacements of replacements followed back; a longer chain is a loop


def find_row(session: Session, serial: str) -> orm.Device | None:
    return session.scalar(select(orm.Device).where(orm.Device.serial == serial))


def covered_device(session: Session, lc: LoadedContract, serial: str | None) -> Device | None:
    """The device ``serial`` as contract ``lc`` covers it: listed in the contract, or a
    replacement of a listed device (its terms under the new serial); None: not covered."""
    if not serial:
        return None
    listed = lc.contract.device(serial)
    if listed is not None:
        return listed
    row = find_row(session, serial)
    model = row.model if row is not None else None
    for _ in range(MAX_CHAIN):
        if row is None or row.predecessor_serial is None:
            return None
        original = lc.contract.device(row.predecessor_serial)
        if original is not None:
            return msgspec.structs.replace(original, serial=serial, model=model or original.model)
        row = find_row(session, row.predecessor_serial)
    return None


def remember(
    session: Session,
    device: Device,
    *,
    contract_id: str | None,
    zone: str | None,
    now: datetime,
) -> orm.Device:
    """The device's row, created from its contract entry the first time it is needed."""
    row = find_row(session, device.serial)
    if row is None:
        row = orm.Device(
            serial=device.serial,
            model=device.model,
            contract_id=contract_id,
            site=device.site,
            zone=zone,
            tier=device.tier,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
    return row


def replace(
    session: Session,
    old: orm.Device,
    new_serial: str,
    model: str,
    now: datetime,
    *,
    case_number: str | None = None,
    actor: str = "system",
) -> None:
    """``new_serial`` swapped in for ``old``: a new row inheriting its coverage, linked both
    ways, and a ``replaced`` event in each one's history (device_events). A serial we already
    know (another device) is refused, never overwritten."""
    if find_row(session, new_serial) is not None or new_serial == old.serial:
        raise ConflictError(
            f"serial {new_serial!r} is already a device on record: a replacement needs a "
            "serial of its own"
        )
    session.add(
        orm.Device(
            serial=new_serial,
            model=model,
            contract_id=old.contract_id,
            site=old.site,
            zone=old.zone,
            tier=old.tier,
            predecessor_serial=old.serial,
            created_at=now,
            updated_at=now,
        )
    )
    old.replaced_by, old.updated_at = new_serial, now
    for serial, field, before, after in (
        (old.serial, "replaced_by", None, new_serial),
        (new_serial, "predecessor_serial", None, old.serial),
    ):
        session.add(
            orm.DeviceEvent(
                serial=serial,
                kind="replaced",
                source="case" if case_number else "manual",
                changes={field: {"from": before, "to": after}},
                note=None,
                case_number=case_number,
                case_seq=None,
                actor=actor,
                at=now,
            )
        )
