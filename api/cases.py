"""Case endpoints: open, read, list, customer history and every lifecycle command."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import CacheControlHeader
from litestar.enums import RequestEncodingType
from litestar.handlers.base import BaseRouteHandler
from litestar.params import Body, HeaderParameter, JSONBody, PathParameter, QueryParameter
from sqlalchemy import select

from api.auth import EVERYONE, STAFF, authenticated, customer_scope
from api.schemas import case_detail_response, open_case_examples, problem_responses
from core import limits
from core.case import Status
from core.commands import (
    Assign,
    CallLog,
    ChangePriority,
    ChangeStatus,
    Close,
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
from core.errors import Forbidden, NotFoundError
from core.runtime import Runtime
from core.store import orm
from core.store.queries import (
    MAX_LIMIT,
    CaseDetail,
    CaseFilter,
    CaseSummary,
    Page,
    customer_history,
    detail_of_new_case,
    get_case,
    list_cases,
)
from core.store.tokens import Principal

# customer and contract ids, as contracts spell them (core.contract.Identifier)
ID = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"

PREFIX = "/api/v1"
NUMBER = re.compile(r"^[A-Z][A-Z0-9]{0,15}-\d{4}-\d{6,9}$")
NO_SUCH_CASE = "no such case"  # one text for missing and not-yours: existence never leaks
MAX_IDEMPOTENCY_KEY = 200

# --- the role matrix (docs/api.md shows it as a table) ---------------------------------------

OPENERS = ("admin", "agent", "complaint_manager", "customer", "service_manager")
ASSIGNERS = ("admin", "agent", "service_manager")
RESPONDERS = ("agent", "engineer", "service_manager")
DIAGNOSERS = ("engineer", "service_manager")
REMOTE = ("engineer", "service_manager")
ONSITE_REQUESTERS = ("admin", "service_manager")
MILESTONES = ("agent", "engineer", "service_manager")
HANDOVERS = ("admin", "engineer", "service_manager")
PROGRESS_REPORTERS = ("agent", "engineer", "service_manager")  # the agent relays a call
PRIORITISERS = ("admin", "agent", "service_manager")
EXCLUDERS = ("admin", "project_manager", "service_manager")
RESOLVERS = ("agent", "engineer", "service_manager")
CLOSERS = ("admin", "agent", "service_manager")
REOPENERS = ("admin", "agent", "complaint_manager", "service_manager")
CREDENTIAL_VIEWERS = ("engineer",)  # and the desk: only the engineer the case is assigned to

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


def case_roles(*roles: str, hidden_from_customers: bool = False) -> dict[str, Any]:
    """``opt`` of a route on one case: everyone passes `authenticated`, `case_access` decides."""
    return {
        "roles": EVERYONE,
        "case_roles": roles,
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
    if principal.is_customer and not _owns(connection.app.state.runtime, principal, number):
        raise NotFoundError(NO_SUCH_CASE)
    allowed: tuple[str, ...] = handler.opt["case_roles"]
    if principal.has_any(allowed):
        return
    if principal.is_customer and handler.opt.get("hidden_from_customers"):
        raise NotFoundError(NO_SUCH_CASE)
    raise Forbidden(
        f"this needs one of the roles {', '.join(allowed)}; "
        f"the token has {', '.join(sorted(principal.roles))}"
    )


def _owns(runtime: Runtime, principal: Principal, number: str) -> bool:
    with runtime.sessions() as session:
        found = session.scalar(
            select(orm.Case.id).where(
                orm.Case.number == number, orm.Case.customer_id == principal.customer_id
            )
        )
    return found is not None


def _runtime(request: Request[Any, Any, Any]) -> Runtime:
    return request.app.state.runtime


def _principal(request: Request[Any, Any, Any]) -> Principal:
    return request.state.principal


def _detail(runtime: Runtime, number: str, principal: Principal) -> CaseDetail:
    with runtime.sessions() as session:
        return get_case(session, number, customer_id=customer_scope(principal))


def _apply(
    request: Request[Any, Any, Any],
    number: str,
    data: Any,
    command: Callable[..., Receipt],
) -> CaseDetail:
    """Run one desk command as the caller, at the runtime's now; answer the updated case."""
    runtime, principal = _runtime(request), _principal(request)
    command(runtime.desk, number, data, actor=principal.actor, now=runtime.clock())
    return _detail(runtime, number, principal)


def _own_contract(runtime: Runtime, principal: Principal, contract_id: str) -> None:
    """A customer opens cases only under its own contracts; others look unknown (404)."""
    loaded = runtime.contracts.contracts.get(contract_id)
    if loaded is None or loaded.contract.customer.id != principal.customer_id:
        raise NotFoundError(f"no contract {contract_id!r} for this customer")


COMMAND_ERRORS = problem_responses(400, 401, 403, 404, 409, 413, 422)
ONE_CASE = {200: case_detail_response("The case after the command."), **COMMAND_ERRORS}


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
        request: Request[Any, Any, Any],
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
        runtime, principal = _runtime(request), _principal(request)
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
            detail = _detail(runtime, receipt.number, principal)
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
    def case_detail(self, request: Request[Any, Any, Any], number: CaseNumber) -> CaseDetail:
        """A case with its clocks and events (customers: own cases, customer-visible events)."""
        return _detail(_runtime(request), number, _principal(request))

    @get(
        "/",
        operation_id="listCases",
        sync_to_thread=True,
        opt={"roles": EVERYONE},
        responses=problem_responses(400, 401),
    )
    def case_list(
        self,
        request: Request[Any, Any, Any],
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
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Page[CaseSummary]:
        """Cases matching every given filter, newest first (by deadline with due_before).

        A customer token sees only its own customer's cases: `customer=` naming another
        customer answers an empty page.
        """
        scope = customer_scope(_principal(request))
        if scope is not None and customer not in (None, scope):
            return Page(items=[])
        flt = CaseFilter(
            customer_id=scope or customer,
            contract_id=contract,
            status=status or [],
            priority=priority or [],
            breached=breached,
            due_before=due_before,
        )
        with _runtime(request).sessions() as session:
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
    def credentials(self, request: Request[Any, Any, Any], number: CaseNumber) -> dict[str, str]:
        """The remote-access credentials, for the assigned engineer only; never cached.

        The engineer is matched by the token's name against the case's assignee; every
        viewing is recorded in the history.
        """
        runtime, principal = _runtime(request), _principal(request)
        return runtime.desk.reveal_credentials(number, actor=principal.name, now=runtime.clock())

    # --- lifecycle commands -----------------------------------------------------------------

    @post(
        "/{number:str}/assign",
        operation_id="assignCase",
        sync_to_thread=True,
        status_code=200,
        guards=[case_access],
        opt=case_roles(*ASSIGNERS),
        responses=ONE_CASE,
    )
    def assign(
        self, request: Request[Any, Any, Any], number: CaseNumber, data: JSONBody[Assign]
    ) -> CaseDetail:
        """Assign (or reassign) the engineer; a new case becomes assigned."""
        return _apply(request, number, data, CaseDesk.assign)

    @post(
        "/{number:str}/first-response",
        operation_id="recordFirstResponse",
        sync_to_thread=True,
        status_code=200,
        guards=[case_access],
        opt=case_roles(*RESPONDERS),
        responses=ONE_CASE,
    )
    def first_response(
        self, request: Request[Any, Any, Any], number: CaseNumber, data: JSONBody[FirstResponse]
    ) -> CaseDetail:
        """Service content agreed, diagnosis started: stops the response clock."""
        return _apply(request, number, data, CaseDesk.first_response)

    @post(
        "/{number:str}/diagnosis",
        operation_id="confirmDiagnosis",
        sync_to_thread=True,
        status_code=200,
        guards=[case_access],
        opt=case_roles(*DIAGNOSERS),
        responses=ONE_CASE,
    )
    def diagnosis(
        self, request: Request[Any, Any, Any], number: CaseNumber, data: JSONBody[ConfirmDiagnosis]
    ) -> CaseDetail:
        """Stop the diagnosis clock; a hardware fault starts the spare-part clocks."""
        return _apply(request, number, data, CaseDesk.confirm_diagnosis)

    @post(
        "/{number:str}/remote-access",
        operation_id="grantRemoteAccess",
        sync_to_thread=True,
        status_code=200,
        guards=[case_access],
        opt=case_roles(*REMOTE),
        responses=ONE_CASE,
    )
    def remote_access(
        self, request: Request[Any, Any, Any], number: CaseNumber, data: JSONBody[RemoteAccess]
    ) -> CaseDetail:
        """Record the customer's consent; credentials are stored encrypted, never echoed."""
        return _apply(request, number, data, CaseDesk.grant_remote_access)

    @post(
        "/{number:str}/remote-login",
        operation_id="recordRemoteLogin",
        sync_to_thread=True,
        status_code=200,
        guards=[case_access],
        opt=case_roles(*MILESTONES),
        responses=ONE_CASE,
    )
    def remote_login(
        self, request: Request[Any, Any, Any], number: CaseNumber, data: JSONBody[Milestone]
    ) -> CaseDetail:
        """The engineer logged in remotely: stops the remote-access clock."""
        return _apply(request, number, data, CaseDesk.remote_logged_in)

    @post(
        "/{number:str}/onsite-request",
        operation_id="requestOnsite",
        sync_to_thread=True,
        status_code=200,
        guards=[case_access],
        opt=case_roles(*ONSITE_REQUESTERS),
        responses=ONE_CASE,
    )
    def onsite_request(
        self, request: Request[Any, Any, Any], number: CaseNumber, data: JSONBody[RequestOnsite]
    ) -> CaseDetail:
        """The service manager files an on-site request: the zone's arrival clock starts."""
        return _apply(request, number, data, CaseDesk.request_onsite)

    @post(
        "/{number:str}/onsite-arrival",
        operation_id="recordOnsiteArrival",
        sync_to_thread=True,
        status_code=200,
        guards=[case_access],
        opt=case_roles(*MILESTONES),
        responses=ONE_CASE,
    )
    def onsite_arrival(
        self, request: Request[Any, Any, Any], number: CaseNumber, data: JSONBody[Milestone]
    ) -> CaseDetail:
        """The engineer arrived on site: stops the arrival clock."""
        return _apply(request, number, data, CaseDesk.onsite_arrived)

    @post(
        "/{number:str}/spare-shipped",
        operation_id="recordSpareShipped",
        sync_to_thread=True,
        status_code=200,
        guards=[case_access],
        opt=case_roles(*MILESTONES),
        responses=ONE_CASE,
    )
    def spare_shipped(
        self, request: Request[Any, Any, Any], number: CaseNumber, data: JSONBody[Milestone]
    ) -> CaseDetail:
        """The spare part left: stops the ship clock, re-plans the arrival."""
        return _apply(request, number, data, CaseDesk.spare_shipped)

    @post(
        "/{number:str}/spare-arrived",
        operation_id="recordSpareArrived",
        sync_to_thread=True,
        status_code=200,
        guards=[case_access],
        opt=case_roles(*MILESTONES),
        responses=ONE_CASE,
    )
    def spare_arrived(
        self, request: Request[Any, Any, Any], number: CaseNumber, data: JSONBody[Milestone]
    ) -> CaseDetail:
        """The spare part arrived: stops the arrival clock."""
        return _apply(request, number, data, CaseDesk.spare_arrived)

    @post(
        "/{number:str}/notes",
        operation_id="addNote",
        sync_to_thread=True,
        status_code=200,
        guards=[case_access],
        opt=case_roles(*STAFF),
        responses=ONE_CASE,
    )
    def notes(
        self, request: Request[Any, Any, Any], number: CaseNumber, data: JSONBody[Note]
    ) -> CaseDetail:
        """Add a note (internal unless visibility is customer)."""
        return _apply(request, number, data, CaseDesk.add_note)

    @post(
        "/{number:str}/calls",
        operation_id="logCall",
        sync_to_thread=True,
        status_code=200,
        guards=[case_access],
        opt=case_roles(*STAFF),
        responses=ONE_CASE,
    )
    def calls(
        self, request: Request[Any, Any, Any], number: CaseNumber, data: JSONBody[CallLog]
    ) -> CaseDetail:
        """Log an inbound or outbound call."""
        return _apply(request, number, data, CaseDesk.log_call)

    @post(
        "/{number:str}/priority",
        operation_id="changePriority",
        sync_to_thread=True,
        status_code=200,
        guards=[case_access],
        opt=case_roles(*PRIORITISERS),
        responses=ONE_CASE,
    )
    def priority(
        self, request: Request[Any, Any, Any], number: CaseNumber, data: JSONBody[ChangePriority]
    ) -> CaseDetail:
        """Change the priority; both values are recorded and running clocks re-planned."""
        return _apply(request, number, data, CaseDesk.change_priority)

    @post(
        "/{number:str}/status",
        operation_id="changeStatus",
        sync_to_thread=True,
        status_code=200,
        guards=[case_access],
        opt=case_roles(*STAFF),
        responses=ONE_CASE,
    )
    def status(
        self, request: Request[Any, Any, Any], number: CaseNumber, data: JSONBody[ChangeStatus]
    ) -> CaseDetail:
        """Move along the status machine; pending_customer needs a cause and pauses resolution."""
        return _apply(request, number, data, CaseDesk.change_status)

    @post(
        "/{number:str}/escalations",
        operation_id="escalateCase",
        sync_to_thread=True,
        status_code=200,
        guards=[case_access],
        opt=case_roles(*STAFF),
        responses=ONE_CASE,
    )
    def escalations(
        self, request: Request[Any, Any, Any], number: CaseNumber, data: JSONBody[Escalate]
    ) -> CaseDetail:
        """Escalate manually: raises a time-stamped alarm."""
        return _apply(request, number, data, CaseDesk.escalate)

    @post(
        "/{number:str}/handovers",
        operation_id="handOverCase",
        sync_to_thread=True,
        status_code=200,
        guards=[case_access],
        opt=case_roles(*HANDOVERS),
        responses=ONE_CASE,
    )
    def handovers(
        self, request: Request[Any, Any, Any], number: CaseNumber, data: JSONBody[HandOver]
    ) -> CaseDetail:
        """Functional escalation: hand the case to Digital China, the expert group, an on-site
        engineer or the vendor (or back down), recorded as a `handed_over` event.

        `ticket` (their case number) is required for `digital-china` and `vendor`: without it
        the answer is 400 naming `$.ticket`. A vendor hand-over moves an assigned or
        in-progress case to pending_vendor; handing it back from the vendor returns it to
        in_progress.
        """
        return _apply(request, number, data, CaseDesk.hand_over)

    @post(
        "/{number:str}/progress-reports",
        operation_id="reportProgress",
        sync_to_thread=True,
        status_code=200,
        guards=[case_access],
        opt=case_roles(*PROGRESS_REPORTERS),
        responses=ONE_CASE,
    )
    def progress_reports(
        self, request: Request[Any, Any, Any], number: CaseNumber, data: JSONBody[ReportProgress]
    ) -> CaseDetail:
        """An emergency on-site progress report (限时上报): meets the running report clock and
        starts the next; 409 when no report is due (no emergency visit under way)."""
        return _apply(request, number, data, CaseDesk.report_progress)

    @post(
        "/{number:str}/exclusions",
        operation_id="excludeClock",
        sync_to_thread=True,
        status_code=200,
        guards=[case_access],
        opt=case_roles(*EXCLUDERS),
        responses=ONE_CASE,
    )
    def exclusions(
        self, request: Request[Any, Any, Any], number: CaseNumber, data: JSONBody[ExcludeClock]
    ) -> CaseDetail:
        """Exclude a clock's breach from compensation with one of the contract's causes."""
        return _apply(request, number, data, CaseDesk.exclude_clock)

    @post(
        "/{number:str}/resolve",
        operation_id="resolveCase",
        sync_to_thread=True,
        status_code=200,
        guards=[case_access],
        opt=case_roles(*RESOLVERS),
        responses=ONE_CASE,
    )
    def resolve(
        self, request: Request[Any, Any, Any], number: CaseNumber, data: JSONBody[Resolve]
    ) -> CaseDetail:
        """Resolve: stops the service clocks, cancels the others."""
        return _apply(request, number, data, CaseDesk.resolve)

    @post(
        "/{number:str}/close",
        operation_id="closeCase",
        sync_to_thread=True,
        status_code=200,
        guards=[case_access],
        opt=case_roles(*CLOSERS),
        responses=ONE_CASE,
    )
    def close(
        self, request: Request[Any, Any, Any], number: CaseNumber, data: JSONBody[Close]
    ) -> CaseDetail:
        """Close with the customer's confirmation: every checklist item and deliverable."""
        return _apply(request, number, data, CaseDesk.close)

    @post(
        "/{number:str}/reopen",
        operation_id="reopenCase",
        sync_to_thread=True,
        status_code=200,
        guards=[case_access],
        opt=case_roles(*REOPENERS),
        responses=ONE_CASE,
    )
    def reopen(
        self, request: Request[Any, Any, Any], number: CaseNumber, data: JSONBody[Reopen]
    ) -> CaseDetail:
        """Reopen a resolved or closed case: a new resolution clock starts."""
        return _apply(request, number, data, CaseDesk.reopen)


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
    request: Request[Any, Any, Any],
    customer_id: Annotated[
        str, PathParameter(title="customer id", max_length=limits.IDENTIFIER, pattern=ID)
    ],
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[CaseSummary]:
    """A customer's case history, newest first (a customer token: only its own id, else 404)."""
    scope = customer_scope(_principal(request))
    if scope is not None and scope != customer_id:
        raise NotFoundError("no such customer")
    with _runtime(request).sessions() as session:
        return customer_history(session, customer_id, limit=limit, after=cursor)
