"""The sign-in page, signing in (rate-limited) and signing out (docs/web.md)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.concurrency import sync_to_thread
from litestar.datastructures import Cookie
from litestar.response import Redirect

from api.deps import runtime_of
from core.store.attempts import TooManyAttempts
from core.store.users import check_password
from core.store.web_sessions import (
    check_attempts,
    clear_failures,
    end_session,
    purge_sessions,
    record_failure,
    start_session,
)
from web.auth import SESSION_COOKIE, login_limits, secure_cookies, session_policy, signed_in
from web.forms import NextParam, form_fields, local_path
from web.render import page, translator, with_cookies

PUBLIC = {"public": True}


@get("/login", opt=PUBLIC, sync_to_thread=False)
def login_page(request: Request[Any, Any, Any], next: NextParam = None) -> Response[Any]:
    """The sign-in form (a signed-in user goes on to ``next``)."""
    if signed_in(request) is not None:
        return Redirect(local_path(next))
    return page(request, "login.html", next=local_path(next), error=None, login="")


@post("/login", opt=PUBLIC, status_code=303)
async def login_submit(request: Request[Any, Any, Any]) -> Response[Any]:
    """Check the password; a session cookie and a redirect, or the form again with why."""
    fields = await form_fields(request)
    login, target = fields.get("login", "").strip(), local_path(fields.get("next"))
    address = request.client.host if request.client else "unknown"
    t = translator(request)
    try:
        session_id = await sync_to_thread(
            _sign_in, request, login, fields.get("password", ""), address
        )
    except TooManyAttempts as exc:
        error, status = t("too_many_attempts", minutes=exc.minutes), 429
        refused = page(request, "login.html", status=status, next=target, error=error, login=login)
        refused.headers["Retry-After"] = str(exc.retry_after)
        return refused
    if session_id is None:
        error = t("bad_credentials")
        return page(request, "login.html", status=401, next=target, error=error, login=login)
    response: Response[Any] = Redirect(target, status_code=303)
    settings = runtime_of(request).settings
    response.set_cookie(
        Cookie(
            key=SESSION_COOKIE,
            value=session_id,
            path="/",
            httponly=True,
            samesite="lax",
            secure=secure_cookies(request),
            max_age=int(settings.web_session_seconds),
        )
    )
    return with_cookies(request, response)


def _sign_in(
    request: Request[Any, Any, Any], login: str, password: str, address: str
) -> str | None:
    """The new session's id, None for a wrong login or password; TooManyAttempts first when
    the login or the address failed too often."""
    runtime = runtime_of(request)
    limits, now = login_limits(runtime.settings), runtime.clock()
    with runtime.sessions.begin() as session:
        check_attempts(session, login, address, now, limits)
        user = check_password(session, login, password)
        if user is None:
            record_failure(session, login, address, now)
            return None
        clear_failures(session, login, now, limits)
        purge_sessions(session, now, session_policy(runtime.settings))  # ended ones go
        return start_session(session, user, now, session_policy(runtime.settings))


@post("/logout", opt=PUBLIC, status_code=303)
async def logout(request: Request[Any, Any, Any]) -> Response[Any]:
    """End the session (its row is deleted) and forget the cookie."""
    runtime = runtime_of(request)

    def end() -> None:
        with runtime.sessions.begin() as session:
            end_session(session, request.cookies.get(SESSION_COOKIE))

    await sync_to_thread(end)
    response: Response[Any] = Redirect("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


SIGNIN_ROUTES = [login_page, login_submit, logout]
