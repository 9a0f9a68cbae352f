"""The demo's web users: one per demo token, with its roles, name and customer, signing in
with a password made here and printed once by `casetrack serve --demo` (docs/web.md)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from core.store.users import create_user

if TYPE_CHECKING:
    from cli.demo.seed import DemoToken
    from core.runtime import Runtime

# the demo token's role → the login its user signs in with
LOGINS = {
    "admin": "admin",
    "agent": "agent",
    "engineer": "engineer",
    "service_manager": "manager",
    "customer": "hospital",
}


@dataclass(frozen=True, slots=True)
class DemoUser:
    login: str
    password: str
    name: str
    role: str
    customer_id: str | None = None


def make_demo_users(
    runtime: Runtime, tokens: tuple[DemoToken, ...], now: datetime
) -> tuple[DemoUser, ...]:
    """A user beside each demo token, named as the token (so the engineer is the assignee)."""
    made = []
    with runtime.sessions.begin() as session:
        for token in tokens:
            login = LOGINS.get(token.role, token.role.replace("_", "-"))
            password = secrets.token_urlsafe(9)
            create_user(
                session,
                login=login,
                display_name=token.name,
                password=password,
                roles=[token.role],
                customer_id=token.customer_id,
                now=now,
            )
            made.append(DemoUser(login, password, token.name, token.role, token.customer_id))
    return tuple(made)
