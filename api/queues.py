"""The console's read side over HTTP: case queues (GET /api/v1/queues/{queue}) and the
managers' board (GET /api/v1/board). The pages render what core.store.queues and
core.store.board return; these handlers only bind the principal, the clock and the calendars."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from litestar import Controller, get
from litestar.params import PathParameter, QueryParameter

from api.auth import EVERYONE, authenticated, customer_scope
from api.cases import ID, PREFIX, Cursor, Limit
from api.deps import PrincipalDep, RuntimeDep, SessionDep
from api.notifications import MANAGERS
from api.schemas import problem_responses
from core import limits
from core.case import Priority, Status
from core.runtime import Runtime
from core.store.board import Board, board
from core.store.queries import Page
from core.store.queues import (
    QUEUES,
    QueueFilter,
    QueueRow,
    Viewer,
    contract_calendars,
    queue_page,
    viewer_for,
)
from core.store.tokens import Principal

Sort = Literal[
    "deadline", "-deadline", "priority", "-priority", "number", "-number", "opened", "-opened"
]
QueuePath = Annotated[
    str,
    PathParameter(
        title="queue",
        description=f"one of {', '.join(QUEUES)}; anything else is a 404",
        max_length=32,
    ),
]

QUEUE_ERRORS = problem_responses(
    400,
    401,
    404,
    texts={
        400: "Invalid filter, sort, limit or cursor (a cursor of another queue or sort).",
        401: "Missing, unknown or revoked token (WWW-Authenticate: Bearer).",
        404: "No such queue; the detail lists the queues.",
    },
)
BOARD_ERRORS = problem_responses(
    401,
    403,
    texts={
        401: "Missing, unknown or revoked token (WWW-Authenticate: Bearer).",
        403: "Only service, project and complaint managers and admins see the board.",
    },
)


def viewer_of(runtime: Runtime, principal: Principal) -> Viewer:
    """The queues' viewer for a principal: "me" and "my group" from the staff directory by
    the token's (or user's) name. A customer only ever sees its own company, and has no
    "mine" or "group" (a customer token's name is no staff member's, even when spelt alike)."""
    scope = customer_scope(principal)
    if scope is not None:
        return Viewer(customer_id=scope)
    viewer = viewer_for(runtime.desk.staff(), principal.name)
    return msgspec.structs.replace(viewer, actors=(principal.actor,))  # and the cases they opened


class QueueController(Controller):
    """Queues of open cases for the agent and engineer console, and the managers' board."""

    path = PREFIX
    tags = ("queues",)
    guards = (authenticated,)

    @get(
        "/queues/{queue:str}",
        operation_id="listQueue",
        sync_to_thread=True,
        opt={"roles": EVERYONE},
        responses=QUEUE_ERRORS,
    )
    def queue(
        self,
        runtime: RuntimeDep,
        principal: PrincipalDep,
        session: SessionDep,
        queue: QueuePath,
        customer: Annotated[
            str | None,
            QueryParameter(description="customer id", max_length=limits.IDENTIFIER, pattern=ID),
        ] = None,
        priority: Annotated[list[Priority] | None, QueryParameter(description="repeatable")] = None,
        status: Annotated[list[Status] | None, QueryParameter(description="repeatable")] = None,
        sort: Annotated[
            Sort, QueryParameter(description="sort key; a leading `-` reverses")
        ] = "deadline",
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Page[QueueRow]:
        """One page of a queue of open cases, most urgent first by default.

        Queues: `mine`, `group`, `unassigned`, `breaching` (next deadline within 1 h),
        `breached`, `pending_vendor`, `pending_customer`. Each row has the next deadline's
        clock and the business time left on that clock's calendar (negative when overdue).
        A customer token sees only its own company's cases.
        """
        flt = QueueFilter(customer_id=customer, priority=priority or [], status=status or [])
        return queue_page(
            session,
            queue,
            viewer_of(runtime, principal),
            runtime.clock(),
            contract_calendars(runtime.contracts),
            flt=flt,
            sort=sort,
            after=cursor,
            limit=limit,
        )

    @get(
        "/board",
        operation_id="managersBoard",
        sync_to_thread=True,
        opt={"roles": MANAGERS},
        responses=BOARD_ERRORS,
    )
    def managers_board(self, runtime: RuntimeDep, session: SessionDep) -> Board:
        """Open cases by priority and status, this month's SLA compliance per clock kind
        (the month on the desk's time zone), breaches by customer, dead letters (count and
        the newest few; retry with POST /api/v1/notifications/{id}/retry) and the holiday
        data horizon warnings."""
        return board(
            session,
            runtime.clock(),
            tz=runtime.settings.timezone,
            horizon_warnings=runtime.horizon_warnings(),
        )
