"""Quality endpoints (R-QUAL, docs/quality.md): the survey link, the technical service form's
score, survey problems, complaints, corrective actions and the quarterly promise.

``/api/v1/surveys/{token}`` needs no bearer token: the link is the credential, and it names
one survey of one case (core.desk.surveys). Everything else is behind the usual tokens.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody, PathParameter, QueryParameter

from api.auth import EVERYONE, STAFF, authenticated, customer_scope
from api.cases import OPENERS, PREFIX, CaseNumber, _apply, _own_contract, command
from api.deps import PrincipalDep, RuntimeDep, SessionDep
from api.schemas import problem_responses
from api.survey_limits import client_address, limited
from core.case import Role
from core.complaints import (
    AssignComplaint,
    ComplaintView,
    FileComplaint,
    Investigate,
    LinkCases,
    Reply,
    ResolveComplaint,
)
from core.corrective import ActionDone, Classify, CloseProblem, NewAction, SubjectAction
from core.desk import CaseDesk
from core.errors import NotFoundError
from core.limits import MAX_ID
from core.quality import QuarterlyResult, parse_quarter
from core.store.quality import quarterly_result
from core.store.queries import CaseDetail
from core.surveys import SurveyAnswer, SurveyForm, SurveyProblemView, SurveyView

# --- the role matrix (docs/quality.md) -----------------------------------------------------

FORM_ENTERERS = (Role.ENGINEER, Role.SERVICE_MANAGER)  # the engineer brings the signed form
QUALITY = (Role.ADMIN, Role.PROJECT_MANAGER, Role.QUALITY_DEPARTMENT)  # 质量部, 项目监理
COMPLAINT_OWNERS = (Role.ADMIN, Role.COMPLAINT_MANAGER)
MANAGEMENT = (*QUALITY, Role.COMPLAINT_MANAGER, Role.SERVICE_MANAGER)

Token = Annotated[
    str,
    PathParameter(title="survey token", min_length=1, max_length=200, description="from the link"),
]
Id = Annotated[int, PathParameter(ge=1, le=MAX_ID)]
LINK_TEXTS = {
    400: "Invalid answer: the problem names the field ($.score).",
    404: "No such survey: one answer for every wrong token.",
    410: "The link was used, expired, or withdrawn when the case was re-opened.",
    413: "Request body larger than 1 MB.",
    422: "The answer does not fit the survey.",
    429: "Too many unknown tokens or refused answers from this address, or on this token: "
    "wait for Retry-After.",
}
ERRORS = problem_responses(400, 401, 403, 404, 409, 413, 422)


# --- the survey link (no bearer token) ------------------------------------------------------


class SurveyController(Controller):
    """The customer's survey page calls these; the token in the path is the only credential."""

    path = f"{PREFIX}/surveys"
    tags = ("quality",)

    @get(
        "/{token:str}",
        operation_id="getSurvey",
        sync_to_thread=True,
        responses=problem_responses(400, 404, 429, texts=LINK_TEXTS),
    )
    def show(
        self, request: Request[Any, Any, Any], runtime: RuntimeDep, token: Token
    ) -> SurveyView:
        """The case the link rates (number, summary, closed at) and whether it can still be
        answered; an unknown token is a 404 (and a miss: docs/quality.md, rate limit)."""
        return limited(
            runtime,
            token,
            client_address(request),
            lambda: runtime.desk.survey_by_token(token, now=runtime.clock()),
        )

    @post(
        "/{token:str}",
        operation_id="answerSurvey",
        sync_to_thread=True,
        status_code=200,
        responses=problem_responses(400, 404, 410, 413, 422, 429, texts=LINK_TEXTS),
    )
    def answer(
        self,
        request: Request[Any, Any, Any],
        runtime: RuntimeDep,
        token: Token,
        data: JSONBody[SurveyAnswer],
    ) -> SurveyView:
        """A score 1–5 and a comment, once: a used, expired or withdrawn link is a 410."""
        return limited(
            runtime,
            token,
            client_address(request),
            lambda: runtime.desk.answer_survey(token, data, now=runtime.clock()),
        )


class SurveyFormController(Controller):
    """The score the customer signed on the technical service form, entered on the case."""

    path = f"{PREFIX}/cases"
    tags = ("cases",)
    guards = (authenticated,)

    @command("survey-form", "enterSurveyForm", FORM_ENTERERS)
    def survey_form(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        number: CaseNumber,
        data: JSONBody[SurveyForm],
    ) -> CaseDetail:
        """The customer's score from the signed technical service form (技术服务单), with who
        signed and when; the entering engineer is recorded. The case must be closed."""
        return _apply(runtime, principal, session, number, data, CaseDesk.enter_survey_form)


# --- survey problems (the quality department) -----------------------------------------------


class SurveyProblemController(Controller):
    """Low scores (2 or below) as problems: classified, corrective actions, closed."""

    path = f"{PREFIX}/survey-problems"
    tags = ("quality",)
    guards = (authenticated,)
    opt = {"roles": QUALITY}  # noqa: RUF012 - litestar's own mapping

    @get("/", operation_id="listSurveyProblems", sync_to_thread=True, responses=ERRORS)
    def list_problems(
        self,
        runtime: RuntimeDep,
        status: Annotated[str | None, QueryParameter(pattern="^(open|closed)$")] = None,
    ) -> list[SurveyProblemView]:
        """Every survey problem (``status``: open or closed only), oldest first."""
        return runtime.desk.survey_problems(status=status)

    @get(
        "/{problem_id:int}", operation_id="getSurveyProblem", sync_to_thread=True, responses=ERRORS
    )
    def show(self, runtime: RuntimeDep, problem_id: Id) -> SurveyProblemView:
        """One survey problem with its corrective actions."""
        return runtime.desk.survey_problem(problem_id)

    @post(
        "/{problem_id:int}/classify",
        operation_id="classifySurveyProblem",
        sync_to_thread=True,
        status_code=200,
        responses=ERRORS,
    )
    def classify(
        self, runtime: RuntimeDep, principal: PrincipalDep, problem_id: Id, data: JSONBody[Classify]
    ) -> SurveyProblemView:
        """Classify the problem (对问题分类)."""
        return runtime.desk.classify_problem(
            problem_id, data, actor=principal.actor, now=runtime.clock()
        )

    @post(
        "/{problem_id:int}/actions",
        operation_id="addSurveyProblemAction",
        sync_to_thread=True,
        status_code=201,
        responses=ERRORS,
    )
    def add_action(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        problem_id: Id,
        data: JSONBody[NewAction],
    ) -> SurveyProblemView:
        """A corrective action: what, who owns it, due when."""
        return runtime.desk.add_problem_action(
            problem_id, data, actor=principal.actor, now=runtime.clock()
        )

    @post(
        "/{problem_id:int}/actions/{action_id:int}/done",
        operation_id="finishSurveyProblemAction",
        sync_to_thread=True,
        status_code=200,
        responses=ERRORS,
    )
    def finish_action(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        problem_id: Id,
        action_id: Id,
        data: JSONBody[ActionDone],
    ) -> SurveyProblemView:
        """The action is done, with its result."""
        return runtime.desk.finish_problem_action(
            problem_id, action_id, data, actor=principal.actor, now=runtime.clock()
        )

    @post(
        "/{problem_id:int}/close",
        operation_id="closeSurveyProblem",
        sync_to_thread=True,
        status_code=200,
        responses=ERRORS,
    )
    def close(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        problem_id: Id,
        data: JSONBody[CloseProblem],
    ) -> SurveyProblemView:
        """Closed once classified and every action is done; ``improvement`` is reported back to
        the customer on the case (a customer-visible event)."""
        return runtime.desk.close_problem(
            problem_id, data, actor=principal.actor, now=runtime.clock()
        )


# --- complaints (the complaint manager) -------------------------------------------------------


class ComplaintController(Controller):
    """Complaints as their own record; each step is an event of the complaint case."""

    path = f"{PREFIX}/complaints"
    tags = ("quality",)
    guards = (authenticated,)
    opt = {"roles": COMPLAINT_OWNERS}  # noqa: RUF012 - litestar's own mapping

    @post(
        "/",
        operation_id="fileComplaint",
        sync_to_thread=True,
        status_code=201,
        opt={"roles": OPENERS},
        responses=ERRORS,
    )
    def file(
        self, runtime: RuntimeDep, principal: PrincipalDep, data: JSONBody[FileComplaint]
    ) -> Response[ComplaintView]:
        """Open the complaint case (its 2-hour reply and 15-day resolution clocks start) and
        the complaint record, linked to the customer's cases ``about``."""
        if principal.is_customer:
            _own_contract(runtime, principal, data.case.contract_id)
        receipt = runtime.desk.open_case(
            data.case, actor=principal.actor, now=runtime.clock(), about=data.about
        )
        view = _by_case(runtime.desk, receipt.number)
        return Response(
            view, status_code=201, headers={"Location": f"{PREFIX}/complaints/{view.id}"}
        )

    @get(
        "/",
        operation_id="listComplaints",
        sync_to_thread=True,
        opt={"roles": STAFF},
        responses=ERRORS,
    )
    def list_complaints(
        self,
        runtime: RuntimeDep,
        status: Annotated[
            str | None, QueryParameter(pattern="^(received|replied|investigating|resolved|closed)$")
        ] = None,
        contract_id: Annotated[str | None, QueryParameter(max_length=64)] = None,
    ) -> list[ComplaintView]:
        """Complaints, oldest first; filter by status and contract."""
        return runtime.desk.complaints(status=status, contract_id=contract_id)

    @get(
        "/{complaint_id:int}",
        operation_id="getComplaint",
        sync_to_thread=True,
        opt={"roles": EVERYONE},
        responses=ERRORS,
    )
    def show(self, runtime: RuntimeDep, principal: PrincipalDep, complaint_id: Id) -> ComplaintView:
        """One complaint (a customer: its own only)."""
        return runtime.desk.complaint(complaint_id, customer_id=customer_scope(principal))

    @post(
        "/{complaint_id:int}/cases",
        operation_id="linkComplaintCases",
        sync_to_thread=True,
        status_code=200,
        responses=ERRORS,
    )
    def link(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        complaint_id: Id,
        data: JSONBody[LinkCases],
    ) -> ComplaintView:
        """Link more of the customer's cases the complaint is about."""
        return runtime.desk.link_complaint(
            complaint_id, data, actor=principal.actor, now=runtime.clock()
        )

    @post(
        "/{complaint_id:int}/reply",
        operation_id="replyComplaint",
        sync_to_thread=True,
        status_code=200,
        responses=ERRORS,
    )
    def reply(
        self, runtime: RuntimeDep, principal: PrincipalDep, complaint_id: Id, data: JSONBody[Reply]
    ) -> ComplaintView:
        """The first reply to the complainant: stops the 2-hour clock (customer-visible)."""
        return runtime.desk.reply_complaint(
            complaint_id, data, actor=principal.actor, now=runtime.clock()
        )

    @post(
        "/{complaint_id:int}/assign",
        operation_id="assignComplaint",
        sync_to_thread=True,
        status_code=200,
        responses=ERRORS,
    )
    def assign(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        complaint_id: Id,
        data: JSONBody[AssignComplaint],
    ) -> ComplaintView:
        """Who investigates (the complaint case's assignee too)."""
        return runtime.desk.assign_complaint(
            complaint_id, data, actor=principal.actor, now=runtime.clock()
        )

    @post(
        "/{complaint_id:int}/investigate",
        operation_id="investigateComplaint",
        sync_to_thread=True,
        status_code=200,
        responses=ERRORS,
    )
    def investigate(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        complaint_id: Id,
        data: JSONBody[Investigate],
    ) -> ComplaintView:
        """A finding of the investigation."""
        return runtime.desk.investigate_complaint(
            complaint_id, data, actor=principal.actor, now=runtime.clock()
        )

    @post(
        "/{complaint_id:int}/resolve",
        operation_id="resolveComplaint",
        sync_to_thread=True,
        status_code=200,
        responses=ERRORS,
    )
    def resolve(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        complaint_id: Id,
        data: JSONBody[ResolveComplaint],
    ) -> ComplaintView:
        """Resolved: the 15-day clock stops (customer-visible)."""
        return runtime.desk.resolve_complaint(
            complaint_id, data, actor=principal.actor, now=runtime.clock()
        )

    @post(
        "/{complaint_id:int}/close",
        operation_id="closeComplaint",
        sync_to_thread=True,
        status_code=200,
        responses=ERRORS,
    )
    def close(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        complaint_id: Id,
        data: JSONBody[CloseProblem],
    ) -> ComplaintView:
        """Closed once resolved and every corrective action is done; ``improvement`` is
        reported back to the customer."""
        return runtime.desk.close_complaint(
            complaint_id, data, actor=principal.actor, now=runtime.clock()
        )

    @post(
        "/{complaint_id:int}/actions",
        operation_id="addComplaintAction",
        sync_to_thread=True,
        status_code=201,
        responses=ERRORS,
    )
    def add_action(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        complaint_id: Id,
        data: JSONBody[NewAction],
    ) -> ComplaintView:
        """A corrective action of the complaint."""
        return runtime.desk.add_complaint_action(
            complaint_id, data, actor=principal.actor, now=runtime.clock()
        )

    @post(
        "/{complaint_id:int}/actions/{action_id:int}/done",
        operation_id="finishComplaintAction",
        sync_to_thread=True,
        status_code=200,
        responses=ERRORS,
    )
    def finish_action(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        complaint_id: Id,
        action_id: Id,
        data: JSONBody[ActionDone],
    ) -> ComplaintView:
        """The action is done, with its result."""
        return runtime.desk.finish_complaint_action(
            complaint_id, action_id, data, actor=principal.actor, now=runtime.clock()
        )


def _by_case(desk: CaseDesk, number: str) -> ComplaintView:
    for view in desk.complaints():
        if view.case_number == number:
            return view
    raise NotFoundError(f"no complaint for case {number}")  # pragma: no cover - opened above


# --- the quarterly promise ---------------------------------------------------------------------


@get(
    "/api/v1/contracts/{contract_id:str}/quality/{quarter:str}",
    guards=[authenticated],
    opt={"roles": EVERYONE},
    sync_to_thread=True,
    tags=["quality"],
    operation_id="getQuarterlyQuality",
    responses=problem_responses(400, 401, 403, 404),
)
def quarterly_quality(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    session: SessionDep,
    contract_id: FromPath[str],
    quarter: Annotated[str, PathParameter(max_length=8, description="e.g. 2026Q3")],
) -> QuarterlyResult:
    """The quarter's satisfaction figure as the handbook computes it (sum of scores / cases,
    unanswered counted per the contract's ``survey.unanswered``) beside the figure over the
    answers, with the unanswered count, whether the promise held and whether a miss is
    flagged for compensation or excused by recorded exclusion causes (which cases).
    A customer token sees its own contracts only."""
    if principal.is_customer:
        _own_contract(runtime, principal, contract_id)
    lc = runtime.contracts.get(contract_id)
    return quarterly_result(session, lc, parse_quarter(quarter, "quarter"), now=runtime.clock())


@get(
    "/api/v1/quality/actions",
    guards=[authenticated],
    opt={"roles": MANAGEMENT},
    sync_to_thread=True,
    tags=["quality"],
    operation_id="listCorrectiveActions",
    responses=problem_responses(400, 401, 403),
)
def corrective_actions(
    runtime: RuntimeDep,
    open_only: Annotated[bool, QueryParameter(description="only actions not done yet")] = False,
) -> list[SubjectAction]:
    """Every corrective action of survey problems and complaints, for management (通报总经理室):
    subject, owner, due date and whether it is done."""
    return runtime.desk.corrective_actions(open_only=open_only)


QUALITY_ROUTES: list[Any] = [
    SurveyController,
    SurveyFormController,
    SurveyProblemController,
    ComplaintController,
    quarterly_quality,
    corrective_actions,
]
