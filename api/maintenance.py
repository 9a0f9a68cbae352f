"""Maintenance over HTTP (docs/maintenance.md): inspections of maintenance plans (results,
report, status), major change review, plan health, hotline and contact change notices.

The roles of every route are the tuples below; the command line (cli/maintenance.py)
checks the same ones.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import msgspec
from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import EVERYONE, STAFF, authenticated
from api.cases import PREFIX, CaseNumber, _apply, case_access, case_roles, command
from api.deps import PrincipalDep, RuntimeDep, SessionDep
from api.schemas import problem_responses
from core.case import Role, Visibility
from core.commands import (
    AnnounceChange,
    ImplementChange,
    InspectionReport,
    InspectionResult,
    ProposeChange,
    ReviewChange,
)
from core.desk import CaseDesk
from core.desk.maintenance import OPENED, REPORTED, RESULT
from core.desk.notices import NoticeView
from core.errors import NotFoundError
from core.jobs.inspections import plan_health
from core.store import orm
from core.store.queries import CaseDetail

# --- the role matrix ---------------------------------------------------------------------------

INSPECTORS = (Role.ENGINEER, Role.SERVICE_MANAGER)  # results and the report
CHANGE_PROPOSERS = (Role.ENGINEER, Role.SERVICE_MANAGER, Role.PROJECT_MANAGER)
# the handbook's 技术专家组 reviews major change plans (专家审核评估制度)
CHANGE_REVIEWERS = (Role.EXPERT_GROUP,)
CHANGE_IMPLEMENTERS = (Role.ENGINEER, Role.SERVICE_MANAGER)
ANNOUNCERS = (Role.ADMIN, Role.PROJECT_MANAGER, Role.SERVICE_MANAGER)


class DeviceResult(msgspec.Struct, frozen=True, kw_only=True):
    serial: str
    model: str
    site: str
    outcome: str | None  # None: no result yet
    severity: str | None
    note: str | None
    follow_up: str | None


class InspectionStatus(msgspec.Struct, frozen=True, kw_only=True):
    """An inspection case: its plan and occurrence, the checklist, each device's result and
    whether the report is in."""

    number: str
    plan: str
    title: str
    start: str
    due: str
    moved: str | None
    checklist: list[dict[str, Any]]
    devices: list[DeviceResult]
    reported: bool


def inspection_status(session: Session, number: str, *, customer_view: bool) -> InspectionStatus:
    case = session.scalars(select(orm.Case).where(orm.Case.number == number)).one_or_none()
    if case is None:
        raise NotFoundError("no such case")
    rows = list(
        session.scalars(
            select(orm.CaseEvent)
            .where(
                orm.CaseEvent.case_id == case.id,
                orm.CaseEvent.kind.in_((OPENED, RESULT, REPORTED)),
            )
            .order_by(orm.CaseEvent.seq)
        )
    )
    if customer_view:
        rows = [e for e in rows if e.visibility == Visibility.CUSTOMER.value]
    opened = next((e.payload for e in rows if e.kind == OPENED), None)
    if opened is None:
        raise NotFoundError(f"case {number} is not an inspection of a maintenance plan")
    results = {e.payload["serial"]: e.payload for e in rows if e.kind == RESULT}
    return InspectionStatus(
        number=number,
        plan=opened["plan"],
        title=opened["title"],
        start=opened["start"],
        due=opened["due"],
        moved=opened.get("moved"),
        checklist=list(opened["checklist"]),
        devices=[_device(d, results.get(d["serial"])) for d in opened["devices"]],
        reported=any(e.kind == REPORTED for e in rows),
    )


def _device(device: dict[str, Any], result: dict[str, Any] | None) -> DeviceResult:
    result = result or {}
    return DeviceResult(
        serial=device["serial"],
        model=device["model"],
        site=device["site"],
        outcome=result.get("outcome"),
        severity=result.get("severity"),
        note=result.get("note"),
        follow_up=result.get("follow_up"),
    )


class MaintenanceController(Controller):
    """Inspections and change review on one case; each command is one desk command."""

    path = f"{PREFIX}/cases"
    tags = ("cases",)
    guards = (authenticated,)

    @command("inspection/results", "recordInspectionResult", INSPECTORS)
    def result(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[InspectionResult],
    ) -> CaseDetail:
        """One inspected device's result: `ok`, or a `finding` with its severity; a finding
        with `follow_up` opens a case for it, linked to the inspection (422 when the case
        is no inspection or the device is not among its devices)."""
        return _apply(runtime, principal, session, number, data, CaseDesk.record_inspection_result)

    @command("inspection/report", "recordInspectionReport", INSPECTORS)
    def report(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[InspectionReport],
    ) -> CaseDetail:
        """The inspection report (巡检报告), naming uploaded files by SHA-256: 409
        `inspection-incomplete` while a device has no result."""
        return _apply(runtime, principal, session, number, data, CaseDesk.record_inspection_report)

    @get(
        "/{number:str}/inspection",
        operation_id="getInspection",
        sync_to_thread=True,
        guards=[case_access],
        opt=case_roles(*EVERYONE),
        responses=problem_responses(401, 404),
    )
    def inspection(
        self, principal: PrincipalDep, session: SessionDep, number: CaseNumber
    ) -> InspectionStatus:
        """The inspection's plan, checklist, devices with their results, and the report."""
        return inspection_status(session, number, customer_view=principal.is_customer)

    @command("changes", "proposeChange", CHANGE_PROPOSERS)
    def propose(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[ProposeChange],
    ) -> CaseDetail:
        """A change plan (upgrade, migration, optimisation); its event's `seq` names it. A
        `major` one needs the expert group's approval before it is carried out."""
        return _apply(runtime, principal, session, number, data, CaseDesk.propose_change)

    @command("changes/review", "reviewChange", CHANGE_REVIEWERS)
    def review(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[ReviewChange],
    ) -> CaseDetail:
        """The expert group approves or rejects a major change (once; who and when are the
        event's actor and time)."""
        return _apply(runtime, principal, session, number, data, CaseDesk.review_change)

    @command("changes/implemented", "implementChange", CHANGE_IMPLEMENTERS)
    def implemented(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[ImplementChange],
    ) -> CaseDetail:
        """The change was carried out: 409 `change-not-approved`, with the reason, for a
        major change the expert group has not approved."""
        return _apply(runtime, principal, session, number, data, CaseDesk.implement_change)


@get(
    f"{PREFIX}/maintenance/plans",
    guards=[authenticated],
    opt={"roles": STAFF},
    sync_to_thread=True,
    tags=["maintenance"],
    operation_id="listMaintenancePlans",
    responses=problem_responses(401, 403),
)
def list_plans(runtime: RuntimeDep, session: SessionDep) -> list[dict[str, Any]]:
    """Every maintenance plan's health: occurrences opened (late ones flagged), missed ones
    (past the catch-up, never opened), the next one."""
    catch_up = timedelta(days=runtime.settings.inspection_catch_up_days)
    return plan_health(session, runtime.contracts, now=runtime.clock(), catch_up=catch_up)


@post(
    f"{PREFIX}/contracts/{{contract_id:str}}/notices",
    guards=[authenticated],
    opt={"roles": ANNOUNCERS},
    sync_to_thread=True,
    status_code=201,
    tags=["maintenance"],
    operation_id="announceChange",
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
def announce(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    contract_id: FromPath[str],
    data: JSONBody[AnnounceChange],
) -> NoticeView:
    """Record a hotline or contact change and send its written notice (e-mail) to the
    contract's contacts: 409 `notice-too-short` under the `notice_days` setting (3) unless
    `force` with `force_reason`."""
    return runtime.desk.announce_change(
        contract_id, data, actor=principal.actor, now=runtime.clock()
    )


@get(
    f"{PREFIX}/contracts/{{contract_id:str}}/notices",
    guards=[authenticated],
    opt={"roles": STAFF},
    sync_to_thread=True,
    tags=["maintenance"],
    operation_id="listNotices",
    responses=problem_responses(401, 403, 404),
)
def list_notices(runtime: RuntimeDep, contract_id: FromPath[str]) -> list[NoticeView]:
    """The hotline and contact change notices recorded for a contract, oldest first."""
    return runtime.desk.notices(contract_id)
