"""API tokens: random secrets shown once, stored only as SHA-256 hashes, carrying roles.

A token row stores its roles in their snake_case spelling (``service_manager``: ``Role.snake``),
as ``casetrack tokens create --role`` takes them; in code they are ``core.case.Role``."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import limits
from core.case import TOKEN_ROLES, Role
from core.errors import ClientError, NotFoundError
from core.store import orm

STAFF_TOKEN_ROLES: frozenset[Role] = frozenset(TOKEN_ROLES) - {Role.CUSTOMER}
TOKEN_PREFIX = "ct_"


class InvalidToken(ClientError):
    """A token that is missing, unknown or revoked."""

    title = "invalid token"


class TokenError(ClientError):
    """A token cannot be created as asked (unknown role, customer without id...)."""

    title = "token not created"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's roles and, for a customer, the one customer it sees."""

    token_id: int
    name: str
    roles: frozenset[Role]
    customer_id: str | None = None
    via: str = "token"  # "user" for a person signed in to the web pages (token_id: the user id)

    @property
    def is_customer(self) -> bool:
        return Role.CUSTOMER in self.roles

    @property
    def actor(self) -> str:
        """How the history names this caller."""
        return f"{self.name} ({self.via} {self.token_id})"

    def has_any(self, roles: Iterable[Role]) -> bool:
        return not self.roles.isdisjoint(roles)

    @property
    def role_names(self) -> str:
        """The token's roles as it spells them, sorted: ``agent, service_manager``."""
        return spelled(sorted(self.roles, key=lambda role: role.snake))


def spelled(roles: Iterable[Role]) -> str:
    """Roles as tokens spell them (``service_manager``), comma-separated, in the given order."""
    return ", ".join(role.snake for role in roles)


def hash_token(token: str) -> str:
    # tokens carry 256 random bits: a plain SHA-256 is enough, no slow KDF needed
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    session: Session,
    *,
    roles: Iterable[str],
    name: str,
    now: datetime,
    customer_id: str | None = None,
) -> tuple[str, orm.ApiToken]:
    """A new token (returned once, never stored) and its row. ``roles``: Roles, or their
    snake_case spellings (``service_manager``)."""
    wanted = _token_roles(roles)
    _check_roles(wanted, customer_id)
    _check_name(name)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = orm.ApiToken(
        name=name,
        token_hash=hash_token(token),
        roles=sorted(role.snake for role in wanted),
        customer_id=customer_id,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return token, row


def _check_name(name: str) -> None:
    """The name is recorded as the actor of everything the token does, "<name> (token N)",
    and an engineer's name is what a case's assignee holds: both columns take 100."""
    if not name.strip() or len(name) > limits.TOKEN_NAME or "\x00" in name:
        raise TokenError(
            f"a token name is 1..{limits.TOKEN_NAME} characters without NUL, not {name[:80]!r}"
        )


def bound_roles(names: Iterable[str], customer_id: str | None) -> frozenset[Role]:
    """The roles named, checked with their customer binding as a token's are (web users are
    bound by the same rules); TokenError says what is wrong."""
    wanted = _token_roles(names)
    _check_roles(wanted, customer_id)
    return wanted


def roles_of(names: Iterable[str]) -> frozenset[Role]:
    """The roles a stored row names; a name no Role spells grants nothing."""
    return frozenset(role for name in names if (role := _token_role(name)) is not None)


def _token_roles(names: Iterable[str]) -> frozenset[Role]:
    """The roles named (Roles or snake_case names); TokenError lists every unknown one."""
    roles: set[Role] = set()
    unknown: set[str] = set()
    for name in names:
        role = _token_role(name)
        if role is None:
            unknown.add(str.__str__(name))
        else:
            roles.add(role)
    if unknown or not roles:
        raise TokenError(
            f"unknown role(s) {', '.join(sorted(unknown)) or '(none given)'}; "
            f"roles: {spelled(TOKEN_ROLES)}"
        )
    return frozenset(roles)


def _token_role(name: str) -> Role | None:
    try:
        role = Role.from_snake(name)
    except ValueError:
        return None
    return role if role in TOKEN_ROLES else None


def _check_roles(roles: frozenset[Role], customer_id: str | None) -> None:
    if Role.CUSTOMER in roles:
        if not customer_id:
            raise TokenError("a customer token or user must be bound to a customer (--customer ID)")
        if roles & STAFF_TOKEN_ROLES:
            raise TokenError("a customer token or user cannot also carry staff roles")
    elif customer_id:
        raise TokenError("only customer tokens and users are bound to a customer")


def authenticate(session: Session, token: str | None) -> Principal:
    """The principal behind a bearer token; InvalidToken when unknown or revoked."""
    if not token or not token.startswith(TOKEN_PREFIX):
        raise InvalidToken("missing or malformed API token (Authorization: Bearer ct_...)")
    row = session.scalars(
        select(orm.ApiToken).where(orm.ApiToken.token_hash == hash_token(token))
    ).one_or_none()
    if row is None or row.revoked_at is not None:
        raise InvalidToken("unknown or revoked API token")
    # a name no Role spells (never written by create_token) grants nothing, as before
    return Principal(row.id, row.name, roles_of(row.roles), row.customer_id)


def revoke_token(session: Session, token_id: int, now: datetime) -> orm.ApiToken:
    row = session.get(orm.ApiToken, token_id)
    if row is None:
        raise NotFoundError(f"no token with id {token_id}")
    if row.revoked_at is None:
        row.revoked_at = now
    return row


def list_tokens(session: Session) -> list[orm.ApiToken]:
    return list(session.scalars(select(orm.ApiToken).order_by(orm.ApiToken.id)))
