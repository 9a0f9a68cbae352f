"""The log context: the request id of the work at hand, and the vocabulary of log settings.

An HTTP request gets an id (its ``X-Request-ID``, or a new one: api/request_ids.py); the
notices it causes carry it on their outbox rows and broker messages, so the scheduler's and
the worker's log lines about them name the same id (docs/ops/logging.md). The formatters
that write it live with the processes that log (cli/logs.py); this module only holds the
context, so the desk and the jobs can read and set it without knowing how lines look.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
REQUEST_ID_HEADER = "X-Request-ID"
MAX_REQUEST_ID = 64  # the outbox and case columns' width (core.limits.REQUEST_ID)
_VALID = re.compile(rf"[A-Za-z0-9._-]{{1,{MAX_REQUEST_ID}}}")

_request_id: ContextVar[str | None] = ContextVar("casetrack_request_id", default=None)


def current_request_id() -> str | None:
    """The request id of the work this thread or task is doing, if any."""
    return _request_id.get()


def set_request_id(value: str | None) -> None:
    """Make ``value`` the current request id (a worker thread between messages: None)."""
    _request_id.set(value)


@contextmanager
def bound_request_id(value: str | None) -> Iterator[None]:
    """The current request id is ``value`` inside the block, what it was after."""
    token = _request_id.set(value)
    try:
        yield
    finally:
        _request_id.reset(token)


def valid_request_id(value: str | None) -> bool:
    """At most 64 characters of ``[A-Za-z0-9._-]``: safe in a log line, a header, a column."""
    return value is not None and _VALID.fullmatch(value) is not None


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted_request_id(incoming: str | None) -> str:
    """A client's ``X-Request-ID`` if it is valid, else a new id."""
    return incoming if incoming is not None and valid_request_id(incoming) else new_request_id()


def joined_request_ids(ids: Iterable[str | None]) -> str | None:
    """The request ids of several notices sent as one (a digest): distinct, sorted, joined by
    commas (a comma is never part of an id); None if none."""
    distinct = sorted({i for i in ids if i})
    return ",".join(distinct) or None
