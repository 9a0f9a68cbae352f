"""The start: ``/`` sends a browser to the console or to sign in; ``/console`` is the home
page (links to the pages the user may open); ``/lang/{code}`` is the language switch."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.datastructures import Cookie
from litestar.params import PathParameter
from litestar.response import Redirect

from api.auth import EVERYONE
from web.auth import secure_cookies, signed_in
from web.forms import NextParam, local_path
from web.i18n import LANG_COOKIE, LANGUAGES
from web.render import page

HOME = "/console"
LangCode = Annotated[str, PathParameter(max_length=8)]
YEAR = 365 * 24 * 3600


@get("/", opt={"public": True}, sync_to_thread=False)
def root(request: Request[Any, Any, Any]) -> Redirect:
    """The console for a signed-in user, else the sign-in page."""
    return Redirect(HOME if signed_in(request) is not None else "/login")


@get(HOME, opt={"roles": EVERYONE}, sync_to_thread=False)
def console_home(request: Request[Any, Any, Any]) -> Response[Any]:
    """The home page: the pages this user may open."""
    return page(request, "home.html")


@get("/lang/{code:str}", opt={"public": True}, sync_to_thread=False)
def switch_language(
    request: Request[Any, Any, Any], code: LangCode, next: NextParam = None
) -> Redirect:
    """Remember the language chosen (a cookie) and go back to the page."""
    response = Redirect(local_path(next))
    if code in LANGUAGES:
        response.set_cookie(
            Cookie(
                key=LANG_COOKIE,
                value=code,
                path="/",
                max_age=YEAR,
                httponly=True,
                samesite="lax",
                secure=secure_cookies(request),
            )
        )
    return response


HOME_ROUTES = [root, console_home, switch_language]
