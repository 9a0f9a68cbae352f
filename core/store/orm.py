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
from core.case import OPEN_STATUSES

if TYPE_CHECKING:
    from sqlalchemy import Table

# the open cases as a fixed SQL predicate: the partial index's WHERE and the queues' own
# (core/store/queues.py), spelt identically so that both planners match them
OPEN_CASES_SQL = "status IN ({})".format(", ".join(f"'{s.value}'" for s in sorted(OPEN_STATUSES)))

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
        # the console queues (core/store/queues.py): mine/group/unassigned of the open cases
        # only (closed ones are most of the table), and pending_* by status
        Index(
            "ix_cases_open_assignee",
            "assignee",
            "next_deadline",
            "id",
            sqlite_where=text(OPEN_CASES_SQL),
            postgresql_where=text(OPEN_CASES_SQL),
        ),
        # the unassigned queue by deadline: an ordered scan that stops at the page's end
        # (an IS NULL on the leading column would not give PostgreSQL the order)
        Index(
            "ix_cases_open_unassigned",
            "next_deadline",
            "id",
            sqlite_where=text(f"{OPEN_CASES_SQL} AND assignee IS NULL"),
            postgresql_where=text(f"{OPEN_CASES_SQL} AND assignee IS NULL"),
        ),
        Index("ix_cases_status_deadline", "status", "next_deadline", "id"),
        Index("ix_cases_status_priority", "status", "priority"),  # the board: index-only
        # reports: a contract's cases opened in a period (migration 0016)
        Index("ix_cases_contract_opened", "contract_id", "opened_at"),
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
        # the board: clocks due this month, counted from the index alone
        Index(
            "ix_sla_clocks_deadline",
            "deadline",
            "kind",
            "state",
            "case_id",
            "breached_at",
            "exclusion_cause",
        ),
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


# the event kinds a report reads per case (core.store.report_sql), in a partial index
REPORT_FACTS_WHERE = "kind IN ('first_response', 'reopened', 'onsite_arrived', 'rma_updated')"


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

    __table_args__ = (
        UniqueConstraint("case_id", "seq", name="uq_case_events_case_seq"),
        # reports (migration 0016): a case's first response, re-opens and on-site arrivals
        # without reading the rest of its history
        Index(
            "ix_case_events_report_facts",
            "case_id",
            "kind",
            "at",
            sqlite_where=text(REPORT_FACTS_WHERE),
            postgresql_where=text(REPORT_FACTS_WHERE),
        ),
        # the console's "mine" (migration 0020): the cases a person opened
        Index(
            "ix_case_events_opened_by",
            "actor",
            "case_id",
            sqlite_where=text("kind = 'opened'"),
            postgresql_where=text("kind = 'opened'"),
        ),
    )


class CaseFacts(Base):
    """One narrow row per case with what the customer report counts (core.store.case_facts
    keeps it in step in the transaction that changes the case; migration 0021 backfilled it).

    Times the report compares with its ``now`` stay instants (resolved, closed); durations
    are whole seconds between floored epoch seconds, as the report measures them."""

    __tablename__ = "case_facts"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    contract_id: Mapped[str] = mapped_column(String(limits.IDENTIFIER))
    opened_at: Mapped[datetime]
    priority: Mapped[str] = mapped_column(String(2))
    category: Mapped[str] = mapped_column(String(32))  # the service type
    channel: Mapped[str] = mapped_column(String(16))
    zone: Mapped[str | None] = mapped_column(String(32))
    request_type: Mapped[str] = mapped_column(String(32))
    emergency: Mapped[bool] = mapped_column(Boolean)
    breached: Mapped[bool] = mapped_column(Boolean)
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    first_response_s: Mapped[int | None] = mapped_column(Integer)  # first `first_response`
    resolution_s: Mapped[int | None] = mapped_column(Integer)  # the last resolution
    reopens: Mapped[int] = mapped_column(Integer)
    visits: Mapped[int] = mapped_column(Integer)  # on-site arrivals

    __table_args__ = (Index("ix_case_facts_contract_opened", "contract_id", "opened_at"),)


class ClockFacts(Base):
    """One narrow row per SLA clock with its case's contract and opening instant, so the
    report's SLA sections read no clock row and join no case (core.store.case_facts)."""

    __tablename__ = "clock_facts"

    clock_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    contract_id: Mapped[str] = mapped_column(String(limits.IDENTIFIER))
    opened_at: Mapped[datetime]  # the case's
    kind: Mapped[str] = mapped_column(String(limits.CLOCK_KIND))
    state: Mapped[str] = mapped_column(String(16))
    deadline: Mapped[datetime]  # a running clock past it is breached at the report's `now`
    marked: Mapped[bool] = mapped_column(Boolean)  # state breached, or a breach instant
    pauses: Mapped[int] = mapped_column(Integer)  # pause intervals, ended plus running
    exclusion_cause: Mapped[str | None] = mapped_column(String(limits.IDENTIFIER))

    __table_args__ = (
        Index("ix_clock_facts_case", "case_id"),
        Index("ix_clock_facts_contract_opened", "contract_id", "opened_at"),
    )


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
    # None: a notice about no one case (a contract's quarterly quality result, migration 0014;
    # a hotline or contact change notice, ServiceNotice, 0017)
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
    # R-MAINT/R-QUAL (运行环境, 软件版本): as last recorded; each change is a DeviceEvent
    environment: Mapped[str | None] = mapped_column(Text)
    software_version: Mapped[str | None] = mapped_column(String(limits.NAME))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class DeviceEvent(Base):
    """One change of a device record (model, site, environment, software version, a
    replacement), append-only like the case history (database triggers refuse UPDATE and
    DELETE). A change made on a case is also a ``device_changed`` event of that case
    (``case_number``, ``case_seq``); the device's own history is this table."""

    __tablename__ = "device_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    serial: Mapped[str] = mapped_column(String(limits.SERIAL))
    kind: Mapped[str] = mapped_column(String(32))  # core.devices.DeviceEventKind
    source: Mapped[str] = mapped_column(String(32))  # case, inspection, manual, contract
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)  # field -> {"from": .., "to": ..}
    note: Mapped[str | None] = mapped_column(Text)
    case_number: Mapped[str | None] = mapped_column(String(32))
    case_seq: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime]

    __table_args__ = (Index("ix_device_events_serial", "serial", "id"),)


class KbEntry(Base):
    """A knowledge-base entry (R-QUAL 客户服务知识库): a resolved case's problem, cause and fix
    (``case_id`` set, harvested when it is resolved) or an article an engineer wrote.

    ``visibility``: ``public`` (every token), ``customer`` (staff and that customer's tokens)
    or ``internal`` (staff only). ``terms`` is what the search index holds
    (core.kbtext.indexed); the index itself is the migration's: a tsvector column with a GIN
    index on PostgreSQL, an FTS5 trigram table on SQLite (``SEARCH_OBJECTS``)."""

    __tablename__ = "kb_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # case, article
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="RESTRICT"), unique=True
    )
    case_number: Mapped[str | None] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(limits.ADDRESS))
    problem: Mapped[str | None] = mapped_column(Text)
    cause: Mapped[str | None] = mapped_column(Text)
    fix: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    device_model: Mapped[str | None] = mapped_column(String(limits.NAME))
    category: Mapped[str | None] = mapped_column(String(32))
    customer_id: Mapped[str | None] = mapped_column(String(limits.IDENTIFIER))
    visibility: Mapped[str] = mapped_column(String(16))
    # False: the case was reopened (its fix did not hold); out of search until resolved again
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    terms: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(100))

    __table_args__ = (
        Index("ix_kb_entries_model_category", "device_model", "category", "id"),
        # a case's past fixes: the newest of its model and category (migration 0022)
        Index("ix_kb_entries_newest", "device_model", "category", "created_at", "id"),
        Index("ix_kb_entries_customer", "customer_id"),
    )


# search-index objects the migration makes and the models do not describe (one per back end):
# autogenerate and the schema comparison leave them alone
SEARCH_OBJECTS = frozenset({"kb_fts", "search_vector", "ix_kb_entries_search"})


def is_search_object(name: str | None) -> bool:
    """True for the knowledge search index's own objects (FTS5 shadow tables included)."""
    return name is not None and (name in SEARCH_OBJECTS or name.startswith("kb_fts_"))


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


class User(Base):
    """A person who signs in to the web pages (docs/web.md): an argon2 hash of the password,
    and roles and a customer binding spelled and checked exactly as an API token's."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    login: Mapped[str] = mapped_column(String(limits.LOGIN), unique=True)
    display_name: Mapped[str] = mapped_column(String(limits.TOKEN_NAME))
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[Any]] = mapped_column(JSON)
    customer_id: Mapped[str | None] = mapped_column(String(limits.IDENTIFIER))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    password_changed_at: Mapped[datetime]


class WebSession(Base):
    """A signed-in browser: the cookie holds a random id, the row only its SHA-256."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]

    __table_args__ = (Index("ix_web_sessions_user", "user_id"),)


class LoginFailure(Base):
    """A failed sign-in, counted per login and per client address (rate limiting)."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(200))  # "login:<login>" or "address:<ip>"
    at: Mapped[datetime]

    __table_args__ = (Index("ix_login_failures_scope_at", "scope", "at"),)


# --- quality (R-QUAL; core.quality, core.desk.surveys, core.desk.complaints; migration 0014) ---


class Survey(Base):
    """A satisfaction survey sent when a case closed: one per close (a re-opened case closed
    again gets a new one, ``round`` + 1; only the case's ``current`` survey counts).

    The link's token is never stored: ``token_hash`` is its SHA-256. ``source`` says how the
    answer came: ``link`` (the customer's page) or ``form`` (the score the customer signed
    on the technical service form, entered by ``entered_by``)."""

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    contract_id: Mapped[str] = mapped_column(String(limits.IDENTIFIER))
    customer_id: Mapped[str] = mapped_column(String(limits.IDENTIFIER))
    round: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per case: one per close
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    case_opened_at: Mapped[datetime]  # when the case arose (the quarter's first condition)
    case_closed_at: Mapped[datetime]  # the close that sent it (the second)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]  # the link was spent (answered through it)
    answered_at: Mapped[datetime | None]
    score: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(16))  # link | form
    entered_by: Mapped[str | None] = mapped_column(String(100))
    signed_by: Mapped[str | None] = mapped_column(String(limits.NAME))
    signed_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("case_id", "round", name="uq_surveys_case_round"),
        # the quarter's scan: a contract's current surveys by close time
        Index("ix_surveys_quarter", "contract_id", "current", "case_closed_at"),
    )


class SurveyProblem(Base):
    """A low score (2 or below) for the quality department (质量部): classified, corrected
    (``corrective_actions``), closed when every action is done."""

    __tablename__ = "survey_problems"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="RESTRICT"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    contract_id: Mapped[str] = mapped_column(String(limits.IDENTIFIER))
    score: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # open | closed
    classification: Mapped[str | None] = mapped_column(String(limits.IDENTIFIER))
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(100))
    conclusion: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_survey_problems_status", "status", "id"),)


class Complaint(Base):
    """A complaint (投诉) as its own record, owned by the complaint manager.

    Its clocks, escalation and history are those of its complaint case (``case_id``, a case
    of request type ``complaint``: ``complaint_first_reply``, ``complaint_resolution``); the
    cases it is about are ``complaint_cases``."""

    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"), unique=True)
    contract_id: Mapped[str] = mapped_column(String(limits.IDENTIFIER))
    customer_id: Mapped[str] = mapped_column(String(limits.IDENTIFIER))
    status: Mapped[str] = mapped_column(String(16))  # core.complaints.ComplaintStatus
    owner: Mapped[str | None] = mapped_column(String(limits.ENGINEER))
    assignee: Mapped[str | None] = mapped_column(String(limits.ENGINEER))
    received_at: Mapped[datetime]
    replied_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_complaints_contract", "contract_id", "received_at"),)


class ComplaintCase(Base):
    """A case a complaint is about."""

    __tablename__ = "complaint_cases"

    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaints.id", ondelete="RESTRICT"), primary_key=True
    )
    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="RESTRICT"), primary_key=True
    )


class CorrectiveAction(Base):
    """A corrective action (纠正措施) of a survey problem or a complaint, tracked to closure;
    ``subject`` is ``survey_problem`` or ``complaint``, ``subject_id`` its id."""

    __tablename__ = "corrective_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(limits.NAME))
    due_on: Mapped[datetime | None]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    done_at: Mapped[datetime | None]
    result: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_corrective_actions_subject", "subject", "subject_id"),)


class QualityQuarter(Base):
    """A contract's quarterly satisfaction result as generated at quarter end and queued to
    the customer: one row per contract and quarter (the unique key makes two schedulers send
    it once)."""

    __tablename__ = "quality_quarters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contract_id: Mapped[str] = mapped_column(String(limits.IDENTIFIER))
    year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int] = mapped_column(Integer)
    generated_at: Mapped[datetime]
    result: Mapped[dict[str, Any]] = mapped_column(JSON)  # core.quality.QuarterlyResult
    notices: Mapped[int] = mapped_column(Integer, default=0)  # outbox rows queued

    __table_args__ = (
        UniqueConstraint("contract_id", "year", "quarter", name="uq_quality_quarters_period"),
    )


class MailedRun(Base):
    """The columns of a document the scheduler e-mails once (core/jobs/runs.py), shared by
    ``report_runs`` and ``document_runs``: the row, unique per contract and period (and what
    the table adds to its key), is the claim; then the record of what was sent: to whom, when,
    the PDF (a blob's SHA-256). A table's own columns take their place by ``sort_order``
    (between 0 and 20 here), so each table keeps the column order of its migration."""

    __abstract__ = True

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True, sort_order=0)
    contract_id: Mapped[str] = mapped_column(String(limits.IDENTIFIER), sort_order=1)
    period: Mapped[str] = mapped_column(String(32), sort_order=3)  # 2026Q3, 2026-09, a..b
    period_start: Mapped[datetime] = mapped_column(sort_order=4)
    period_end: Mapped[datetime] = mapped_column(sort_order=5)
    state: Mapped[str] = mapped_column(String(16), sort_order=6)  # claimed, sent, failed, dead
    attempts: Mapped[int] = mapped_column(Integer, default=0, sort_order=7)
    claimed_at: Mapped[datetime | None] = mapped_column(sort_order=8)
    claimed_by: Mapped[str | None] = mapped_column(String(64), sort_order=9)
    next_attempt_at: Mapped[datetime | None] = mapped_column(sort_order=10)
    sent_at: Mapped[datetime | None] = mapped_column(sort_order=11)
    recipients: Mapped[list[Any]] = mapped_column(JSON, default=list, sort_order=12)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64), sort_order=13)
    last_error: Mapped[str | None] = mapped_column(Text, sort_order=15)
    created_at: Mapped[datetime] = mapped_column(sort_order=16)


class ReportRun(MailedRun):
    """A periodic report sent to a customer (core.jobs.reports): one row per contract and
    period, and the report's figures as JSON, kept for problem management."""

    __tablename__ = "report_runs"

    figures: Mapped[dict[str, Any] | None] = mapped_column(JSON, sort_order=14)  # the Report

    __table_args__ = (
        UniqueConstraint("contract_id", "period", name="uq_report_runs_contract_period"),
        Index("ix_report_runs_state", "state", "next_attempt_at"),
    )


class DocumentRun(MailedRun):
    """A maintenance document the scheduler e-mailed (core.jobs.documents, migration 0023): the
    stage report at contract end (``kind`` stage; ``period`` 2025-10-01..2026-09-30) or a
    periodic service summary (summary), one row per contract, kind and period."""

    __tablename__ = "document_runs"

    kind: Mapped[str] = mapped_column(String(16), sort_order=2)  # stage, summary

    __table_args__ = (
        UniqueConstraint(
            "contract_id", "kind", "period", name="uq_document_runs_contract_kind_period"
        ),
        Index("ix_document_runs_state", "state", "next_attempt_at"),
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
