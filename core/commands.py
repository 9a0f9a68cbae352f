"""The inputs of case commands, as msgspec Structs (the HTTP layer decodes straight into them)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from core import limits
from core.case import Category, Channel, Priority, RequestType, Status, Visibility
from core.handover import HandOverTarget
from core.spares import DeliveryMode, SpareStep

# every text field: at most what its column keeps (core.limits), never a NUL (PostgreSQL
# refuses it); required text is not empty
Text = Annotated[str, Meta(min_length=1, max_length=limits.TEXT, pattern=limits.NO_NUL)]
OptionalText = Annotated[str, Meta(max_length=limits.TEXT, pattern=limits.NO_NUL)]
Name = Annotated[str, Meta(min_length=1, max_length=limits.NAME, pattern=limits.NO_NUL)]
Ticket = Annotated[str, Meta(min_length=1, max_length=limits.TICKET, pattern=limits.NO_NUL)]
Identifier = Annotated[str, Meta(min_length=1, max_length=limits.IDENTIFIER, pattern=limits.NO_NUL)]
Company = Annotated[str, Meta(max_length=limits.NAME, pattern=limits.NO_NUL)]
Email = Annotated[str, Meta(max_length=limits.NAME, pattern=limits.NO_NUL)]
Phone = Annotated[str, Meta(max_length=limits.PHONE, pattern=limits.NO_NUL)]
Address = Annotated[str, Meta(max_length=limits.ADDRESS, pattern=limits.NO_NUL)]
Document = Annotated[str, Meta(min_length=1, max_length=limits.ADDRESS, pattern=limits.NO_NUL)]
Summary = Annotated[str, Meta(min_length=1, max_length=limits.ADDRESS, pattern=limits.NO_NUL)]
Serial = Annotated[str, Meta(max_length=limits.SERIAL, pattern=limits.NO_NUL)]
Engineer = Annotated[str, Meta(min_length=1, max_length=limits.ENGINEER, pattern=limits.NO_NUL)]
Cause = Annotated[str, Meta(max_length=limits.CAUSE, pattern=limits.NO_NUL)]
ClockKind = Annotated[str, Meta(min_length=1, max_length=limits.CLOCK_KIND, pattern=limits.NO_NUL)]
Latitude = Annotated[float, Meta(ge=-limits.LATITUDE, le=limits.LATITUDE)]
Longitude = Annotated[float, Meta(ge=-limits.LONGITUDE, le=limits.LONGITUDE)]
Instant = Annotated[datetime, Meta(tz=True)]  # with an offset: "10:00" alone is no instant
CaseVersion = Annotated[int, Meta(ge=1, le=limits.MAX_ID)]


class Command(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base: every command may carry the case version the caller last saw."""

    expected_version: CaseVersion | None = None


class Caller(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Who called (R-CASE caller info)."""

    name: Name
    company: Company | None = None
    phone: Phone | None = None
    email: Email | None = None
    address: Address | None = None


class Window(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A customer-agreed appointment window."""

    start: Instant
    end: Instant

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("appointment window ends before it starts")


class OpenCase(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    contract_id: Identifier
    caller: Caller
    summary: Summary
    category: Category
    request_type: RequestType
    priority: Priority
    channel: Channel
    emergency: bool = False
    device_serial: Serial | None = None
    site: Address | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    appointment: Window | None = None
    description: OptionalText | None = None
    # the agent opens the case outside the contract's period (or its cover) on purpose:
    # chargeable, best effort, no SLA clocks (R-EXTRA); without it such an open is refused
    out_of_contract: bool = False


class Assign(Command, frozen=True, kw_only=True):
    engineer: Engineer


class FirstResponse(Command, frozen=True, kw_only=True):
    """Service content agreed with the customer and diagnosis started (R-RESP)."""

    agreed_content: Text


class ConfirmDiagnosis(Command, frozen=True, kw_only=True):
    finding: Text
    hardware_fault: bool = False  # starts the spare-part clocks of the device's tier


class RemoteAccess(Command, frozen=True, kw_only=True):
    """The customer's consent to remote access, with the credentials they supplied."""

    consent_by: Name
    consent_at: Instant
    credentials: dict[Identifier, OptionalText] = {}


class Note(Command, frozen=True, kw_only=True):
    text: Text
    visibility: Visibility = Visibility.INTERNAL


class Comment(Command, frozen=True, kw_only=True):
    """A customer's comment on its own case: recorded as a customer-visible note in the
    customer's name (the portal's comment form and ``POST /cases/{number}/comments``)."""

    text: Text

    def as_note(self) -> Note:
        return Note(
            text=self.text,
            visibility=Visibility.CUSTOMER,
            expected_version=self.expected_version,
        )


class CallLog(Command, frozen=True, kw_only=True):
    direction: Literal["inbound", "outbound"]
    party: Name
    summary: Text
    visibility: Visibility = Visibility.INTERNAL


class ChangePriority(Command, frozen=True, kw_only=True):
    priority: Priority
    reason: Text


class ChangeStatus(Command, frozen=True, kw_only=True):
    status: Status
    cause: Cause | None = None  # required for pending_customer: it pauses resolution


class Escalate(Command, frozen=True, kw_only=True):
    level: Annotated[int, Meta(ge=1, le=9)]
    reason: Text
    target_group: Name


class HandOver(Command, frozen=True, kw_only=True):
    """Functional escalation (R-CASE): the case goes to another support level, up or down.

    ``ticket`` is the case number in their system: required for ``digital-china`` and
    ``vendor``, optional otherwise. ``vendor`` names which vendor (e.g. "Cisco TAC"), only
    with target ``vendor``.
    """

    target: HandOverTarget
    reason: Text
    ticket: Ticket | None = None
    vendor: Name | None = None
    visibility: Visibility = Visibility.INTERNAL


class ReportProgress(Command, frozen=True, kw_only=True):
    """The engineer on site of an emergency reports how handling goes (限时上报).

    ``final``: the emergency handling on site is over (service restored, engineer left): no
    further report is due until the next on-site arrival.
    """

    text: Text
    visibility: Visibility = Visibility.INTERNAL
    final: bool = False


class RequestOnsite(Command, frozen=True, kw_only=True):
    """Both sides agreed on-site support is needed (starts the arrival clock).

    ``part_swap``: the visit is the engineer swapping a replacement part (现场支持 of the
    spare-part programs), which only contracts with ``onsite-labour: true`` bought.
    ``engineer``: who goes (a staff directory id or name); absent: the support plan's
    stationed engineer, else the on-duty engineer of the site's zone.
    ``chargeable``: the contract did not buy it and the visit is recorded as chargeable by
    choice (``chargeable_reason`` required). ``override_reason``: filed although the case
    records no phone or remote attempt (the handbook: on-site only for what phone and remote
    support could not fix; docs/onsite.md).
    """

    reason: Text
    part_swap: bool = False
    engineer: Engineer | None = None
    chargeable: bool = False
    chargeable_reason: Text | None = None
    override_reason: Text | None = None


class EmergencyOnsite(Command, frozen=True, kw_only=True):
    """An emergency: the engineer goes straight to the site (R-RESP 紧急现场支持); the zone's
    emergency time applies. Same entitlement fields as ``RequestOnsite``."""

    reason: Text
    part_swap: bool = False
    engineer: Engineer | None = None
    chargeable: bool = False
    chargeable_reason: Text | None = None


Sha256 = Annotated[str, Meta(pattern=r"^[0-9a-f]{64}$")]
Attachments = Annotated[list[Sha256], Meta(max_length=20)]
HighImpact = Literal["reinstall", "restart", "configuration_change"]


class OnsitePrepare(Command, frozen=True, kw_only=True):
    """The engineer read the customer's and device's files (and past problems) first."""

    files: Annotated[list[Name], Meta(min_length=1, max_length=50)]
    note: OptionalText | None = None


class OnsiteSignRequest(Command, frozen=True, kw_only=True):
    """The customer's site lead signed the on-site service request report."""

    signed_by: Name
    note: OptionalText | None = None
    attachments: Attachments = []


class OnsiteApproveSolution(Command, frozen=True, kw_only=True):
    """The customer approved the solution; who carries it out."""

    approved_by: Name
    solution: Text
    carried_out_by: Literal["customer", "engineer"] = "customer"
    attachments: Attachments = []


class OnsiteApproveOperation(Command, frozen=True, kw_only=True):
    """The customer's maintenance supervisor approved a high-impact operation."""

    operation: HighImpact
    approved_by: Name
    description: OptionalText | None = None
    attachments: Attachments = []


class OnsitePerformOperation(Command, frozen=True, kw_only=True):
    """A high-impact operation carried out: refused without its approval on this visit."""

    operation: HighImpact
    description: Text


class OnsiteSignReport(Command, frozen=True, kw_only=True):
    """The customer signed the on-site service report (a scan or photo may be attached)."""

    signed_by: Name
    summary: Text
    attachments: Attachments = []


class OnsiteTraining(Command, frozen=True, kw_only=True):
    """The engineer explained what was done and trained the customer's staff."""

    topic: Text
    attendees: Annotated[list[Name], Meta(max_length=100)] = []


class Milestone(Command, frozen=True, kw_only=True):
    """Something happened that stops a clock (logged in, arrived, part shipped/arrived)."""

    note: OptionalText | None = None


RequestNumber = Annotated[int, Meta(ge=1, le=limits.MAX_ID)]


class RequestSpare(Command, frozen=True, kw_only=True):
    """A spare part for a device on the case (R-SPARE); ``device_serial`` defaults to the
    case's device. A device no contract covers gets a spare only as an emergency spare
    recorded as chargeable (``chargeable: true``: standard price, no surcharge). ``vendor`` and
    ``vendor_case``: the customer already reported the fault to the vendor's TAC itself."""

    part: Summary
    device_serial: Serial | None = None
    mode: DeliveryMode = DeliveryMode.COURIER
    chargeable: bool = False
    vendor: Name | None = None
    vendor_case: Ticket | None = None
    note: OptionalText | None = None  # internal: a separate internal note event


class RecordSpareStep(Command, frozen=True, kw_only=True):
    """One step of spare request ``request`` (core.spares.SpareStep): ``rma_opened`` takes
    ``rma_number`` (and ``vendor``), ``shipped`` ``carrier`` and ``waybill``, ``installed`` a
    ``new_serial`` (and ``new_model``) when the replacement has its own serial. ``note`` is
    shown to the customer with the step; ``internal_note`` is a separate internal note."""

    request: RequestNumber
    step: SpareStep
    rma_number: Ticket | None = None
    vendor: Name | None = None
    carrier: Name | None = None
    waybill: Ticket | None = None
    new_serial: Serial | None = None
    new_model: Name | None = None
    note: OptionalText | None = None
    internal_note: OptionalText | None = None


class LinkVendorCase(Command, frozen=True, kw_only=True):
    """The customer reported the fault to the vendor's TAC directly: its case number."""

    request: RequestNumber
    vendor: Name
    vendor_case: Ticket


class Resolve(Command, frozen=True, kw_only=True):
    resolution: Text


class Close(Command, frozen=True, kw_only=True):
    """The customer confirms completion: who, when, which checklist items, which documents."""

    confirmed_by: Name
    confirmed_at: Instant
    checklist: list[Name] = []
    deliverables: dict[Name, Address] = {}  # deliverable id → document reference
    # the signed confirmation a customer gave on paper (document reference): required when
    # staff record the confirmation for them over the API (docs/api.md "Closing")
    confirmation_document: Document | None = None


class Reopen(Command, frozen=True, kw_only=True):
    reason: Text


class ExcludeClock(Command, frozen=True, kw_only=True):
    kind: ClockKind
    cause: Identifier
    note: Text


# --- knowledge base and device records (issue 16) ------------------------------------------

ArticleBody = Annotated[str, Meta(max_length=limits.ARTICLE, pattern=limits.NO_NUL)]
KbVisibility = Literal["public", "customer", "internal"]


class WriteArticle(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An engineer's knowledge-base article: who may read it is ``visibility`` (``customer``
    needs ``customer_id``: that customer's tokens and staff; ``public``: every token;
    ``internal``: staff only)."""

    title: Summary
    body: ArticleBody | None = None
    problem: OptionalText | None = None
    cause: OptionalText | None = None
    fix: OptionalText | None = None
    device_model: Name | None = None
    category: Category | None = None
    visibility: KbVisibility = "internal"
    customer_id: Identifier | None = None


class EditArticle(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Change an entry: only the fields given (``null`` clears an optional one)."""

    title: Summary | msgspec.UnsetType = msgspec.UNSET
    body: ArticleBody | msgspec.UnsetType | None = msgspec.UNSET
    problem: OptionalText | msgspec.UnsetType | None = msgspec.UNSET
    cause: OptionalText | msgspec.UnsetType | None = msgspec.UNSET
    fix: OptionalText | msgspec.UnsetType | None = msgspec.UNSET
    device_model: Name | msgspec.UnsetType | None = msgspec.UNSET
    category: Category | msgspec.UnsetType | None = msgspec.UNSET
    visibility: KbVisibility | msgspec.UnsetType = msgspec.UNSET
    customer_id: Identifier | msgspec.UnsetType | None = msgspec.UNSET


class RecordDeviceChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A device's record changed (R-MAINT 设备档案): the fields given are the new values.
    ``case_number``: the case (or inspection) during which it changed; the change is then an
    event of that case too."""

    model: Name | None = None
    site: Address | None = None
    environment: OptionalText | None = None
    software_version: Name | None = None
    case_number: Annotated[str, Meta(min_length=1, max_length=32)] | None = None
    source: Literal["case", "inspection", "manual"] | None = None
    note: OptionalText | None = None


# --- maintenance plans, change review (R-MAINT; docs/maintenance.md) ------------------------


class FollowUp(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The case a finding opens: its category (default system debugging), its priority
    (default: the finding's severity, core.maintenance.FOLLOW_UP_PRIORITY), an appointment
    when its service type runs by appointment."""

    summary: Summary | None = None
    category: Category = Category.SYSTEM_DEBUGGING
    priority: Priority | None = None
    appointment: Window | None = None
    emergency: bool = False


class InspectionResult(Command, frozen=True, kw_only=True):
    """One inspected device's result: ``ok``, or a ``finding`` with its severity."""

    serial: Serial
    outcome: Literal["ok", "finding"]
    severity: Literal["minor", "major", "critical"] | None = None
    note: OptionalText | None = None
    follow_up: FollowUp | None = None

    def __post_init__(self) -> None:
        if self.outcome == "finding" and (self.severity is None or not self.note):
            raise ValueError("a finding needs its severity and a note saying what was found")
        if self.outcome == "ok" and (self.severity is not None or self.follow_up is not None):
            raise ValueError("an ok result has no severity and opens no follow-up")


class InspectionReport(Command, frozen=True, kw_only=True):
    """The inspection report (巡检报告): a summary and the uploaded report file(s)."""

    summary: Text
    attachments: Annotated[list[Identifier], Meta(min_length=1)]


class ProposeChange(Command, frozen=True, kw_only=True):
    """A change plan on a case: upgrade, migration, optimisation or other; ``major`` ones
    go through the expert review."""

    title: Summary
    change_kind: Literal["upgrade", "migration", "optimisation", "other"]
    major: bool
    plan: Text
    attachments: list[Identifier] = []


class ReviewChange(Command, frozen=True, kw_only=True):
    """The expert review of the change proposed at event ``change``."""

    change: Annotated[int, Meta(ge=1, le=limits.MAX_ID)]
    decision: Literal["approved", "rejected"]
    comment: Text


class ImplementChange(Command, frozen=True, kw_only=True):
    """The change proposed at event ``change`` was carried out."""

    change: Annotated[int, Meta(ge=1, le=limits.MAX_ID)]
    note: Text


class AnnounceChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A change of the service hotline or a contact, announced in writing to the customer
    ``effective_at`` ahead (R-QUAL: at least 3 days); ``force`` with ``force_reason``
    records a shorter notice."""

    subject: Literal["hotline", "contact"]
    old_value: Summary
    new_value: Summary
    effective_at: Instant
    force: bool = False
    force_reason: OptionalText | None = None
