"""The knowledge base on the console (docs/knowledge.md, "Surfaces"; docs/web.md): what the
case page's knowledge part shows (the past fixes for the case's device model and category
when the page opens; the search box's results, which the case page's
``/console/cases/{number}/knowledge`` route serves), and one entry's page
(``/console/knowledge/{id}``), which an article's result links to (a harvested case's result
links to its case).

Everything reads through the desk calls the API uses (``related_fixes``,
``search_knowledge``, ``knowledge_entry``) with the viewer's visibility (the API's
``customer_scope``); the pages are for the people working cases (the API's
``RELATED_VIEWERS``), a customer is refused like on every console page."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.concurrency import sync_to_thread
from litestar.params import PathParameter

from api.auth import customer_scope
from api.deps import runtime_of
from api.knowledge import RELATED_VIEWERS
from core import limits
from core.store.knowledge import KbHit
from core.store.tokens import Principal
from web.auth import page_principal
from web.console_format import Formats
from web.render import page, translator

KB_RESULTS = 10  # results the search box shows
KB_TARGET = "kb-results"  # the element htmx swaps (its requests name it in HX-Target)
EntryId = Annotated[int, PathParameter(ge=1, le=limits.MAX_ID)]


def may_see_knowledge(principal: Principal) -> bool:
    """The people working cases (the API's related-fixes roles) see the knowledge part."""
    return principal.has_any(RELATED_VIEWERS)


def related_context(request: Request[Any, Any, Any], number: str) -> dict[str, Any]:
    """The case page's knowledge part as the page opens: the case's past fixes (nothing for
    a viewer outside ``RELATED_VIEWERS``, e.g. an admin)."""
    if not may_see_knowledge(page_principal(request)):
        return {"kb_shown": False}
    related = runtime_of(request).desk.related_fixes(number)
    return {"kb_shown": True, "related": related, "kb_query": "", "kb_hits": None}


def search_hits(request: Request[Any, Any, Any], query: str) -> list[KbHit]:
    """The search box's results, as the viewer may see them (none for an empty query)."""
    scope = customer_scope(page_principal(request))
    desk = runtime_of(request).desk
    return desk.search_knowledge(query, customer_id=scope, limit=KB_RESULTS) if query else []


def results_fragment(
    request: Request[Any, Any, Any], query: str, hits: list[KbHit]
) -> Response[Any]:
    """The results alone: what htmx swaps into the case page."""
    fmt = Formats(runtime_of(request).settings.timezone, translator(request))
    return page(request, "console/_kb_results.html", fmt=fmt, kb_query=query, kb_hits=hits)


@get("/console/knowledge/{entry_id:int}", opt={"roles": RELATED_VIEWERS})
async def knowledge_page(request: Request[Any, Any, Any], entry_id: EntryId) -> Response[Any]:
    """One knowledge-base entry in full (404 for one the viewer may not see)."""
    runtime = runtime_of(request)
    scope = customer_scope(page_principal(request))
    entry = await sync_to_thread(runtime.desk.knowledge_entry, entry_id, customer_id=scope)
    fmt = Formats(runtime.settings.timezone, translator(request))
    return page(request, "console/knowledge.html", entry=entry, fmt=fmt)


KNOWLEDGE_ROUTES = [knowledge_page]
