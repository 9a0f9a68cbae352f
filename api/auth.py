"""Bearer-token authentication and role checks for every /api/v1 route."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from api.deps import runtime_of
from core.case import Role
from core.errors import Forbidden
from core.store.tokens import STAFF_TOKEN_ROLES, Principal, authenticate, hash_token, spelled

STAFF = tuple(sorted(STAFF_TOKEN_ROLES, key=lambda role: role.snake))
EVERYONE = (*STAFF, Role.CUSTOMER)


class PrincipalCache:
    """Principals by token hash for a few seconds: one token lookup per token, not per request.

    A token revoked with `casetrack tokens revoke` keeps working in a running server until
    its entry expires (``CASETRACK_TOKEN_CACHE_SECONDS``, default 10; 0 turns caching off).
    """

    def __init__(
        self, ttl: float, *, clock: Callable[[], float] = time.monotonic, size: int = 10_000
    ) -> None:
        self.ttl, self.clock, self.size = ttl, clock, size
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Principal | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] <= self.clock():
                self._entries.pop(key, None)
                return None
            return entry[1]

    def put(self, key: str, principal: Principal) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            if len(self._entries) >= self.size:
                self._entries.clear()  # bounded; a burst of distinct tokens just re-reads
            self._entries[key] = (self.clock() + self.ttl, principal)


def _principal_for(connection: ASGIConnection[Any, Any, Any, Any], token: str | None) -> Principal:
    cache: PrincipalCache = connection.app.state.principals
    key = hash_token(token) if token else ""
    principal = cache.get(key) if key else None
    if principal is None:
        with runtime_of(connection).sessions() as session:
            principal = authenticate(session, token)
        cache.put(key, principal)
    return principal


def authenticated(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Guard: resolve the token, then require one of the handler's ``opt["roles"]``."""
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    principal = _principal_for(connection, token.strip() if scheme.lower() == "bearer" else None)
    allowed = handler.opt.get("roles", STAFF)
    if not principal.has_any(allowed):
        raise Forbidden(
            f"this needs one of the roles {spelled(allowed)}; the token has {principal.role_names}"
        )
    connection.state.principal = principal


def customer_scope(principal: Principal) -> str | None:
    """The only customer a customer token may see; None for staff (sees all)."""
    return principal.customer_id if principal.is_customer else None
