"""Complaints (投诉) as their own record, pure: statuses, the complaint manager's commands and
what a complaint shows.

A complaint is filed as a case of request type ``complaint`` (its clocks
``complaint_first_reply`` ≤ 2 h and ``complaint_resolution`` ≤ 15 days are the contract's
``complaint`` targets on its calendars, escalating through the ladder like any clock) plus a
complaint record linking the cases it is about (core.desk.complaints). The complaint manager
replies, assigns, investigates, resolves and closes; each is an event of the complaint case.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

import msgspec
from msgspec import Meta

from core import limits
from core.case import RequestType
from core.commands import OpenCase
from core.corrective import ActionView
from core.errors import InvalidField

__all__ = [
    "AssignComplaint",
    "ComplaintStatus",
    "ComplaintView",
    "FileComplaint",
    "Investigate",
    "LinkCases",
    "Reply",
    "ResolveComplaint",
]

Text = Annotated[str, Meta(min_length=1, max_length=limits.TEXT, pattern=limits.NO_NUL)]
Engineer = Annotated[str, Meta(min_length=1, max_length=limits.ENGINEER, pattern=limits.NO_NUL)]
CaseNumber = Annotated[
    str, Meta(min_length=1, max_length=32, pattern=r"^[A-Z][A-Z0-9]{0,15}-\d{4}-\d{6,9}$")
]


class ComplaintStatus(StrEnum):
    RECEIVED = "received"
    REPLIED = "replied"  # first reply given (the 2-hour clock)
    INVESTIGATING = "investigating"
    RESOLVED = "resolved"  # the 15-day clock stops here
    CLOSED = "closed"  # every corrective action done


OPEN_COMPLAINT = frozenset(
    {ComplaintStatus.RECEIVED, ComplaintStatus.REPLIED, ComplaintStatus.INVESTIGATING}
)


class Input(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base: unknown fields refused."""


class Reply(Input, frozen=True, kw_only=True):
    """The first reply to the complainant (初次回复处理意见): stops the 2-hour clock."""

    reply: Text


class AssignComplaint(Input, frozen=True, kw_only=True):
    assignee: Engineer


class Investigate(Input, frozen=True, kw_only=True):
    finding: Text


class ResolveComplaint(Input, frozen=True, kw_only=True):
    resolution: Text


class LinkCases(Input, frozen=True, kw_only=True):
    """The cases the complaint is about (the customer's own)."""

    cases: Annotated[list[CaseNumber], Meta(min_length=1, max_length=50)]


class FileComplaint(Input, frozen=True, kw_only=True):
    """A complaint: its case (request type ``complaint``, opened as any case) and the
    customer's cases it is about."""

    case: OpenCase
    about: Annotated[list[CaseNumber], Meta(max_length=50)] = []

    def __post_init__(self) -> None:
        if self.case.request_type != RequestType.COMPLAINT:
            raise InvalidField(
                "$.case.request_type", "a complaint is filed as request type complaint"
            )


class ComplaintView(msgspec.Struct, frozen=True, kw_only=True):
    """A complaint with its case's clocks summarised and its corrective actions."""

    id: int
    case_number: str  # the complaint case: clocks, escalation, history
    contract_id: str
    customer_id: str
    summary: str
    status: str
    owner: str | None
    assignee: str | None
    received_at: datetime
    replied_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    resolution: str | None
    about: list[str]
    clocks: dict[str, str]  # kind → state of the complaint case's clocks
    actions: list[ActionView]
