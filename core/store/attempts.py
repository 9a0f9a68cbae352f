"""The database-stored limiter of failed attempts: failed sign-ins (core.store.web_sessions)
and missed survey links (``survey_*`` below) are rows of ``login_failures``, one per scope they
count against, so every server process sharing the database counts the same ones.

A scope is a string such as ``address:10.0.0.1`` or ``survey-token:<sha-256>``; a request is
refused (``TooManyAttempts``, 429 with ``Retry-After``) while one of its scopes holds its limit
of failures in the window, until the oldest of them leaves it. No credential is stored: a
survey token counts under its SHA-256.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.errors import ClientError
from core.store import orm

SURVEY = "survey-"  # the prefix of the survey link's scopes


class TooManyAttempts(ClientError):
    """Sign-in refused for a while after too many failures (per login or per address)."""

    title = "too many sign-in attempts"

    def __init__(self, detail: str, retry_after: int = 60) -> None:
        super().__init__(detail)
        self.retry_after = retry_after  # seconds

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(getattr(self, "retry_after", 60) / 60))


class TooManySurveyAttempts(TooManyAttempts):
    """Survey links refused for a while after too many unknown or refused tokens from one
    client address, or too many refusals of one token (guessing is throttled)."""

    title = "too many survey attempts"


def wait_seconds(
    session: Session, limits: Sequence[tuple[str, int]], window: timedelta, now: datetime
) -> int | None:
    """Seconds until every ``(scope, limit)`` holds fewer than its limit of failures in the
    window; None when none is at its limit now."""
    since = now - window
    for scope, limit in limits:
        count, oldest = session.execute(
            select(func.count(), func.min(orm.LoginFailure.at)).where(
                orm.LoginFailure.scope == scope, orm.LoginFailure.at > since
            )
        ).one()
        if count >= limit and oldest is not None:
            return max(1, math.ceil((oldest + window - now).total_seconds()))
    return None


def record(session: Session, scopes: Sequence[str], now: datetime) -> None:
    """One failure against each scope."""
    for scope in scopes:
        session.add(orm.LoginFailure(scope=scope, at=now))


def forget(session: Session, scope: str) -> None:
    session.execute(delete(orm.LoginFailure).where(orm.LoginFailure.scope == scope))


def purge(session: Session, before: datetime, *, survey: bool) -> None:
    """The survey scopes' (or the other scopes') failures at or before ``before`` go: each
    limiter purges its own, by its own window."""
    prefixed = orm.LoginFailure.scope.startswith(SURVEY, autoescape=True)
    session.execute(
        delete(orm.LoginFailure).where(
            orm.LoginFailure.at <= before, prefixed if survey else ~prefixed
        )
    )


# --- the survey link ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SurveyLimits:
    """The settings (core.settings: survey_window_seconds, ...)."""

    window: timedelta
    per_address: int
    per_token: int


def survey_scopes(token: str, address: str) -> tuple[str, str]:
    digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{SURVEY}address:{address[:150]}", f"{SURVEY}token:{digest}"


def check_survey(
    session: Session, token: str, address: str, now: datetime, limits: SurveyLimits
) -> None:
    """TooManySurveyAttempts while this address or this token holds its limit of misses."""
    by_address, by_token = survey_scopes(token, address)
    wait = wait_seconds(
        session,
        ((by_address, limits.per_address), (by_token, limits.per_token)),
        limits.window,
        now,
    )
    if wait is not None:
        raise TooManySurveyAttempts(
            f"too many attempts on survey links; try again in {math.ceil(wait / 60)} minutes",
            retry_after=wait,
        )


def record_survey_miss(
    session: Session, token: str, address: str, now: datetime, limits: SurveyLimits
) -> None:
    """An unknown token, or an answer refused: one miss for the address and the token; the
    survey scopes' misses older than the window go."""
    record(session, survey_scopes(token, address), now)
    purge(session, now - limits.window, survey=True)
