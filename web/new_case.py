"""The new case form (``/console/cases/new``): the contract's devices and sites offered from
the loaded contracts (runtime.contracts); the form becomes the API's OpenCase and runs the same
``desk.open_case``; the core's error is shown next to its field with the values kept."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.concurrency import sync_to_thread
from litestar.params import QueryParameter
from litestar.response import Redirect

from api.auth import STAFF
from api.cases import OPENERS
from api.deps import runtime_of
from core.case import Category, Channel, Priority
from core.commands import OpenCase
from core.contract import Contract
from core.errors import ClientError, InvalidField
from web.auth import page_principal
from web.case_actions import decode, field_key, instant
from web.forms import form_fields
from web.render import page

# the API's openers who are staff (a customer opens a request on the portal)
STAFF_OPENERS = tuple(role for role in OPENERS if role in STAFF)
NEW_CASE = "/console/cases/new"
REQUEST_TYPES = ("problem_report", "consultation")
CALLER_FIELDS = ("name", "company", "phone", "email", "address")
ContractParam = Annotated[str | None, QueryParameter(max_length=200)]


def _contracts(request: Request[Any, Any, Any]) -> list[Contract]:
    loaded = runtime_of(request).contracts.contracts
    return [loaded[key].contract for key in sorted(loaded)]


def _chosen(contracts: list[Contract], contract_id: str | None) -> Contract | None:
    found = [c for c in contracts if c.id == contract_id]
    return found[0] if found else (contracts[0] if contracts else None)


def _form_page(
    request: Request[Any, Any, Any],
    *,
    values: dict[str, str],
    status: int = 200,
    errors: dict[str, str] | None = None,
    form_error: str | None = None,
) -> Response[Any]:
    contracts = _contracts(request)
    chosen = _chosen(contracts, values.get("contract_id"))
    return page(
        request,
        "console/new_case.html",
        status=status,
        contracts=contracts,
        chosen=chosen,
        values=values,
        errors=errors or {},
        form_error=form_error,
        categories=[c.value for c in Category],
        request_types=REQUEST_TYPES,
        priorities=[p.value for p in Priority],
        channels=[c.value for c in Channel],
    )


@get(NEW_CASE, opt={"roles": STAFF_OPENERS})
async def new_case_form(
    request: Request[Any, Any, Any], contract: ContractParam = None
) -> Response[Any]:
    """The empty form (``?contract=`` picks the contract whose devices and sites are offered)."""
    return _form_page(request, values={"contract_id": contract or ""})


@get(NEW_CASE + "/assets", opt={"roles": STAFF_OPENERS})
async def contract_assets(
    request: Request[Any, Any, Any], contract_id: ContractParam = None
) -> Response[Any]:
    """The device and site fields of one contract (htmx, when the contract changes)."""
    chosen = _chosen(_contracts(request), contract_id)
    return page(request, "console/_assets.html", chosen=chosen, values={}, errors={})


def command_from(fields: dict[str, str], tz: str) -> OpenCase:
    """The form as the API's OpenCase (``caller.*`` nested; appointment times on ``tz``)."""
    data: dict[str, Any] = {}
    for key in ("contract_id", "summary", "category", "request_type", "priority", "channel"):
        data[key] = fields.get(key, "").strip()
    for key in ("device_serial", "site", "description"):
        if fields.get(key, "").strip():
            data[key] = fields[key].strip()
    data["emergency"] = fields.get("emergency") == "on"
    caller = {k: fields.get(f"caller.{k}", "").strip() for k in CALLER_FIELDS}
    data["caller"] = {k: v for k, v in caller.items() if v or k == "name"}
    start, end = fields.get("appointment.start", ""), fields.get("appointment.end", "")
    if start.strip() or end.strip():
        data["appointment"] = {
            "start": instant("appointment.start", start, tz),
            "end": instant("appointment.end", end, tz),
        }
    return decode(data, OpenCase)


@post(NEW_CASE, opt={"roles": STAFF_OPENERS}, status_code=200)
async def open_case(request: Request[Any, Any, Any]) -> Response[Any]:
    """Open the case; to its page, or the form again with the error at its field."""
    fields = await form_fields(request)
    runtime = runtime_of(request)
    principal = page_principal(request)

    def run() -> str:
        cmd = command_from(fields, runtime.settings.timezone)
        receipt = runtime.desk.open_case(cmd, actor=principal.actor, now=runtime.clock())
        return receipt.number

    try:
        number = await sync_to_thread(run)
    except InvalidField as exc:
        return _form_page(request, values=fields, status=422,
                          errors={field_key(exc.field): exc.message})  # fmt: skip
    except ClientError as exc:
        from api.problems import status_of

        return _form_page(request, values=fields, status=status_of(exc), form_error=exc.detail)
    return Redirect(f"/console/cases/{number}", status_code=303)


NEW_CASE_ROUTES = [new_case_form, contract_assets, open_case]
