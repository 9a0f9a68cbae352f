"""Server-side sessions of the web pages, and the failed sign-ins that rate-limit them
(through core.store.attempts, the limiter the survey link uses too).

The browser holds a random session id (cookie); the table holds its SHA-256, the user, the
session's CSRF token and its times. Failed sign-ins are rows too, so every server process
sharing the database counts the same ones (docs/web.md)."""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from core.errors import Forbidden
from core.store import attempts, orm
from core.store.attempts import TooManyAttempts
from core.store.tokens import Principal
from core.store.users import principal_of

TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most this often


class CsrfRefused(Forbidden):
    """An unsafe request (a form post) without the page's CSRF token, or with a wrong one."""

    title = "CSRF token missing or wrong"


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """The settings a session lives by (core.settings: web_session_seconds, ...)."""

    lifetime: timedelta
    idle: timedelta


@dataclass(frozen=True, slots=True)
class LoginLimits:
    window: timedelta
    per_login: int
    per_address: int


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A live session: who, and the CSRF token its forms carry."""

    principal: Principal
    login: str
    csrf_token: str


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def start_session(session: Session, user: orm.User, now: datetime, policy: SessionPolicy) -> str:
    """A new session for ``user``; returns the id the cookie carries (never stored)."""
    session_id = secrets.token_urlsafe(32)
    session.add(
        orm.WebSession(
            id_hash=_hash(session_id),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + policy.lifetime,
        )
    )
    session.flush()
    return session_id


def resume_session(
    session: Session, session_id: str | None, now: datetime, policy: SessionPolicy
) -> SignedIn | None:
    """The session of this id if it is live (not expired, not idle too long, its user
    enabled); marks it seen. None otherwise (an ended session's row is deleted)."""
    if not session_id or len(session_id) > 200:
        return None
    row = session.get(orm.WebSession, _hash(session_id))
    if row is None:
        return None
    user = session.get(orm.User, row.user_id)
    if (
        user is None
        or user.disabled
        or now >= row.expires_at
        or now - row.last_seen_at >= policy.idle
    ):
        end_session_by_hash(session, row.id_hash)
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return SignedIn(principal_of(user), user.login, row.csrf_token)


def end_session(session: Session, session_id: str | None) -> None:
    if session_id:
        end_session_by_hash(session, _hash(session_id))


def end_session_by_hash(session: Session, id_hash: str) -> None:
    session.execute(delete(orm.WebSession).where(orm.WebSession.id_hash == id_hash))


def purge_sessions(session: Session, now: datetime, policy: SessionPolicy) -> int:
    """Delete expired and idle sessions; returns how many."""
    result = session.execute(
        delete(orm.WebSession).where(
            (orm.WebSession.expires_at <= now) | (orm.WebSession.last_seen_at <= now - policy.idle)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


# --- rate limiting -----------------------------------------------------------------------------


def _scopes(login: str, address: str) -> tuple[str, str]:
    return f"login:{login.lower()[:150]}", f"address:{address[:150]}"


def check_attempts(
    session: Session, login: str, address: str, now: datetime, limits: LoginLimits
) -> None:
    """TooManyAttempts when this login or this address failed too often in the window."""
    scopes = zip(_scopes(login, address), (limits.per_login, limits.per_address), strict=True)
    wait = attempts.wait_seconds(session, list(scopes), limits.window, now)
    if wait is not None:
        raise TooManyAttempts(
            f"too many failed sign-ins; try again in {math.ceil(wait / 60)} minutes",
            retry_after=wait,
        )


def record_failure(session: Session, login: str, address: str, now: datetime) -> None:
    attempts.record(session, _scopes(login, address), now)


def clear_failures(session: Session, login: str, now: datetime, limits: LoginLimits) -> None:
    """After a successful sign-in: the login's failures are forgotten, and the sign-in scopes'
    failures older than the window go (the table stays small)."""
    attempts.forget(session, _scopes(login, "")[0])
    attempts.purge(session, now - limits.window, survey=False)
