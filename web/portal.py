"""The customer portal: a customer user's company cases (paged and filtered; customer-visible
events only), a new request, a comment, and the confirmation of closure — through the same
customer-scoped reads (core/store/queries.py) and desk commands the API runs for a customer
token (api/cases.py); another customer's case is the same 404 as a missing one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import msgspec
from litestar import Request, Response, get, post
from litestar.concurrency import sync_to_thread
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect

from api.auth import customer_scope
from api.cases import NO_SUCH_CASE, NUMBER, _own_contract
from api.deps import runtime_of
from core import limits
from core.case import OPEN_STATUSES, Category, Priority, RequestType, Status
from core.commands import Close, Comment, OpenCase
from core.errors import ClientError, InvalidField, NotFoundError
from core.runtime import Runtime
from core.service_types import ServiceType, effective_service_type
from core.store.queries import CaseDetail, CaseFilter, case_belongs_to, get_case, list_cases
from core.store.tokens import Principal
from web.auth import page_principal
from web.documents import document_links
from web.forms import form_fields
from web.nav import CUSTOMERS
from web.portal_reports import report_links
from web.render import page

CUSTOMER_ONLY = {"roles": CUSTOMERS}
PortalNumber = Annotated[str, PathParameter(max_length=40)]
T = TypeVar("T")


def _scope(principal: Principal) -> str:
    scope = customer_scope(principal)
    if scope is None:  # the guard admits customer users only; a customer is always bound
        raise NotFoundError(NO_SUCH_CASE)
    return scope


def _own_case(runtime: Runtime, principal: Principal, number: str) -> None:
    """The API's ``case_access`` for a customer: a malformed, missing or other customer's
    case number is one and the same 404."""
    if not NUMBER.fullmatch(number):
        raise NotFoundError(NO_SUCH_CASE)
    with runtime.sessions() as session:
        if not case_belongs_to(session, number, _scope(principal)):
            raise NotFoundError(NO_SUCH_CASE)


# --- the list --------------------------------------------------------------------------------

PAGE_SIZE = 50  # as the console's queues
# the status filter a customer chooses: still being worked on, waiting for its confirmation,
# closed (every other value, or none: all of them)
STATES: dict[str, list[Status]] = {
    "open": sorted(OPEN_STATUSES),
    "resolved": [Status.RESOLVED],
    "closed": [Status.CLOSED],
}
Query = Annotated[str | None, QueryParameter(max_length=limits.ADDRESS, pattern=limits.NO_NUL)]


def _query(**params: str | None) -> str:
    return urlencode({k: v for k, v in params.items() if v})


def _case_page_of(runtime: Runtime, scope: str, params: dict[str, str | None]) -> dict[str, Any]:
    """One page of the company's cases, newest first: ``list_cases`` with its keyset cursor,
    as GET /api/v1/cases answers a customer token (``status`` and ``q`` narrow it)."""
    flt = CaseFilter(
        customer_id=scope,
        status=STATES.get(params["status"] or "", []),
        text=params["q"],
    )
    with runtime.sessions() as session:
        result = list_cases(session, flt, limit=PAGE_SIZE, after=params["cursor"])
    filters = {"status": params["status"], "q": params["q"]}
    next_href = (
        f"/portal?{_query(**filters, cursor=result.next_cursor)}" if result.next_cursor else None
    )
    first_href = f"/portal?{_query(**filters)}".rstrip("?") if params["cursor"] else None
    return {
        "cases": result.items,
        "next_href": next_href,
        "first_href": first_href,
        "filtered": bool(params["status"] or params["q"]),
    }


@get("/portal", opt=CUSTOMER_ONLY)
async def portal_home(
    request: Request[Any, Any, Any],
    status: Query = None,
    q: Query = None,
    cursor: Query = None,
) -> Response[Any]:
    """The company's cases, newest first and paged, filtered by status and text; its reports
    and maintenance documents."""
    principal = page_principal(request)
    runtime = runtime_of(request)
    text = (q or "").strip() or None
    params = {"status": status if status in STATES else None, "q": text, "cursor": cursor}

    def read() -> dict[str, Any]:
        scope, now = _scope(principal), runtime.clock()
        return {
            **_case_page_of(runtime, scope, params),
            "reports": report_links(runtime, scope, now),
            "documents": document_links(runtime, scope, now),
        }

    context = await sync_to_thread(read)
    return page(request, "portal/list.html", params=params, states=list(STATES), **context)


# --- one case --------------------------------------------------------------------------------


def _service_type(runtime: Runtime, case: CaseDetail) -> ServiceType:
    loaded = runtime.contracts.contracts.get(case.contract_id)
    overrides = loaded.contract.service_types if loaded is not None else {}
    return effective_service_type(case.category, overrides)


async def _case_page(
    request: Request[Any, Any, Any],
    number: str,
    *,
    status: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response[Any]:
    principal = page_principal(request)
    runtime = runtime_of(request)

    def read() -> tuple[CaseDetail, ServiceType]:
        if not NUMBER.fullmatch(number):
            raise NotFoundError(NO_SUCH_CASE)
        with runtime.sessions() as session:
            case = get_case(session, number, customer_id=_scope(principal))
        return case, _service_type(runtime, case)

    case, service = await sync_to_thread(read)
    return page(
        request,
        "portal/case.html",
        status=status,
        case=case,
        service=service,
        error=error,
        form=form or {},
        can_close=case.status == "resolved",
    )


@get("/portal/cases/{number:str}", opt=CUSTOMER_ONLY)
async def portal_case(request: Request[Any, Any, Any], number: PortalNumber) -> Response[Any]:
    """One case: status, clocks, the customer-visible history, comment and close forms."""
    return await _case_page(request, number)


@post("/portal/cases/{number:str}/comments", opt=CUSTOMER_ONLY, status_code=200)
async def portal_comment(request: Request[Any, Any, Any], number: PortalNumber) -> Response[Any]:
    """A comment, recorded as a customer-visible note in the customer user's name."""
    principal = page_principal(request)
    runtime = runtime_of(request)
    fields = await form_fields(request)

    def comment() -> None:
        _own_case(runtime, principal, number)
        cmd = _decode({"text": fields.get("text", "").strip()}, Comment, "text")
        runtime.desk.add_note(number, cmd.as_note(), actor=principal.actor, now=runtime.clock())

    try:
        await sync_to_thread(comment)
    except NotFoundError:
        raise
    except ClientError as exc:
        return await _case_page(request, number, status=422, error=exc.detail, form=fields)
    return Redirect(f"/portal/cases/{number}#history", status_code=303)


@post("/portal/cases/{number:str}/close", opt=CUSTOMER_ONLY, status_code=200)
async def portal_close(request: Request[Any, Any, Any], number: PortalNumber) -> Response[Any]:
    """The customer's own confirmation of closure: who (the signed-in user) and when (now),
    as the API records a customer token's close (``entered_by: customer``, no document)."""
    principal = page_principal(request)
    runtime = runtime_of(request)
    form = await request.form()
    checklist = [str(v) for v in form.getall("checklist", []) if isinstance(v, str)]
    deliverables = {
        key.removeprefix("deliverable:"): str(value).strip()
        for key, value in form.multi_items()
        if key.startswith("deliverable:") and isinstance(value, str) and value.strip()
    }

    def close() -> None:
        _own_case(runtime, principal, number)
        now = runtime.clock()
        raw = {
            "confirmed_by": principal.name,
            "confirmed_at": now.isoformat(),
            "checklist": checklist,
            "deliverables": deliverables,
        }
        cmd = _decode(raw, Close, "checklist")
        runtime.desk.close(number, cmd, actor=principal.actor, now=now, entered_by="customer")

    try:
        await sync_to_thread(close)
    except NotFoundError:
        raise
    except ClientError as exc:
        return await _case_page(request, number, status=422, error=exc.detail)
    return Redirect(f"/portal/cases/{number}#history", status_code=303)


# --- a new request ---------------------------------------------------------------------------

REQUEST_TYPES = (RequestType.PROBLEM_REPORT, RequestType.CONSULTATION, RequestType.COMPLAINT)


def _contracts(runtime: Runtime, customer_id: str) -> list[dict[str, Any]]:
    """The customer's own contracts with their devices (serial and model)."""
    out = []
    for cid, loaded in sorted(runtime.contracts.contracts.items()):
        contract = loaded.contract
        if contract.customer.id != customer_id:
            continue
        devices = [
            {"serial": d.serial, "label": f"{d.model} · {d.serial} · {d.site}"}
            for d in contract.devices
        ]
        out.append({"id": cid, "name": contract.customer.name, "devices": devices})
    return out


def _new_page(
    request: Request[Any, Any, Any],
    *,
    status: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response[Any]:
    principal = page_principal(request)
    runtime = runtime_of(request)
    return page(
        request,
        "portal/new.html",
        status=status,
        error=error,
        form=form or {"caller_name": principal.name},
        contracts=_contracts(runtime, _scope(principal)),
        categories=list(Category),
        request_types=REQUEST_TYPES,
        priorities=list(Priority),
        timezone=runtime.settings.timezone,
    )


@get("/portal/new", opt=CUSTOMER_ONLY, sync_to_thread=False)
def portal_new(request: Request[Any, Any, Any]) -> Response[Any]:
    """The form to open a request under one of the company's contracts."""
    return _new_page(request)


def _local_time(value: str, tz: str, field: str) -> str | None:
    """A ``datetime-local`` value (``2026-12-09T14:00``) on the desk's zone, as ISO 8601."""
    if not value.strip():
        return None
    try:
        local = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidField(field, f"not a date and time: {value[:40]!r}") from exc
    if local.tzinfo is None:
        local = local.replace(tzinfo=ZoneInfo(tz))
    return local.isoformat()


def _appointment(fields: dict[str, str], tz: str) -> dict[str, str] | None:
    start = _local_time(fields.get("appointment_start", ""), tz, "$.appointment.start")
    end = _local_time(fields.get("appointment_end", ""), tz, "$.appointment.end")
    if start is None and end is None:
        return None
    return {"start": start or "", "end": end or ""}


def _open_command(fields: dict[str, str], tz: str) -> OpenCase:
    def optional(name: str) -> str | None:
        return fields.get(name, "").strip() or None

    raw: dict[str, Any] = {
        "contract_id": fields.get("contract_id", ""),
        "caller": {
            "name": fields.get("caller_name", "").strip(),
            "phone": optional("caller_phone"),
            "email": optional("caller_email"),
        },
        "summary": fields.get("summary", "").strip(),
        "description": optional("description"),
        "category": fields.get("category", ""),
        "request_type": fields.get("request_type", ""),
        "priority": fields.get("priority", ""),
        "channel": "web",
        "device_serial": optional("device_serial"),
        "site": optional("site"),
        "emergency": fields.get("emergency") == "on",
        "appointment": _appointment(fields, tz),
    }
    return _decode(raw, OpenCase, "summary")


@post("/portal/new", opt=CUSTOMER_ONLY, status_code=200)
async def portal_open(request: Request[Any, Any, Any]) -> Response[Any]:
    """Open the request as the API's customer open does (own contracts only, channel web)."""
    principal = page_principal(request)
    runtime = runtime_of(request)
    fields = await form_fields(request)

    def open_case() -> str:
        cmd = _open_command(fields, runtime.settings.timezone)
        _own_contract(runtime, principal, cmd.contract_id)
        receipt = runtime.desk.open_case(cmd, actor=principal.actor, now=runtime.clock())
        return receipt.number

    try:
        number = await sync_to_thread(open_case)
    except ClientError as exc:  # an unknown contract (404) is shown next to the form too
        return _new_page(request, status=422, error=exc.detail, form=fields)
    return Redirect(f"/portal/cases/{number}", status_code=303)


def _decode(raw: dict[str, Any], kind: type[T], field: str) -> T:
    """The form as the API's command (same validation); a refusal names the field's path."""
    try:
        return msgspec.convert(raw, kind)
    except msgspec.ValidationError as exc:
        text = str(exc)
        path = text.rpartition(" - at `")[2].rstrip("`") if " - at `" in text else f"$.{field}"
        raise InvalidField(path, text.partition(" - at `")[0]) from exc


PORTAL_ROUTES = [
    portal_home,
    portal_case,
    portal_comment,
    portal_close,
    portal_new,
    portal_open,
]
