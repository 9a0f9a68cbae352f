"""Errors on the pages are pages: a redirect to sign in, or an HTML page with the status the
API would answer (api/problems.py ``status_of``), never JSON and never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.response import Redirect

from api.problems import status_of
from core.errors import CasetrackError, Forbidden, NotFoundError
from core.store.web_sessions import CsrfRefused
from web.auth import NotSignedIn
from web.render import page, translator

log = logging.getLogger("casetrack.web")


def not_signed_in(request: Request[Any, Any, Any], exc: NotSignedIn) -> Response[Any]:
    """To the sign-in page, coming back here afterwards (htmx: the whole page goes)."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"/login?next={_quoted(target)}" if request.method == "GET" else "/login"
    if request.headers.get("hx-request"):
        return Response("", status_code=401, headers={"HX-Redirect": location})
    return Redirect(location, status_code=303)


def _quoted(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")


def error_page(request: Request[Any, Any, Any], exc: CasetrackError) -> Response[Any]:
    status = status_of(exc)
    if status >= 500:
        log.error("page %s failed: %s", request.url.path, exc.detail)
    t = translator(request)
    if isinstance(exc, CsrfRefused):
        message = t("csrf_refused")
    elif isinstance(exc, Forbidden):
        message = t("forbidden")
    elif isinstance(exc, NotFoundError):
        message = t("not_found")
    else:
        message = t("error")
    detail = exc.detail if status < 500 else ""
    return page(request, "error.html", status=status, message=message, detail=detail)


def http_error_page(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    t = translator(request)
    message = t("not_found") if exc.status_code == 404 else t("error")
    return page(request, "error.html", status=exc.status_code, message=message, detail="")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    NotSignedIn: not_signed_in,
    CasetrackError: error_page,
    HTTPException: http_error_page,
}
