"""Notification endpoints: the managers' dead-letter view of the outbox and its retry."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import PathParameter, QueryParameter

from api.auth import authenticated
from api.cases import NUMBER, PREFIX, Cursor, Limit
from api.deps import PrincipalDep, RuntimeDep, SessionDep
from api.schemas import problem_responses
from core.case import Role
from core.jobs.outbox import NotificationFilter, NotificationState, list_notifications, retry
from core.limits import MAX_ID
from core.store.queries import NotificationView, Page

# who watches deliveries and may send a notice again (docs/api.md, "Notifications")
MANAGERS = (Role.ADMIN, Role.COMPLAINT_MANAGER, Role.PROJECT_MANAGER, Role.SERVICE_MANAGER)
# a channel name as notifier plugins register them; like the case number's pattern it also
# keeps bytes PostgreSQL refuses in text (NUL) out of the query
CHANNEL = r"^[a-z][a-z0-9_-]{0,31}$"

NotificationId = Annotated[
    int, PathParameter(title="notification id", ge=1, le=MAX_ID, description="`id` of a row")
]


LIST_ERRORS = problem_responses(
    400,
    401,
    403,
    texts={
        400: "Invalid filter, limit or cursor: the problem names the parameter.",
        401: "Missing, unknown or revoked token (WWW-Authenticate: Bearer).",
        403: "Only service, project and complaint managers and admins see deliveries.",
    },
)
RETRY_ERRORS = {
    **LIST_ERRORS,
    **problem_responses(
        404,
        409,
        texts={
            404: "No notification with this id.",
            409: "The notification is not dead or failed; the detail names its state.",
        },
    ),
}


class NotificationController(Controller):
    """The outbox: list notifications by state, case and channel; retry a dead letter."""

    path = f"{PREFIX}/notifications"
    tags = ("notifications",)
    guards = (authenticated,)

    @get(
        "/",
        operation_id="listNotifications",
        sync_to_thread=True,
        opt={"roles": MANAGERS},
        responses=LIST_ERRORS,
    )
    def notification_list(
        self,
        session: SessionDep,
        states: Annotated[  # `state` is a name litestar reserves for handlers
            list[NotificationState] | None,
            QueryParameter(
                name="state",
                description="repeatable; `state=dead&state=failed`: the dead letters",
            ),
        ] = None,
        case: Annotated[
            str | None,
            QueryParameter(description="case number", max_length=32, pattern=NUMBER.pattern),
        ] = None,
        channel: Annotated[
            str | None,
            QueryParameter(description="email, sms, ...", max_length=32, pattern=CHANNEL),
        ] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Page[NotificationView]:
        """Notifications matching every given filter, newest first.

        Recipients show their name and role; e-mail addresses and mobile numbers are masked,
        also inside `last_error`.
        """
        flt = NotificationFilter(states=states or [], case_number=case, channel=channel)
        return list_notifications(session, flt, limit=limit, after=cursor)

    @post(
        "/{notification_id:int}/retry",
        operation_id="retryNotification",
        sync_to_thread=True,
        status_code=200,
        opt={"roles": MANAGERS},
        responses=RETRY_ERRORS,
    )
    def retry_notification(
        self, runtime: RuntimeDep, principal: PrincipalDep, notification_id: NotificationId
    ) -> NotificationView:
        """Send a dead or failed notification again: back to `queued`, attempts reset.

        Fix the cause first (a failed one was refused for good). The retry is recorded on
        the case as a `notification_retried` event naming the caller; any other state is 409.
        """
        retried = retry(runtime, notification_id, actor=principal.actor, now=runtime.clock())
        return retried.notification
