"""The documents as msgspec Structs: what each holds, independent of how it is rendered."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

import msgspec

from core.reports.model import ClockRow, CountRow

Kind = Literal["plan", "summary", "implementation", "assessment", "manual"]
KINDS: tuple[Kind, ...] = ("plan", "summary", "implementation", "assessment", "manual")


class Header(msgspec.Struct, frozen=True, kw_only=True):
    """Who and when: every document's first lines."""

    kind: Kind
    title: str  # Chinese first, then English
    contract_id: str
    customer_id: str
    customer_name: str
    contract_start: date
    contract_end: date
    project_manager: str
    service_manager: str
    generated_at: datetime
    tz: str
    period_label: str | None = None  # the period a summary or an assessment covers
    period_first: date | None = None
    period_last: date | None = None


class Item(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    text: str


class DeviceRow(msgspec.Struct, frozen=True, kw_only=True):
    serial: str
    model: str
    site: str | None
    software_version: str | None = None
    environment: str | None = None


# --- 维护计划 the maintenance plan ------------------------------------------------------------


class OccurrenceRow(msgspec.Struct, frozen=True, kw_only=True):
    nominal: datetime
    start: datetime
    due: datetime
    moved: str | None


class PlanSection(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    title: str
    schedule: str  # the RRULE in words, Chinese and English
    rrule: str
    at: str
    calendar: str
    on_closed_day: str
    due_within: str
    priority: str
    opened: int  # occurrences opened so far (the inspections table)
    next: list[OccurrenceRow]
    devices: list[DeviceRow]


class MaintenancePlanDoc(msgspec.Struct, frozen=True, kw_only=True, tag="plan"):
    header: Header
    plans: list[PlanSection]
    checklist: list[Item]
    deliverables: list[Item]


# --- 阶段/定期服务总结 the stage or periodic summary -----------------------------------------


class InspectionRow(msgspec.Struct, frozen=True, kw_only=True):
    plan: str
    case_number: str | None
    start: datetime
    due: datetime
    status: str | None
    ok: int
    findings: int


class FindingRow(msgspec.Struct, frozen=True, kw_only=True):
    inspection: str
    at: datetime
    serial: str
    model: str | None
    severity: str | None
    note: str | None
    follow_up: str | None
    follow_up_status: str | None


class ChangeRow(msgspec.Struct, frozen=True, kw_only=True):
    case_number: str
    seq: int
    title: str
    change_kind: str
    major: bool
    plan: str
    proposed_by: str
    proposed_at: datetime
    decision: str | None = None  # approved, rejected; None: not reviewed (or not major)
    reviewer: str | None = None
    reviewed_at: datetime | None = None
    review_comment: str | None = None
    implemented_by: str | None = None
    implemented_at: datetime | None = None
    implementation_note: str | None = None


class SpareRow(msgspec.Struct, frozen=True, kw_only=True):
    case_number: str
    request: int
    part: str
    device_serial: str | None
    status: str
    requested_at: datetime


class RmaRow(msgspec.Struct, frozen=True, kw_only=True):
    case_number: str
    channel: str
    serial: str
    state: str
    vendor_case: str | None
    created_at: datetime


class OpenCaseRow(msgspec.Struct, frozen=True, kw_only=True):
    number: str
    summary: str
    category: str
    priority: str
    status: str
    opened_at: datetime


class StageSummaryDoc(msgspec.Struct, frozen=True, kw_only=True, tag="summary"):
    """``contract_end``: the period is the whole contract (合同期末阶段报告)."""

    header: Header
    contract_end: bool
    cases: list[CountRow]  # the row ``all``, then one per service type (core.store.report_sql)
    inspections: list[InspectionRow]
    findings: list[FindingRow]
    changes: list[ChangeRow]
    spares: list[SpareRow]
    rmas: list[RmaRow]
    sla: list[ClockRow]
    open_total: int  # cases opened before the period's end, not resolved at ``now``
    open_cases: list[OpenCaseRow]  # the oldest of them
    open_changes: list[ChangeRow]  # proposed, not carried out (nor rejected)


# --- 实施方案/实施报告 implementation proposal or report -------------------------------------


class WorkStep(msgspec.Struct, frozen=True, kw_only=True):
    """A step of the work on the case: an approved solution or operation, an operation
    carried out, a device's record changed, the signed on-site report."""

    seq: int
    at: datetime
    kind: str
    actor: str
    detail: str


class ImplementationDoc(msgspec.Struct, frozen=True, kw_only=True, tag="implementation"):
    """A proposal while no change of the case was carried out, a report once one was."""

    header: Header
    case_number: str
    summary: str
    category: str
    status: str
    device: DeviceRow | None
    site: str | None
    opened_at: datetime
    resolved_at: datetime | None
    resolution: str | None
    changes: list[ChangeRow]
    work: list[WorkStep]  # what was done on the case besides the changes, in order
    implemented: bool


# --- 评估报告及预防性建议 assessment with preventive advice -----------------------------------


class FaultCount(msgspec.Struct, frozen=True, kw_only=True):
    serial: str
    category: str
    cases: int
    first: datetime
    last: datetime


class DeviceAssessment(msgspec.Struct, frozen=True, kw_only=True):
    device: DeviceRow
    faults: list[FaultCount]
    findings: dict[str, int]  # severity -> count in the period
    replaced_by: str | None = None
    end_of_support: date | None = None  # the contract's ``models`` catalogue's (rule A6)


class Advice(msgspec.Struct, frozen=True, kw_only=True):
    rule: str  # A1..A6 (docs/documents.md)
    level: Literal["high", "medium", "low"]
    subject: str  # a serial or a model
    text: str
    evidence: list[str]  # case numbers, versions


class AssessmentDoc(msgspec.Struct, frozen=True, kw_only=True, tag="assessment"):
    header: Header
    devices: list[DeviceAssessment]
    findings: list[FindingRow]
    advice: list[Advice]
    rules: list[Item]  # the rules the advice follows, stated in the document


# --- 维护手册模板 maintenance manual template per device model --------------------------------


class KnownProblem(msgspec.Struct, frozen=True, kw_only=True):
    title: str
    problem: str | None
    cause: str | None
    fix: str | None
    case_number: str | None


class ManualDoc(msgspec.Struct, frozen=True, kw_only=True, tag="manual"):
    header: Header
    model: str
    devices: list[DeviceRow]
    checklist: list[Item]
    deliverables: list[Item]
    fault_categories: dict[str, int]  # category -> cases on devices of this model, ever
    findings: list[FindingRow]  # the latest findings on this model
    known_problems: list[KnownProblem]  # knowledge base entries for this model


Document = MaintenancePlanDoc | StageSummaryDoc | ImplementationDoc | AssessmentDoc | ManualDoc
