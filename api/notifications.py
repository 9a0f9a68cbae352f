"""Notification endpoints: the managers' dead-letter view of the outbox and its retry."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import PathParameter, QueryParameter

from api.auth import authenticated
from api.cases import NUMBER, PREFIX, Cursor, Limit
from api.problems import MEDIA_TYPE
from api.schemas import Problem
from core.case import Role
from core.jobs.outbox import NotificationFilter, NotificationState, list_notifications, retry
from core.limits import MAX_ID
from core.runtime import Runtime
from core.store.queries import NotificationView, Page
from core.store.tokens import Principal

# who watches deliveries and may send a notice again (docs/api.md, "Notifications")
MANAGERS = (Role.ADMIN, Role.COMPLAINT_MANAGER, Role.PROJECT_MANAGER, Role.SERVICE_MANAGER)
# a channel name as notifier plugins register them; like the case number's pattern it also
# keeps bytes PostgreSQL refuses in text (NUL) out of the query
CHANNEL = r"^[a-z][a-z0-9_-]{0,31}$"

NotificationId = Annotated[
    int, PathParameter(title="notification id", ge=1, le=MAX_ID, description="`id` of a row")
]


def _problem(description: str) -> ResponseSpec:
    return ResponseSpec(
        data_container=Problem,
        description=description,
        media_type=MEDIA_TYPE,
        generate_examples=False,
    )


LIST_ERRORS = {
    400: _problem("Invalid filter, limit or cursor: the problem names the parameter."),
    401: _problem("Missing, unknown or revoked token (WWW-Authenticate: Bearer)."),
    403: _problem("Only service, project and complaint managers and admins see deliveries."),
}
RETRY_ERRORS = {
    **LIST_ERRORS,
    404: _problem("No notification with this id."),
    409: _problem("The notification is not dead or failed; the detail names its state."),
}


def _runtime(request: Request[Any, Any, Any]) -> Runtime:
    return request.app.state.runtime


def _principal(request: Request[Any, Any, Any]) -> Principal:
    return request.state.principal


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
        request: Request[Any, Any, Any],
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
        with _runtime(request).sessions() as session:
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
        self, request: Request[Any, Any, Any], notification_id: NotificationId
    ) -> NotificationView:
        """Send a dead or failed notification again: back to `queued`, attempts reset.

        Fix the cause first (a failed one was refused for good). The retry is recorded on
        the case as a `notification_retried` event naming the caller; any other state is 409.
        """
        runtime, principal = _runtime(request), _principal(request)
        retried = retry(runtime, notification_id, actor=principal.actor, now=runtime.clock())
        return retried.notification
