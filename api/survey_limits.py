"""The survey link's rate limit, shared by ``/api/v1/surveys/{token}`` and the ``/survey/{token}``
page: a lookup or an answer runs only while neither the client address nor the token holds its
limit of misses (core.store.attempts, the table failed sign-ins use, so every server process
counts the same ones); an unknown token or a refused answer is one more miss."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from litestar.connection import ASGIConnection

from core.errors import ClientError
from core.runtime import Runtime
from core.settings import Settings
from core.store.attempts import SurveyLimits, check_survey, record_survey_miss

T = TypeVar("T")


def survey_limits(settings: Settings) -> SurveyLimits:
    return SurveyLimits(
        window=timedelta(seconds=settings.survey_window_seconds),
        per_address=settings.survey_max_failures_per_address,
        per_token=settings.survey_max_failures_per_token,
    )


def client_address(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    return connection.client.host if connection.client else "unknown"


def limited(runtime: Runtime, token: str, address: str, call: Callable[[], T]) -> T:
    """``call()`` (a desk lookup or answer for ``token``) unless ``address`` or ``token`` is
    throttled (TooManySurveyAttempts, 429); a client error it raises counts as a miss."""
    limits = survey_limits(runtime.settings)
    with runtime.sessions.begin() as session:
        check_survey(session, token, address, runtime.clock(), limits)
    try:
        return call()
    except ClientError:
        with runtime.sessions.begin() as session:
            record_survey_miss(session, token, address, runtime.clock(), limits)
        raise
