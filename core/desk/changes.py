"""Major change review (R-MAINT 专家审核评估制度; docs/maintenance.md): a change plan on a case
(upgrade, migration, optimisation); a major one is reviewed by the expert group (approved or
rejected, by whom and when: the review event's actor and time) and may be carried out only
after an approval. Who may review is the route's role (``expert-group``), not the desk's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.commands import ImplementChange, ProposeChange, ReviewChange
from core.desk.base import Receipt
from core.desk.errors import ChangeNotApproved, InvalidCommand
from core.desk.onsite import OnsiteCommands
from core.errors import ConflictError
from core.events import ChangeImplemented, ChangeProposed, ChangeReviewed
from core.store import orm

PROPOSED, REVIEWED, IMPLEMENTED = "change_proposed", "change_reviewed", "change_implemented"


class ChangeCommands(OnsiteCommands):
    """Propose, review, implement."""

    def propose_change(
        self, number: str, cmd: ProposeChange, *, actor: str, now: datetime
    ) -> Receipt:
        """A change plan; its event's seq names it in the review and the implementation."""
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            self._require_open(case, "propose a change")
            refs = self._attachment_refs(session, case, cmd.attachments)
            body = ChangeProposed(
                title=cmd.title,
                change_kind=cmd.change_kind,
                major=cmd.major,
                plan=cmd.plan,
                attachments=refs,
            )
            events.append(self._record(session, case, body, actor, now, "customer"))
            return self._receipt(session, case, events)

    def review_change(
        self, number: str, cmd: ReviewChange, *, actor: str, now: datetime
    ) -> Receipt:
        """The expert group's decision on a major change; once per change."""
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            self._require_open(case, "review a change")
            state = change_state(session, case, cmd.change)
            if not state["major"]:
                raise InvalidCommand(
                    f"case {number}: change #{cmd.change} is not a major change: it needs no "
                    "expert review"
                )
            if state["review"] is not None:
                review = state["review"]
                raise ConflictError(
                    f"case {number}: change #{cmd.change} was already {review['decision']} by "
                    f"{review['actor']} at {review['at']}"
                )
            body = ChangeReviewed(
                change=cmd.change, decision=cmd.decision, reviewer=actor, comment=cmd.comment
            )
            events.append(self._record(session, case, body, actor, now, "customer"))
            return self._receipt(session, case, events)

    def implement_change(
        self, number: str, cmd: ImplementChange, *, actor: str, now: datetime
    ) -> Receipt:
        """The change carried out: a major one only after the expert group approved it
        (409 ``change-not-approved`` with the reason otherwise)."""
        with self._unit() as (session, events):
            case = self._load(session, number, cmd)
            self._require_open(case, "implement a change")
            state = change_state(session, case, cmd.change)
            if state["implemented"]:
                raise ConflictError(f"case {number}: change #{cmd.change} was already carried out")
            approval = _approval(number, cmd.change, state)
            body = ChangeImplemented(change=cmd.change, note=cmd.note, approval=approval)
            events.append(self._record(session, case, body, actor, now, "customer"))
            return self._receipt(session, case, events)


def _approval(number: str, change: int, state: dict[str, Any]) -> int | None:
    """The seq of the approving review of a major change; None for a minor one."""
    if not state["major"]:
        return None
    review = state["review"]
    if review is None:
        raise ChangeNotApproved(
            f"case {number}: change #{change} is a major change and the expert group has not "
            "reviewed it: it may be carried out only after their approval (专家审核评估制度)"
        )
    if review["decision"] != "approved":
        raise ChangeNotApproved(
            f"case {number}: change #{change} was rejected by {review['actor']} at "
            f"{review['at']}: {review['comment']}"
        )
    return int(review["seq"])


def change_state(session: Session, case: orm.Case, change: int) -> dict[str, Any]:
    """What the history says of the change proposed at seq ``change``."""
    rows = session.execute(
        select(
            orm.CaseEvent.seq,
            orm.CaseEvent.kind,
            orm.CaseEvent.payload,
            orm.CaseEvent.actor,
            orm.CaseEvent.at,
        )
        .where(
            orm.CaseEvent.case_id == case.id,
            orm.CaseEvent.kind.in_((PROPOSED, REVIEWED, IMPLEMENTED)),
        )
        .order_by(orm.CaseEvent.seq)
    ).all()
    proposal = next((r for r in rows if r.seq == change and r.kind == PROPOSED), None)
    if proposal is None:
        raise InvalidCommand(f"case {case.number} has no change proposed at event #{change}")
    review = next(
        (r for r in rows if r.kind == REVIEWED and r.payload.get("change") == change), None
    )
    return {
        "major": bool(proposal.payload.get("major")),
        "review": None
        if review is None
        else {
            "seq": review.seq,
            "decision": review.payload["decision"],
            "comment": review.payload.get("comment", ""),
            "actor": review.actor,
            "at": review.at.isoformat(),
        },
        "implemented": any(
            r.kind == IMPLEMENTED and r.payload.get("change") == change for r in rows
        ),
    }
