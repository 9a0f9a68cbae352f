"""The survey link's rate limit (docs/quality.md): unknown tokens and refused answers count per
client address and per token in the table failed sign-ins use, so every process sharing the
database counts the same misses; past the limit the link answers 429 with Retry-After, on
both back ends."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from test_api_cases import call
from test_quality_api import SURVEYS, story

from conftest import Api
from core.store import orm
from core.store.attempts import (
    SurveyLimits,
    TooManySurveyAttempts,
    check_survey,
    record_survey_miss,
    survey_scopes,
)
from core.store.db import make_engine, make_sessionmaker
from core.store.web_sessions import LoginLimits, clear_failures, record_failure
from core.surveys import new_token

NOW = datetime(2026, 10, 14, 2, 0, tzinfo=UTC)
LIMITS = SurveyLimits(window=timedelta(minutes=15), per_address=4, per_token=2)


def test_misses_recorded_by_one_process_throttle_another(db_url: str) -> None:
    first, second = make_engine(db_url), make_engine(db_url)  # two server processes
    try:
        a, b = make_sessionmaker(first), make_sessionmaker(second)
        for minute, guess in enumerate(new_token() for _ in range(4)):
            with b.begin() as session:
                check_survey(session, guess, "10.0.0.1", NOW, LIMITS)
            with a.begin() as session:
                record_survey_miss(
                    session, guess, "10.0.0.1", NOW + timedelta(minutes=minute), LIMITS
                )
        with b.begin() as session:
            with pytest.raises(TooManySurveyAttempts, match="try again in 11 minutes") as refused:
                check_survey(session, new_token(), "10.0.0.1", NOW + timedelta(minutes=4), LIMITS)
            assert refused.value.retry_after == 11 * 60
            check_survey(session, new_token(), "10.0.0.2", NOW, LIMITS)  # others are not held up
            # the first miss leaves the window after 15 minutes
            check_survey(
                session, new_token(), "10.0.0.1", NOW + timedelta(minutes=15, seconds=1), LIMITS
            )
    finally:
        first.dispose()
        second.dispose()


def test_one_token_is_throttled_from_any_address_and_stored_hashed(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        sessions = make_sessionmaker(engine)
        token = new_token()
        with sessions.begin() as session:
            record_survey_miss(session, token, "10.0.0.1", NOW, LIMITS)
            record_survey_miss(session, token, "10.0.0.2", NOW, LIMITS)
        with sessions.begin() as session:
            with pytest.raises(TooManySurveyAttempts):
                check_survey(session, token, "10.0.0.3", NOW, LIMITS)
            scopes = set(session.scalars(select(orm.LoginFailure.scope)))
        assert survey_scopes(token, "10.0.0.3")[1] in scopes
        assert not any(token in s for s in scopes)  # the credential is not kept
        assert f"survey-token:{hashlib.sha256(token.encode()).hexdigest()}" in scopes
    finally:
        engine.dispose()


def test_sign_in_and_survey_purge_only_their_own_misses(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        sessions = make_sessionmaker(engine)
        long = SurveyLimits(window=timedelta(hours=2), per_address=1, per_token=9)
        short = LoginLimits(window=timedelta(minutes=15), per_login=3, per_address=5)
        with sessions.begin() as session:
            record_survey_miss(session, "t", "10.0.0.1", NOW, long)
            record_failure(session, "wang", "10.0.0.1", NOW)
            later = NOW + timedelta(hours=1)
            clear_failures(session, "li", later, short)  # the sign-ins' window has passed
            scopes = list(session.scalars(select(orm.LoginFailure.scope)))
            assert scopes == [survey_scopes("t", "10.0.0.1")[0], survey_scopes("t", "")[1]]
            with pytest.raises(TooManySurveyAttempts):
                check_survey(session, "u", "10.0.0.1", later, long)
    finally:
        engine.dispose()


def test_guessing_tokens_through_the_api_is_refused_with_retry_after(api: Api) -> None:
    _, token = story(api)
    limit = api.runtime.settings.survey_max_failures_per_address
    for _ in range(limit):
        call(api, "GET", f"{SURVEYS}/{new_token()}", expect=404)
    refused = call(api, "GET", f"{SURVEYS}/{new_token()}", expect=429)
    assert refused.json()["title"] == "too many survey attempts"
    assert int(refused.headers["Retry-After"]) == 15 * 60
    # the address is held up, even with the right token, until the first miss is 15 min old
    call(api, "POST", f"{SURVEYS}/{token}", json={"score": 5}, expect=429)
    api.now += timedelta(minutes=15, seconds=1)
    call(api, "POST", f"{SURVEYS}/{token}", json={"score": 5}, expect=200)


def test_refused_answers_on_one_token_are_limited(api: Api) -> None:
    _, token = story(api)
    call(api, "POST", f"{SURVEYS}/{token}", json={"score": 5}, expect=200)
    for _ in range(api.runtime.settings.survey_max_failures_per_token):
        call(api, "POST", f"{SURVEYS}/{token}", json={"score": 4}, expect=410)
    refused = call(api, "GET", f"{SURVEYS}/{token}", expect=429)
    assert "Retry-After" in refused.headers
