"""RFC 9457 problem details: every error leaves as application/problem+json, never a trace."""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from api import explain
from core.case import IllegalTransition
from core.clocks import ClockError
from core.desk import (
    ApprovalRequired,
    CloseRefused,
    IdempotencyMismatch,
    InvalidCommand,
    NotEntitled,
    OutsideContract,
    RemoteSupportFirst,
    StepOutOfOrder,
)
from core.errors import (
    CalendarError,
    CasetrackError,
    ClientError,
    ConflictError,
    ContractError,
    Forbidden,
    ImplausibleTime,
    InvalidField,
    NotFoundError,
    SlaError,
    Unavailable,
)
from core.spares import SpareStepRefused
from core.store.attempts import TooManyAttempts
from core.store.blobs import AttachmentRejected, AttachmentTooLarge, AttachmentType
from core.store.logsafe import describe, frames
from core.store.migrate import SchemaNotReady
from core.store.tokens import InvalidToken
from core.surveys import SurveyClosed

log = logging.getLogger("casetrack.api")
MEDIA_TYPE = "application/problem+json"
# seconds a client should wait before trying again (ours): the database being away is
# usually brief; a schema behind the code waits for an operator's `casetrack db upgrade`
RETRY_DATABASE = 5
RETRY_SCHEMA = 30

# The first matching row decides (subclasses before their bases). A client error without a
# row of its own is a 400; anything else (a ServerError, a bare CasetrackError) is a 500.
STATUS: tuple[tuple[type[CasetrackError], int], ...] = (
    (InvalidToken, 401),
    (Forbidden, 403),
    (NotFoundError, 404),
    (IllegalTransition, 409),
    (SurveyClosed, 410),  # the survey link was used, expired or withdrawn: gone for good
    (SpareStepRefused, 409),
    (ConflictError, 409),
    (RemoteSupportFirst, 409),
    (StepOutOfOrder, 409),
    (ApprovalRequired, 409),
    (AttachmentTooLarge, 413),
    (AttachmentType, 415),
    (AttachmentRejected, 422),
    (ImplausibleTime, 422),  # before InvalidField (a ClientError: 400), its base
    (ContractError, 422),
    (CloseRefused, 422),
    (InvalidCommand, 422),
    (OutsideContract, 422),
    (NotEntitled, 422),
    (IdempotencyMismatch, 422),
    (ClockError, 422),
    (SlaError, 422),
    (CalendarError, 422),
    (TooManyAttempts, 429),
    (ClientError, 400),
    (Unavailable, 503),
)


def status_of(exc: CasetrackError) -> int:
    """The HTTP status of a core error: its row in ``STATUS``, else 500 (never a 400: an
    error nobody classified is ours until someone says otherwise)."""
    for kind, status in STATUS:
        if isinstance(exc, kind):
            return status
    return 500


def problem_type(title: str) -> str:
    """The problem's ``type``: ``/problems/`` and the title as a slug."""
    return "/problems/" + (re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "error")


def problem(
    request: Request[Any, Any, Any],
    status: int,
    title: str,
    detail: str,
    *,
    retry_after: int | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[dict[str, Any]]:
    body = {
        "type": problem_type(title),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if status == 503:
        headers["Retry-After"] = str(retry_after or RETRY_DATABASE)
    return Response(body, status_code=status, media_type=MEDIA_TYPE, headers=headers or None)


def casetrack_error(request: Request[Any, Any, Any], exc: CasetrackError) -> Response[Any]:
    extra: dict[str, Any] = {}
    if isinstance(exc, ContractError):
        extra["errors"] = [
            {
                "file": p.file,
                "line": p.line,
                "column": p.column,
                "path": p.path,
                "message": p.message,
            }
            for p in exc.problems
        ]
    if isinstance(exc, InvalidField):
        extra["errors"] = [{"path": exc.field, "message": exc.message}]
    if isinstance(exc, CloseRefused):
        extra["missing_checklist"] = exc.items
        extra["missing_deliverables"] = exc.documents
    status = status_of(exc)
    if status == 500:  # ours to fix: say so in the log, as for an unexpected error
        log.error("server error on %s %s: %s", request.method, request.url.path, describe(exc))
    retry = RETRY_SCHEMA if isinstance(exc, SchemaNotReady) else None
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyAttempts) else None
    return problem(
        request, status, exc.title, exc.detail, retry_after=retry, headers=headers, **extra
    )


_AT = re.compile(r" - at (?:`key` in )?`(\$[^`]*)`$")  # a dict key: the dict's path
# msgspec names a pattern by its regex; core.limits.NO_NUL means something simpler
_NUL = "Expected `str` matching regex '^[^\\\\x00]*$'"


def validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """Body/parameter validation: name the field path of every complaint."""
    errors = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        message = str(item.get("message", "")) if isinstance(item, dict) else str(item)
        match = _AT.search(message)
        path = match.group(1) if match else _param_path(item)
        text = _AT.sub("", message).replace(_NUL, "text must not contain NUL (U+0000)")
        message = f"{text} (in a key)" if "`key` in `$" in message else text
        if not path.startswith("$"):  # a parameter: the bad value's allowed ones, if an enum
            message = explain.with_choices(message, _param_type(request, item), "$")
        errors.append({"path": path, "message": message})
    detail = "; ".join(f"{_label(e['path'])}: {e['message']}" for e in errors) or str(exc.detail)
    return problem(request, 400, "invalid request", detail, errors=errors)


def _param_path(item: Any) -> str:
    """A JSON path for body fields (litestar reports bare keys), ``query.x`` for parameters."""
    if not isinstance(item, dict):
        return "$"
    key, source = str(item.get("key") or ""), item.get("source", "param")
    source = getattr(source, "value", source)  # litestar's ParamType.QUERY reads "query"
    if source == "body":
        return "$" if key in ("", "data") else f"$.{key}"
    return f"{source}.{key}" if key else "$"


def _label(path: str) -> str:
    """``query.status`` as "query parameter `status`"; a JSON path as it is."""
    source, _, key = path.partition(".")
    if path.startswith("$") or not key:
        return path
    return f"{'header' if source == 'header' else source + ' parameter'} `{key}`"


def _param_type(request: Request[Any, Any, Any], item: Any) -> Any:
    """The declared type of the handler parameter an error item names, for its enum values."""
    key = str(item.get("key") or "") if isinstance(item, dict) else ""
    field = request.route_handler.parsed_fn_signature.parameters.get(key)
    return explain.info(field.annotation) if field is not None else None


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    title = {
        413: "request body too large",
        404: "not found",
        405: "method not allowed",
        401: "unauthorized",
        403: "forbidden",
    }.get(exc.status_code, "http error")
    # litestar's 405 names the path's methods in `Allow` (RFC 9110 requires it): keep it
    return problem(request, exc.status_code, title, str(exc.detail), headers=exc.headers)


def database_unavailable(request: Request[Any, Any, Any], exc: SQLAlchemyError) -> Response[Any]:
    """Refused, black-holed, too slow, or the pool exhausted: 503 and when to retry, never a
    500. Logged in one line without the statement or its parameters (they hold callers'
    data)."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""]
    log.warning(
        "database unavailable on %s %s: %s: %s",
        request.method,
        request.url.path,
        type(exc).__name__,
        reason[0],
    )
    return problem(
        request,
        503,
        "database unavailable",
        "the database did not answer in time; try again shortly",
    )


def unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # a bug: log where it happened for us, tell the client only that it happened. Never the
    # exception's text as is: a database error's holds the caller's phone and e-mail
    # (core/logsafe.py); never the request's body or query either.
    log.error(
        "unhandled error on %s %s: %s\n%s",
        request.method,
        request.url.path,
        describe(exc),
        frames(exc),
    )
    return problem(request, 500, "internal error", "an unexpected error occurred; it was logged")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    CasetrackError: casetrack_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    OperationalError: database_unavailable,  # refused, timed out, connection lost
    InterfaceError: database_unavailable,  # a connection closed under us
    PoolTimeout: database_unavailable,  # every pooled connection busy
    Exception: unexpected_error,
}
