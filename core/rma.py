"""Vendor RMA channels: the typed interface every vendor plugin implements (R-SPARE).

A channel is a vendor's way of taking a return-material authorisation: Digital China by
structured e-mail, Cisco TAC through its support API, an integrator's HPE or Huawei package
through the same hook. The desk and the scheduler speak only these types; a channel keeps its
credentials and wire formats to itself and never puts them into a ticket, an update or an
error's detail (those end up in case events and logs).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from threading import Lock
from typing import TYPE_CHECKING, Annotated, Any, Protocol, runtime_checkable

import msgspec
from msgspec import Meta

from core import limits
from core.commands import Address, Command, Identifier, Name, Serial, Text
from core.errors import ClientError, ConflictError, ServerError, Unavailable

if TYPE_CHECKING:
    from core.calendar import Calendar
    from core.holidays import HolidayRegistry
    from core.notify import Delivery, Notice
    from core.settings import Settings


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
    # added with the channels (issue 13): whose business calendar a promise counts on, and
    # the contact the vendor should quote; None when unknown
    contract_id: str | None = None
    customer: str | None = None


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
    # the warehouses the vendor says hold the part (lower-case ids such as "beijing");
    # () : no stock anywhere; None: the message did not say
    stock: tuple[str, ...] | None = None
    idempotency_key: str | None = None  # our request's key, when the vendor quoted it back


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


@runtime_checkable
class StockPromiser(Protocol):
    """A channel whose ship promise depends on the vendor's stock (Digital China): the desk
    asks it once the stock is known, from a reply e-mail or an agent's entry."""

    def promise(
        self, stock: Sequence[str], requested_at: datetime, contract_id: str | None
    ) -> ShipPromise:
        """The promise for an RMA requested at ``requested_at``; ``ship_by`` None: none."""
        ...


@runtime_checkable
class BatchStatus(Protocol):
    """An optional part of ``RmaClient``: the state of many RMAs in few vendor requests. The
    scheduler's pass asks it once per channel per batch; a client without it is asked
    ``status`` order by order."""

    def status_many(self, vendor_cases: Sequence[str], now: datetime) -> Mapping[str, RmaTicket]:
        """Tickets by vendor case for those the vendor answered; a case missing from the
        answer is asked with ``status`` (which says why). VendorUnavailable (timeout, 5xx,
        rate limit) fails the whole batch."""
        ...


def status_batch(client: RmaClient) -> int | None:
    """How many vendor cases one ``status_many`` call should carry (the client's
    ``status_batch``; no limit when it says none), or None when the client cannot batch."""
    if not isinstance(client, BatchStatus) or not polls(client):
        return None
    size = getattr(client, "status_batch", None)
    return size if isinstance(size, int) and size > 0 else 10**9


def polls(client: RmaClient) -> bool:
    """Whether the scheduler may ask ``client.status`` (an e-mail channel learns its status
    from replies instead: ``polls = False`` on the client)."""
    return bool(getattr(client, "polls", True))


# --- how channels are registered and built ------------------------------------------------------


class RmaChannel(msgspec.Struct, frozen=True, kw_only=True):
    """A vendor RMA channel a covered device can name (``rma: digital_china``).

    ``factory`` names the callable that builds the channel's client, as an entry point does:
    ``"package.module:Class.from_settings"``; it is called as ``factory(settings, context)``
    and returns an ``RmaClient``. It is imported only when the client is first needed, so a
    descriptor loads (and contracts check) even where the client's module or its settings are
    missing. ``None``: a descriptor only (contracts may name it, the desk cannot open RMAs).
    """

    name: str
    vendor: str
    description: str
    factory: str | None = None


@dataclass(frozen=True)
class RmaContext:
    """What a channel's factory gets besides the settings (the time is passed per call).

    - ``calendar(contract_id, name)``: the named business calendar of that contract (the
      catalog's when ``contract_id`` is None or unknown), built from the holiday registry;
    - ``holidays``: the registry itself (make-up workdays and statutory holidays by region);
    - ``send_email(notice)``: send one structured e-mail now through the notifier plugins'
      ``email`` channel; returns its ``Delivery`` or raises ``TransientDeliveryError``.
    """

    calendar: Callable[[str | None, str], Calendar]
    holidays: HolidayRegistry
    send_email: Callable[[Notice], Delivery]


class RmaChannels:
    """The registered channels and their clients, each built on first use and kept."""

    def __init__(
        self, channels: Mapping[str, Any], settings: Settings, context: RmaContext
    ) -> None:
        self.channels = dict(channels)
        self.settings = settings
        self.context = context
        self._clients: dict[str, RmaClient] = {}
        self._lock = Lock()

    def client(self, name: str) -> RmaClient:
        """The client of channel ``name``; RmaChannelUnavailable when it has none here."""
        with self._lock:
            if name not in self._clients:
                self._clients[name] = self._build(name)
            return self._clients[name]

    def use(self, name: str, client: RmaClient) -> None:
        """Serve ``client`` for ``name`` (tests, an embedding application)."""
        with self._lock:
            self._clients[name] = client

    def forget(self, name: str) -> RmaClient | None:
        """Stop serving the client of ``name`` (the next use builds it from the settings
        again); the client it served, if any."""
        with self._lock:
            return self._clients.pop(name, None)

    def _build(self, name: str) -> RmaClient:
        channel = self.channels.get(name)
        if channel is None:
            known = ", ".join(sorted(self.channels)) or "none"
            raise RmaChannelUnavailable(f"no RMA channel {name!r} is registered (known: {known})")
        if isinstance(channel, RmaClient):  # a plugin registered a ready client
            return channel
        reference = getattr(channel, "factory", None)
        if not reference:
            raise RmaChannelUnavailable(
                f"RMA channel {name!r} is a descriptor only: no client is installed here, so "
                "RMAs through it are recorded by hand (rma update)"
            )
        try:
            factory = resolve_reference(reference)
        except (ImportError, AttributeError, ValueError) as exc:
            raise RmaChannelUnavailable(
                f"RMA channel {name!r}: its client {reference!r} cannot be loaded ({exc})"
            ) from None
        client = call_factory(factory, self.settings, self.context)
        if not isinstance(client, RmaClient):
            raise RmaError(f"RMA channel {name!r}: {reference} did not build an RmaClient")
        return client


def call_factory(factory: Callable[..., Any], settings: Settings, context: RmaContext) -> Any:
    """``factory(settings, context)``, or ``factory(settings)`` for a factory that needs no
    context (e.g. an HTTP client configured by its settings alone)."""
    try:
        inspect.signature(factory).bind(settings, context)
    except TypeError:
        return factory(settings)
    except ValueError:  # no signature to read (a builtin): assume the full one
        pass
    return factory(settings, context)


def resolve_reference(reference: str) -> Callable[..., Any]:
    """``"package.module:Name.attr"`` → the object, imported now (entry-point syntax)."""
    module_name, sep, qualname = reference.partition(":")
    if not sep or not module_name or not qualname:
        raise ValueError(f"want 'module:attribute', not {reference!r}")
    found: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        found = getattr(found, part)
    if not callable(found):
        raise ValueError(f"{reference!r} is not callable")
    return found


class RmaChannelUnavailable(ConflictError):
    """The case's channel has no client in this deployment (descriptor only, or its module or
    settings are missing): the RMA is opened with the vendor by hand and recorded."""

    title = "RMA channel unavailable"


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


# --- the desk's inputs and views (core.desk.rma; the HTTP layer decodes straight into them) -----

Short = Annotated[str, Meta(min_length=1, max_length=64, pattern=limits.NO_NUL)]
Key = Annotated[str, Meta(min_length=1, max_length=200, pattern=limits.NO_NUL)]
SpareRequestId = Annotated[int, Meta(ge=1, le=limits.MAX_ID)]


class OpenRma(Command, frozen=True, kw_only=True):
    """Open an RMA for a device of the case's contract through the device's channel.

    Every field may be left out: the case's device, the contract's channel for it, the case
    summary as the problem and the device's site as the delivery address. The key makes a
    retry safe: the same key never opens a second RMA (default: one open RMA per device).
    """

    serial: Serial | None = None
    channel: Identifier | None = None
    part: Name | None = None
    problem: Text | None = None
    ship_to: Address | None = None
    vendor_case: Short | None = None  # the customer already reported it to the vendor's TAC
    idempotency_key: Key | None = None
    spare_request_id: SpareRequestId | None = None


class CancelRma(Command, frozen=True, kw_only=True):
    reason: Text


class RmaEntry(Command, frozen=True, kw_only=True):
    """An agent's entry of the vendor's answer (phone, portal, a reply read by a person)."""

    state: RmaState
    raw_status: Short | None = None
    vendor_case: Short | None = None
    carrier: Short | None = None
    waybill: Short | None = None
    # the warehouses that hold the part, e.g. ["beijing"]; [] for none; left out: not known
    stock: list[Short] | None = None


class RmaView(msgspec.Struct, frozen=True, kw_only=True):
    """An RMA order as staff see it (never the channel's credentials)."""

    id: int
    case_number: str
    channel: str
    serial: str
    idempotency_key: str
    vendor_case: str | None
    state: str
    raw_status: str | None
    promise_ship_by: datetime | None
    promise_rule: str | None
    carrier: str | None
    waybill: str | None
    spare_request_id: int | None
    failures: int
    next_poll_at: datetime | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


class RmaCustomerView(msgspec.Struct, frozen=True, kw_only=True):
    """An RMA order as its customer sees it: the supply status, no internals."""

    id: int
    channel: str
    vendor_case: str | None
    state: str
    promise_ship_by: datetime | None
    carrier: str | None
    waybill: str | None

    @classmethod
    def of(cls, view: RmaView) -> RmaCustomerView:
        return cls(
            id=view.id,
            channel=view.channel,
            vendor_case=view.vendor_case,
            state=view.state,
            promise_ship_by=view.promise_ship_by,
            carrier=view.carrier,
            waybill=view.waybill,
        )


PENDING = "pending"  # stored before the vendor is asked; not a vendor state
# how far along an RMA is: an update never moves it back (a late "shipped" after "delivered")
PROGRESS: dict[str, int] = {
    PENDING: 0,
    RmaState.REQUESTED: 1,
    RmaState.OPEN: 2,
    RmaState.SHIPPED: 3,
    RmaState.DELIVERED: 4,
    RmaState.CLOSED: 5,
}
FINAL_STATES = frozenset({RmaState.CLOSED, RmaState.CANCELLED, RmaState.REJECTED})


def moves_forward(current: str, new: str) -> bool:
    """Whether ``new`` may follow ``current`` (same state: True, its details may change)."""
    if current in FINAL_STATES:
        return new == current
    if new in (RmaState.CANCELLED, RmaState.REJECTED):
        return True
    return PROGRESS.get(new, 0) >= PROGRESS.get(current, 0)
