"""Web users: people who sign in with a password (argon2), carrying roles and a customer
binding exactly as API tokens do (core.store.tokens); admins create them, reset their
passwords and disable them (``casetrack users``, the admin page)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core import limits
from core.errors import ClientError, ConflictError, NotFoundError
from core.store import orm
from core.store.tokens import Principal, TokenError, bound_roles, roles_of

MIN_PASSWORD = 10  # characters; the handbook is silent, NIST SP 800-63B asks for 8 at least
LOGIN_PATTERN = re.compile(r"^[A-Za-z0-9._@-]{1,100}$")
_HASHER = PasswordHasher()  # argon2id with the library's RFC 9106 "low memory" defaults
# verified against when the login is unknown, so both answers take the same time
_DUMMY_HASH = _HASHER.hash("not a password of anyone")


class UserError(ClientError):
    """A user cannot be created or changed as asked (a bad login, a short password...)."""

    title = "user not saved"


class UserExists(ConflictError):
    """A user with this login exists already."""

    title = "user exists"


def hash_password(password: str) -> str:
    _check_password(password)
    return _HASHER.hash(password)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD or len(password) > 1000 or "\x00" in password:
        raise UserError(f"a password is {MIN_PASSWORD}..1000 characters without NUL")


def _check_login(login: str) -> None:
    if not LOGIN_PATTERN.match(login):
        raise UserError(
            f"a login is 1..{limits.LOGIN} letters, digits and . _ @ -, not {login[:80]!r}"
        )


def _check_display_name(name: str) -> None:
    if not name.strip() or len(name) > limits.TOKEN_NAME or "\x00" in name:
        raise UserError(f"a display name is 1..{limits.TOKEN_NAME} characters without NUL")


def create_user(
    session: Session,
    *,
    login: str,
    display_name: str,
    password: str,
    roles: Iterable[str],
    now: datetime,
    customer_id: str | None = None,
) -> orm.User:
    """A new user; roles and customer are checked by the API tokens' rules."""
    _check_login(login)
    _check_display_name(display_name)
    try:
        wanted = bound_roles(roles, customer_id)
    except TokenError as exc:
        raise UserError(exc.detail) from None
    if find_user(session, login) is not None:
        raise UserExists(f"a user with login {login!r} exists already")
    row = orm.User(
        login=login,
        display_name=display_name,
        password_hash=hash_password(password),
        roles=sorted(role.snake for role in wanted),
        customer_id=customer_id,
        disabled=False,
        created_at=now,
        updated_at=now,
        password_changed_at=now,
    )
    session.add(row)
    session.flush()
    return row


def find_user(session: Session, login: str) -> orm.User | None:
    return session.scalars(select(orm.User).where(orm.User.login == login)).one_or_none()


def get_user(session: Session, login: str) -> orm.User:
    row = find_user(session, login)
    if row is None:
        raise NotFoundError(f"no user with login {login!r}")
    return row


def reset_password(session: Session, login: str, password: str, now: datetime) -> orm.User:
    """A new password; the user's sessions end (they sign in again)."""
    row = get_user(session, login)
    row.password_hash = hash_password(password)
    row.password_changed_at = row.updated_at = now
    _end_sessions(session, row.id)
    return row


def set_disabled(session: Session, login: str, disabled: bool, now: datetime) -> orm.User:
    """Disable (or enable again) a user; disabling ends their sessions."""
    row = get_user(session, login)
    row.disabled, row.updated_at = disabled, now
    if disabled:
        _end_sessions(session, row.id)
    return row


def _end_sessions(session: Session, user_id: int) -> None:
    session.execute(delete(orm.WebSession).where(orm.WebSession.user_id == user_id))


def list_users(session: Session) -> list[orm.User]:
    return list(session.scalars(select(orm.User).order_by(orm.User.login)))


def check_password(session: Session, login: str, password: str) -> orm.User | None:
    """The enabled user whose password this is, else None: an unknown login, a wrong
    password and a disabled user look alike (and take alike long)."""
    row = find_user(session, login) if LOGIN_PATTERN.match(login) else None
    try:
        _HASHER.verify(row.password_hash if row else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or row.disabled:
        return None
    if _HASHER.check_needs_rehash(row.password_hash):
        row.password_hash = _HASHER.hash(password)
    return row


def principal_of(row: orm.User) -> Principal:
    """The user as the API's authorization sees a caller: the same roles, the same binding."""
    return Principal(row.id, row.display_name, roles_of(row.roles), row.customer_id, via="user")
