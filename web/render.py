"""Rendering a page: the Jinja2 templates of web/templates with what every page shows
(the language, the signed-in user, the navigation, the CSRF token), as an HTML response."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from litestar import Response
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie

from api.deps import runtime_of
from web.auth import CSRF_COOKIE, csrf_token_for, secure_cookies, signed_in
from web.i18n import LANG_COOKIE, Translator, choose
from web.nav import links_for

HTML = "text/html; charset=utf-8"


@cache
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("web", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def language(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    return choose(
        connection.cookies.get(LANG_COOKIE),
        connection.headers.get("accept-language", ""),
        runtime_of(connection).settings.web_default_language,
    )


def translator(connection: ASGIConnection[Any, Any, Any, Any]) -> Translator:
    return Translator(language(connection))


def page(
    connection: ASGIConnection[Any, Any, Any, Any],
    template: str,
    *,
    status: int = 200,
    **context: Any,
) -> Response[str]:
    """``template`` rendered with ``context`` and the common values: ``t`` (messages),
    ``lang``, ``user`` (SignedIn or None), ``nav``, ``csrf_token``, ``path``."""
    signed = signed_in(connection)
    common = {
        "t": translator(connection),
        "lang": language(connection),
        "user": signed,
        "nav": links_for(signed.principal if signed else None),
        "csrf_token": csrf_token_for(connection),
        "path": connection.url.path,
    }
    html = environment().get_template(template).render(**common, **context)
    response = Response(html, status_code=status, media_type=HTML)
    return with_cookies(connection, response)


def with_cookies(
    connection: ASGIConnection[Any, Any, Any, Any], response: Response[Any]
) -> Response[Any]:
    """Adds the signed-out CSRF cookie when the page made one; pages are never cached."""
    token = getattr(connection.state, "new_csrf_cookie", None)
    if token:
        response.set_cookie(
            Cookie(
                key=CSRF_COOKIE,
                value=token,
                path="/",
                httponly=True,
                samesite="lax",
                secure=secure_cookies(connection),
            )
        )
    response.headers["Cache-Control"] = "no-store"
    return response
