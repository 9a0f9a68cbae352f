"""The admins' user page: list users, create one, reset a password, disable or enable —
the same core functions as ``casetrack users`` (core/store/users.py)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.concurrency import sync_to_thread

from api.deps import runtime_of
from core.errors import ClientError
from core.store.users import create_user, list_users, reset_password
from web.forms import form_fields
from web.nav import ADMINS
from web.render import page, translator

ADMIN_ONLY = {"roles": ADMINS}


def _users(request: Request[Any, Any, Any]) -> list[dict[str, Any]]:
    with runtime_of(request).sessions() as session:
        return [
            {
                "login": row.login,
                "display_name": row.display_name,
                "roles": ", ".join(row.roles),
                "customer_id": row.customer_id or "",
                "disabled": row.disabled,
            }
            for row in list_users(session)
        ]


async def _users_page(
    request: Request[Any, Any, Any], *, status: int = 200, **context: Any
) -> Response[Any]:
    users = await sync_to_thread(_users, request)
    context = {"error": None, "reset_error": None, "notice": None, "form": {}, **context}
    return page(request, "admin/users.html", status=status, users=users, **context)


@get("/admin/users", opt=ADMIN_ONLY)
async def users_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """Every user, a form to create one and one to reset a password."""
    return await _users_page(request)


@post("/admin/users", opt=ADMIN_ONLY, status_code=200)
async def users_create(request: Request[Any, Any, Any]) -> Response[Any]:
    """Create a user from the form; the core's refusal is shown above the form."""
    fields = await form_fields(request)
    runtime = runtime_of(request)
    roles = [r.strip() for r in fields.get("roles", "").split(",") if r.strip()]

    def create() -> None:
        with runtime.sessions.begin() as session:
            create_user(
                session,
                login=fields.get("login", "").strip(),
                display_name=fields.get("display_name", "").strip(),
                password=fields.get("password", ""),
                roles=roles,
                customer_id=fields.get("customer_id", "").strip() or None,
                now=runtime.clock(),
            )

    try:
        await sync_to_thread(create)
    except ClientError as exc:
        return await _users_page(request, status=422, error=exc.detail, form=fields)
    notice = translator(request)("user_created", login=fields.get("login", "").strip())
    return await _users_page(request, notice=notice)


@post("/admin/users/password", opt=ADMIN_ONLY, status_code=200)
async def users_reset(request: Request[Any, Any, Any]) -> Response[Any]:
    """Give a user a new password (their sessions end)."""
    fields = await form_fields(request)
    runtime = runtime_of(request)
    login = fields.get("login", "").strip()

    def reset() -> None:
        with runtime.sessions.begin() as session:
            reset_password(session, login, fields.get("password", ""), runtime.clock())

    try:
        await sync_to_thread(reset)
    except ClientError as exc:
        return await _users_page(request, status=422, reset_error=exc.detail)
    return await _users_page(request, notice=translator(request)("password_reset", login=login))


ADMIN_ROUTES = [users_page, users_create, users_reset]
