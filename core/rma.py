"""Vendor RMA channels: the typed interface every vendor plugin implements (R-SPARE).

A channel is a vendor's way of taking a return-material authorisation: Digital China by
structured e-mail, Cisco TAC through its support API, an integrator's HPE or Huawei package
through the same hook. The desk and the scheduler speak only these types; a channel keeps its
credentials and wire formats to itself and never puts them into a ticket, an update or an
error's detail (those end up in case events and logs).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

import msgspec

from core.errors import ClientError, ServerError, Unavailable


class RmaState(StrEnum):
    """Where an RMA stands at the vendor; the order is the usual life of one."""

    REQUESTED = "requested"  # sent; the vendor has not confirmed it (no vendor case yet)
    OPEN = "open"  # the vendor took it: its case number is known
    SHIPPED = "shipped"  # the part left the vendor's warehouse (carrier, waybill)
    DELIVERED = "delivered"  # the part reached the site or our office
    CLOSED = "closed"  # the vendor closed it (faulty part received back, or done)
    CANCELLED = "cancelled"  # we withdrew it
    REJECTED = "rejected"  # the vendor refused it (not entitled, unknown serial, no stock)

    @property
    def final(self) -> bool:
        return self in (RmaState.CLOSED, RmaState.CANCELLED, RmaState.REJECTED)


class RmaRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What we ask a vendor for: one part for one device on one case."""

    case_number: str
    idempotency_key: str  # stable for this request: sending it twice must not open two RMAs
    serial: str
    model: str | None = None
    part: str | None = None  # part number or description, when known
    problem: str  # the diagnosed fault, no personal data
    ship_to: str  # the delivery address (site or our office)
    requested_at: datetime  # UTC
    vendor_case: str | None = None  # the customer already reported it to the vendor's TAC


class ShipPromise(msgspec.Struct, frozen=True, kw_only=True):
    """The vendor's promise to ship, with the readable rule that produced it."""

    ship_by: datetime | None  # UTC; None: no promise (e.g. no stock in the warehouses)
    rule: str


class RmaTicket(msgspec.Struct, frozen=True, kw_only=True):
    """The vendor's view of one RMA after an open, a status poll or a cancel."""

    vendor_case: str | None  # None while REQUESTED (e-mail channels learn it from the reply)
    state: RmaState
    raw_status: str  # the vendor's own word for it, for the record
    promise: ShipPromise | None = None
    carrier: str | None = None
    waybill: str | None = None
    note: str | None = None  # customer-safe text


class RmaUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """An incoming status change parsed from a webhook body or a vendor's e-mail."""

    vendor_case: str
    state: RmaState
    raw_status: str
    at: datetime  # UTC, as the vendor stated it (or when received)
    case_number: str | None = None  # ours, when the vendor quoted it back
    carrier: str | None = None
    waybill: str | None = None
    note: str | None = None


@runtime_checkable
class RmaClient(Protocol):
    """One vendor channel's client. ``now`` is injected; implementations never read the clock
    for logic (they may for network timeouts)."""

    name: str

    def open(self, request: RmaRequest, now: datetime) -> RmaTicket:
        """Open an RMA (idempotent on ``request.idempotency_key``)."""
        ...

    def status(self, vendor_case: str, now: datetime) -> RmaTicket:
        """The RMA's current state at the vendor."""
        ...

    def cancel(self, vendor_case: str, reason: str, now: datetime) -> RmaTicket:
        """Withdraw the RMA."""
        ...

    def parse_inbound(self, message: bytes) -> list[RmaUpdate]:
        """Status changes in a webhook body or a raw RFC 5322 e-mail; RmaParseError if none
        can be read."""
        ...


class RmaError(ServerError):
    """A vendor channel failed in a way an operator has to look at."""

    title = "vendor RMA error"


class VendorUnavailable(Unavailable):
    """The vendor did not answer usefully now (timeout, 5xx, rate limit): retry later."""

    title = "vendor unavailable"

    def __init__(self, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class VendorRejected(ClientError):
    """The vendor refused the request (unknown serial, not entitled): retrying will not help."""

    title = "vendor rejected the RMA"


class RmaParseError(ClientError):
    """An inbound webhook body or e-mail holds no RMA status we can read."""

    title = "unreadable RMA message"
