"""Maintenance plans (R-MAINT 定期巡检; docs/maintenance.md): the scheduler opens each
occurrence of a plan as a periodic-inspection case, once; per-device results, findings that
open follow-up cases, the inspection report.

An inspection case runs by appointment: its window is the occurrence's start to its due
time, so its resolution clock is the inspection's clock and a late (or missed, then opened
late) inspection escalates on the contract's ladder like any other clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.case import Category, Channel, RequestType
from core.commands import (
    Caller,
    FollowUp,
    InspectionReport,
    InspectionResult,
    OpenCase,
    Window,
)
from core.contract import MaintenancePlan
from core.desk.base import Receipt
from core.desk.errors import InspectionIncomplete, InvalidCommand
from core.desk.onsite import OnsiteCommands
from core.desk.opening import OpenCommands
from core.events import (
    ChecklistRecord,
    FollowUpOpened,
    InspectedDevice,
    InspectionOpened,
    InspectionReported,
    InspectionResultRecorded,
)
from core.loaded import LoadedContract
from core.maintenance import FOLLOW_UP_PRIORITY, Occurrence, devices_for
from core.service_types import effective_service_type
from core.store import inspections, orm

SCHEDULER = "system:scheduler"
OPENED, RESULT, REPORTED = "inspection_opened", "inspection_result", "inspection_reported"


class MaintenanceCommands(OpenCommands, OnsiteCommands):
    """Opening inspections (the scheduler's), results, follow-ups and the report."""

    def open_inspections(self, occurrences: Sequence[Occurrence], *, now: datetime) -> list[str]:
        """Claim and open ``occurrences`` in one transaction; the numbers opened. Those
        another scheduler claimed first are left alone (not opened twice)."""
        if not occurrences:
            return []
        opened: list[tuple[int, orm.Case]] = []
        with self._unit() as (session, events):
            claimed = inspections.claim(session, occurrences, now)
            for occurrence in sorted(occurrences, key=inspections.key_of):
                row_id = claimed.get(inspections.key_of(occurrence))
                if row_id is not None:
                    opened.append((row_id, self._open_occurrence(session, events, occurrence, now)))
            if opened:
                session.flush()  # the cases' ids, then every claim names its case at once
                inspections.link(
                    session, [(row_id, case.id, case.number) for row_id, case in opened]
                )
        return [case.number for _, case in opened]

    def _open_occurrence(
        self, session: Session, events: list[orm.CaseEvent], occurrence: Occurrence, now: datetime
    ) -> orm.Case:
        lc = self._contract(occurrence.contract_id)
        plan = _plan(lc, occurrence.plan_id)
        cmd = _inspection_case(lc, plan, occurrence)
        case = self._open_in(session, events, cmd, lc, SCHEDULER, now)
        body = _inspection_opened(lc, plan, occurrence)
        events.append(self._record(session, case, body, SCHEDULER, now, "customer"))
        return case

    # --- results, follow-ups, the report -------------------------------------------------

    def record_inspection_result(
        self, number: str, cmd: InspectionResult, *, actor: str, now: datetime
    ) -> Receipt:
        """One device's result; a finding with ``follow_up`` opens a case for it, linked
        both ways, in the same transaction."""
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            self._require_open(case, "record an inspection result")
            opened = inspection_of(session, case)
            serials = [d["serial"] for d in opened["devices"]]
            if cmd.serial not in serials:
                raise InvalidCommand(
                    f"case {number}: {cmd.serial!r} is not among the devices this inspection "
                    f"covers ({', '.join(serials) or 'none'})"
                )
            follow_up = None
            if cmd.follow_up is not None:
                follow_up = self._follow_up(session, events, case, cmd, cmd.follow_up, actor, now)
            body = InspectionResultRecorded(
                serial=cmd.serial,
                outcome=cmd.outcome,
                severity=cmd.severity,
                note=cmd.note,
                follow_up=follow_up,
            )
            events.append(self._record(session, case, body, actor, now, "customer"))
            return self._receipt(session, case, events)

    def _follow_up(
        self,
        session: Session,
        events: list[orm.CaseEvent],
        case: orm.Case,
        cmd: InspectionResult,
        follow: FollowUp,
        actor: str,
        now: datetime,
    ) -> str:
        lc = self._contract(case.contract_id)
        assert cmd.severity is not None and cmd.note  # InspectionResult checks a finding
        open_cmd = OpenCase(
            contract_id=case.contract_id,
            caller=Caller(name=case.caller_name, company=case.caller_company),
            summary=follow.summary or f"巡检发现 {cmd.serial}: {cmd.note}"[:500],
            category=follow.category,
            request_type=RequestType.PROBLEM_REPORT,
            priority=follow.priority or FOLLOW_UP_PRIORITY[cmd.severity],  # type: ignore[arg-type]
            channel=Channel.SCHEDULED,
            emergency=follow.emergency,
            device_serial=cmd.serial,
            appointment=follow.appointment,
            description=f"finding of inspection {case.number}: {cmd.note}",
        )
        self._check_open(open_cmd, lc, now)
        self._check_period(open_cmd, lc, now)
        opened = self._open_in(session, events, open_cmd, lc, actor, now)
        link = FollowUpOpened(
            inspection=case.number, serial=cmd.serial, severity=cmd.severity, finding=cmd.note
        )
        events.append(self._record(session, opened, link, actor, now, "customer"))
        return opened.number

    def record_inspection_report(
        self, number: str, cmd: InspectionReport, *, actor: str, now: datetime
    ) -> Receipt:
        """The inspection report, attached; refused (409) while a device has no result."""
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            self._require_open(case, "record the inspection report")
            opened = inspection_of(session, case)
            results = latest_results(session, case)
            missing = [d["serial"] for d in opened["devices"] if d["serial"] not in results]
            if missing:
                raise InspectionIncomplete(
                    f"case {number}: no result yet for {', '.join(missing)}: record every "
                    "device's result (ok or finding) before the report"
                )
            refs = self._attachment_refs(session, case, cmd.attachments)
            findings = sum(1 for r in results.values() if r["outcome"] == "finding")
            body = InspectionReported(
                summary=cmd.summary,
                attachments=refs,
                ok=len(results) - findings,
                findings=findings,
            )
            events.append(self._record(session, case, body, actor, now, "customer"))
            return self._receipt(session, case, events)


def inspection_of(session: Session, case: orm.Case) -> dict[str, Any]:
    """The ``inspection_opened`` payload of ``case``; InvalidCommand when it is none."""
    payload = session.scalar(
        select(orm.CaseEvent.payload)
        .where(orm.CaseEvent.case_id == case.id, orm.CaseEvent.kind == OPENED)
        .limit(1)
    )
    if payload is None:
        raise InvalidCommand(f"case {case.number} is not an inspection a maintenance plan opened")
    return dict(payload)


def latest_results(session: Session, case: orm.Case) -> dict[str, dict[str, Any]]:
    """serial → its latest recorded result (a later one corrects an earlier)."""
    rows = session.scalars(
        select(orm.CaseEvent.payload)
        .where(orm.CaseEvent.case_id == case.id, orm.CaseEvent.kind == RESULT)
        .order_by(orm.CaseEvent.seq)
    )
    return {payload["serial"]: dict(payload) for payload in rows}


def _plan(lc: LoadedContract, plan_id: str) -> MaintenancePlan:
    for plan in lc.contract.maintenance_plans:
        if plan.id == plan_id:
            return plan
    raise InvalidCommand(f"contract {lc.id} has no maintenance plan {plan_id!r}")


def _inspection_case(lc: LoadedContract, plan: MaintenancePlan, occ: Occurrence) -> OpenCase:
    contract = lc.contract
    local = occ.start.astimezone(lc.calendar(plan.calendar).tz)
    sites = {d.site for d in devices_for(contract, plan)}
    return OpenCase(
        contract_id=contract.id,
        caller=Caller(name=contract.our_staff.project_manager.name, company=contract.customer.name),
        summary=f"{plan.title} {local:%Y-%m-%d}",
        category=Category.PERIODIC_INSPECTION,
        request_type=RequestType.PROBLEM_REPORT,
        priority=plan.priority,
        channel=Channel.SCHEDULED,
        site=next(iter(sites)) if len(sites) == 1 else None,
        appointment=Window(start=occ.start, end=occ.due),
        description=f"maintenance plan {plan.id} ({plan.rrule})",
    )


def _inspection_opened(
    lc: LoadedContract, plan: MaintenancePlan, occ: Occurrence
) -> InspectionOpened:
    service = effective_service_type(str(Category.PERIODIC_INSPECTION), lc.contract.service_types)
    return InspectionOpened(
        plan=plan.id,
        title=plan.title,
        nominal=occ.nominal,
        start=occ.start,
        due=occ.due,
        moved=occ.moved,
        checklist=[ChecklistRecord(id=i.id, text=i.text) for i in service.checklist],
        devices=[
            InspectedDevice(serial=d.serial, model=d.model, site=d.site)
            for d in devices_for(lc.contract, plan)
        ],
    )
