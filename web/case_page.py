"""The case page (``/console/cases/{number}``, the link alert e-mails carry: core.notify
``case_link``): caller, contract, device and zone, every clock with its rule, the timeline, and
the lifecycle actions the viewer's roles allow as forms that run the same desk commands as
the API (web/case_actions.py; the selects filled from the case: ``case_choices``); and the
knowledge part: the past fixes for the case's device and a search box
(web/case_knowledge.py)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.concurrency import sync_to_thread
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect

from api.auth import EVERYONE
from api.cases import NO_SUCH_CASE, NUMBER
from api.deps import runtime_of
from api.documents import READERS
from api.knowledge import RELATED_VIEWERS
from core import limits
from core.contract import Contract
from core.errors import ClientError, Forbidden, InvalidField, NotFoundError
from core.store.document_sql import has_change_plan
from core.store.queries import CaseDetail, case_belongs_to, case_is_complaint, get_case
from core.store.queues import business_left, contract_calendars
from core.store.spares import SpareRequestView, spare_requests
from core.store.tokens import Principal
from web.auth import page_principal
from web.case_actions import BY_SLUG, allowed_actions, command_of, field_key
from web.case_knowledge import KB_TARGET, related_context, results_fragment, search_hits
from web.console_format import Formats
from web.documents import document_url
from web.forms import form_fields
from web.render import page, translator

CASE_PAGE = "/console/cases/{number:str}"
Number = Annotated[str, PathParameter(max_length=64)]
Slug = Annotated[str, PathParameter(max_length=32)]
Words = Annotated[str | None, QueryParameter(max_length=limits.ADDRESS, pattern=limits.NO_NUL)]


def _visible(request: Request[Any, Any, Any], principal: Principal, number: str) -> None:
    """404 for a number that is not a case or (customers) not theirs; a customer's own case
    is a staff page all the same: 403 (the portal shows it)."""
    if not NUMBER.fullmatch(number):
        raise NotFoundError(NO_SUCH_CASE)
    if principal.is_customer:
        with runtime_of(request).sessions() as session:
            if not case_belongs_to(session, number, principal.customer_id or ""):
                raise NotFoundError(NO_SUCH_CASE)
        raise Forbidden("the console is for staff; the portal shows your cases")


def case_context(request: Request[Any, Any, Any], number: str) -> dict[str, Any]:
    """Everything the case page shows (one read transaction)."""
    runtime = runtime_of(request)
    principal = page_principal(request)
    _visible(request, principal, number)
    now = runtime.clock()
    with runtime.sessions() as session:
        detail = get_case(session, number)
        complaint = case_is_complaint(session, number)
        changes = principal.has_any(READERS) and has_change_plan(session, number)
        spares = spare_requests(session, number)
    loaded = runtime.contracts.contracts.get(detail.contract_id)
    contract = loaded.contract if loaded is not None else None
    device = contract.device(detail.device_serial) if contract and detail.device_serial else None
    calendars = contract_calendars(runtime.contracts)
    choices = case_choices(detail, contract, spares)
    left = {
        clock.kind: business_left(
            calendars(detail.contract_id, clock.calendar), now, clock.deadline
        )
        for clock in detail.clocks
        if clock.state == "running"
    }
    return {
        **related_context(request, number),
        "case": detail,
        "contract": contract,
        "device": device,
        "left": left,
        "actions": allowed_actions(principal, complaint, choices),
        "choices": choices,
        "fmt": Formats(runtime.settings.timezone, translator(request)),
        "implementation": _implementation_links(detail.contract_id, number) if changes else None,
    }


def case_choices(
    detail: CaseDetail, contract: Contract | None, spares: list[SpareRequestView]
) -> dict[str, list[tuple[str, str]]]:
    """The (value, label) choices of the selects filled from the case (case_actions.Field
    ``source``): its clock kinds, its contract's exclusion causes, its spare requests."""
    kinds = list(dict.fromkeys(clock.kind for clock in detail.clocks))
    causes = list(contract.exclusions) if contract is not None else []
    return {
        "clocks": [(kind, kind) for kind in kinds],
        "exclusions": [(cause, cause) for cause in causes],
        "spare_requests": [
            (str(s.request), f"{s.request} · {s.part} ({s.status})") for s in spares
        ],
    }


def _implementation_links(contract_id: str, number: str) -> dict[str, str]:
    """The case's implementation proposal or report (web/documents.py), for who may read it."""
    return {f: document_url(contract_id, "implementation", f, case=number) for f in ("pdf", "html")}


def _render(
    request: Request[Any, Any, Any], context: dict[str, Any], *, status: int = 200, **extra: Any
) -> Response[Any]:
    extra = {"open_action": None, "errors": {}, "form_error": None, "values": {}, **extra}
    notice = request.query_params.get("done")
    extra.setdefault("notice", notice if notice in BY_SLUG else None)
    return page(request, "console/case.html", status=status, **context, **extra)


@get(CASE_PAGE, opt={"roles": EVERYONE})
async def case_page(request: Request[Any, Any, Any], number: Number) -> Response[Any]:
    """One case as the desk sees it."""
    context = await sync_to_thread(case_context, request, number)
    return _render(request, context)


@get(CASE_PAGE + "/knowledge", opt={"roles": RELATED_VIEWERS})
async def case_knowledge(
    request: Request[Any, Any, Any], number: Number, q: Words = None
) -> Response[Any]:
    """The knowledge search box: the results alone for htmx, else the case page with them
    (the form's plain GET without script)."""
    query = (q or "").strip()
    await sync_to_thread(_visible, request, page_principal(request), number)
    hits = await sync_to_thread(search_hits, request, query)
    if request.headers.get("hx-target") == KB_TARGET:
        return results_fragment(request, query, hits)
    context = await sync_to_thread(case_context, request, number)
    return _render(request, {**context, "kb_query": query, "kb_hits": hits})


@post(CASE_PAGE + "/{slug:str}", opt={"roles": EVERYONE}, status_code=200)
async def case_action(request: Request[Any, Any, Any], number: Number, slug: Slug) -> Response[Any]:
    """Run one lifecycle action; back to the case page, or the form again with the core's
    error next to its field and the values kept."""
    runtime = runtime_of(request)
    principal = page_principal(request)
    action = BY_SLUG.get(slug)
    if action is None:
        raise NotFoundError(f"no action {slug!r}")
    fields = await form_fields(request)

    def run() -> None:
        _visible(request, principal, number)
        with runtime.sessions() as session:
            complaint = case_is_complaint(session, number)
        if not action.allowed(principal, complaint):
            raise Forbidden(f"your roles ({principal.role_names}) may not {slug} this case")
        cmd = command_of(action, fields, runtime.settings.timezone)
        action.run(runtime.desk, number, cmd, principal.actor, runtime.clock(), principal)

    try:
        await sync_to_thread(run)
    except InvalidField as exc:
        context = await sync_to_thread(case_context, request, number)
        errors = {field_key(exc.field): exc.message}
        return _render(request, context, status=422, open_action=slug, errors=errors,
                       values=fields)  # fmt: skip
    except (Forbidden, NotFoundError):
        raise
    except ClientError as exc:
        context = await sync_to_thread(case_context, request, number)
        return _render(request, context, status=_status(exc), open_action=slug,
                       form_error=exc.detail, values=fields)  # fmt: skip
    return Redirect(f"/console/cases/{number}?done={slug}", status_code=303)


def _status(exc: ClientError) -> int:
    from api.problems import status_of

    return status_of(exc)


CASE_ROUTES = [case_page, case_knowledge, case_action]
