"""Who is signed in, what they may open, and the CSRF check of every unsafe request.

``web_guard`` runs before every page handler (web/routes.py): it resolves the session cookie
to the same ``Principal`` the API's bearer tokens resolve to, requires one of the handler's
``opt["roles"]`` (default: staff, as the API), and checks the CSRF token of POST/PUT/PATCH/
DELETE. Handlers then call ``signed_in(request)`` / ``page_principal(request)``."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Any

from litestar import Request
from litestar.concurrency import sync_to_thread
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from api.auth import STAFF
from api.deps import runtime_of
from core.errors import Forbidden
from core.settings import Settings
from core.store.tokens import Principal, spelled
from core.store.web_sessions import (
    CsrfRefused,
    LoginLimits,
    SessionPolicy,
    SignedIn,
    resume_session,
)

SESSION_COOKIE = "ct_session"
CSRF_COOKIE = "ct_csrf"  # the signed-out forms' token (sign-in): double-submit cookie
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"  # htmx requests send it (base.html hx-headers)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class NotSignedIn(Exception):
    """A page needs a signed-in user and there is none: answered with a redirect."""


def session_policy(settings: Settings) -> SessionPolicy:
    return SessionPolicy(
        lifetime=timedelta(seconds=settings.web_session_seconds),
        idle=timedelta(seconds=settings.web_idle_seconds),
    )


def login_limits(settings: Settings) -> LoginLimits:
    return LoginLimits(
        window=timedelta(seconds=settings.login_window_seconds),
        per_login=settings.login_max_failures,
        per_address=settings.login_max_failures_per_address,
    )


def _resume(connection: ASGIConnection[Any, Any, Any, Any]) -> SignedIn | None:
    runtime = runtime_of(connection)
    with runtime.sessions.begin() as session:
        return resume_session(
            session,
            connection.cookies.get(SESSION_COOKIE),
            runtime.clock(),
            session_policy(runtime.settings),
        )


async def web_guard(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Resolve the session; require the handler's roles unless ``opt["public"]``; check CSRF."""
    signed = await sync_to_thread(_resume, connection)
    connection.state.signed_in = signed
    if not handler.opt.get("public"):
        if signed is None:
            raise NotSignedIn()
        allowed = handler.opt.get("roles", STAFF)
        if not signed.principal.has_any(allowed):
            raise Forbidden(
                f"this page needs one of the roles {spelled(allowed)}; "
                f"you have {signed.principal.role_names}"
            )
    if isinstance(connection, Request) and connection.method not in SAFE_METHODS:
        await _check_csrf(connection, signed)


async def _check_csrf(
    connection: ASGIConnection[Any, Any, Any, Any], signed: SignedIn | None
) -> None:
    expected = signed.csrf_token if signed else connection.cookies.get(CSRF_COOKIE)
    sent = connection.headers.get(CSRF_HEADER)
    if sent is None and isinstance(connection, Request):
        form = await connection.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise CsrfRefused("the form's CSRF token is missing or wrong; reload the page")


def signed_in(connection: ASGIConnection[Any, Any, Any, Any]) -> SignedIn | None:
    """The session ``web_guard`` found (None on a public page nobody is signed in to)."""
    return getattr(connection.state, "signed_in", None)


def page_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The signed-in user as the API's ``Principal`` (roles, customer binding, ``actor``):
    pass it to the same core checks and use cases the API handlers call."""
    signed = signed_in(connection)
    if signed is None:
        raise NotSignedIn()
    return signed.principal


def csrf_token_for(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The token a page's forms carry: the session's, or (signed out) the CSRF cookie's,
    made here when the browser has none (``set_cookies`` sets it on the response)."""
    signed = signed_in(connection)
    if signed is not None:
        return signed.csrf_token
    token = connection.cookies.get(CSRF_COOKIE)
    if not token or len(token) > 100:
        token = secrets.token_urlsafe(32)
        connection.state.new_csrf_cookie = token
    return token


def secure_cookies(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """Secure cookies when the request came over https, or always by the setting."""
    settings: Settings = runtime_of(connection).settings
    return connection.url.scheme == "https" or settings.web_secure_cookies
