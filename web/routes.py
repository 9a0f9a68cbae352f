"""The web pages as one litestar Router: ``web_guard`` before every handler, HTML error
pages, and the static files (CSS, vendored htmx) under /static. Pages of other modules are
added to ``PAGE_ROUTES``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Router
from litestar.static_files import create_static_files_router

from web.admin import ADMIN_ROUTES
from web.auth import web_guard
from web.board import BOARD_ROUTES
from web.case_knowledge import KNOWLEDGE_ROUTES
from web.case_page import CASE_ROUTES
from web.console_queues import QUEUE_ROUTES
from web.documents import DOCUMENT_ROUTES
from web.errors import EXCEPTION_HANDLERS
from web.home import HOME_ROUTES
from web.new_case import NEW_CASE_ROUTES
from web.portal import PORTAL_ROUTES
from web.portal_reports import PORTAL_REPORT_ROUTES
from web.signin import SIGNIN_ROUTES
from web.survey import SURVEY_ROUTES

STATIC = Path(__file__).resolve().parent / "static"
PAGE_ROUTES: list[Any] = [*HOME_ROUTES, *SIGNIN_ROUTES, *ADMIN_ROUTES]
# the agent and engineer console (docs/web.md "The console")
PAGE_ROUTES += [*QUEUE_ROUTES, *NEW_CASE_ROUTES, *CASE_ROUTES, *KNOWLEDGE_ROUTES]
PAGE_ROUTES += [*PORTAL_ROUTES, *PORTAL_REPORT_ROUTES, *SURVEY_ROUTES, *BOARD_ROUTES]
# the maintenance documents, for the portal and the case page (docs/documents.md)
PAGE_ROUTES += DOCUMENT_ROUTES


def web_routers() -> list[Router]:
    """The pages and the static files, for ``server.create_app``."""
    pages = Router(
        path="/",
        route_handlers=PAGE_ROUTES,
        guards=[web_guard],
        exception_handlers=EXCEPTION_HANDLERS,
        include_in_schema=False,
    )
    static = create_static_files_router(
        path="/static",
        directories=[STATIC],
        name="static",
        include_in_schema=False,
        cache_control=None,
    )
    return [pages, static]
