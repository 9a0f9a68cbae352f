"""What a case's history records: one frozen, tagged Struct per event kind.

The tag is the event's ``kind`` (its own column in the history); the rest of the Struct is the
event's payload. ``payload_of(body)`` gives that payload exactly as the dicts written before
these types existed (same keys, None values kept, absent keys absent): the history's hash
covers it, so a field is never renamed, dropped or given a default that would now be written.
A key that was only sometimes written is a field defaulting to ``UNSET`` (left out). Instants
stay datetimes here; core.store.history turns them into UTC ISO strings as it always has.

``escalated`` has two shapes: a person's (``ManualEscalation``) and the scheduler's
(``ScheduledEscalation``); both share the tag and the base ``Escalated``.
Pure: imports only msgspec and the standard library.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType, field

__all__ = [
    "BODIES",
    "Assigned",
    "AttachmentRef",
    "CallLogged",
    "CallerRecord",
    "ChangeImplemented",
    "ChangeProposed",
    "ChangeReviewed",
    "ChecklistRecord",
    "ClockExcluded",
    "ClockOutcome",
    "ClockSnapshot",
    "ClocksReplanned",
    "ClocksUnplanned",
    "Closed",
    "ComplaintAssigned",
    "ComplaintClosed",
    "ComplaintFiled",
    "ComplaintInvestigated",
    "ComplaintLinked",
    "ComplaintReplied",
    "ComplaintResolved",
    "CorrectiveActionDone",
    "CorrectiveActionRecorded",
    "CredentialsViewed",
    "DeviceChanged",
    "DiagnosisConfirmed",
    "Escalated",
    "EventBody",
    "FieldChange",
    "FirstResponded",
    "FollowUpOpened",
    "HandedOver",
    "ImprovementReported",
    "InspectedDevice",
    "InspectionOpened",
    "InspectionReported",
    "InspectionResultRecorded",
    "ManualEscalation",
    "MovedClock",
    "NoteAdded",
    "NotificationRetried",
    "OnsiteArrived",
    "OnsiteOperationApproved",
    "OnsiteOperationPerformed",
    "OnsitePrepared",
    "OnsiteReportSigned",
    "OnsiteRequestSigned",
    "OnsiteRequested",
    "OnsiteSolutionApproved",
    "OnsiteTrainingGiven",
    "Opened",
    "PlannedNoticeRecord",
    "PriorityChanged",
    "ProgressReported",
    "RecordedEvent",
    "RemoteAccessAgreed",
    "RemoteLoggedIn",
    "Reopened",
    "ReplannedClock",
    "Resolved",
    "RmaStatus",
    "RmaUpdated",
    "ScheduledEscalation",
    "SkippedNotice",
    "SpareRequested",
    "SpareStepRecorded",
    "SpareVendorCaseLinked",
    "StatusChanged",
    "StatusMove",
    "SurveyAnswered",
    "SurveyProblemClassified",
    "SurveyProblemClosed",
    "SurveyProblemOpened",
    "UnplannedClock",
    "WindowRecord",
    "decode_body",
    "kind_of",
    "payload_of",
]


class Record(msgspec.Struct, frozen=True, kw_only=True):
    """A nested part of a payload (no tag)."""


class ClockSnapshot(Record, frozen=True, kw_only=True):
    """A clock as an event records it (core.clocks.snapshot): ``n`` is its place among the
    case's clocks in creation order."""

    n: int
    kind: str
    state: str
    calendar: str
    target: str
    rule: str
    started_at: datetime
    deadline: datetime
    paused_at: datetime | None
    pause_cause: str | None
    # as core.clocks.resume wrote them: {"start", "end", "cause"} with ISO strings
    pauses: list[dict[str, Any]]
    met_at: datetime | None
    breached_at: datetime | None
    exclusion_cause: str | None
    exclusion_note: str | None


class EventBody(msgspec.Struct, tag_field="kind", frozen=True, kw_only=True):
    """Every event's base; ``sla`` holds the clocks the command started or changed (always
    on ``opened``), and is written last, after the kind's own fields."""

    sla: list[ClockSnapshot] | UnsetType = UNSET


# --- opening -------------------------------------------------------------------------------


class CallerRecord(Record, frozen=True, kw_only=True):
    name: str
    company: str | None
    phone: str | None
    email: str | None
    address: str | None


class WindowRecord(Record, frozen=True, kw_only=True):
    start: datetime
    end: datetime


class Opened(EventBody, tag="opened", frozen=True, kw_only=True):
    contract_id: str
    customer_id: str
    caller: CallerRecord
    summary: str
    description: str | None
    category: str
    request_type: str
    priority: str
    emergency: bool
    channel: str
    device_serial: str | None
    covered_device: bool
    site: str | None
    device_site: str | None  # the case's site when the call named none
    zone: str | None
    zone_reason: str | None
    appointment: WindowRecord | UnsetType = UNSET
    # written only when true: opened on purpose outside the contract (chargeable, no clocks)
    out_of_contract: bool | UnsetType = UNSET


class UnplannedClock(Record, frozen=True, kw_only=True):
    clock: str
    reason: str


class ClocksUnplanned(EventBody, tag="clocks_unplanned", frozen=True, kw_only=True):
    """Clocks a new case could not plan (no holiday data): they wait for the data."""

    clocks: list[UnplannedClock]


# --- work -----------------------------------------------------------------------------------


class Assigned(EventBody, tag="assigned", frozen=True, kw_only=True):
    engineer: str
    previous: str | None
    status: str


class FirstResponded(EventBody, tag="first_response", frozen=True, kw_only=True):
    agreed_content: str
    clock: str
    outcome: str
    deadline: datetime
    status: str


class DiagnosisConfirmed(EventBody, tag="diagnosis_confirmed", frozen=True, kw_only=True):
    finding: str
    hardware_fault: bool
    clock: str
    outcome: str
    deadline: datetime
    spare_clocks: list[str]


class NoteAdded(EventBody, tag="note", frozen=True, kw_only=True):
    text: str


class CallLogged(EventBody, tag="call", frozen=True, kw_only=True):
    direction: str
    party: str
    summary: str


class MovedClock(Record, frozen=True, kw_only=True):
    """A clock whose deadline moved (``from`` → ``to``)."""

    clock: str
    from_: datetime = field(name="from")
    to: datetime


class PriorityChanged(EventBody, tag="priority_changed", frozen=True, kw_only=True):
    from_: str = field(name="from")
    to: str
    reason: str | None
    replanned: list[MovedClock]


class StatusChanged(EventBody, tag="status_changed", frozen=True, kw_only=True):
    from_: str = field(name="from")
    to: str
    cause: str | None
    paused: list[str] | UnsetType = UNSET  # clocks paused by pending customer
    resumed: list[str] | UnsetType = UNSET


class ClockExcluded(EventBody, tag="clock_excluded", frozen=True, kw_only=True):
    clock: str
    cause: str
    note: str


class ReplannedClock(MovedClock, frozen=True, kw_only=True):
    provisional: bool


class ClocksReplanned(EventBody, tag="clocks_replanned", frozen=True, kw_only=True):
    """Provisional clocks planned again when a year's holiday data arrived."""

    reason: str
    clocks: list[ReplannedClock]


# --- escalation -----------------------------------------------------------------------------


class Escalated(EventBody, tag="escalated", frozen=True, kw_only=True):
    """An alarm: raised by a person or fired by the scheduler (the two subclasses)."""

    alarm: bool = True


class ManualEscalation(Escalated, tag="escalated", frozen=True, kw_only=True):
    """A person's escalation. Since issue 11 it records whom it notified as a ladder rung
    does: ``notify`` (roles and directory ids the target group named), ``channels`` (the
    ladder's), ``planned`` and ``skipped``; absent on older events (their bytes unchanged)."""

    level: int
    reason: str
    target_group: str
    alarm_at: datetime
    notify: list[str] | UnsetType = UNSET
    channels: list[str] | UnsetType = UNSET
    planned: list[PlannedNoticeRecord] | UnsetType = UNSET
    skipped: list[SkippedNotice] | UnsetType = UNSET


class PlannedNoticeRecord(Record, frozen=True, kw_only=True):
    """A notice as the event records it: who, how and when, never an address."""

    recipient: str
    name: str
    role: str
    channel: str
    send_after: datetime
    why: str


class SkippedNotice(Record, frozen=True, kw_only=True):
    role: str
    reason: str
    who: str | None
    channel: str | None


class ScheduledEscalation(Escalated, tag="escalated", frozen=True, kw_only=True):
    """One ladder level the scheduler fired; ``sla`` holds the clock's snapshot."""

    automatic: bool = True
    alarm_at: datetime
    clock: str
    level: int
    at: str  # the rung, e.g. "100% + 2h"
    due_at: datetime
    deadline: datetime
    breached: bool
    newly_breached: bool
    urgent: bool
    notify: list[str]
    channels: list[str]
    planned: list[PlannedNoticeRecord]
    skipped: list[SkippedNotice]


class StatusMove(Record, frozen=True, kw_only=True):
    from_: str = field(name="from")
    to: str


class HandedOver(EventBody, tag="handed_over", frozen=True, kw_only=True):
    """Functional escalation (core.handover): the case went to another support level."""

    target: str
    vendor: str | None
    ticket: str | None
    reason: str
    previous: str
    direction: str
    status: StatusMove | UnsetType = UNSET


# --- milestones ---------------------------------------------------------------------------


class RmaStatus(EventBody, tag="rma_status", frozen=True, kw_only=True):
    rma_status: str  # shipped | arrived
    note: str | None
    clock: str
    outcome: str
    deadline: datetime


class RmaUpdated(EventBody, tag="rma_updated", frozen=True, kw_only=True):
    """A vendor RMA's status changed (core.desk.rma): the "RMA supply status" of R-CASE.

    Customer-visible, so it holds only what the customer may see: never the idempotency key,
    the vendor's error texts, failure counts or anything of the channel's credentials.
    ``source``: open, poll, mail, agent or cancel.
    """

    rma: int
    channel: str
    vendor_case: str | None
    state: str
    raw_status: str | None
    carrier: str | None
    waybill: str | None
    ship_by: datetime | None
    promise: str | None
    source: str


class RemoteLoggedIn(EventBody, tag="remote_logged_in", frozen=True, kw_only=True):
    note: str | None
    clock: str
    outcome: str
    deadline: datetime


class OnsiteArrived(EventBody, tag="onsite_arrived", frozen=True, kw_only=True):
    note: str | None
    clock: str
    outcome: str
    deadline: datetime
    progress_report_due: datetime | UnsetType = UNSET  # an emergency's reports start


class ProgressReported(EventBody, tag="progress_reported", frozen=True, kw_only=True):
    text: str
    final: bool
    clock: str
    outcome: str
    deadline: datetime
    next_due: datetime | None


class RemoteAccessAgreed(EventBody, tag="remote_access_agreed", frozen=True, kw_only=True):
    consent_by: str
    consent_at: datetime
    credentials_stored: list[str]  # which fields, never values


class CredentialsViewed(EventBody, tag="credentials_viewed", frozen=True, kw_only=True):
    pass


class OnsiteRequested(EventBody, tag="onsite_requested", frozen=True, kw_only=True):
    """An on-site visit agreed (issue 13: who, which engineer, entitlement). The fields after
    ``part_swap`` are written only when they say something (older events lack them)."""

    reason: str
    zone: str
    deadline: datetime
    part_swap: bool | UnsetType = UNSET  # written only for a part swap (on-site labour)
    emergency: bool | UnsetType = UNSET  # the engineer went straight to the site
    engineer: str | UnsetType = UNSET  # who goes (named, the plan's, or the zone's on-duty)
    engineer_source: str | UnsetType = UNSET  # named | support-plan | on-duty
    chargeable: bool | UnsetType = UNSET  # outside what the contract bought, by choice
    chargeable_reason: str | UnsetType = UNSET
    support_plan: str | UnsetType = UNSET  # the R-EXTRA plan whose response applied


# --- the on-site procedure (R-RESP 现场支持; core.onsite) ------------------------------------


class AttachmentRef(Record, frozen=True, kw_only=True):
    """A file in the content-addressed store (core.store.blobs): ``audit verify`` checks
    that the blob exists and still hashes to ``sha256``."""

    sha256: str
    size: int
    media_type: str
    name: str | None


class OnsitePrepared(EventBody, tag="onsite_prepared", frozen=True, kw_only=True):
    """The engineer read the customer's and the device's files before going (internal)."""

    files: list[str]
    note: str | None


class OnsiteRequestSigned(EventBody, tag="onsite_request_signed", frozen=True, kw_only=True):
    """The on-site service request report (现场技术服务申请报告), signed by the site lead."""

    signed_by: str
    note: str | None
    attachments: list[AttachmentRef]


class OnsiteSolutionApproved(EventBody, tag="onsite_solution_approved", frozen=True, kw_only=True):
    """The customer approved the solution; ``carried_out_by``: their technicians or, with
    their permission, our engineer."""

    approved_by: str
    solution: str
    carried_out_by: str
    attachments: list[AttachmentRef]


class OnsiteOperationApproved(
    EventBody, tag="onsite_operation_approved", frozen=True, kw_only=True
):
    """The customer's maintenance supervisor (现场维护主管) approved a high-impact operation."""

    operation: str
    approved_by: str
    description: str | None
    attachments: list[AttachmentRef]


class OnsiteOperationPerformed(
    EventBody, tag="onsite_operation_performed", frozen=True, kw_only=True
):
    """A high-impact operation carried out, under the approval recorded at ``approval``."""

    operation: str
    description: str
    approval: int  # the seq of its onsite_operation_approved event


class OnsiteReportSigned(EventBody, tag="onsite_report_signed", frozen=True, kw_only=True):
    """The on-site service report (现场技术服务报告), signed by the customer; both archive it."""

    signed_by: str
    summary: str
    attachments: list[AttachmentRef]


class OnsiteTrainingGiven(EventBody, tag="onsite_training_given", frozen=True, kw_only=True):
    """The engineer explained the service and trained the customer's staff (现场培训)."""

    topic: str
    attendees: list[str]


# --- spare parts (R-SPARE; core.spares, core.desk.spares) --------------------------------


class SpareRequested(EventBody, tag="spare_requested", frozen=True, kw_only=True):
    """A spare part requested for a device on the case (request ``request``, 1, 2, ... per
    case). ``tier`` and ``terms`` (the rule that applied: the tier's, or the device's vendor
    terms) are None for a device no contract covers: then ``chargeable`` is true and
    ``price_basis`` ``standard`` (R-EXTRA: standard price, no emergency surcharge), and no
    clock runs. ``clocks``: the spare clocks the request runs on, started now or planned at
    the diagnosis and taken over (``adopted``)."""

    request: int
    device_serial: str | None
    part: str
    mode: str
    covered: bool
    tier: str | None
    terms: str | None
    ship_due: datetime | None
    arrival_due: datetime | None
    clocks: list[str]
    adopted: list[str]
    chargeable: bool | UnsetType = UNSET
    price_basis: str | UnsetType = UNSET
    vendor: str | UnsetType = UNSET
    vendor_case: str | UnsetType = UNSET


class SpareStepRecorded(EventBody, tag="spare_step", frozen=True, kw_only=True):
    """One step of spare request ``request`` (core.spares.SpareStep). The step's own fields
    are written only when given; ``clock``/``outcome``/``deadline`` when the step stopped a
    clock; ``return_clock``/``return_due`` when the installation started the return."""

    request: int
    step: str
    note: str | None
    vendor: str | UnsetType = UNSET
    rma_number: str | UnsetType = UNSET
    carrier: str | UnsetType = UNSET
    waybill: str | UnsetType = UNSET
    replaced_serial: str | UnsetType = UNSET
    new_serial: str | UnsetType = UNSET
    clock: str | UnsetType = UNSET
    outcome: str | UnsetType = UNSET
    deadline: datetime | UnsetType = UNSET
    return_clock: str | UnsetType = UNSET
    return_due: datetime | UnsetType = UNSET


class SpareVendorCaseLinked(EventBody, tag="spare_vendor_case", frozen=True, kw_only=True):
    """The customer reported the fault to the vendor's TAC itself: its case number, linked to
    spare request ``request``."""

    request: int
    vendor: str
    vendor_case: str


# --- device records (issue 16) -------------------------------------------------------------


class FieldChange(Record, frozen=True, kw_only=True):
    from_: str | None = field(name="from")
    to: str | None


class DeviceChanged(EventBody, tag="device_changed", frozen=True, kw_only=True):
    """A device's record changed during this case (or inspection): the same change is in the
    device's own history (``device_events``, core.desk.device_records)."""

    serial: str
    changes: dict[str, FieldChange]
    source: str
    note: str | None


# --- the end of a case ----------------------------------------------------------------------


class ClockOutcome(Record, frozen=True, kw_only=True):
    clock: str
    outcome: str


class Resolved(EventBody, tag="resolved", frozen=True, kw_only=True):
    resolution: str
    clocks: list[ClockOutcome]


class Closed(EventBody, tag="closed", frozen=True, kw_only=True):
    """``entered_by``: ``customer`` (the customer confirmed with its own token) or ``staff``
    (staff recorded a confirmation given on paper, ``confirmation_document`` attached); absent
    on closes recorded before issue 11 and by internal callers that say neither."""

    confirmed_by: str
    confirmed_at: datetime
    checklist: list[str]
    deliverables: dict[str, str]
    entered_by: str | UnsetType = UNSET
    confirmation_document: str | UnsetType = UNSET


class Reopened(EventBody, tag="reopened", frozen=True, kw_only=True):
    from_: str = field(name="from")
    reason: str


# --- maintenance plans and change review (R-MAINT; core.desk.maintenance, core.desk.changes) ----


class ChecklistRecord(Record, frozen=True, kw_only=True):
    id: str
    text: str


class InspectedDevice(Record, frozen=True, kw_only=True):
    serial: str
    model: str
    site: str


class InspectionOpened(EventBody, tag="inspection_opened", frozen=True, kw_only=True):
    """The scheduler opened an occurrence of a maintenance plan (定期巡检): when it falls
    (``nominal``: the plan's instant, its name; ``start``: moved off a closed day, ``moved``
    says why), when it is due, the service type's checklist and the devices to inspect."""

    plan: str
    title: str
    nominal: datetime
    start: datetime
    due: datetime
    moved: str | None
    checklist: list[ChecklistRecord]
    devices: list[InspectedDevice]


class InspectionResultRecorded(EventBody, tag="inspection_result", frozen=True, kw_only=True):
    """One device's result: ``ok``, or a ``finding`` with its severity; ``follow_up`` names
    the case the finding opened."""

    serial: str
    outcome: str
    severity: str | None
    note: str | None
    follow_up: str | None


class InspectionReported(EventBody, tag="inspection_reported", frozen=True, kw_only=True):
    """The inspection report (巡检报告), attached; every device has its result."""

    summary: str
    attachments: list[AttachmentRef]
    ok: int
    findings: int


class FollowUpOpened(EventBody, tag="follow_up_of", frozen=True, kw_only=True):
    """This case was opened for a finding of the inspection case ``inspection``."""

    inspection: str
    serial: str
    severity: str
    finding: str


class ChangeProposed(EventBody, tag="change_proposed", frozen=True, kw_only=True):
    """A change plan (upgrade, migration, optimisation...); a ``major`` one needs the
    expert group's approval (专家审核评估制度) before it is carried out."""

    title: str
    change_kind: str
    major: bool
    plan: str
    attachments: list[AttachmentRef]


class ChangeReviewed(EventBody, tag="change_reviewed", frozen=True, kw_only=True):
    """The expert review of the change proposed at ``change`` (its seq): who, the decision."""

    change: int
    decision: str
    reviewer: str
    comment: str


class ChangeImplemented(EventBody, tag="change_implemented", frozen=True, kw_only=True):
    """The change proposed at ``change`` was carried out, under ``approval`` (the seq of its
    approving review; None for a change that is not major)."""

    change: int
    note: str
    approval: int | None


# --- the outbox ------------------------------------------------------------------------------


class NotificationRetried(EventBody, tag="notification_retried", frozen=True, kw_only=True):
    notification_id: int
    previous_state: str
    attempts: int
    last_error: str | None
    channel: str
    recipient: str | None
    role: str | None
    escalation_seq: int
    level: int


# --- quality (R-QUAL; core.desk.surveys, core.desk.complaints) -------------------------------


class SurveyAnswered(EventBody, tag="survey_answered", frozen=True, kw_only=True):
    """A score 1–5: through the link (``source`` ``link``) or from the technical service form
    the customer signed (``form``: ``signed_by``, ``signed_at``; the actor entered it)."""

    round: int
    score: int
    comment: str | None
    source: str
    signed_by: str | UnsetType = UNSET
    signed_at: datetime | UnsetType = UNSET


class SurveyProblemOpened(EventBody, tag="survey_problem_opened", frozen=True, kw_only=True):
    """A low score opened survey problem ``problem`` for the quality department."""

    problem: int
    score: int
    round: int


class SurveyProblemClassified(
    EventBody, tag="survey_problem_classified", frozen=True, kw_only=True
):
    problem: int
    classification: str
    note: str | None


class SurveyProblemClosed(EventBody, tag="survey_problem_closed", frozen=True, kw_only=True):
    problem: int
    conclusion: str


class CorrectiveActionRecorded(EventBody, tag="corrective_action", frozen=True, kw_only=True):
    """A corrective action of a survey problem or a complaint (``subject``, ``subject_id``)."""

    subject: str
    subject_id: int
    action: int
    text: str
    owner: str
    due_on: datetime | None


class CorrectiveActionDone(EventBody, tag="corrective_action_done", frozen=True, kw_only=True):
    subject: str
    subject_id: int
    action: int
    result: str


class ImprovementReported(EventBody, tag="improvement_reported", frozen=True, kw_only=True):
    """What was improved, reported back to the customer (定期向客户通报改进结果)."""

    subject: str
    subject_id: int
    text: str


class ComplaintFiled(EventBody, tag="complaint_filed", frozen=True, kw_only=True):
    """The case is complaint ``complaint``, about the cases ``about``."""

    complaint: int
    about: list[str]


class ComplaintLinked(EventBody, tag="complaint_linked", frozen=True, kw_only=True):
    complaint: int
    cases: list[str]


class ComplaintReplied(EventBody, tag="complaint_replied", frozen=True, kw_only=True):
    """The first reply: stops the ``complaint_first_reply`` clock."""

    complaint: int
    reply: str
    clock: str | None
    outcome: str | None
    deadline: datetime | None


class ComplaintAssigned(EventBody, tag="complaint_assigned", frozen=True, kw_only=True):
    complaint: int
    assignee: str
    previous: str | None


class ComplaintInvestigated(EventBody, tag="complaint_investigated", frozen=True, kw_only=True):
    complaint: int
    finding: str


class ComplaintResolved(EventBody, tag="complaint_resolved", frozen=True, kw_only=True):
    """Resolved: the ``complaint_resolution`` clock stops (``clocks``: every outcome)."""

    complaint: int
    resolution: str
    clocks: list[ClockOutcome]


class ComplaintClosed(EventBody, tag="complaint_closed", frozen=True, kw_only=True):
    complaint: int
    conclusion: str


# --- encoding and decoding -----------------------------------------------------------------


def _tag(cls: type[EventBody]) -> str:
    tag = cls.__struct_config__.tag
    assert isinstance(tag, str), cls
    return tag


# every kind the code records → its body type (escalated: see decode_body)
BODIES: dict[str, type[EventBody]] = {
    _tag(cls): cls
    for cls in (
        Opened,
        ClocksUnplanned,
        Assigned,
        FirstResponded,
        DiagnosisConfirmed,
        NoteAdded,
        CallLogged,
        PriorityChanged,
        StatusChanged,
        ClockExcluded,
        ClocksReplanned,
        Escalated,
        HandedOver,
        RmaStatus,
        RmaUpdated,
        RemoteLoggedIn,
        OnsiteArrived,
        ProgressReported,
        RemoteAccessAgreed,
        CredentialsViewed,
        OnsiteRequested,
        SpareRequested,
        SpareStepRecorded,
        SpareVendorCaseLinked,
        OnsitePrepared,
        OnsiteRequestSigned,
        OnsiteSolutionApproved,
        OnsiteOperationApproved,
        OnsiteOperationPerformed,
        OnsiteReportSigned,
        OnsiteTrainingGiven,
        Resolved,
        Closed,
        Reopened,
        NotificationRetried,
        SurveyAnswered,
        SurveyProblemOpened,
        SurveyProblemClassified,
        SurveyProblemClosed,
        CorrectiveActionRecorded,
        CorrectiveActionDone,
        ImprovementReported,
        ComplaintFiled,
        ComplaintLinked,
        ComplaintReplied,
        ComplaintAssigned,
        ComplaintInvestigated,
        ComplaintResolved,
        ComplaintClosed,
        DeviceChanged,
        InspectionOpened,
        InspectionResultRecorded,
        InspectionReported,
        FollowUpOpened,
        ChangeProposed,
        ChangeReviewed,
        ChangeImplemented,
    )
}


def kind_of(body: EventBody) -> str:
    """The event kind a body is recorded as (its tag)."""
    return _tag(type(body))


def payload_of(body: EventBody) -> dict[str, Any]:
    """The payload the history stores for ``body``: builtins without the tag, instants and
    dates left for the history's canonical encoding, ``sla`` last."""
    payload: dict[str, Any] = msgspec.to_builtins(body, builtin_types=(datetime, date))
    del payload["kind"]
    if "sla" in payload:
        payload["sla"] = payload.pop("sla")
    return payload


def decode_body(kind: str, payload: dict[str, Any]) -> EventBody:
    """A stored payload as its typed body; KeyError for a kind no code of ours records."""
    cls = BODIES[kind]
    if cls is Escalated:
        cls = ScheduledEscalation if payload.get("automatic") else ManualEscalation
    return msgspec.convert(payload, cls)


class RecordedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event as plugins hear it (hookspecs.case_event_recorded): committed, hashed.

    ``body`` is the typed payload as stored (instants in UTC); ``hash`` is the event's link
    in its case's chain.
    """

    case_number: str
    seq: int
    at: datetime
    actor: str
    visibility: str
    kind: str
    body: EventBody
    hash: str
