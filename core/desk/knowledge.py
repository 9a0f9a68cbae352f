"""The knowledge base's commands (R-QUAL 客户服务知识库, docs/knowledge.md): a resolved case's
problem, cause and fix harvested in the resolving transaction, engineers' articles written and
edited, the backfill of cases resolved before, and the past fixes shown on a case.

A harvested entry: the problem is the case's summary (and the caller's description), the
cause the last confirmed diagnosis, the fix the resolution; its device model and category are
the case's. It is visible to staff and to the case's customer (``customer``); an engineer may
make it public by editing it. Reopening the case takes it out of search; resolving it again
writes the new fix over it.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.commands import EditArticle, WriteArticle
from core.desk.base import DeskBase
from core.errors import InvalidField
from core.store import orm
from core.store.history import events_of
from core.store.knowledge import (
    KbArticle,
    KbHit,
    article_view,
    case_entry,
    get_entry,
    index_terms,
    related,
    search,
    unharvested,
)

RELATED_LIMIT = 5


def _check_visibility(visibility: str, customer_id: str | None) -> None:
    if visibility == "customer" and not customer_id:
        raise InvalidField(
            "$.customer_id", "a customer-visible entry names its customer (customer_id)"
        )
    if visibility != "customer" and customer_id:
        raise InvalidField("$.customer_id", f"a {visibility} entry belongs to no customer")


class KnowledgeCommands(DeskBase):
    """Knowledge-base entries: harvested from cases, or written by engineers."""

    # --- harvesting -------------------------------------------------------------------------

    def _harvest(
        self,
        session: Session,
        case: orm.Case,
        actor: str,
        now: datetime,
        resolution: str | None = None,
    ) -> None:
        """Write (or rewrite) the entry of a case being resolved: same transaction."""
        problem, cause, fix = _story(session, case)
        fix = resolution or fix
        model = self._device_model(session, case)  # before the new row: a query autoflushes
        entry = case_entry(session, case.id)
        if entry is None:
            entry = orm.KbEntry(
                kind="case",
                case_id=case.id,
                case_number=case.number,
                customer_id=case.customer_id,
                visibility="customer",
                author=actor,
                created_at=now,
            )
            session.add(entry)
        entry.title = case.summary
        entry.problem, entry.cause, entry.fix = problem, cause, fix
        entry.device_model = model
        entry.category = case.category
        entry.active, entry.updated_at, entry.updated_by = True, now, actor
        entry.terms = index_terms(entry)

    def _device_model(self, session: Session, case: orm.Case) -> str | None:
        if not case.device_serial:
            return None
        row = session.scalar(select(orm.Device).where(orm.Device.serial == case.device_serial))
        if row is not None:
            return row.model
        lc = self.contracts.contracts.get(case.contract_id)
        device = self._device(session, lc, case.device_serial) if lc is not None else None
        return device.model if device is not None else None

    def backfill_knowledge(self, *, now: datetime, limit: int = 500) -> int:
        """Harvest resolved or closed cases that have no entry yet (cases resolved before the
        knowledge base existed); returns how many, at most ``limit`` per call."""
        with self.sessions.begin() as session:
            cases = unharvested(session, limit=limit)
            for case in cases:
                self._harvest(session, case, "system:kb-backfill", case.resolved_at or now)
            return len(cases)

    # --- articles ---------------------------------------------------------------------------

    def write_article(self, cmd: WriteArticle, *, actor: str, now: datetime) -> KbArticle:
        _check_visibility(cmd.visibility, cmd.customer_id)
        with self.sessions.begin() as session:
            entry = orm.KbEntry(
                kind="article",
                title=cmd.title,
                body=cmd.body,
                problem=cmd.problem,
                cause=cmd.cause,
                fix=cmd.fix,
                device_model=cmd.device_model,
                category=str(cmd.category) if cmd.category else None,
                visibility=cmd.visibility,
                customer_id=cmd.customer_id,
                active=True,
                author=actor,
                created_at=now,
                updated_at=now,
                updated_by=actor,
            )
            entry.terms = index_terms(entry)
            session.add(entry)
            session.flush()
            return article_view(entry)

    def edit_article(
        self, entry_id: int, cmd: EditArticle, *, actor: str, now: datetime
    ) -> KbArticle:
        """Change the fields given of any entry (a harvested case's too: e.g. to make it
        public once the customer's details are out of it)."""
        with self.sessions.begin() as session:
            entry = get_entry(session, entry_id)
            if entry.kind == "case" and cmd.customer_id is not msgspec.UNSET:
                raise InvalidField("$.customer_id", "a case's entry belongs to its customer")
            for name, value in msgspec.structs.asdict(cmd).items():
                if value is not msgspec.UNSET:
                    setattr(entry, name, str(value) if name == "category" and value else value)
            if entry.kind == "article":
                if entry.visibility != "customer" and cmd.customer_id is msgspec.UNSET:
                    entry.customer_id = None
                _check_visibility(entry.visibility, entry.customer_id)
            entry.updated_at, entry.updated_by = now, actor
            entry.terms = index_terms(entry)
            session.flush()
            return article_view(entry)

    # --- reading ----------------------------------------------------------------------------

    def search_knowledge(
        self,
        query: str,
        *,
        customer_id: str | None = None,
        device_model: str | None = None,
        category: str | None = None,
        limit: int = 10,
    ) -> list[KbHit]:
        with self.sessions() as session:
            return search(
                session,
                query,
                customer_id=customer_id,
                device_model=device_model,
                category=category,
                limit=limit,
            )

    def knowledge_entry(self, entry_id: int, *, customer_id: str | None = None) -> KbArticle:
        with self.sessions() as session:
            entry = get_entry(session, entry_id, customer_id=customer_id)
            return article_view(entry, customer_view=customer_id is not None)

    def related_fixes(self, number: str, *, limit: int = RELATED_LIMIT) -> list[KbHit]:
        """Past fixes for the case's device model and category (staff view): among its newest
        entries (``RELATED_WINDOW``), those whose text best matches the case's summary
        first, then the newest others."""
        with self.sessions() as session:
            case = self._load(session, number)
            model = self._device_model(session, case)
            return related(
                session,
                case.summary,
                device_model=model,
                category=case.category,
                exclude_case_id=case.id,
                limit=limit,
            )


def _story(session: Session, case: orm.Case) -> tuple[str, str | None, str | None]:
    """Problem, cause and fix from the case's history: the opening's summary and description,
    the last confirmed diagnosis, the last resolution."""
    problem, cause, fix = case.summary, None, None
    for event in events_of(session, case.id):
        payload = event.payload
        if event.kind == "opened" and payload.get("description"):
            problem = f"{case.summary}\n{payload['description']}"
        elif event.kind == "diagnosis_confirmed":
            cause = payload.get("finding")
        elif event.kind == "resolved":
            fix = payload.get("resolution")
    return problem, cause, fix
