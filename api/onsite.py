"""On-site dispatch and procedure over HTTP (docs/onsite.md): emergency dispatch, the signed
steps, attachments (multipart upload) and the visit's status.

The normal on-site request stays ``POST /cases/{number}/onsite-request`` (api/cases.py) and
the arrival ``/onsite-arrival``; the roles of every route are the tuples below, which the
command line (cli/onsite.py) checks the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

import msgspec
from litestar import Controller, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.handlers import HTTPRouteHandler
from litestar.params import Body, JSONBody, PathParameter
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import EVERYONE, STAFF, authenticated
from api.cases import PREFIX, CaseNumber, _apply, case_access, case_roles, command
from api.deps import PrincipalDep, RuntimeDep, SessionDep
from api.schemas import problem_responses
from core.case import Role, Visibility
from core.commands import (
    EmergencyOnsite,
    OnsiteApproveOperation,
    OnsiteApproveSolution,
    OnsitePerformOperation,
    OnsitePrepare,
    OnsiteSignReport,
    OnsiteSignRequest,
    OnsiteTraining,
)
from core.desk import CaseDesk
from core.desk import visits as visit_rules
from core.errors import NotFoundError
from core.events import AttachmentRef
from core.store import orm
from core.store.queries import CaseDetail

# --- the role matrix (docs/api.md, docs/onsite.md) ---------------------------------------------

# normal on-site: the service manager files it (api/cases.py ONSITE_REQUESTERS)
EMERGENCY_DISPATCHERS = (Role.ADMIN, Role.ENGINEER, Role.SERVICE_MANAGER)  # straight to site
STEP_RECORDERS = (Role.ENGINEER, Role.SERVICE_MANAGER)  # on site, or from the signed paper
ATTACHERS = (Role.ENGINEER, Role.SERVICE_MANAGER)
UPLOAD_FRAMING = 64 * 1024  # multipart boundaries and headers beside the file itself


class VisitStep(msgspec.Struct, frozen=True, kw_only=True):
    """One recorded step of a visit: its event, when, by whom, what it says."""

    seq: int
    kind: str
    at: datetime
    actor: str
    fields: dict[str, Any]


class OnsiteStatus(msgspec.Struct, frozen=True, kw_only=True):
    """Where the case's on-site support stands: the latest visit's state and every step.

    ``state``: none (no visit), requested (engineer on the way), on_site, reported (the
    customer signed the service report). Customers see the steps they may see (the
    engineer's preparation and internal notes are not among them).
    """

    number: str
    state: str
    emergency: bool
    chargeable: bool
    engineer: str | None
    zone: str | None
    arrival_deadline: datetime | None
    steps: list[VisitStep]


def onsite_status(session: Session, number: str, *, customer_view: bool) -> OnsiteStatus:
    case = session.scalars(select(orm.Case).where(orm.Case.number == number)).one_or_none()
    if case is None:
        raise NotFoundError("no such case")
    stmt = (
        select(orm.CaseEvent)
        .where(orm.CaseEvent.case_id == case.id, orm.CaseEvent.kind.in_(visit_rules.KINDS))
        .order_by(orm.CaseEvent.seq)
    )
    rows = list(session.scalars(stmt))
    visit = visit_rules.current_visit((e.seq, e.kind, e.payload) for e in rows)
    shown = [e for e in rows if not customer_view or e.visibility == Visibility.CUSTOMER.value]
    steps = [
        VisitStep(
            seq=e.seq,
            kind=e.kind,
            at=e.at,
            actor=e.actor,
            fields={k: v for k, v in e.payload.items() if k != "sla"},
        )
        for e in shown
    ]
    deadline = None
    requested = [e for e in rows if e.kind == visit_rules.REQUESTED]
    if requested:
        deadline = datetime.fromisoformat(requested[-1].payload["deadline"].replace("Z", "+00:00"))
    return OnsiteStatus(
        number=number,
        state=_state(visit),
        emergency=bool(visit and visit.emergency) or case.emergency,
        chargeable=bool(visit and visit.chargeable),
        engineer=visit.engineer if visit else None,
        zone=case.zone,
        arrival_deadline=deadline,
        steps=steps,
    )


def _state(visit: visit_rules.Visit | None) -> str:
    if visit is None:
        return "none"
    if visit.arrived is None:
        return "requested"
    return "reported" if visit.has(visit_rules.REPORT_SIGNED) else "on_site"


def step(path: str, operation_id: str) -> HTTPRouteHandler:
    """``POST /cases/{number}/onsite/<path>``: one step of the procedure."""
    return command(f"onsite/{path}", operation_id, STEP_RECORDERS)


class OnsiteController(Controller):
    """The on-site procedure of one case; each step is one desk command (core.desk.onsite)."""

    path = f"{PREFIX}/cases"
    tags = ("cases",)
    guards = (authenticated,)

    @command("onsite-emergency", "dispatchEmergencyOnsite", EMERGENCY_DISPATCHERS)
    def emergency(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[EmergencyOnsite],
    ) -> CaseDetail:
        """An emergency: the engineer goes straight to the site; the zone's emergency time
        applies (R-RESP 紧急现场支持). 422 when the contract did not buy it (unless
        `chargeable` with a reason) or the zone has no negotiated time."""
        return _apply(runtime, principal, session, number, data, CaseDesk.dispatch_emergency)

    @step("prepared", "recordOnsitePrepared")
    def prepared(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[OnsitePrepare],
    ) -> CaseDetail:
        """The engineer read the customer's and device's files before going (internal)."""
        return _apply(runtime, principal, session, number, data, CaseDesk.onsite_prepared)

    @step("request-signed", "recordOnsiteRequestSigned")
    def request_signed(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[OnsiteSignRequest],
    ) -> CaseDetail:
        """The site lead signed the on-site service request (after the arrival; 409 before)."""
        return _apply(runtime, principal, session, number, data, CaseDesk.onsite_request_signed)

    @step("solution-approved", "recordOnsiteSolutionApproved")
    def solution_approved(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[OnsiteApproveSolution],
    ) -> CaseDetail:
        """The customer approved the solution (after the signed request)."""
        return _apply(runtime, principal, session, number, data, CaseDesk.onsite_solution_approved)

    @step("operation-approved", "recordOnsiteOperationApproved")
    def operation_approved(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[OnsiteApproveOperation],
    ) -> CaseDetail:
        """The customer's maintenance supervisor approved a reinstall, restart or
        configuration change (422 when the contract lists another supervisor)."""
        return _apply(runtime, principal, session, number, data, CaseDesk.onsite_operation_approved)

    @step("operations", "recordOnsiteOperation")
    def operation(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[OnsitePerformOperation],
    ) -> CaseDetail:
        """A high-impact operation carried out: 409 `approval-required` without the
        supervisor's approval of that operation on this visit."""
        return _apply(
            runtime, principal, session, number, data, CaseDesk.onsite_operation_performed
        )

    @step("report-signed", "recordOnsiteReportSigned")
    def report_signed(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[OnsiteSignReport],
    ) -> CaseDetail:
        """The customer signed the on-site service report; `attachments` names uploaded
        files (a scan of the signed report) by SHA-256."""
        return _apply(runtime, principal, session, number, data, CaseDesk.onsite_report_signed)

    @step("training", "recordOnsiteTraining")
    def training(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[OnsiteTraining],
    ) -> CaseDetail:
        """The engineer explained the work and trained the customer's staff."""
        return _apply(runtime, principal, session, number, data, CaseDesk.onsite_training_given)

    @get(
        "/{number:str}/onsite",
        operation_id="getOnsiteStatus",
        sync_to_thread=True,
        guards=[case_access],
        opt=case_roles(*EVERYONE),
        responses=problem_responses(401, 404),
    )
    def status(
        self, principal: PrincipalDep, session: SessionDep, number: CaseNumber
    ) -> OnsiteStatus:
        """The on-site status and the recorded steps (customers: the signed steps, not the
        internal ones)."""
        return onsite_status(session, number, customer_view=principal.is_customer)


def attachment_route(max_bytes: int) -> HTTPRouteHandler:
    """``POST /cases/{number}/attachments`` (multipart, field ``file``), its request limit
    made from the ``attachment_max_bytes`` setting."""

    @post(
        f"{PREFIX}/cases/{{number:str}}/attachments",
        operation_id="uploadAttachment",
        sync_to_thread=True,
        status_code=201,
        tags=["cases"],
        guards=[authenticated, case_access],
        opt=case_roles(*ATTACHERS),
        request_max_body_size=max_bytes + UPLOAD_FRAMING,
        responses=problem_responses(400, 401, 403, 404, 409, 413, 415, 422),
    )
    def upload(
        runtime: RuntimeDep,
        principal: PrincipalDep,
        number: CaseNumber,
        data: Annotated[UploadFile, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> AttachmentRef:
        """Store a file for the case (PDF, JPEG or PNG, by its bytes; at most the
        `attachment_max_bytes` setting): answers its SHA-256, which a step's `attachments`
        then names. 413 too large, 415 another type."""
        content = data.file.read(max_bytes + 1)
        return runtime.desk.attach(
            number,
            content,
            name=data.filename,
            claimed=data.content_type,
            actor=principal.actor,
            now=runtime.clock(),
        )

    return upload


Sha256 = Annotated[
    str,
    PathParameter(title="SHA-256", description="as the upload answered", pattern="^[0-9a-f]{64}$"),
]


@get(
    f"{PREFIX}/cases/{{number:str}}/attachments/{{sha256:str}}",
    operation_id="downloadAttachment",
    sync_to_thread=True,
    tags=["cases"],
    guards=[authenticated, case_access],
    opt=case_roles(*STAFF, hidden_from_customers=True),
    media_type="application/octet-stream",
    responses=problem_responses(401, 403, 404, 422, 500, 503),
)
def download_attachment(runtime: RuntimeDep, number: CaseNumber, sha256: Sha256) -> Response[bytes]:
    """A file uploaded to the case, checked against the SHA-256 and size recorded at upload
    (staff only). 422: the case has no such file; 503: the attachment store is down."""
    ref, content = runtime.desk.attachment(number, sha256)
    filename = (ref.name or ref.sha256).replace('"', "")
    return Response(
        content,
        media_type=ref.media_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename, safe='')}",
            "X-Content-Type-Options": "nosniff",
        },
    )
