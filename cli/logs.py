"""Logging of the processes casetrack starts: serve (and its uvicorn workers), scheduler, worker.

One handler on the root logger writes every record to stderr, uvicorn's access log and
dramatiq's lines included, as ``text`` (``2026-12-04T23:20:00.123Z INFO casetrack.worker
[req-id] message``) or ``json`` (one object a line: ts, level, logger, message, request_id,
plus the access log's fields). The level and format come from ``--log-level`` /
``--log-format``, else the settings ``log_level`` / ``log_format`` (docs/ops/logging.md).

No personal data: messages have e-mail addresses and mobile numbers masked, the access
log's path too; an exception is logged as its type and frames, never its text (a database
error's text holds the row it failed on: core/store/logsafe.py); HTTP clients' request
lines (httpx names the SMS gateway URL, whose query holds the phone number) are not logged.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import unquote_plus

from core.logs import LOG_FORMATS, LOG_LEVELS, current_request_id

if TYPE_CHECKING:
    from core.settings import Settings

# This module is light to import on purpose: a uvicorn worker process unpickles its
# log_config (these classes) before it answers the supervisor's health checks, within 5 s.
# The masking helpers (SQLAlchemy's error types with them) load with the first record.

ACCESS_LOGGER = "uvicorn.access"
# loggers that would name an address or say too much at INFO: at least WARNING
# (alembic: as core/store/migrate.py chose, its INFO lines are set-up chatter)
QUIET = {"httpx": "WARNING", "httpcore": "WARNING", "alembic": "WARNING"}
# uvicorn's loggers: no handlers of their own, every line through the root's
UVICORN = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


# --- options and settings -------------------------------------------------------------------


def add_options(parser: argparse.ArgumentParser) -> None:
    """``--log-level`` and ``--log-format`` on a command that runs a long-lived process."""
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default=None,
        metavar="LEVEL",
        help="DEBUG, INFO, WARNING, ERROR or CRITICAL (default CASETRACK_LOG_LEVEL, INFO)",
    )
    parser.add_argument(
        "--log-format",
        type=str.lower,
        choices=LOG_FORMATS,
        default=None,
        help="text: a timestamped line; json: one object a line (default "
        "CASETRACK_LOG_FORMAT, text)",
    )


def chosen(args: argparse.Namespace, settings: Settings) -> Settings:
    """``settings`` with the command line's ``--log-level`` / ``--log-format`` over them."""
    import msgspec

    level = getattr(args, "log_level", None) or settings.log_level
    fmt = getattr(args, "log_format", None) or settings.log_format
    return msgspec.structs.replace(settings, log_level=level.upper(), log_format=fmt)


# --- formatting ------------------------------------------------------------------------------


def timestamp(created: float) -> str:
    """UTC ISO 8601 with milliseconds: ``2026-12-04T23:20:00.123Z``."""
    moment = datetime.fromtimestamp(created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """What a line tells: ts, level, logger, message, request_id, and for the access log
    client, method, path, status; an exception's ``error`` (type) and ``frames``."""
    from core.store.logsafe import describe, frames
    from core.store.queries import redact

    out: dict[str, Any] = {
        "ts": timestamp(record.created),
        "level": record.levelname,
        "logger": record.name,
        "message": "",
        "request_id": getattr(record, "request_id", None) or current_request_id(),
    }
    access = _access(record)
    if access is not None:
        version = access.pop("http_version")
        out["message"] = (
            f'{access["client"]} - "{access["method"]} {access["path"]} '
            f'HTTP/{version}" {access["status"]}'
        )
        out.update(access)
    else:
        out["message"] = redact(_message(record)) or ""
    if record.exc_info and record.exc_info[1] is not None:
        out["error"] = describe(record.exc_info[1])
        out["frames"] = frames(record.exc_info[1])
    return out


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # a bad %-format in someone's log call: the template, not a crash
        return str(record.msg)


def _access(record: logging.LogRecord) -> dict[str, Any] | None:
    """uvicorn's access record ``'%s - "%s %s HTTP/%s" %d'`` as fields (path masked)."""
    args = record.args
    if record.name != ACCESS_LOGGER or not isinstance(args, tuple) or len(args) != 5:
        return None
    client, method, path, version, status = args
    return {
        "client": str(client),
        "method": str(method),
        "path": masked_path(str(path)),
        "http_version": str(version),
        "status": status,
    }


def masked_path(path: str) -> str:
    """A request target with e-mail addresses and mobile numbers masked, each query value
    on its own (decoded: ``%2B8613...`` is a mobile number too)."""
    from core.store.queries import redact

    base, sep, query = path.partition("?")
    pieces = re.split(r"([&=])", query)
    masked = [p if p in ("&", "=") else redact(unquote_plus(p)) or "" for p in pieces]
    return (redact(base) or "") + sep + "".join(masked)


class JsonFormatter(logging.Formatter):
    """One JSON object a line (non-ASCII kept as is: case summaries are Chinese)."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(fields(record), ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``<ts> <LEVEL> <logger> [<request id>] <message>``; an exception's frames below."""

    def format(self, record: logging.LogRecord) -> str:
        f = fields(record)
        rid = f" [{f['request_id']}]" if f["request_id"] else ""
        line = f"{f['ts']} {f['level']:<7} {f['logger']}{rid} {f['message']}"
        if "error" in f:
            line += f"\n{f['frames']}{f['error']}"
        return line


FORMATTERS: dict[str, type[logging.Formatter]] = {"text": TextFormatter, "json": JsonFormatter}


class StderrHandler(logging.StreamHandler[TextIO]):
    """A stream handler on whatever ``sys.stderr`` is when it writes (a test's capture, a
    worker process's own), never a stream closed since."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


# --- configuring ---------------------------------------------------------------------------


def configure(settings: Settings) -> None:
    """Log this process's records as ``settings`` say: our handler on the root (any earlier
    one of ours replaced, other handlers kept), uvicorn's loggers through it."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, StderrHandler)]:
        root.removeHandler(handler)
    handler = StderrHandler()
    handler.setFormatter(FORMATTERS[settings.log_format]())
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for name in UVICORN:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    _quiet(settings)
    logging.captureWarnings(True)  # warnings.warn(...) as records, not bare stderr lines


def _quiet(settings: Settings) -> None:
    level = logging.getLevelName(settings.log_level.upper())
    for name, floor in QUIET.items():
        logging.getLogger(name).setLevel(max(level, logging.getLevelName(floor)))


def uvicorn_config(settings: Settings) -> dict[str, Any]:
    """uvicorn's ``log_config``: applied by uvicorn in this process and in every worker
    process it spawns, so each one logs as this one does."""
    level = settings.log_level.upper()
    floor = logging.getLevelName(level)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"casetrack": {"()": FORMATTERS[settings.log_format]}},
        "handlers": {"stderr": {"()": StderrHandler, "formatter": "casetrack"}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            **{name: {"handlers": [], "propagate": True, "level": level} for name in UVICORN},
            **{
                name: {"level": logging.getLevelName(max(floor, logging.getLevelName(f)))}
                for name, f in QUIET.items()
            },
        },
    }
