"""Bearer-token authentication and role checks for every /api/v1 route."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from core.desk import Forbidden
from core.tokens import STAFF_ROLES, Principal, authenticate

STAFF = tuple(sorted(STAFF_ROLES))
EVERYONE = (*STAFF, "customer")


def authenticated(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Guard: resolve the token, then require one of the handler's ``opt["roles"]``."""
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    runtime = connection.app.state.runtime
    with runtime.sessions() as session:
        principal = authenticate(session, token.strip() if scheme.lower() == "bearer" else None)
    allowed = handler.opt.get("roles", STAFF)
    if not principal.has_any(allowed):
        raise Forbidden(
            f"this needs one of the roles {', '.join(allowed)}; "
            f"the token has {', '.join(sorted(principal.roles))}"
        )
    connection.state.principal = principal


def provide_principal(request: Any) -> Principal:
    """The caller, as resolved by the guard (dependency for handlers)."""
    return request.state.principal


def customer_scope(principal: Principal) -> str | None:
    """The only customer a customer token may see; None for staff (sees all)."""
    return principal.customer_id if principal.is_customer else None
