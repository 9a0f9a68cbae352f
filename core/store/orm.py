"""SQLAlchemy 2 tables of the case store: cases, their SLA clocks, the append-only history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from core import limits

if TYPE_CHECKING:
    from sqlalchemy import Table

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (naive UTC text) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} cannot be stored: UTC only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}  # noqa: RUF012
    if TYPE_CHECKING:  # every model here is a Table (SQLAlchemy types __table__ as FromClause)
        __table__: ClassVar[Table]


class CaseCounter(Base):
    """The last number handed out per prefix and year; locked while a case is numbered."""

    __tablename__ = "case_counters"

    prefix: Mapped[str] = mapped_column(String(16), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)
    mac: Mapped[str | None] = mapped_column(String(64))  # core.store.seal.counter_seal


class Case(Base):
    """The current state of a case: a projection of its events, versioned for concurrency."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    contract_id: Mapped[str] = mapped_column(String(limits.IDENTIFIER))
    customer_id: Mapped[str] = mapped_column(String(limits.IDENTIFIER))
    caller_name: Mapped[str] = mapped_column(String(limits.NAME))
    caller_company: Mapped[str | None] = mapped_column(String(limits.NAME))
    caller_phone: Mapped[str | None] = mapped_column(String(limits.PHONE))
    caller_email: Mapped[str | None] = mapped_column(String(limits.NAME))
    caller_address: Mapped[str | None] = mapped_column(String(limits.ADDRESS))
    summary: Mapped[str] = mapped_column(String(limits.ADDRESS))
    category: Mapped[str] = mapped_column(String(32))
    request_type: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(2))
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    # opened on purpose outside the contract: chargeable, no SLA clocks (migration 0007)
    out_of_contract: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    channel: Mapped[str] = mapped_column(String(16))
    device_serial: Mapped[str | None] = mapped_column(String(limits.SERIAL))
    site: Mapped[str | None] = mapped_column(String(limits.ADDRESS))
    zone: Mapped[str | None] = mapped_column(String(32))
    appointment_start: Mapped[datetime | None]
    appointment_end: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(32))
    assignee: Mapped[str | None] = mapped_column(String(limits.ENGINEER))
    opened_at: Mapped[datetime]
    # the HTTP request that opened it (X-Request-ID): its notices are logged under it (0008)
    opened_request_id: Mapped[str | None] = mapped_column(String(limits.REQUEST_ID))
    updated_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # earliest deadline among running clocks, and whether any clock breached: both indexed
    # so "due before T" and "breached" lists are range scans
    next_deadline: Mapped[datetime | None]
    breached: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default="")  # head of the event chain
    head_mac: Mapped[str | None] = mapped_column(String(64))  # seal.head_seal of the head
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    clocks: Mapped[list[SlaClock]] = relationship(
        back_populates="case", order_by="SlaClock.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's own dict
    __table_args__ = (
        Index("ix_cases_customer_keyset", "customer_id", "id"),
        Index("ix_cases_status_keyset", "status", "id"),
        Index("ix_cases_priority_keyset", "priority", "id"),
        Index("ix_cases_breached_keyset", "breached", "id"),
        Index("ix_cases_next_deadline", "next_deadline", "id"),
        Index("ix_cases_contract", "contract_id"),
    )


class SlaClock(Base):
    """One SLA clock of a case: its deadline, pauses, outcome and next escalation instant."""

    __tablename__ = "sla_clocks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(limits.CLOCK_KIND))
    state: Mapped[str] = mapped_column(String(16))  # running, paused, met, breached, ...
    calendar: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200))
    rule: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime]
    deadline: Mapped[datetime]
    paused_at: Mapped[datetime | None]
    pause_cause: Mapped[str | None] = mapped_column(String(limits.CAUSE))
    pauses: Mapped[list[Any]] = mapped_column(JSON, default=list)
    met_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    exclusion_cause: Mapped[str | None] = mapped_column(String(limits.IDENTIFIER))
    exclusion_note: Mapped[str | None] = mapped_column(Text)
    alert_level: Mapped[int] = mapped_column(Integer, default=0)
    next_alert_at: Mapped[datetime | None]
    # the deadline used holidays planned from the statutory rules (no published data yet);
    # re-planned, and cleared, when the year's real data is loaded
    provisional: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    case: Mapped[Case] = relationship(back_populates="clocks")

    __table_args__ = (
        Index("ix_sla_clocks_case", "case_id", "kind"),
        # the escalation scan: only clocks that still alert are in the index
        Index(
            "ix_sla_clocks_next_alert_at",
            "next_alert_at",
            sqlite_where=text("next_alert_at IS NOT NULL"),
            postgresql_where=text("next_alert_at IS NOT NULL"),
        ),
        # the re-plan on new holiday data: only provisional clocks are in the index
        Index(
            "ix_sla_clocks_provisional",
            "provisional",
            sqlite_where=text("provisional"),
            postgresql_where=text("provisional"),
        ),
    )


class CaseEvent(Base):
    """One entry of a case's history; database triggers refuse UPDATE and DELETE."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(48))
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    visibility: Mapped[str] = mapped_column(String(16))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str | None] = mapped_column(String(64))  # seal.event_seal; None: unsealed

    # write-only link (no backref): lets an event be added with a case that has no id yet
    case: Mapped[Case] = relationship(viewonly=False, lazy="raise")

    __table_args__ = (UniqueConstraint("case_id", "seq", name="uq_case_events_case_seq"),)


class CaseSecret(Base):
    """Remote-access credentials, encrypted at rest; never part of an event or a listing."""

    __tablename__ = "case_secrets"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    stored_at: Mapped[datetime]
    stored_by: Mapped[str] = mapped_column(String(100))


class CaseAttachment(Base):
    """A file uploaded to a case (a signed report's scan, a photo): its bytes live in the
    content-addressed store (core.store.blobs) under its SHA-256; this row says which case
    may reference it, and events carry the hash (the audit covers the bytes)."""

    __tablename__ = "case_attachments"
    __table_args__ = (UniqueConstraint("case_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(40))
    name: Mapped[str | None] = mapped_column(String(200))
    uploaded_at: Mapped[datetime]
    uploaded_by: Mapped[str] = mapped_column(String(100))


class ApiToken(Base):
    """An API token: only its SHA-256 is stored; the token itself is shown once at creation."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    roles: Mapped[list[Any]] = mapped_column(JSON)
    customer_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class IdempotencyKey(Base):
    """A client's Idempotency-Key for opening a case, stored in the opening transaction."""

    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(100), primary_key=True)  # who sent it
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    case_number: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]


class Notification(Base):
    """The outbox: one notice to one recipient on one channel, written with its event.

    A relay hands ``queued`` rows whose ``send_after`` has passed to the workers; the
    ``idempotency_key`` (core.escalation.notice_key) makes a re-planned level a no-op.
    """

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # None: a notice to a contract's customer, not about one case (ServiceNotice, 0017)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    clock_id: Mapped[int | None] = mapped_column(ForeignKey("sla_clocks.id", ondelete="RESTRICT"))
    event_seq: Mapped[int] = mapped_column(Integer)  # the case's `escalated` event (0: none)
    level: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[dict[str, Any]] = mapped_column(JSON)  # id, name, email, mobile, locale
    template: Mapped[str] = mapped_column(String(64))
    variables: Mapped[dict[str, Any]] = mapped_column(JSON)
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    state: Mapped[str] = mapped_column(String(16))  # queued, sending, sent, failed, dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    send_after: Mapped[datetime]  # not before; after a transient failure: the next attempt
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    relayed_at: Mapped[datetime | None]  # handed to the broker (state `sending`)
    claimed_at: Mapped[datetime | None]  # a worker is sending it now (its lease starts here)
    digest_key: Mapped[str | None] = mapped_column(String(300))  # sent inside this digest
    # the request that caused it, for the logs of its relay and delivery (migration 0008)
    request_id: Mapped[str | None] = mapped_column(String(limits.REQUEST_ID))

    __table_args__ = (
        Index("ix_notifications_state_send_after", "state", "send_after"),  # the relay's scan
        Index("ix_notifications_case", "case_id", "id"),  # delivery state shown on a case
    )


class Device(Base):
    """A device we know by serial (R-MAINT: each device on record): from a contract's covered
    devices, or a replacement installed on a spare request, which inherits the coverage of the
    device it replaced (``predecessor_serial``; the old one names it in ``replaced_by``)."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    serial: Mapped[str] = mapped_column(String(limits.SERIAL), unique=True)
    model: Mapped[str] = mapped_column(String(limits.NAME))
    contract_id: Mapped[str | None] = mapped_column(String(limits.IDENTIFIER))
    site: Mapped[str | None] = mapped_column(String(limits.ADDRESS))
    zone: Mapped[str | None] = mapped_column(String(32))
    tier: Mapped[str | None] = mapped_column(String(limits.IDENTIFIER))
    predecessor_serial: Mapped[str | None] = mapped_column(String(limits.SERIAL))
    replaced_by: Mapped[str | None] = mapped_column(String(limits.SERIAL))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SpareRequest(Base):
    """A spare part requested on a case (R-SPARE): its steps so far and the clocks it runs
    on; every change is also an event of the case (``spare_requested``, ``spare_step``)."""

    __tablename__ = "spare_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    request: Mapped[int] = mapped_column(Integer)  # 1, 2, ... within the case
    device_serial: Mapped[str | None] = mapped_column(String(limits.SERIAL))
    part: Mapped[str] = mapped_column(String(limits.ADDRESS))
    mode: Mapped[str] = mapped_column(String(16))  # core.spares.DeliveryMode
    status: Mapped[str] = mapped_column(String(32))  # the last step (core.spares.SpareStep)
    steps: Mapped[list[Any]] = mapped_column(JSON, default=list)  # steps recorded, in order
    covered: Mapped[bool] = mapped_column(Boolean, default=False)
    tier: Mapped[str | None] = mapped_column(String(limits.IDENTIFIER))
    chargeable: Mapped[bool] = mapped_column(Boolean, default=False)
    price_basis: Mapped[str | None] = mapped_column(String(32))
    vendor: Mapped[str | None] = mapped_column(String(limits.NAME))
    vendor_case: Mapped[str | None] = mapped_column(String(limits.TICKET))
    rma_number: Mapped[str | None] = mapped_column(String(limits.TICKET))
    carrier: Mapped[str | None] = mapped_column(String(limits.NAME))
    waybill: Mapped[str | None] = mapped_column(String(limits.TICKET))
    new_serial: Mapped[str | None] = mapped_column(String(limits.SERIAL))
    ship_clock_id: Mapped[int | None] = mapped_column(
        ForeignKey("sla_clocks.id", ondelete="RESTRICT")
    )
    arrival_clock_id: Mapped[int | None] = mapped_column(
        ForeignKey("sla_clocks.id", ondelete="RESTRICT")
    )
    return_clock_id: Mapped[int | None] = mapped_column(
        ForeignKey("sla_clocks.id", ondelete="RESTRICT")
    )
    requested_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("case_id", "request", name="uq_spare_requests_case_request"),
    )


class RmaOrder(Base):
    """A vendor RMA opened for a case (core.desk.rma): one row per idempotency key.

    The row (and its key) is written before the vendor is asked, so a crash or a retry finds
    it and asks again with the same key: never two RMAs for one request. ``state`` is
    ``pending`` until the channel took the request, then a ``core.rma.RmaState``. The
    scheduler polls rows whose ``next_poll_at`` has passed, claiming them with a lease
    (``claimed_at``/``claimed_by``) as the outbox does.
    """

    __tablename__ = "rma_orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    case_number: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(64))
    serial: Mapped[str] = mapped_column(String(limits.SERIAL))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    vendor_case: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    raw_status: Mapped[str | None] = mapped_column(String(64))
    promise_ship_by: Mapped[datetime | None]
    promise_rule: Mapped[str | None] = mapped_column(Text)
    carrier: Mapped[str | None] = mapped_column(String(64))
    waybill: Mapped[str | None] = mapped_column(String(64))
    # the spare-part request this RMA supplies (issue 13 §1), linked when that table exists
    spare_request_id: Mapped[int | None] = mapped_column(Integer)
    request: Mapped[dict[str, Any]] = mapped_column(JSON)  # the RmaRequest as sent (no secrets)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # vendor failures in a row
    next_poll_at: Mapped[datetime | None]  # None: nothing to ask the vendor (final, or e-mail)
    last_error: Mapped[str | None] = mapped_column(Text)  # the vendor's failure, no secrets
    escalated_at: Mapped[datetime | None]  # the outage escalation, once per run of failures
    claimed_at: Mapped[datetime | None]  # a scheduler or the desk is asking the vendor now
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_rma_orders_next_poll_at", "next_poll_at"),  # the poller's scan
        Index("ix_rma_orders_case", "case_id", "id"),
        Index("ix_rma_orders_vendor_case", "channel", "vendor_case"),  # inbound matching
    )


class Inspection(Base):
    """One occurrence of a maintenance plan the scheduler opened (R-MAINT, migration 0017).

    The unique (contract, plan, nominal instant) is the claim: the row is inserted before
    the case is opened, in the same transaction, so two schedulers never open it twice.
    """

    __tablename__ = "inspections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contract_id: Mapped[str] = mapped_column(String(limits.IDENTIFIER))
    plan_id: Mapped[str] = mapped_column(String(limits.IDENTIFIER))
    nominal_at: Mapped[datetime]  # the RRULE's instant: the occurrence's name
    start_at: Mapped[datetime]  # moved off a closed day when the plan says so
    due_at: Mapped[datetime]
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    case_number: Mapped[str | None] = mapped_column(String(32))
    opened_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("contract_id", "plan_id", "nominal_at", name="uq_inspections_occurrence"),
        Index("ix_inspections_start", "start_at"),
    )


class ServiceNotice(Base):
    """A written notice to a contract's customer of a change of hotline or contact
    (R-QUAL: at least 3 days ahead), with the force and its reason when shorter."""

    __tablename__ = "service_notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contract_id: Mapped[str] = mapped_column(String(limits.IDENTIFIER))
    subject: Mapped[str] = mapped_column(String(16))  # hotline | contact
    old_value: Mapped[str] = mapped_column(String(limits.ADDRESS))
    new_value: Mapped[str] = mapped_column(String(limits.ADDRESS))
    effective_at: Mapped[datetime]
    announced_at: Mapped[datetime]
    announced_by: Mapped[str] = mapped_column(String(100))
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    force_reason: Mapped[str | None] = mapped_column(Text)
    recipients: Mapped[list[Any]] = mapped_column(JSON, default=list)  # names and channels

    __table_args__ = (Index("ix_service_notices_contract", "contract_id", "id"),)
