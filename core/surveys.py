"""Satisfaction surveys (R-QUAL), pure: the link's token, what an answer carries, what the
survey page and the quality department see, and their errors.

A survey goes out when a case closes (core.desk.surveys): its link
``{public_url}/survey/{token}`` carries a 256-bit random token; only its SHA-256 is stored.
The link answers one survey of one case, once, until it expires. Scores: 1 very dissatisfied,
2 dissatisfied, 3 neutral (一般), 4 satisfied, 5 very satisfied; 2 or below opens a survey
problem for the quality department (质量部).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from core import limits
from core.corrective import ActionView
from core.errors import ConflictError, InvalidField

__all__ = [
    "LOW_SCORE",
    "SCORES",
    "SURVEY_TEMPLATE",
    "ProblemStatus",
    "SurveyAnswer",
    "SurveyClosed",
    "SurveyForm",
    "SurveyProblemView",
    "SurveyView",
    "check_score",
    "hash_token",
    "new_token",
    "survey_link",
]

LOW_SCORE = 2  # this score or below opens a survey problem
SURVEY_TEMPLATE = "survey_request"  # plugins/email_notify templates, plugins/sms_notify
SCORES = {
    1: "very dissatisfied",
    2: "dissatisfied",
    3: "neutral",
    4: "satisfied",
    5: "very satisfied",
}
TOKEN_BYTES = 32  # 256 bits from the OS's CSPRNG
ProblemStatus = Literal["open", "closed"]

Score = Annotated[int, Meta(ge=1, le=5, description="1 very dissatisfied … 5 very satisfied")]
Comment = Annotated[str, Meta(max_length=limits.TEXT, pattern=limits.NO_NUL)]
Name = Annotated[str, Meta(min_length=1, max_length=limits.NAME, pattern=limits.NO_NUL)]
Instant = Annotated[datetime, Meta(tz=True)]


def new_token() -> str:
    """A fresh link token: 256 random bits, URL-safe (43 characters)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """What the database keeps of a token (SHA-256, hex): enough to find it, not to forge it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def survey_link(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/survey/{token}"


def check_score(score: object, field: str = "$.score") -> int:
    """The score if it is an integer 1..5, else InvalidField naming ``field``."""
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise InvalidField(field, f"a score is a whole number from 1 to 5, not {score!r}")
    return score


class SurveyClosed(ConflictError):
    """The survey can no longer be answered through this link: already answered, expired,
    or withdrawn because the case was re-opened. ``reason`` says which."""

    title = "survey closed"

    def __init__(self, reason: str) -> None:
        super().__init__(f"this survey link can no longer be used: {reason}")
        self.reason = reason


class SurveyAnswer(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The customer's answer on the survey page."""

    score: Score
    comment: Comment | None = None


class SurveyForm(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The score the customer signed on the technical service form (技术服务单), entered by
    the engineer: who signed, when."""

    score: Score
    comment: Comment | None = None
    signed_by: Name
    signed_at: Instant


class SurveyView(msgspec.Struct, frozen=True, kw_only=True):
    """What the survey page shows about the case it rates (nothing internal)."""

    case_number: str
    customer: str
    summary: str
    closed_at: datetime
    expires_at: datetime
    answered: bool
    usable: bool  # can still be answered through this link
    scores: dict[int, str] = msgspec.field(default_factory=lambda: dict(SCORES))


class SurveyProblemView(msgspec.Struct, frozen=True, kw_only=True):
    """A survey problem as the quality department sees it, with its corrective actions."""

    id: int
    case_number: str
    contract_id: str
    score: int
    comment: str | None
    status: str
    classification: str | None
    opened_at: datetime
    closed_at: datetime | None
    conclusion: str | None
    actions: list[ActionView]
