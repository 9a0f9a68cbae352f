"""Request ids: every HTTP answer carries ``X-Request-ID``, and every log line of its work.

The client's ``X-Request-ID`` is kept when it is at most 64 characters of
``[A-Za-z0-9._-]``; otherwise, or without one, the request gets a new id (uuid4, hex). The
id is the current one (core.logs) while the app handles the request, so the log lines of the
request, uvicorn's access line and the outbox rows the request writes all carry it. The
middleware wraps the whole app (``server.create_app``), so 404s of unknown paths and
problems of every kind carry the header too.
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from core.logs import REQUEST_ID_HEADER, accepted_request_id, bound_request_id

HEADER = REQUEST_ID_HEADER.lower().encode("ascii")


def incoming(scope: Scope) -> str | None:
    """The request's ``X-Request-ID`` (the first, if sent twice), undecodable as None."""
    for name, value in scope.get("headers", []):
        if name.lower() == HEADER:
            try:
                return bytes(value).decode("ascii")
            except UnicodeDecodeError:
                return None
    return None


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: choose the id, make it current, send it back on the response."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        request_id = accepted_request_id(incoming(scope))

        async def with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                headers.append((HEADER, request_id.encode("ascii")))
                message["headers"] = headers
            await send(message)

        with bound_request_id(request_id):
            await app(scope, receive, with_header)

    return middleware
