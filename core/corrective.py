"""Corrective actions (纠正措施) and problem classes, shared by survey problems and complaints:
the inputs that record, finish and close them, pure."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from core import limits
from core.errors import ConflictError

__all__ = [
    "ActionDone",
    "ActionView",
    "ActionsOpen",
    "Classify",
    "CloseProblem",
    "NewAction",
    "ProblemClass",
    "Subject",
    "SubjectAction",
]

Subject = Literal["survey_problem", "complaint"]
ProblemClass = Literal[
    "response-time",
    "resolution-time",
    "technical-skill",
    "attitude",
    "communication",
    "spare-parts",
    "process",
    "other",
]
"""How the quality department classifies a problem (our list: the handbook says 对问题分类
without naming classes)."""

Text = Annotated[str, Meta(min_length=1, max_length=limits.TEXT, pattern=limits.NO_NUL)]
Name = Annotated[str, Meta(min_length=1, max_length=limits.NAME, pattern=limits.NO_NUL)]


class ActionsOpen(ConflictError):
    """A problem or complaint closes only when every corrective action is done."""

    title = "corrective actions open"

    def __init__(self, what: str, open_ids: list[int]) -> None:
        ids = ", ".join(str(i) for i in open_ids)
        super().__init__(f"{what} still has open corrective actions ({ids}): finish them first")
        self.open_ids = open_ids


class Input(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of these inputs: unknown fields refused."""


class Classify(Input, frozen=True, kw_only=True):
    classification: ProblemClass
    note: Annotated[str, Meta(max_length=limits.TEXT, pattern=limits.NO_NUL)] | None = None


class NewAction(Input, frozen=True, kw_only=True):
    """A corrective action: what, who owns it, due when (optional)."""

    text: Text
    owner: Name
    due_on: Annotated[datetime, Meta(tz=True)] | None = None


class ActionDone(Input, frozen=True, kw_only=True):
    result: Text


class CloseProblem(Input, frozen=True, kw_only=True):
    """Close a survey problem or a complaint: the conclusion, and optionally the improvement
    reported back to the customer (a customer-visible event)."""

    conclusion: Text
    improvement: Text | None = None


class ActionView(msgspec.Struct, frozen=True, kw_only=True):
    """A corrective action (纠正措施) and whether it is done."""

    id: int
    text: str
    owner: str
    due_on: datetime | None
    created_at: datetime
    created_by: str
    done_at: datetime | None
    result: str | None


class SubjectAction(ActionView, frozen=True, kw_only=True):
    """An action as management sees it (通报总经理室): whose it is too."""

    subject: str
    subject_id: int
    case_number: str
