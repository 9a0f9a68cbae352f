"""Read side of spare-part requests: a case's requests as the API shows them (staff and the
customer alike: a request holds no internal note; those are internal events of the case)."""

from __future__ import annotations

from datetime import datetime

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import NotFoundError
from core.store import orm


class SpareClockView(msgspec.Struct, kw_only=True):
    kind: str
    state: str
    deadline: datetime


class SpareRequestView(msgspec.Struct, kw_only=True):
    """One spare request: its steps so far, delivery, vendor references and clocks."""

    request: int
    part: str
    device_serial: str | None
    mode: str
    status: str
    steps: list[str]
    covered: bool
    tier: str | None
    chargeable: bool
    price_basis: str | None
    vendor: str | None
    vendor_case: str | None
    rma_number: str | None
    carrier: str | None
    waybill: str | None
    new_serial: str | None
    requested_at: datetime
    updated_at: datetime
    clocks: list[SpareClockView]


def spare_requests(
    session: Session, number: str, *, customer_id: str | None = None
) -> list[SpareRequestView]:
    """The spare requests of case ``number`` (a customer: only its own cases, else 404)."""
    query = select(orm.Case).where(orm.Case.number == number)
    if customer_id is not None:
        query = query.where(orm.Case.customer_id == customer_id)
    case = session.scalar(query)
    if case is None:
        raise NotFoundError("no such case")
    clocks = {clock.id: clock for clock in case.clocks}
    rows = session.scalars(
        select(orm.SpareRequest)
        .where(orm.SpareRequest.case_id == case.id)
        .order_by(orm.SpareRequest.request)
    )
    return [_view(row, clocks) for row in rows]


def _view(row: orm.SpareRequest, clocks: dict[int, orm.SlaClock]) -> SpareRequestView:
    ids = (row.ship_clock_id, row.arrival_clock_id, row.return_clock_id)
    shown = [clocks[i] for i in ids if i is not None and i in clocks]
    return SpareRequestView(
        request=row.request,
        part=row.part,
        device_serial=row.device_serial,
        mode=row.mode,
        status=row.status,
        steps=list(row.steps),
        covered=row.covered,
        tier=row.tier,
        chargeable=row.chargeable,
        price_basis=row.price_basis,
        vendor=row.vendor,
        vendor_case=row.vendor_case,
        rma_number=row.rma_number,
        carrier=row.carrier,
        waybill=row.waybill,
        new_serial=row.new_serial,
        requested_at=row.requested_at,
        updated_at=row.updated_at,
        clocks=[SpareClockView(kind=c.kind, state=c.state, deadline=c.deadline) for c in shown],
    )
