"""The header's navigation: each link names the roles that may open its page, the same role
sets the API's handlers name (api/auth.py), so a link shows only to whom the page would admit.
Pages added later append their entry here."""

from __future__ import annotations

from dataclasses import dataclass

from api.auth import EVERYONE, STAFF
from api.notifications import MANAGERS as BOARD_READERS
from core.case import Role
from core.store.tokens import Principal

CUSTOMERS = (Role.CUSTOMER,)
ADMINS = (Role.ADMIN,)
MANAGERS = (
    Role.SERVICE_MANAGER,
    Role.PROJECT_MANAGER,
    Role.COMPLAINT_MANAGER,
    Role.GENERAL_MANAGER,
    Role.ADMIN,
)


@dataclass(frozen=True, slots=True)
class NavLink:
    path: str
    message: str  # the catalog key of its label (web/messages)
    roles: tuple[Role, ...]


NAV: list[NavLink] = [
    NavLink("/console", "console", EVERYONE),
    NavLink("/console/queues", "queues", STAFF),
    NavLink("/console/cases/new", "new_case", STAFF),
    NavLink("/portal", "portal", CUSTOMERS),
    NavLink("/board", "board", BOARD_READERS),  # the API's board readers
    NavLink("/admin/users", "users", ADMINS),
]


def links_for(principal: Principal | None) -> list[NavLink]:
    if principal is None:
        return []
    return [link for link in NAV if principal.has_any(link.roles)]
