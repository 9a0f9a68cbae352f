"""Case endpoints: open, read, list, customer history and every lifecycle command."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import CacheControlHeader
from litestar.enums import RequestEncodingType
from litestar.handlers import HTTPRouteHandler
from litestar.handlers.base import BaseRouteHandler
from litestar.params import Body, HeaderParameter, JSONBody, PathParameter, QueryParameter
from sqlalchemy.orm import Session

from api.auth import EVERYONE, STAFF, authenticated, customer_scope
from api.deps import PrincipalDep, RuntimeDep, SessionDep, runtime_of
from api.schemas import case_detail_response, open_case_examples, problem_responses
from core import limits
from core.case import Role, Status
from core.commands import (
    Assign,
    CallLog,
    ChangePriority,
    ChangeStatus,
    Close,
    Comment,
    ConfirmDiagnosis,
    Escalate,
    ExcludeClock,
    FirstResponse,
    HandOver,
    Milestone,
    Note,
    OpenCase,
    Priority,
    RemoteAccess,
    Reopen,
    ReportProgress,
    RequestOnsite,
    Resolve,
)
from core.desk import CaseDesk, Receipt
from core.desk.closing import EnteredBy
from core.errors import Forbidden, NotFoundError
from core.runtime import Runtime
from core.store.queries import (
    MAX_LIMIT,
    CaseDetail,
    CaseFilter,
    CaseSummary,
    Page,
    case_belongs_to,
    case_is_complaint,
    customer_history,
    detail_of_new_case,
    get_case,
    list_cases,
)
from core.store.tokens import Principal, spelled

# customer and contract ids, as contracts spell them (core.contract.Identifier)
ID = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"

PREFIX = "/api/v1"
NUMBER = re.compile(r"^[A-Z][A-Z0-9]{0,15}-\d{4}-\d{6,9}$")
NO_SUCH_CASE = "no such case"  # one text for missing and not-yours: existence never leaks
MAX_IDEMPOTENCY_KEY = 200

# --- the role matrix (docs/api.md shows it as a table) ---------------------------------------

OPENERS = (Role.ADMIN, Role.AGENT, Role.COMPLAINT_MANAGER, Role.CUSTOMER, Role.SERVICE_MANAGER)
ASSIGNERS = (Role.ADMIN, Role.AGENT, Role.SERVICE_MANAGER)
RESPONDERS = (Role.AGENT, Role.ENGINEER, Role.SERVICE_MANAGER)
DIAGNOSERS = (Role.ENGINEER, Role.SERVICE_MANAGER)
REMOTE = (Role.ENGINEER, Role.SERVICE_MANAGER)
ONSITE_REQUESTERS = (Role.ADMIN, Role.SERVICE_MANAGER)
MILESTONES = (Role.AGENT, Role.ENGINEER, Role.SERVICE_MANAGER)
HANDOVERS = (Role.ADMIN, Role.ENGINEER, Role.SERVICE_MANAGER)
PROGRESS_REPORTERS = (Role.AGENT, Role.ENGINEER, Role.SERVICE_MANAGER)  # the agent relays a call
PRIORITISERS = (Role.ADMIN, Role.AGENT, Role.SERVICE_MANAGER)
EXCLUDERS = (Role.ADMIN, Role.PROJECT_MANAGER, Role.SERVICE_MANAGER)
RESOLVERS = (Role.AGENT, Role.ENGINEER, Role.SERVICE_MANAGER)
# the customer confirms its own case; staff record a paper confirmation, document attached
CLOSERS = (Role.ADMIN, Role.AGENT, Role.CUSTOMER, Role.SERVICE_MANAGER)
REOPENERS = (Role.ADMIN, Role.AGENT, Role.COMPLAINT_MANAGER, Role.SERVICE_MANAGER)
# a customer's own word on its case (the portal's comment form, over the API); staff write a
# note with visibility customer instead (addNote)
COMMENTERS = (Role.CUSTOMER,)
CREDENTIAL_VIEWERS = (Role.ENGINEER,)  # and the desk: only the engineer the case is assigned to
# the complaint manager (投诉经理) owns complaints (R-QUAL): on a case opened as a complaint
# these commands are also theirs; on every other case the sets above decide alone
COMPLAINT_OWNERS = (Role.COMPLAINT_MANAGER,)

CaseNumber = Annotated[
    str,
    PathParameter(
        title="case number",
        description="`<PREFIX>-<YYYY>-<NNNNNN>`, e.g. MS-2026-000042; anything else is a 404",
    ),
]
Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description="page size (1..500)")]
Cursor = Annotated[
    str | None, QueryParameter(description="`next_cursor` of the previous page", max_length=512)
]
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        min_length=1,
        max_length=MAX_IDEMPOTENCY_KEY,
        pattern=limits.NO_NUL,
        description="a retry with the same key and body replays the first case (200)",
    ),
]


def case_roles(
    *roles: Role, hidden_from_customers: bool = False, on_complaints: tuple[Role, ...] = ()
) -> dict[str, Any]:
    """``opt`` of a route on one case: everyone passes `authenticated`, `case_access` decides.
    ``on_complaints``: roles allowed too when the case is a complaint."""
    return {
        "roles": EVERYONE,
        "case_roles": roles,
        "complaint_roles": on_complaints,
        "hidden_from_customers": hidden_from_customers,
    }


def case_access(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Guard after `authenticated`: first "is this case visible to you", then your roles.

    A customer token asking about another customer's case gets the very answer a missing case
    gets (404, same body); on its own case a staff-only action is 403.
    """
    principal: Principal = connection.state.principal
    number = str(connection.path_params.get("number", ""))
    if not NUMBER.fullmatch(number):
        raise NotFoundError(NO_SUCH_CASE)
    if principal.is_customer and not _owns(runtime_of(connection), principal, number):
        raise NotFoundError(NO_SUCH_CASE)
    allowed: tuple[Role, ...] = handler.opt["case_roles"]
    if principal.has_any(allowed):
        return
    on_complaints: tuple[Role, ...] = handler.opt.get("complaint_roles", ())
    if principal.has_any(on_complaints) and _is_complaint(runtime_of(connection), number):
        return
    if principal.is_customer and handler.opt.get("hidden_from_customers"):
        raise NotFoundError(NO_SUCH_CASE)
    if on_complaints:
        # named in the 403, with the condition
        allowed = tuple(sorted({*allowed, *on_complaints}, key=lambda role: role.snake))
        raise Forbidden(
            f"this needs one of the roles {spelled(allowed)} "
            f"({spelled(on_complaints)} on complaints only); the token has {principal.role_names}"
        )
    raise Forbidden(
        f"this needs one of the roles {spelled(allowed)}; the token has {principal.role_names}"
    )


def _owns(runtime: Runtime, principal: Principal, number: str) -> bool:
    with runtime.sessions() as session:
        return case_belongs_to(session, number, principal.customer_id or "")


def _is_complaint(runtime: Runtime, number: str) -> bool:
    with runtime.sessions() as session:
        return case_is_complaint(session, number)


def _detail(session: Session, number: str, principal: Principal) -> CaseDetail:
    return get_case(session, number, customer_id=customer_scope(principal))


def _apply(
    runtime: Runtime,
    principal: Principal,
    session: Session,
    number: str,
    data: Any,
    command: Callable[..., Receipt],
) -> CaseDetail:
    """Run one desk command as the caller, at the runtime's now; answer the updated case."""
    command(runtime.desk, number, data, actor=principal.actor, now=runtime.clock())
    return _detail(session, number, principal)


def _own_contract(runtime: Runtime, principal: Principal, contract_id: str) -> None:
    """A customer opens cases only under its own contracts; others look unknown (404)."""
    loaded = runtime.contracts.contracts.get(contract_id)
    if loaded is None or loaded.contract.customer.id != principal.customer_id:
        raise NotFoundError(f"no contract {contract_id!r} for this customer")


COMMAND_ERRORS = problem_responses(400, 401, 403, 404, 409, 413, 422)
ONE_CASE = {200: case_detail_response("The case after the command."), **COMMAND_ERRORS}


def command(
    path: str,
    operation_id: str,
    roles: tuple[Role, ...],
    *,
    on_complaints: tuple[Role, ...] = (),
) -> HTTPRouteHandler:
    """The route of one lifecycle command: ``POST /cases/{number}/<path>`` by ``roles`` (and
    ``on_complaints`` on a complaint case; `case_access`), answered 200 with the case after
    it. The handler's docstring is its OpenAPI description."""
    return post(
        f"/{{number:str}}/{path}",
        operation_id=operation_id,
        sync_to_thread=True,
        status_code=200,
        guards=[case_access],
        opt=case_roles(*roles, on_complaints=on_complaints),
        responses=ONE_CASE,
    )


class CaseController(Controller):
    """Cases: one resource, every handler delegates to core.desk / core.store.queries."""

    path = f"{PREFIX}/cases"
    tags = ("cases",)
    guards = (authenticated,)

    # --- open, read, list -----------------------------------------------------------------

    @post(
        "/",
        operation_id="openCase",
        sync_to_thread=True,
        status_code=201,
        opt={"roles": OPENERS},
        responses={
            201: case_detail_response("Opened; `Location` names the new case."),
            200: case_detail_response("A retry with the same Idempotency-Key: the first case."),
            **problem_responses(400, 401, 403, 404, 413, 422),
        },
    )
    def open_case(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        data: Annotated[
            OpenCase,
            Body(
                media_type=RequestEncodingType.JSON, title="OpenCase", examples=open_case_examples
            ),
        ],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseDetail]:
        """Open a case: number it, start its SLA clocks, record the call.

        Customer tokens may open cases only under their own customer's contracts.
        """
        if principal.is_customer:
            _own_contract(runtime, principal, data.contract_id)
        idempotency = (f"token:{principal.token_id}", idempotency_key) if idempotency_key else None
        receipt = runtime.desk.open_case(
            data, actor=principal.actor, now=runtime.clock(), idempotency=idempotency
        )
        if receipt.case is not None:
            detail = detail_of_new_case(
                receipt.case, receipt.appended, customer_view=principal.is_customer
            )
        else:  # an idempotent replay: the first case as it is now
            detail = _detail(session, receipt.number, principal)
        return Response(
            detail,
            status_code=200 if receipt.replayed else 201,
            headers={"Location": f"{PREFIX}/cases/{receipt.number}"},
        )

    @get(
        "/{number:str}",
        operation_id="getCase",
        sync_to_thread=True,
        guards=[case_access],
        opt=case_roles(*EVERYONE),
        responses={
            200: case_detail_response("The case with clocks and history."),
            **problem_responses(401, 404),
        },
    )
    def case_detail(
        self, principal: PrincipalDep, session: SessionDep, number: CaseNumber
    ) -> CaseDetail:
        """A case with its clocks and events (customers: own cases, customer-visible events)."""
        return _detail(session, number, principal)

    @get(
        "/",
        operation_id="listCases",
        sync_to_thread=True,
        opt={"roles": EVERYONE},
        responses=problem_responses(400, 401),
    )
    def case_list(
        self,
        principal: PrincipalDep,
        session: SessionDep,
        status: Annotated[list[Status] | None, QueryParameter(description="repeatable")] = None,
        priority: Annotated[list[Priority] | None, QueryParameter(description="repeatable")] = None,
        customer: Annotated[
            str | None,
            QueryParameter(description="customer id", max_length=limits.IDENTIFIER, pattern=ID),
        ] = None,
        contract: Annotated[
            str | None,
            QueryParameter(description="contract id", max_length=limits.IDENTIFIER, pattern=ID),
        ] = None,
        breached: Annotated[bool | None, QueryParameter(description="any clock breached")] = None,
        due_before: Annotated[
            datetime | None,
            QueryParameter(description="ISO datetime with offset; most urgent first"),
        ] = None,
        q: Annotated[
            str | None,
            QueryParameter(
                description="text in the summary or the case number, ignoring case",
                max_length=limits.ADDRESS,
                pattern=limits.NO_NUL,
            ),
        ] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Page[CaseSummary]:
        """Cases matching every given filter, newest first (by deadline with due_before).

        A customer token sees only its own customer's cases: `customer=` naming another
        customer answers an empty page.
        """
        scope = customer_scope(principal)
        if scope is not None and customer not in (None, scope):
            return Page(items=[])
        flt = CaseFilter(
            customer_id=scope or customer,
            contract_id=contract,
            status=status or [],
            priority=priority or [],
            breached=breached,
            due_before=due_before,
            text=q,
        )
        return list_cases(session, flt, limit=limit, after=cursor)

    @get(
        "/{number:str}/credentials",
        operation_id="revealCredentials",
        sync_to_thread=True,
        guards=[case_access],
        opt=case_roles(*CREDENTIAL_VIEWERS, hidden_from_customers=True),
        cache_control=CacheControlHeader(no_store=True),
        responses=problem_responses(401, 403, 404),
    )
    def credentials(
        self, runtime: RuntimeDep, principal: PrincipalDep, number: CaseNumber
    ) -> dict[str, str]:
        """The remote-access credentials, for the assigned engineer only; never cached.

        The engineer is matched by the token's name against the case's assignee; every
        viewing is recorded in the history.
        """
        return runtime.desk.reveal_credentials(number, actor=principal.name, now=runtime.clock())

    # --- lifecycle commands -----------------------------------------------------------------

    @command("assign", "assignCase", ASSIGNERS, on_complaints=COMPLAINT_OWNERS)
    def assign(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[Assign],
    ) -> CaseDetail:
        """Assign (or reassign) the engineer; a new case becomes assigned."""
        return _apply(runtime, principal, session, number, data, CaseDesk.assign)

    @command("first-response", "recordFirstResponse", RESPONDERS, on_complaints=COMPLAINT_OWNERS)
    def first_response(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[FirstResponse],
    ) -> CaseDetail:
        """Service content agreed, diagnosis started: stops the response clock."""
        return _apply(runtime, principal, session, number, data, CaseDesk.first_response)

    @command("diagnosis", "confirmDiagnosis", DIAGNOSERS)
    def diagnosis(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[ConfirmDiagnosis],
    ) -> CaseDetail:
        """Stop the diagnosis clock; a hardware fault starts the spare-part clocks."""
        return _apply(runtime, principal, session, number, data, CaseDesk.confirm_diagnosis)

    @command("remote-access", "grantRemoteAccess", REMOTE)
    def remote_access(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[RemoteAccess],
    ) -> CaseDetail:
        """Record the customer's consent; credentials are stored encrypted, never echoed."""
        return _apply(runtime, principal, session, number, data, CaseDesk.grant_remote_access)

    @command("remote-login", "recordRemoteLogin", MILESTONES)
    def remote_login(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[Milestone],
    ) -> CaseDetail:
        """The engineer logged in remotely: stops the remote-access clock."""
        return _apply(runtime, principal, session, number, data, CaseDesk.remote_logged_in)

    @command("onsite-request", "requestOnsite", ONSITE_REQUESTERS)
    def onsite_request(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[RequestOnsite],
    ) -> CaseDetail:
        """The service manager files an on-site request: the zone's arrival clock starts."""
        return _apply(runtime, principal, session, number, data, CaseDesk.request_onsite)

    @command("onsite-arrival", "recordOnsiteArrival", MILESTONES)
    def onsite_arrival(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[Milestone],
    ) -> CaseDetail:
        """The engineer arrived on site: stops the arrival clock."""
        return _apply(runtime, principal, session, number, data, CaseDesk.onsite_arrived)

    @command("spare-shipped", "recordSpareShipped", MILESTONES)
    def spare_shipped(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[Milestone],
    ) -> CaseDetail:
        """The spare part left: stops the ship clock, re-plans the arrival."""
        return _apply(runtime, principal, session, number, data, CaseDesk.spare_shipped)

    @command("spare-arrived", "recordSpareArrived", MILESTONES)
    def spare_arrived(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[Milestone],
    ) -> CaseDetail:
        """The spare part arrived: stops the arrival clock."""
        return _apply(runtime, principal, session, number, data, CaseDesk.spare_arrived)

    @command("notes", "addNote", STAFF)
    def notes(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[Note],
    ) -> CaseDetail:
        """Add a note (internal unless visibility is customer)."""
        return _apply(runtime, principal, session, number, data, CaseDesk.add_note)

    @command("comments", "addComment", COMMENTERS)
    def comments(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[Comment],
    ) -> CaseDetail:
        """A customer's comment on its own case, recorded as a customer-visible note in the
        token's name (as the portal's comment form records it).

        Customer tokens only: staff write a note with `visibility: customer` (addNote). No
        `Idempotency-Key`: a retry after a lost answer should send the `expected_version` it
        saw, so that a second copy is a 409 instead of a duplicate.
        """
        runtime.desk.add_note(number, data.as_note(), actor=principal.actor, now=runtime.clock())
        return _detail(session, number, principal)

    @command("calls", "logCall", STAFF)
    def calls(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[CallLog],
    ) -> CaseDetail:
        """Log an inbound or outbound call."""
        return _apply(runtime, principal, session, number, data, CaseDesk.log_call)

    @command("priority", "changePriority", PRIORITISERS)
    def priority(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[ChangePriority],
    ) -> CaseDetail:
        """Change the priority; both values are recorded and running clocks re-planned."""
        return _apply(runtime, principal, session, number, data, CaseDesk.change_priority)

    @command("status", "changeStatus", STAFF)
    def status(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[ChangeStatus],
    ) -> CaseDetail:
        """Move along the status machine; pending_customer needs a cause and pauses resolution."""
        return _apply(runtime, principal, session, number, data, CaseDesk.change_status)

    @command("escalations", "escalateCase", STAFF)
    def escalations(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[Escalate],
    ) -> CaseDetail:
        """Escalate manually: raises a time-stamped alarm."""
        return _apply(runtime, principal, session, number, data, CaseDesk.escalate)

    @command("handovers", "handOverCase", HANDOVERS)
    def handovers(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[HandOver],
    ) -> CaseDetail:
        """Functional escalation: hand the case to Digital China, the expert group, an on-site
        engineer or the vendor (or back down), recorded as a `handed_over` event.

        `ticket` (their case number) is required for `digital-china` and `vendor`: without it
        the answer is 400 naming `$.ticket`. A vendor hand-over moves an assigned or
        in-progress case to pending_vendor; handing it back from the vendor returns it to
        in_progress.
        """
        return _apply(runtime, principal, session, number, data, CaseDesk.hand_over)

    @command("progress-reports", "reportProgress", PROGRESS_REPORTERS)
    def progress_reports(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[ReportProgress],
    ) -> CaseDetail:
        """An emergency on-site progress report (限时上报): meets the running report clock and
        starts the next; 409 when no report is due (no emergency visit under way)."""
        return _apply(runtime, principal, session, number, data, CaseDesk.report_progress)

    @command("exclusions", "excludeClock", EXCLUDERS)
    def exclusions(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[ExcludeClock],
    ) -> CaseDetail:
        """Exclude a clock's breach from compensation with one of the contract's causes."""
        return _apply(runtime, principal, session, number, data, CaseDesk.exclude_clock)

    @command("resolve", "resolveCase", RESOLVERS, on_complaints=COMPLAINT_OWNERS)
    def resolve(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[Resolve],
    ) -> CaseDetail:
        """Resolve: stops the service clocks, cancels the others."""
        return _apply(runtime, principal, session, number, data, CaseDesk.resolve)

    @command("close", "closeCase", CLOSERS)
    def close(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[Close],
    ) -> CaseDetail:
        """Close with the customer's confirmation: every checklist item and deliverable.

        The confirmation is the customer's own act: a customer token closes its own case.
        Staff may record a confirmation given on paper only with `confirmation_document`
        (the signed document's reference), else 422; the `closed` event records who entered
        it (`entered_by`: customer or staff).
        """
        entered_by: EnteredBy = "customer" if principal.is_customer else "staff"
        runtime.desk.close(
            number, data, actor=principal.actor, now=runtime.clock(), entered_by=entered_by
        )
        return _detail(session, number, principal)

    @command("reopen", "reopenCase", REOPENERS)
    def reopen(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[Reopen],
    ) -> CaseDetail:
        """Reopen a resolved or closed case: a new resolution clock starts."""
        return _apply(runtime, principal, session, number, data, CaseDesk.reopen)


@get(
    f"{PREFIX}/customers/{{customer_id:str}}/cases",
    operation_id="customerCases",
    sync_to_thread=True,
    tags=["cases"],
    guards=[authenticated],
    opt={"roles": EVERYONE},
    responses=problem_responses(400, 401, 404),
)
def customer_cases(
    principal: PrincipalDep,
    session: SessionDep,
    customer_id: Annotated[
        str, PathParameter(title="customer id", max_length=limits.IDENTIFIER, pattern=ID)
    ],
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[CaseSummary]:
    """A customer's case history, newest first (a customer token: only its own id, else 404)."""
    scope = customer_scope(principal)
    if scope is not None and scope != customer_id:
        raise NotFoundError("no such customer")
    return customer_history(session, customer_id, limit=limit, after=cursor)
