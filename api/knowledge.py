"""The knowledge base over HTTP (docs/knowledge.md): search, read, write and edit entries, and
the past fixes shown on a case. Customer tokens search and read public entries and their own
customer's; staff see every entry; engineers and managers write."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, patch, post
from litestar.params import JSONBody, PathParameter, QueryParameter

from api.auth import EVERYONE, authenticated, customer_scope
from api.cases import PREFIX, CaseNumber, case_access, case_roles
from api.deps import PrincipalDep, RuntimeDep
from api.schemas import problem_responses
from core import limits
from core.case import Category, Role
from core.commands import EditArticle, WriteArticle
from core.store.knowledge import KbArticle, KbHit

# who writes the knowledge base: the engineers who fix, the managers who oversee
WRITERS = (Role.ADMIN, Role.ENGINEER, Role.PROJECT_MANAGER, Role.SERVICE_MANAGER)
# who sees past fixes on a case: the people working it
RELATED_VIEWERS = (Role.AGENT, Role.ENGINEER, Role.PROJECT_MANAGER, Role.SERVICE_MANAGER)
MAX_RESULTS = 50

EntryId = Annotated[
    int, PathParameter(title="entry id", ge=1, le=limits.MAX_ID, description="`id` of an entry")
]
Query = Annotated[
    str,
    QueryParameter(
        min_length=1,
        max_length=limits.ADDRESS,
        pattern=limits.NO_NUL,
        description="words, Chinese or English: entries holding any of them, best first",
    ),
]
Model = Annotated[
    str | None,
    QueryParameter(max_length=limits.NAME, pattern=limits.NO_NUL, description="device model"),
]
Results = Annotated[int, QueryParameter(ge=1, le=MAX_RESULTS, description="at most (1..50)")]


class KnowledgeController(Controller):
    """Knowledge-base entries; every handler delegates to core.desk.knowledge."""

    path = f"{PREFIX}/knowledge"
    tags = ("knowledge",)
    guards = (authenticated,)

    @get(
        "/",
        operation_id="searchKnowledge",
        sync_to_thread=True,
        opt={"roles": EVERYONE},
        responses=problem_responses(400, 401),
    )
    def search(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        q: Query,
        model: Model = None,
        category: Annotated[Category | None, QueryParameter(description="service type")] = None,
        limit: Results = 10,
    ) -> list[KbHit]:
        """Search resolved cases' fixes and articles (customers: public entries and their own
        customer's, without the internal diagnosis of a case)."""
        return runtime.desk.search_knowledge(
            q,
            customer_id=customer_scope(principal),
            device_model=model,
            category=str(category) if category else None,
            limit=limit,
        )

    @get(
        "/{entry_id:int}",
        operation_id="getKnowledgeEntry",
        sync_to_thread=True,
        opt={"roles": EVERYONE},
        responses=problem_responses(401, 404),
    )
    def show(self, runtime: RuntimeDep, principal: PrincipalDep, entry_id: EntryId) -> KbArticle:
        """One entry in full (an entry a customer may not see is a 404, like a missing one)."""
        return runtime.desk.knowledge_entry(entry_id, customer_id=customer_scope(principal))

    @post(
        "/",
        operation_id="writeKnowledgeArticle",
        sync_to_thread=True,
        status_code=201,
        opt={"roles": WRITERS},
        responses=problem_responses(400, 401, 403, 413),
    )
    def write(
        self, runtime: RuntimeDep, principal: PrincipalDep, data: JSONBody[WriteArticle]
    ) -> KbArticle:
        """Write an article: `visibility` public, customer (with `customer_id`) or internal."""
        return runtime.desk.write_article(data, actor=principal.actor, now=runtime.clock())

    @patch(
        "/{entry_id:int}",
        operation_id="editKnowledgeEntry",
        sync_to_thread=True,
        opt={"roles": WRITERS},
        responses=problem_responses(400, 401, 403, 404, 413),
    )
    def edit(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        entry_id: EntryId,
        data: JSONBody[EditArticle],
    ) -> KbArticle:
        """Change the fields given of an entry (an article, or a resolved case's: e.g. make it
        public); it is indexed again."""
        return runtime.desk.edit_article(entry_id, data, actor=principal.actor, now=runtime.clock())


class RelatedFixesController(Controller):
    """Past fixes beside a case."""

    path = f"{PREFIX}/cases"
    tags = ("cases",)
    guards = (authenticated,)

    @get(
        "/{number:str}/related-fixes",
        operation_id="relatedFixes",
        sync_to_thread=True,
        guards=[case_access],
        opt=case_roles(*RELATED_VIEWERS),
        responses=problem_responses(401, 403, 404),
    )
    def related(self, runtime: RuntimeDep, number: CaseNumber) -> list[KbHit]:
        """Past fixes for the case's device model and category, best match to its summary
        first (the engineer's preparation: 查阅设备以往所发生过的问题的处理办法)."""
        return runtime.desk.related_fixes(number)
